#!/bin/sh
# Snapshot and restore of a volume (default 1 GiB: many small files and a few
# large ones): `pier snapshot` / `pier snapshot restore` against the usual
# manual way, `docker run --rm -v VOL:/v IMAGE tar c … | zstd` and back, on the
# same volume in one run. Prints both times, the ratio (target <= 1.0) and the
# compressed sizes.
#
# Both sides do the same work for a consistent copy: the service that writes
# the volume is stopped for the copy and started again afterwards. pier also
# waits until the service is ready again, checksums the archive (sha256) and
# fsyncs it; before a restore it checks the checksum, stages the content beside
# the volume's and swaps it in (all or nothing); the manual restore deletes the
# old content and extracts over it. pier's restore returns once the service
# runs again, and a cleaner container deletes the replaced content after that:
# the script waits for it before the next step (printed, not in the ratio).
#
# Usage: scripts/bench-snapshot.sh [SIZE_MIB] [ROUNDS]   (default 1024 1)
# BENCH_COLD=1: drop the caches before every timed step (see settle below).
# Build first: cargo build --release --locked (PIER= another binary).
# BENCH_DIR: where the project directory (pier's snapshots) and the manual
# archives go (default $TMPDIR or /tmp); it needs about 3 x SIZE free, the
# engine's disk 2.5 x SIZE (the volume, and a restore's staged copy).
set -eu
MIB=${1:-1024}
ROUNDS=${2:-1}
PIER=${PIER:-${CARGO_TARGET_DIR:-target}/release/pier}
case $PIER in /*) ;; *) PIER=$(pwd)/$PIER ;; esac
[ -x "$PIER" ] || { echo "bench-snapshot: no pier at $PIER (cargo build --release --locked)" >&2; exit 1; }
if [ -n "${BENCH_COLD:-}" ] && ! [ -w /proc/sys/vm/drop_caches ]; then
  echo "bench-snapshot: BENCH_COLD needs root (it writes /proc/sys/vm/drop_caches)" >&2; exit 1
fi
command -v zstd >/dev/null || { echo "bench-snapshot: needs the zstd command (apt-get install zstd)" >&2; exit 1; }
IMAGE=pier-test/busybox:2
docker image inspect $IMAGE >/dev/null 2>&1 || {
  echo "bench-snapshot: no $IMAGE image (the engine tests build it: cargo test --test engine_snapshot)" >&2; exit 1; }
P=pier-bench-snap-$$
PARENT=${BENCH_DIR:-${TMPDIR:-/tmp}}
free_mib() { df --output=avail -B1M "$1" | tail -1 | tr -d ' '; }
ENGINE_DIR=$(docker info -f '{{.DockerRootDir}}')
if [ "$(free_mib "$PARENT")" -lt $((MIB * 3)) ] || [ "$(free_mib "$ENGINE_DIR")" -lt $((MIB * 5 / 2)) ]; then
  echo "bench-snapshot: not enough free disk for a ${MIB} MiB volume: $(free_mib "$PARENT") MiB in $PARENT (needs $((MIB * 3))), $(free_mib "$ENGINE_DIR") MiB in $ENGINE_DIR (needs $((MIB * 5 / 2))); BENCH_DIR= elsewhere, or a smaller SIZE_MIB" >&2
  exit 1
fi
DIR=$(mktemp -d "$PARENT/pier-bench-snap.XXXXXX")
cleanup() { cd /; $PIER -p $P down -v --no-snapshot >/dev/null 2>&1 || true; rm -rf "$DIR"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
cat > "$DIR/pier.yaml" <<YAML
name: $P
services:
  app:
    image: $IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1 & wait \$\$!; done"]
    volumes: [data:/data]
volumes:
  data:
YAML
cd "$DIR"
$PIER --progress quiet up --pull never >/dev/null
C=$P-app-1
VOL=${P}_data
# Half in many small files (~26 KiB of base64 text each, 20 per MiB of the
# total), half in 4 large files of random bytes.
docker exec $C sh -c "
  mkdir -p /data/small /data/large
  n=0; while [ \$n -lt $((MIB * 20)) ]; do head -c 19968 /dev/urandom | base64 > /data/small/f\$n; n=\$((n+1)); done
  i=0; while [ \$i -lt 4 ]; do head -c $((MIB * 1024 * 128)) /dev/urandom > /data/large/l\$i; i=\$((i+1)); done
"
sync
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }
ratio() { echo "scale=2; $1 / $2" | bc; }
tree_sum() { docker run --rm -v $VOL:/v $IMAGE sh -c 'cd /v && find . -type f | sort | xargs md5sum | md5sum'; }
before=$(tree_sum)
echo "volume: ${MIB} MiB ($(docker run --rm -v $VOL:/v $IMAGE du -sm /v | cut -f1) MiB on disk, $(docker run --rm -v $VOL:/v $IMAGE sh -c 'find /v -type f | wc -l') files); archives in $PARENT"
# The manual ways, both with the service stopped for the copy and started again:
#   pipe:  docker run --rm -v VOL:/v IMAGE tar c -C /v . | zstd      (the archive
#          streams through the docker CLI's attach, as the issue describes it)
#   mount: docker run --rm -v VOL:/v -v DIR:/backup IMAGE tar c -f /backup/x.tar
#          then zstd on the host (Docker's documented backup recipe)
# and back: `zstd -dc | docker run -i … tar x`, and `zstd -d` then a `tar x -f`
# from the mounted directory; each deletes the old content first.
manual_snapshot_pipe() {
  docker stop -t 10 $C >/dev/null
  docker run --rm -v $VOL:/v $IMAGE tar c -C /v . | zstd -q -3 -o pipe.tar.zst
  docker start $C >/dev/null
}
manual_snapshot_mount() {
  docker stop -t 10 $C >/dev/null
  docker run --rm -v $VOL:/v -v "$DIR":/backup $IMAGE tar c -f /backup/mount.tar -C /v .
  zstd -q -3 --rm mount.tar
  docker start $C >/dev/null
}
manual_restore_pipe() {
  docker stop -t 10 $C >/dev/null
  zstd -q -dc mount.tar.zst | docker run --rm -i -v $VOL:/v $IMAGE sh -c 'cd /v && rm -rf ./* ./.[!.]* && tar x -C /v'
  docker start $C >/dev/null
}
manual_restore_mount() {
  docker stop -t 10 $C >/dev/null
  zstd -q -d mount.tar.zst
  docker run --rm -v $VOL:/v -v "$DIR":/backup $IMAGE sh -c 'cd /v && rm -rf ./* ./.[!.]* && tar x -f /backup/mount.tar -C /v'
  rm -f mount.tar
  docker start $C >/dev/null
}
# timed COMMAND…: run it, print its seconds. With BENCH_TRACE=FILE, pier's
# progress goes to FILE with a timestamp per line (where its time goes).
# Each starts after a `sync` (not timed): what the previous step left in the
# page cache is written out first, so no side pays for another's writeback
# (ext4 flushes such data before the journal commits that a restore's deletes
# need, so a restore right after a manual snapshot otherwise waits for it).
# BENCH_COLD=1 also drops the kernel's caches (root only) before each step: every
# step then reads its archive and the volume from the disk, and the filesystem
# has no memory of what the step before deleted (ext4 skips inodes deleted a
# moment ago while their table is cached) — a restore long after the snapshot.
settle() {
  sync
  if [ -n "${BENCH_COLD:-}" ]; then echo 3 > /proc/sys/vm/drop_caches; fi
}
timed() { settle; t0=$(now); "$@" >/dev/null; t1=$(now); secs "$t0" "$t1"; }
pier_timed() {
  if [ -n "${BENCH_TRACE:-}" ]; then
    echo "== pier $*" >> "$BENCH_TRACE"
    timed sh -c '"$0" --progress plain "$@" 2>&1 | while IFS= read -r l; do echo "$(date +%T.%N | cut -c1-12) $l"; done >> "$BENCH_TRACE"' "$PIER" "$@"
  else
    timed "$PIER" --progress quiet "$@"
  fi
}
# Seconds until pier's cleaner (deleting what its restore replaced) is gone;
# the bench fails after 10 minutes.
cleaned() {
  t0=$(now); end=$(($(date +%s) + 600))
  while [ -n "$(docker ps -aq --filter label=io.pier.cleaner=$P)" ]; do
    [ "$(date +%s)" -lt $end ] || { echo "bench-snapshot: pier's cleaner still runs after 10 minutes" >&2; exit 1; }
    sleep 0.1
  done
  secs "$t0" "$(now)"
}
check() { [ "$(tree_sum)" = "$before" ] || { echo "bench-snapshot: $1 changed the content" >&2; exit 1; }; }
best() { if [ "$(echo "$1 < $2" | bc)" = 1 ]; then echo "$1"; else echo "$2"; fi; }
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

all_ps=""; all_ms=""; all_pr=""; all_mr=""; all_pc=""
r=1
while [ $r -le "$ROUNDS" ]; do
  rm -f pipe.tar.zst mount.tar.zst mount.tar
  $PIER --progress quiet snapshot rm bench >/dev/null 2>&1 || true
  # pier first in odd rounds, last in even ones (caches, the disk's state).
  if [ $((r % 2)) = 1 ]; then ps=$(pier_timed snapshot --name bench); fi
  pipe_s=$(timed manual_snapshot_pipe)
  pipe_size=$(stat -c %s pipe.tar.zst); rm -f pipe.tar.zst  # (disk space: one manual archive at a time)
  mount_s=$(timed manual_snapshot_mount)
  if [ $((r % 2)) = 0 ]; then ps=$(pier_timed snapshot --name bench); fi
  if [ $((r % 2)) = 1 ]; then pr=$(pier_timed snapshot restore bench); pc=$(cleaned); check "pier's restore"; fi
  pipe_r=$(timed manual_restore_pipe); check "the manual restore (pipe)"
  mount_r=$(timed manual_restore_mount); check "the manual restore (mount)"
  if [ $((r % 2)) = 0 ]; then pr=$(pier_timed snapshot restore bench); pc=$(cleaned); check "pier's restore"; fi
  pier_size=$(du -sb .pier/snapshots/bench | cut -f1); mount_size=$(stat -c %s mount.tar.zst)
  ms=$(best "$pipe_s" "$mount_s"); mr=$(best "$pipe_r" "$mount_r")
  all_ps="$all_ps $ps"; all_ms="$all_ms $ms"; all_pr="$all_pr $pr"; all_mr="$all_mr $mr"; all_pc="$all_pc $pc"
  echo "round $r (load average $(cut -d' ' -f1 /proc/loadavg))"
  echo "  snapshot: pier ${ps}s  manual: pipe ${pipe_s}s, mount ${mount_s}s  ratio to the faster $(ratio "$ps" "$ms")"
  echo "  restore:  pier ${pr}s  manual: pipe ${pipe_r}s, mount ${mount_r}s  ratio to the faster $(ratio "$pr" "$mr")"
  echo "            (pier's cleaner deleted the replaced content ${pc}s after it returned)"
  echo "  compressed: pier $((pier_size / 1048576)) MiB  manual: pipe $((pipe_size / 1048576)) MiB, mount $((mount_size / 1048576)) MiB"
  r=$((r + 1))
done
mps=$(echo "$all_ps" | median); mms=$(echo "$all_ms" | median)
mpr=$(echo "$all_pr" | median); mmr=$(echo "$all_mr" | median); mpc=$(echo "$all_pc" | median)
echo "medians of $ROUNDS rounds (manual: the faster way of each round)"
echo "  snapshot: pier ${mps}s  manual ${mms}s  ratio $(ratio "$mps" "$mms")"
echo "  restore:  pier ${mpr}s  manual ${mmr}s  ratio $(ratio "$mpr" "$mmr")  (+ ${mpc}s of pier's cleaner after it returned)"
