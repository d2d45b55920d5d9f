#!/bin/bash
# Entrypoint of the pier mariadb stand-in. It honours the official mariadb
# image's environment contract (and the MYSQL_* names the official mysql image
# uses): on the first start with an empty /var/lib/mysql it creates the data
# dir, the root password, an optional database and user, runs
# /docker-entrypoint-initdb.d/*, then starts the server. With existing data it
# only starts the server.
set -eo pipefail

DATADIR=/var/lib/mysql
SOCKET=/run/mysqld/mysqld.sock

log()  { printf '%s [Note] [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$*"; }
fail() { printf '%s [ERROR] [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$*" >&2; exit 1; }

# file_env VAR [DEFAULT]: VAR from $MARIADB_VAR, $MARIADB_VAR_FILE, $MYSQL_VAR or
# $MYSQL_VAR_FILE (the official images' precedence), exported as MARIADB_VAR.
file_env() {
  local def="${2:-}" val="" mvar="MARIADB_$1" yvar="MYSQL_$1"
  local mfile="${mvar}_FILE" yfile="${yvar}_FILE"
  if [ -n "${!mvar:-}" ] && [ -n "${!mfile:-}" ]; then fail "both $mvar and $mfile are set (but are exclusive)"; fi
  if [ -n "${!mvar:-}" ]; then val="${!mvar}"
  elif [ -n "${!mfile:-}" ]; then val="$(<"${!mfile}")"
  elif [ -n "${!yvar:-}" ]; then val="${!yvar}"
  elif [ -n "${!yfile:-}" ]; then val="$(<"${!yfile}")"
  else val="$def"; fi
  export "$mvar"="$val"
  unset "$mfile" "$yfile"
}

# A random password; pipefail off so that tr's SIGPIPE is not an error.
rand_pw() { (set +o pipefail; tr -dc "$2" </dev/urandom | head -c "$1"); }

# Escaping for SQL string literals and identifiers.
sql_str()   { local s="${1//\\/\\\\}"; s="${s//\'/\\\'}"; printf "'%s'" "$s"; }
# shellcheck disable=SC2016 # backticks quote an SQL identifier
sql_ident() { printf '`%s`' "${1//\`/\`\`}"; }

if [ "${1:0:1}" = '-' ]; then set -- mariadbd "$@"; fi

case "$1" in
  mariadbd|mysqld) ;;
  *) exec "$@" ;;
esac

# Started as root: own the data dir, then run again as the mysql user.
if [ "$(id -u)" = 0 ]; then
  mkdir -p /run/mysqld "$DATADIR"
  chown mysql:mysql /run/mysqld
  find "$DATADIR" \! -user mysql -exec chown mysql:mysql '{}' + 2>/dev/null || true
  exec setpriv --reuid=mysql --regid=mysql --init-groups "${BASH_SOURCE[0]}" "$@"
fi

if [ ! -d "$DATADIR/mysql" ]; then
  file_env ROOT_PASSWORD
  file_env ALLOW_EMPTY_ROOT_PASSWORD
  [ -n "$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD" ] || { [ -n "${MYSQL_ALLOW_EMPTY_PASSWORD:-}" ] && MARIADB_ALLOW_EMPTY_ROOT_PASSWORD=$MYSQL_ALLOW_EMPTY_PASSWORD; }
  file_env RANDOM_ROOT_PASSWORD
  file_env ROOT_HOST '%'
  file_env DATABASE
  file_env USER
  file_env PASSWORD

  if [ -z "$MARIADB_ROOT_PASSWORD" ] && [ -z "$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD" ] && [ -z "$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
    fail "Database is uninitialized and password option is not specified
	You need to specify one of MARIADB_ROOT_PASSWORD, MARIADB_ROOT_PASSWORD_FILE, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD or MARIADB_RANDOM_ROOT_PASSWORD"
  fi
  if [ "$MARIADB_USER" = root ]; then
    fail "MARIADB_USER=\"root\", MARIADB_USER and MARIADB_PASSWORD are for configuring a regular user and cannot be used for the root user"
  fi
  if [ -n "$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
    MARIADB_ROOT_PASSWORD=$(rand_pw 32 'A-Za-z0-9,._+:@%-')
    log "GENERATED ROOT PASSWORD: $MARIADB_ROOT_PASSWORD"
  fi

  log "Initializing database files"
  mariadb-install-db --datadir="$DATADIR" --rpm --auth-root-authentication-method=normal \
    --skip-test-db --cross-bootstrap --skip-name-resolve --default-time-zone=SYSTEM \
    --enforce-storage-engine= --skip-log-bin --loose-innodb_buffer_pool_load_at_startup=0 \
    --loose-innodb_buffer_pool_dump_at_shutdown=0 >/dev/null \
    || fail "mariadb-install-db failed"

  log "Starting temporary server"
  "$@" --skip-networking --socket="$SOCKET" --skip-log-bin --wsrep_on=OFF \
    --loose-innodb_buffer_pool_load_at_startup=0 &
  tmp_pid=$!
  for _ in $(seq 1 300); do
    if mariadb --no-defaults --protocol=socket --socket="$SOCKET" -uroot -e 'SELECT 1' >/dev/null 2>&1; then break; fi
    kill -0 "$tmp_pid" 2>/dev/null || fail "temporary server exited during initialization"
    sleep 0.2
  done
  mariadb --no-defaults --protocol=socket --socket="$SOCKET" -uroot -e 'SELECT 1' >/dev/null || fail "temporary server did not come up"

  # A user the healthcheck can log in as, with no privileges (as upstream).
  hc_pass=$(rand_pw 32 'A-Za-z0-9')
  printf '[mariadb-client]\nport=3306\nsocket=%s\nuser=healthcheck\npassword=%s\n' "$SOCKET" "$hc_pass" >"$DATADIR/.my-healthcheck.cnf"
  chmod 600 "$DATADIR/.my-healthcheck.cnf"

  root_pw=$(sql_str "$MARIADB_ROOT_PASSWORD")
  {
    echo "SET @@SESSION.SQL_LOG_BIN=0;"
    # No anonymous users, no passwordless root from other hosts.
    echo "DELETE FROM mysql.global_priv WHERE user NOT IN ('mysql.sys','mariadb.sys','root') OR host NOT IN ('localhost');"
    echo "FLUSH PRIVILEGES;"
    for h in 127.0.0.1 ::1 localhost; do
      echo "CREATE USER 'healthcheck'@'$h' IDENTIFIED BY '$hc_pass';"
    done
    if [ -n "$MARIADB_ROOT_HOST" ] && [ "$MARIADB_ROOT_HOST" != localhost ]; then
      rh=$(sql_str "$MARIADB_ROOT_HOST")
      echo "CREATE USER 'root'@$rh IDENTIFIED BY $root_pw;"
      echo "GRANT ALL ON *.* TO 'root'@$rh WITH GRANT OPTION;"
      echo "GRANT PROXY ON ''@'%' TO 'root'@$rh WITH GRANT OPTION;"
    fi
    if [ -n "$MARIADB_DATABASE" ]; then
      echo "CREATE DATABASE IF NOT EXISTS $(sql_ident "$MARIADB_DATABASE");"
    fi
    if [ -n "$MARIADB_USER" ]; then
      [ -n "$MARIADB_PASSWORD" ] || log "MARIADB_USER set without MARIADB_PASSWORD: the user gets an empty password"
      echo "CREATE USER $(sql_str "$MARIADB_USER")@'%' IDENTIFIED BY $(sql_str "$MARIADB_PASSWORD");"
      if [ -n "$MARIADB_DATABASE" ]; then
        echo "GRANT ALL ON $(sql_ident "${MARIADB_DATABASE//_/\\_}").* TO $(sql_str "$MARIADB_USER")@'%';"
      fi
    fi
    # Last: from here on root needs its password.
    echo "SET PASSWORD FOR 'root'@'localhost' = PASSWORD($root_pw);"
  } | mariadb --no-defaults --protocol=socket --socket="$SOCKET" -uroot --binary-mode \
    || fail "setting up users and database failed"

  # root's password through a file descriptor, not the command line; the
  # process substitution must happen at each call, hence a function.
  client() {
    if [ -n "$MARIADB_ROOT_PASSWORD" ]; then
      local pw="${MARIADB_ROOT_PASSWORD//\\/\\\\}"
      pw="${pw//\"/\\\"}"
      mariadb --defaults-extra-file=<(printf '[client]\npassword="%s"\n' "$pw") \
        --protocol=socket --socket="$SOCKET" -uroot "$@"
    else
      mariadb --no-defaults --protocol=socket --socket="$SOCKET" -uroot "$@"
    fi
  }
  for f in /docker-entrypoint-initdb.d/*; do
    [ -e "$f" ] || continue
    # shellcheck disable=SC1090 # init scripts are the user's
    case "$f" in
      *.sh)     log "running $f"; if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
      *.sql)    log "running $f"; client ${MARIADB_DATABASE:+--database="$MARIADB_DATABASE"} <"$f" ;;
      *.sql.gz) log "running $f"; gunzip -c "$f" | client ${MARIADB_DATABASE:+--database="$MARIADB_DATABASE"} ;;
      *)        log "ignoring $f" ;;
    esac
  done

  log "Stopping temporary server"
  kill "$tmp_pid"
  wait "$tmp_pid" || true
  log "MariaDB init process done. Ready for start up."
else
  log "MariaDB data directory exists; skipping initialization"
fi

exec "$@"
