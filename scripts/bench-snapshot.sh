#!/bin/sh
# Snapshot and restore of a 1 GiB volume (many small files and a few large
# ones): `pier snapshot` / `pier snapshot restore` against the manual way,
# `docker run --rm -v VOL:/v IMAGE tar c… | zstd` and back, in one run.
# Prints both times, the ratio (target <= 1.0) and the compressed sizes.
# Usage: scripts/bench-snapshot.sh [SIZE_MIB]   (default 1024)
set -eu
MIB=${1:-1024}
PIER=${PIER:-target/release/pier}
IMAGE=pier-test/busybox:2
P=pier-bench-snap-$$
DIR=$(mktemp -d)
trap 'cd /; $PIER -p $P down -v --no-snapshot >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
cat > "$DIR/pier.yaml" <<YAML
name: $P
services:
  app:
    image: $IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
    volumes: [data:/data]
volumes:
  data:
YAML
cd "$DIR"
$PIER --progress quiet up --pull never >/dev/null
C=$P-app-1
# Half in 20000 small files (~26 KiB), half in 4 large ones; random-ish text.
docker exec $C sh -c "
  mkdir -p /data/small /data/large
  n=0; while [ \$n -lt $((MIB * 20)) ]; do head -c 19968 /dev/urandom | base64 > /data/small/f\$n; n=\$((n+1)); done
  i=0; while [ \$i -lt 4 ]; do head -c $((MIB * 1024 * 128)) /dev/urandom > /data/large/l\$i; i=\$((i+1)); done
"
now() { date +%s.%N; }
t0=$(now); $PIER --progress quiet snapshot --name bench >/dev/null; t1=$(now)
$PIER --progress quiet snapshot restore bench >/dev/null; t2=$(now)
docker stop -t 1 $C >/dev/null
docker run --rm -v ${P}_data:/v $IMAGE tar c -C /v . | zstd -q -3 -o manual.tar.zst; t3=$(now)
zstd -dc manual.tar.zst | docker run --rm -i -v ${P}_data:/v $IMAGE sh -c 'rm -rf /v/* && tar x -C /v'; t4=$(now)
docker start $C >/dev/null
pier_s=$(echo "$t1 - $t0" | bc); pier_r=$(echo "$t2 - $t1" | bc)
man_s=$(echo "$t3 - $t2" | bc); man_r=$(echo "$t4 - $t3" | bc)
pier_size=$(du -sb .pier/snapshots/bench | cut -f1); man_size=$(stat -c %s manual.tar.zst)
echo "volume: ${MIB} MiB"
echo "snapshot: pier ${pier_s}s  manual ${man_s}s  ratio $(echo "scale=2; $pier_s / $man_s" | bc)"
echo "restore:  pier ${pier_r}s  manual ${man_r}s  ratio $(echo "scale=2; $pier_r / $man_r" | bc)"
echo "compressed: pier $pier_size bytes  manual $man_size bytes"
