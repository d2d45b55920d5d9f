#!/bin/bash
# healthcheck.sh of the pier mariadb stand-in, a subset of the official
# mariadb image's script with the same command line:
#   healthcheck.sh [--defaults-file=F|--defaults-extra-file=F|--no-defaults]
#                  [--su-mysql] [--datadir=D] --connect --innodb_initialized ...
# Each test runs in order; the first failing one makes the exit code 1.
# By default the client reads $datadir/.my-healthcheck.cnf, written at init.
set -u
datadir=/var/lib/mysql
defaults=()
tests=()
for arg in "$@"; do
  case "$arg" in
    --connect|--innodb_initialized|--innodb_buffer_pool_loaded|--mariadbupgrade) tests+=("${arg#--}") ;;
    --su-mysql|--su=*) ;; # the stand-in's health user needs no particular unix user
    --datadir=*) datadir="${arg#*=}" ;;
    --no-defaults|--defaults-file=*|--defaults-extra-file=*|--defaults-group-suffix=*) defaults+=("$arg") ;;
    --verbose) set -x ;;
    *) echo "healthcheck.sh: unknown option or test '$arg' (the stand-in supports --connect, --innodb_initialized, --innodb_buffer_pool_loaded, --mariadbupgrade)" >&2; exit 1 ;;
  esac
done
if [ ${#defaults[@]} -eq 0 ] && [ -r "$datadir/.my-healthcheck.cnf" ]; then
  defaults=(--defaults-extra-file="$datadir/.my-healthcheck.cnf")
fi
[ ${#tests[@]} -gt 0 ] || { echo "healthcheck.sh: no test given (e.g. --connect --innodb_initialized)" >&2; exit 1; }

sql() { mariadb "${defaults[@]}" --skip-ssl --skip-column-names --batch -e "$1"; }

for t in "${tests[@]}"; do
  case "$t" in
    connect)
      # Up when a TCP connection is accepted, whatever the login says.
      out=$(mariadb "${defaults[@]}" --skip-ssl -h localhost --protocol tcp -e 'select 1' 2>&1)
      if grep -qF "Can't connect" <<<"$out"; then echo "healthcheck connect failed: $out" >&2; exit 1; fi ;;
    innodb_initialized)
      [ "$(sql "select 1 from information_schema.ENGINES WHERE engine='innodb' AND support in ('YES','DEFAULT','ENABLED')" 2>&1)" = 1 ] \
        || { echo "healthcheck innodb_initialized failed" >&2; exit 1; } ;;
    innodb_buffer_pool_loaded)
      sql "select VARIABLE_VALUE from information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='Innodb_buffer_pool_load_status'" 2>/dev/null \
        | grep -qE 'Buffer pool\(s\) load completed|^$' || { echo "healthcheck innodb_buffer_pool_loaded failed" >&2; exit 1; } ;;
    mariadbupgrade)
      [ -e "$datadir/mysql_upgrade_info" ] || { echo "healthcheck mariadbupgrade failed" >&2; exit 1; } ;;
  esac
done
exit 0
