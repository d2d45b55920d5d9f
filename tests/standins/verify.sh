#!/usr/bin/env bash
# Verify the pier stand-in images for real, with plain `docker run` on a
# user-defined network: each one must do what the official image does on the
# points pier's built-in stacks rely on (see README.md next to this file).
#
#   tests/standins/verify.sh        # builds missing stand-ins first
#
# Everything it creates is named pier-standin-verify-<pid>-* and removed on
# exit, also when a check fails or the run is interrupted. Exit 0 when every
# check passed; 1 at the first failed check, with the container's log.
# shellcheck disable=SC2016 # single-quoted $ in passwords and PHP code is meant literally
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
P="pier-standin-verify-$$"
NET="$P-net"
WORK="$(mktemp -d "/tmp/$P.XXXXXX")"
containers=()
volumes=()
images=()

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ ${#containers[@]} -gt 0 ]; then docker rm -f -v "${containers[@]}" >/dev/null 2>&1 || true; fi
  docker network rm "$NET" >/dev/null 2>&1 || true
  if [ ${#volumes[@]} -gt 0 ]; then docker volume rm "${volumes[@]}" >/dev/null 2>&1 || true; fi
  if [ ${#images[@]} -gt 0 ]; then docker rmi "${images[@]}" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0
ok()   { passed=$((passed + 1)); echo "ok   $*"; }
fail() { # fail MESSAGE [CONTAINER]: show the container's log, stop here
  echo "FAIL $1" >&2
  if [ -n "${2:-}" ]; then echo "---- last lines of $2's log:" >&2; docker logs --tail 40 "$2" 2>&1 | sed 's/^/  | /' >&2; fi
  exit 1
}

# run NAME ARGS...: docker run -d on the test network, remembered for cleanup
# (not called in $(...), so that the list lives in this shell).
run() {
  local name="$1"; shift
  containers+=("$name")
  docker run -d --name "$name" --network "$NET" "$@" >/dev/null || fail "docker run $name"
}
volume() { volumes+=("$1"); docker volume create "$1" >/dev/null; }

# wait_until DESC CONTAINER CMD...: poll CMD until it succeeds; give up after
# a generous deadline, or at once when the container stopped.
wait_until() {
  local desc="$1" c="$2"; shift 2
  local deadline=$((SECONDS + 120))
  until "$@" >/dev/null 2>&1; do
    [ "$(docker inspect -f '{{.State.Running}}' "$c" 2>/dev/null)" = true ] || fail "$desc: container $c stopped" "$c"
    [ $SECONDS -lt $deadline ] || fail "$desc: still not true after 120s" "$c"
    sleep 0.3
  done
}
healthy() { [ "$(docker inspect -f '{{.State.Health.Status}}' "$1")" = healthy ]; }
host_port() { docker port "$1" "$2" | head -n1 | sed 's/.*://'; }
# same_image TAG...: all the tags name one image.
same_image() {
  local first t
  first=$(docker image inspect -f '{{.Id}}' "$1") || fail "no image $1"
  for t in "$@"; do
    [ "$(docker image inspect -f '{{.Id}}' "$t" 2>/dev/null)" = "$first" ] || fail "$t is not the same image as $1"
  done
  ok "one image tagged $*"
}

# expect_eq DESC ACTUAL EXPECTED [CONTAINER]
expect_eq() {
  if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected '$3', got '$2'" "${4:-}"; fi
}
# expect_match DESC TEXT REGEX [CONTAINER]
expect_match() {
  if grep -qE -- "$3" <<<"$2"; then ok "$1"; else fail "$1: /$3/ not found in: $(head -c 600 <<<"$2")" "${4:-}"; fi
}

"$ROOT/scripts/build-standins.sh"
docker network create "$NET" >/dev/null

# ---------------------------------------------------------------- mariadb
echo "# mariadb (pier-standin/mariadb:11)"
MARIA_ROOT_PW="r'o\"ot \$x"
dbvol="$P-mariadb-data"; volume "$dbvol"
db="$P-mariadb"; run "$db" -v "$dbvol:/var/lib/mysql" \
  -e MARIADB_ROOT_PASSWORD="$MARIA_ROOT_PW" -e MARIADB_DATABASE=shop \
  -e MARIADB_USER=shopper -e MARIADB_PASSWORD='s3cr$t' \
  --health-cmd 'healthcheck.sh --connect --innodb_initialized' --health-interval 1s --health-retries 120 \
  pier-standin/mariadb:11
wait_until "mariadb becomes healthy" "$db" healthy "$db"
ok "mariadb healthcheck.sh --connect --innodb_initialized passes"
docker exec "$db" mysqladmin ping >/dev/null 2>&1 || fail "mysqladmin ping" "$db"
ok "mariadb mysqladmin ping"
# From another container, over the network, by container name: listens on 0.0.0.0:3306.
maria() { docker run --rm --network "$NET" pier-standin/mariadb:11 mariadb -h "$db" -P 3306 --batch --skip-column-names "$@"; }
expect_eq "mariadb user logs in over TCP into its database" \
  "$(maria -ushopper -p's3cr$t' shop -e 'SELECT CONCAT(CURRENT_USER(), " ", DATABASE())')" "shopper@% shop" "$db"
expect_eq "mariadb root logs in over TCP with MARIADB_ROOT_PASSWORD" \
  "$(maria -uroot -p"$MARIA_ROOT_PW" -e 'SELECT 1')" "1" "$db"
if maria -ushopper -pwrong shop -e 'SELECT 1' >/dev/null 2>&1; then fail "mariadb accepted a wrong password" "$db"; fi
ok "mariadb refuses a wrong password"
maria -ushopper -p's3cr$t' shop -e 'CREATE TABLE kept (x INT); INSERT INTO kept VALUES (42)' || fail "mariadb write" "$db"
docker rm -f "$db" >/dev/null
# Same volume, different password: the data must be kept, not re-initialised.
db="$P-mariadb-2"; run "$db" -v "$dbvol:/var/lib/mysql" -e MARIADB_ROOT_PASSWORD=ignored \
  --health-cmd 'healthcheck.sh --connect --innodb_initialized' --health-interval 1s --health-retries 120 \
  pier-standin/mariadb:11
wait_until "mariadb (second start) becomes healthy" "$db" healthy "$db"
logs=$(docker logs "$db" 2>&1)
if grep -q 'Initializing database files' <<<"$logs"; then fail "mariadb re-initialised existing data" "$db"; fi
expect_match "mariadb second start says it skips initialization" "$logs" 'skipping initialization' "$db"
expect_eq "mariadb second start keeps the data" "$(maria -ushopper -p's3cr$t' shop -e 'SELECT x FROM kept')" "42" "$db"
expect_eq "mariadb second start keeps the first root password" "$(maria -uroot -p"$MARIA_ROOT_PW" -e 'SELECT 1')" "1" "$db"
if docker run --rm pier-standin/mariadb:11 >/dev/null 2>&1; then fail "mariadb started uninitialised without any root password option"; fi
ok "mariadb refuses to initialise without a root password option"

echo "# mysql (pier-standin/mysql:8, MYSQL_* variables, docker-entrypoint-initdb.d)"
mkdir -p "$WORK/initdb"
printf 'CREATE TABLE seeded (v VARCHAR(10));\nINSERT INTO seeded VALUES ("seed");\n' >"$WORK/initdb/01-seed.sql"
chmod -R a+rX "$WORK"
same_image pier-standin/mariadb:11 pier-standin/mariadb:11.8 pier-standin/mysql:8 pier-standin/mysql:8.4
# The lamp stack's healthcheck for database=mysql, verbatim; once it passes,
# clients must get in at once (no retry below).
my="$P-mysql"; run "$my" -e MYSQL_ROOT_PASSWORD=rootpw -e MYSQL_DATABASE=app -e MYSQL_USER=appuser -e MYSQL_PASSWORD=apppw \
  -v "$WORK/initdb:/docker-entrypoint-initdb.d:ro" \
  --health-cmd 'mysqladmin ping -h 127.0.0.1 -uroot -p"$MYSQL_ROOT_PASSWORD" --silent' --health-interval 1s --health-retries 120 \
  pier-standin/mysql:8
wait_until "mysql stand-in becomes healthy" "$my" healthy "$my"
expect_eq "mysql MYSQL_USER gets MYSQL_DATABASE, seeded by initdb.d" \
  "$(docker run --rm --network "$NET" pier-standin/mysql:8 mysql -h "$my" -uappuser -papppw app --batch --skip-column-names -e 'SELECT v FROM seeded')" "seed" "$my"

# ---------------------------------------------------------------- postgres
echo "# postgres (pier-standin/postgres:16)"
pgvol="$P-postgres-data"; volume "$pgvol"
PG_PW="p'w \$1"
same_image pier-standin/postgres:16 pier-standin/postgres:18
# The django stack's healthcheck, verbatim (socket, no -h): once it passes,
# clients must get in over TCP at once (no retry below).
pg="$P-postgres"; run "$pg" -v "$pgvol:/var/lib/postgresql/data" \
  -e POSTGRES_PASSWORD="$PG_PW" -e POSTGRES_USER=app -e POSTGRES_DB=appdb \
  --health-cmd 'pg_isready -U "$POSTGRES_USER" -d "$POSTGRES_DB"' --health-interval 1s --health-retries 120 \
  pier-standin/postgres:16
wait_until "postgres becomes healthy" "$pg" healthy "$pg"
ok "postgres pg_isready healthcheck passes"
psql_net() { local pw="$1"; shift; docker run --rm --network "$NET" -e PGPASSWORD="$pw" pier-standin/postgres:16 psql -h "$pg" -At "$@"; }
expect_eq "postgres POSTGRES_USER logs in with a password over TCP into POSTGRES_DB" \
  "$(psql_net "$PG_PW" -U app -d appdb -c 'SELECT current_user || $$ $$ || current_database()')" "app appdb" "$pg"
if psql_net wrong -U app -d appdb -c 'SELECT 1' >/dev/null 2>&1; then fail "postgres accepted a wrong password" "$pg"; fi
ok "postgres refuses a wrong password from another host"
psql_net "$PG_PW" -U app -d appdb -c 'CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)' >/dev/null || fail "postgres write" "$pg"
docker rm -f "$pg" >/dev/null
pg="$P-postgres-2"; run "$pg" -v "$pgvol:/var/lib/postgresql/data" -e POSTGRES_PASSWORD=ignored \
  --health-cmd 'pg_isready -h 127.0.0.1' --health-interval 1s --health-retries 120 pier-standin/postgres:16
wait_until "postgres (second start) becomes healthy" "$pg" healthy "$pg"
logs=$(docker logs "$pg" 2>&1)
if grep -q 'initdb in' <<<"$logs"; then fail "postgres re-initialised existing data" "$pg"; fi
expect_match "postgres second start says it skips initialization" "$logs" 'Skipping initialization' "$pg"
expect_eq "postgres second start keeps data and password" "$(psql_net "$PG_PW" -U app -d appdb -c 'SELECT x FROM kept')" "7" "$pg"
# The postgres:18 layout: the volume at /var/lib/postgresql keeps the data.
pg18vol="$P-postgres18-data"; volume "$pg18vol"
pg18="$P-postgres18"; run "$pg18" -v "$pg18vol:/var/lib/postgresql" -e POSTGRES_PASSWORD=pw \
  --health-cmd 'pg_isready' --health-interval 1s --health-retries 120 pier-standin/postgres:18
wait_until "postgres:18 becomes healthy" "$pg18" healthy "$pg18"
docker exec "$pg18" psql -U postgres -qc 'CREATE TABLE kept (x int); INSERT INTO kept VALUES (18)' || fail "postgres:18 write" "$pg18"
docker rm -f "$pg18" >/dev/null
pg18="$P-postgres18-2"; run "$pg18" -v "$pg18vol:/var/lib/postgresql" -e POSTGRES_PASSWORD=pw \
  --health-cmd 'pg_isready' --health-interval 1s --health-retries 120 pier-standin/postgres:18
wait_until "postgres:18 (second start) becomes healthy" "$pg18" healthy "$pg18"
expect_eq "postgres with the volume at /var/lib/postgresql (18 layout) keeps its data" \
  "$(docker exec "$pg18" psql -U postgres -At -c 'SELECT x FROM kept')" "18" "$pg18"

pgd="$P-postgres-defaults"; run "$pgd" -e POSTGRES_PASSWORD=pw pier-standin/postgres:16
wait_until "postgres (defaults) accepts TCP logins" "$pgd" docker exec -e PGPASSWORD=pw "$pgd" psql -h 127.0.0.1 -U postgres -d postgres -c 'SELECT 1'
ok "postgres defaults: user postgres, database postgres"
pgu="$P-postgres-user"; run "$pgu" -e POSTGRES_PASSWORD=pw -e POSTGRES_USER=alice pier-standin/postgres:16
wait_until "postgres (POSTGRES_USER only) accepts TCP logins into database alice" "$pgu" docker exec -e PGPASSWORD=pw "$pgu" psql -h 127.0.0.1 -U alice -d alice -c 'SELECT 1'
ok "postgres POSTGRES_DB defaults to POSTGRES_USER"

# ---------------------------------------------------------------- php
echo "# php (pier-standin/php:8.2-apache = 8.3-apache = 8.4-apache)"
same_image pier-standin/php:8.2-apache pier-standin/php:8.3-apache pier-standin/php:8.4-apache
if docker run --rm pier-standin/php:8.3-apache php -r 'exit(extension_loaded("mysqli") ? 0 : 1);'; then
  fail "php base image already has mysqli (upstream does not; docker-php-ext-install would prove nothing)"
fi
ok "php base image has no mysqli, as upstream"
if docker run --rm pier-standin/php:8.3-apache docker-php-ext-install no_such_ext >/dev/null 2>&1; then
  fail "docker-php-ext-install accepted an unknown extension"
fi
ok "docker-php-ext-install fails on an unknown extension"
mkdir -p "$WORK/php"
cat >"$WORK/php/Dockerfile" <<'EOF'
FROM pier-standin/php:8.3-apache
RUN docker-php-ext-install mysqli pdo_mysql
COPY index.php /var/www/html/
EOF
cat >"$WORK/php/index.php" <<'EOF'
<?php
$db = new mysqli(getenv('DB_HOST'), getenv('DB_USER'), getenv('DB_PASSWORD'), getenv('DB_NAME'));
$pdo = new PDO('mysql:host=' . getenv('DB_HOST') . ';dbname=' . getenv('DB_NAME'), getenv('DB_USER'), getenv('DB_PASSWORD'));
echo "mysqli: ", $db->query('SELECT x FROM kept')->fetch_row()[0], "\n";
echo "pdo: ", $pdo->query('SELECT DATABASE()')->fetchColumn(), "\n";
EOF
images+=("$P-php-app")
DOCKER_BUILDKIT=0 docker build -q -t "$P-php-app" "$WORK/php" >/dev/null 2>&1 || fail "building FROM php stand-in with docker-php-ext-install mysqli pdo_mysql"
ok "Dockerfile FROM the php stand-in runs docker-php-ext-install mysqli pdo_mysql"
# The lamp stack's web healthcheck, verbatim: curl inside the container.
web="$P-php"; run "$web" -p 127.0.0.1::80 -e DB_HOST="$db" -e DB_USER=shopper -e DB_PASSWORD='s3cr$t' -e DB_NAME=shop \
  --health-cmd 'curl -fsS -o /dev/null http://localhost/' --health-interval 1s --health-retries 60 "$P-php-app"
wait_until "php web becomes healthy (curl in the image)" "$web" healthy "$web"
url="http://127.0.0.1:$(host_port "$web" 80)/"
page=$(curl -fsS "$url")
expect_match "php page connects to mariadb with mysqli" "$page" '^mysqli: 42$' "$web"
expect_match "php page connects to mariadb with pdo_mysql" "$page" '^pdo: shop$' "$web"
expect_eq "php document root is /var/www/html" "$(docker exec "$web" pwd)" "/var/www/html" "$web"
expect_match "apache logs requests to the container's stdout" "$(docker logs "$web" 2>/dev/null)" '"GET / HTTP/1.1" 200' "$web"

# ---------------------------------------------------------------- phpmyadmin
echo "# phpmyadmin (pier-standin/phpmyadmin:5 = 5.2)"
same_image pier-standin/phpmyadmin:5 pier-standin/phpmyadmin:5.2
pma="$P-phpmyadmin"; run "$pma" -p 127.0.0.1::80 -e PMA_HOST="$db" -e PMA_PORT=3306 pier-standin/phpmyadmin:5
pma_url="http://127.0.0.1:$(host_port "$pma" 80)"
wait_until "phpmyadmin answers" "$pma" curl -fsS -o /dev/null "$pma_url/"
# login USER PASSWORD JAR: fetch the form (token, session), post it, print the page.
pma_login() {
  local form token session
  form=$(curl -fsS -c "$3" -b "$3" "$pma_url/")
  token=$(grep -o 'name="token" value="[^"]*"' <<<"$form" | head -n1 | sed 's/.*value="//; s/"$//')
  session=$(grep -o 'name="set_session" value="[^"]*"' <<<"$form" | head -n1 | sed 's/.*value="//; s/"$//')
  [ -n "$token" ] || fail "phpmyadmin login form has no token" "$pma"
  curl -fsS -L -c "$3" -b "$3" "$pma_url/index.php?route=/" \
    --data-urlencode "pma_username=$1" --data-urlencode "pma_password=$2" \
    --data-urlencode server=1 --data-urlencode route=/ \
    --data-urlencode "token=$token" --data-urlencode "set_session=$session"
}
login_page=$(curl -fsS "$pma_url/")
expect_match "phpmyadmin serves its login page at /" "$login_page" 'name="pma_username"' "$pma"
bad=$(pma_login shopper wrong "$WORK/jar-bad")
expect_match "phpmyadmin login with a wrong password is refused" "$bad" 'Access denied|Cannot log in' "$pma"
good=$(pma_login shopper 's3cr$t' "$WORK/jar-good")
if grep -q 'name="pma_username"' <<<"$good"; then fail "phpmyadmin login with the created user shows the login form again: $(grep -o 'Access denied[^<]*' <<<"$good" | head -n1)" "$pma"; fi
expect_match "phpmyadmin login with the created user works (PMA_HOST/PMA_PORT used)" "$good" "$db:3306" "$pma"
expect_match "phpmyadmin shows the user's database" "$good" '>shop<|"shop"' "$pma"

# ---------------------------------------------------------------- python
echo "# python (pier-standin/python:3.11-slim = 3.12-slim = 3.13-slim)"
same_image pier-standin/python:3.11-slim pier-standin/python:3.12-slim pier-standin/python:3.13-slim
printf 'six\n' >"$WORK/requirements.txt"
chmod a+r "$WORK/requirements.txt"
out=$(docker run --rm --network "$NET" -v "$WORK/requirements.txt:/app/requirements.txt:ro" -w /app pier-standin/python:3.11-slim \
  sh -c 'pip install -q -r requirements.txt && python -c "import six; print(\"six\", six.__version__)"' 2>&1) \
  || fail "python: pip install -r requirements.txt from PyPI failed: $out"
expect_match "python pip installs from PyPI over HTTPS, system-wide" "$out" '^six [0-9]'
out=$(docker run --rm pier-standin/python:3.11-slim sh -c 'python -m venv /tmp/v && /tmp/v/bin/pip install -q six && /tmp/v/bin/python -c "import six"' 2>&1) \
  || fail "python: venv + pip failed: $out"
ok "python venv works and its pip reaches PyPI"
# What the django stack needs: psycopg (binary wheel) talking to the postgres
# stand-in with password (scram) auth.
out=$(docker run --rm --network "$NET" -e PGPASSWORD="$PG_PW" pier-standin/python:3.13-slim sh -c \
  "pip install -q 'psycopg[binary]>=3.2,<4' && python -c \"import psycopg; print(psycopg.connect('host=$pg user=app dbname=appdb').execute('SELECT x FROM kept').fetchone()[0])\"" 2>&1) \
  || fail "python: psycopg to the postgres stand-in failed: $out" "$pg"
expect_eq "python psycopg (from PyPI) reads from the postgres stand-in" "$(tail -n1 <<<"$out")" "7" "$pg"

# ---------------------------------------------------------------- redis
echo "# redis (pier-standin/redis:7 = 8)"
same_image pier-standin/redis:7 pier-standin/redis:8
rvol="$P-redis-data"; volume "$rvol"
rd="$P-redis"; run "$rd" -v "$rvol:/data" --health-cmd 'redis-cli ping | grep -q PONG' --health-interval 1s --health-retries 60 pier-standin/redis:7
wait_until "redis becomes healthy" "$rd" healthy "$rd"
expect_eq "redis-cli ping inside the container" "$(docker exec "$rd" redis-cli ping)" "PONG" "$rd"
# protected mode would refuse a client from another host without a password.
expect_eq "redis answers another container (bind 0.0.0.0, protected-mode off)" \
  "$(docker run --rm --network "$NET" pier-standin/redis:7 redis-cli -h "$rd" ping)" "PONG" "$rd"
docker exec "$rd" redis-cli set kept yes >/dev/null
docker exec "$rd" redis-cli save >/dev/null
docker rm -f "$rd" >/dev/null
# A compose-style `command: redis-server --maxmemory-policy allkeys-lru` keeps the stand-in's
# config (open to other containers) and adds the option.
rd="$P-redis-2"; run "$rd" -v "$rvol:/data" pier-standin/redis:7 redis-server --maxmemory-policy allkeys-lru
wait_until "redis (second start) answers" "$rd" docker exec "$rd" redis-cli ping
expect_eq "redis keeps its data in /data" "$(docker exec "$rd" redis-cli get kept)" "yes" "$rd"
expect_eq "redis-server ARGS adds to the config" "$(docker exec "$rd" redis-cli config get maxmemory-policy | tail -n1)" "allkeys-lru" "$rd"
expect_eq "redis-server ARGS still answers other containers" \
  "$(docker run --rm --network "$NET" pier-standin/redis:7 redis-cli -h "$rd" ping)" "PONG" "$rd"

echo "all $passed checks passed"
