#!/bin/sh
# The router's added latency: 200 requests to a web service (busybox httpd)
# through the router (`https://web.<project>.localhost`, one kept-alive TLS
# connection, certificate checked against pier's local CA) and 200 straight
# to its published host port (plain HTTP, one kept-alive connection), in one
# run. Prints both medians, the added latency (target <= 1 ms) and a line for
# BENCHMARKS.md.
# Usage: scripts/bench-router.sh   (PIER=..., PIER_ROUTER_IMAGE=... to override;
# needs pier-test/busybox:2 from the engine tests and the caddy stand-in, or caddy:2)
set -eu
PIER=${PIER:-target/release/pier}
[ -x "$PIER" ] || PIER=target/debug/pier
PIER=$(cd "$(dirname "$PIER")" && pwd)/$(basename "$PIER")
N=200
IMAGE=pier-test/busybox:2
export PIER_ROUTER=on PIER_ROUTER_IMAGE=${PIER_ROUTER_IMAGE:-pier-standin/caddy:2}
P=pier-bench-router-$$
DIR=$(mktemp -d)
export XDG_DATA_HOME="$DIR/data"
trap 'cd /; $PIER -p $P --progress quiet down >/dev/null 2>&1 || true; docker rm -f pier-router >/dev/null 2>&1 || true; docker network rm pier-router >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
docker rm -f pier-router >/dev/null 2>&1 || true
cat > "$DIR/pier.yaml" <<YAML
name: $P
services:
  web:
    image: $IMAGE
    command: ["sh", "-c", "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 80 -h /www"]
    ports: ["127.0.0.1::80"]
YAML
cd "$DIR"
$PIER --progress quiet up --pull never >/dev/null
port=$(docker port $P-web-1 80/tcp | head -1 | sed 's/.*://')
https=$($PIER router status --json | sed -n 's/.*"https_port": \([0-9]*\).*/\1/p')
suffix=""; [ "$https" = 443 ] || suffix=":$https"
root="$XDG_DATA_HOME/pier/router/caddy/pki/authorities/local/root.crt"
direct="http://127.0.0.1:$port/"
routed="https://web.$P.localhost$suffix/"
# Warm both paths (the first TLS handshake, the router's certificate).
curl -fsS --cacert "$root" "$routed" "$direct" >/dev/null
# One curl per path: N transfers on one kept-alive connection each; time_total
# of a reused connection is the request's own round trip.
median() { # N URL [curl args...]
  n=$1 url=$2; shift 2
  urls=$(i=0; while [ $i -lt "$n" ]; do printf '%s ' "$url"; i=$((i+1)); done)
  # shellcheck disable=SC2086
  curl -fsS "$@" -o /dev/null -w '%{time_total}\n' $urls | sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m*1000}'
}
d=$(median $N "$direct")
r=$(median $N "$routed" --cacert "$root")
added=$(echo "$r - $d" | bc -l | awk '{printf "%.3f", $1}')
met=$(echo "$added <= 1.0" | bc -l | awk '{print ($1==1)?"yes":"**no**"}')
echo "direct host port (HTTP):   median $d ms over $N requests"
echo "through the router (HTTPS): median $r ms over $N requests"
echo "added by the router: $added ms (target <= 1 ms)"
echo
echo "| router | $N requests, kept-alive: through the router (HTTPS, $PIER_ROUTER_IMAGE) vs the direct host port (HTTP) | $r | $d | +$added ms | ≤ +1 ms | $met |"
