#!/bin/bash
# Entrypoint of the pier postgres stand-in, following the official postgres
# image's environment contract: POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD
# =trust), POSTGRES_USER (default postgres), POSTGRES_DB (default the user),
# POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD, *_FILE variants, and
# /docker-entrypoint-initdb.d/*.{sh,sql,sql.gz}. $PGDATA is initialised only
# when it holds no PG_VERSION; existing data is started as it is.
set -eo pipefail

log()  { echo "pier-standin postgres: $*"; }
fail() { echo "pier-standin postgres: error: $*" >&2; exit 1; }

file_env() {
  local var="$1" file="${1}_FILE" val="${2:-}"
  if [ -n "${!var:-}" ] && [ -n "${!file:-}" ]; then fail "both $var and $file are set (but are exclusive)"; fi
  if [ -n "${!var:-}" ]; then val="${!var}"; elif [ -n "${!file:-}" ]; then val="$(<"${!file}")"; fi
  export "$var"="$val"
  unset "$file"
}

if [ "${1:0:1}" = '-' ]; then set -- postgres "$@"; fi
[ "$1" = postgres ] || exec "$@"

# Started as root: own the data and socket dirs, then run again as postgres.
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chmod 00700 "$PGDATA"
  find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' + 2>/dev/null || true
  chown postgres:postgres /var/run/postgresql && chmod 3777 /var/run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_INITDB_ARGS
  : "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"

  if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
    fail "Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, \"-e POSTGRES_PASSWORD=password\" on \"docker run\".
       (or set POSTGRES_HOST_AUTH_METHOD=trust to allow all connections without a password)"
  fi

  mkdir -p "$PGDATA" && chmod 00700 "$PGDATA"
  log "initdb in $PGDATA"
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of words
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    --encoding=UTF8 --locale=C.UTF-8 $POSTGRES_INITDB_ARGS >/dev/null \
    || fail "initdb failed"
  # Password auth (or what POSTGRES_HOST_AUTH_METHOD says) from other hosts;
  # local socket connections stay trusted, as in the official image.
  printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"

  # Temporary server without TCP, on a private socket directory: unlike
  # upstream, `pg_isready` (default socket) then fails until the real server
  # is up, so a healthcheck cannot pass before clients can connect over TCP.
  init_socket_dir=$(mktemp -d /tmp/pier-standin-pg-init.XXXXXX)
  export PGHOST="$init_socket_dir" PGPORT=5432
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories='$init_socket_dir' -p 5432" -w start >/dev/null \
    || fail "temporary server did not start"
  psql=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
  if [ "$POSTGRES_DB" != postgres ]; then
    "${psql[@]}" --dbname postgres --set db="$POSTGRES_DB" -q <<<'CREATE DATABASE :"db" ;' || fail "creating database $POSTGRES_DB failed"
  fi
  export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
  for f in /docker-entrypoint-initdb.d/*; do
    [ -e "$f" ] || continue
    # shellcheck disable=SC1090 # init scripts are the user's
    case "$f" in
      *.sh)     log "running $f"; if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
      *.sql)    log "running $f"; "${psql[@]}" --dbname "$POSTGRES_DB" -f "$f" ;;
      *.sql.gz) log "running $f"; gunzip -c "$f" | "${psql[@]}" --dbname "$POSTGRES_DB" ;;
      *)        log "ignoring $f" ;;
    esac
  done
  unset PGPASSWORD
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  unset PGHOST PGPORT
  rm -rf "$init_socket_dir"
  log "PostgreSQL init process complete; ready for start up."
else
  log "PostgreSQL Database directory appears to contain a database; Skipping initialization"
fi

exec "$@"
