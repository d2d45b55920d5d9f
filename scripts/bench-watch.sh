#!/usr/bin/env bash
# pier watch vs Compose v2's watch on the same stack, in one run (scripts/bench_watch.py):
# latency from a file's write to it being readable in the container (median and
# worst of 20 edits) and the time to sync a batch of 1,000 files. Writes the
# results into BENCHMARKS.md between the `watch` markers.
#
# Usage: scripts/bench-watch.sh [--stdout] [--edits N] [--rounds N]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

stdout=0
args=()
for a in "$@"; do
  if [[ $a == --stdout ]]; then stdout=1; else args+=("$a"); fi
done

[[ -x /bin/busybox ]] || apt-get install -y -qq busybox-static >/dev/null
scripts/install-compose-v2.sh
cargo build --release --locked -q --bin pier
target_dir=${CARGO_TARGET_DIR:-target}

results=$(mktemp)
trap 'rm -f "$results"' EXIT
load_before=$(uptime)
python3 scripts/bench_watch.py --pier "$target_dir/release/pier" --compose .tools/compose/docker-compose "${args[@]}" >"$results"
load_after=$(uptime)

report() {
  echo "Run $(date -u '+%Y-%m-%d %H:%M UTC') with \`scripts/bench-watch.sh ${args[*]}\`; pier $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes'), compose v2 $(.tools/compose/docker-compose version --short), Docker engine $(docker version --format '{{.Server.Version}}') ($(docker info --format '{{.Driver}}')), $(nproc) cores."
  echo "Load before: \`${load_before#*load average: }\`; after: \`${load_after#*load average: }\`."
  echo
  cat "$results"
}

if [[ $stdout == 1 ]]; then
  report
  exit 0
fi
block=$(mktemp)
report >"$block"
awk -v block="$block" '
  /<!-- watch:begin -->/ { print; while ((getline line < block) > 0) print line; skip = 1; next }
  /<!-- watch:end -->/ { skip = 0 }
  !skip { print }
' BENCHMARKS.md >BENCHMARKS.md.new
mv BENCHMARKS.md.new BENCHMARKS.md
rm -f "$block"
echo "BENCHMARKS.md updated"
