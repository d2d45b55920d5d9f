#!/usr/bin/env bash
# Benchmark pier against docker compose v1 and v2 and the engine's floor, and write
# the results into BENCHMARKS.md (between the `results` markers; the rest of the
# file is prose kept by hand).
#
# Usage: scripts/bench.sh [--quick] [--rounds N] [--no-lamp] [--stdout]
#   --quick     3 rounds instead of 7 (about 4 minutes instead of 9 on 2 cores)
#   --no-lamp   leave out lamp-ready (needs the pier-standin/* images)
#   --stdout    print the results, do not touch BENCHMARKS.md
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

stdout=0
args=()
for a in "$@"; do
  if [[ $a == --stdout ]]; then stdout=1; else args+=("$a"); fi
done

command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
[[ -x /bin/busybox ]] || apt-get install -y -qq busybox-static >/dev/null
[[ -x /usr/bin/docker-compose ]] || apt-get install -y -qq docker-compose >/dev/null
scripts/install-compose-v2.sh
cargo build --release --locked -q --bin pier --example pier-bench

load_before=$(uptime)
results=$(mktemp)
trap 'rm -f "$results"' EXIT
target/release/examples/pier-bench "${args[@]}" >"$results"
load_after=$(uptime)

report() {
  echo "Run $(date -u '+%Y-%m-%d %H:%M UTC') with \`scripts/bench.sh ${args[*]}\`."
  echo
  echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(nproc) cores; memory: $(free -g | awk '/^Mem:/ {print $2}') GiB; kernel $(uname -r)"
  echo "- Docker engine $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})'), storage driver $(docker info --format '{{.Driver}}')"
  echo "- compose v1: $(/usr/bin/docker-compose version --short); compose v2: $(.tools/compose/docker-compose version --short); pier $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes')"
  echo "- load before: \`${load_before#*load average: }\`; after: \`${load_after#*load average: }\` (1, 5, 15 min)"
  echo
  cat "$results"
}

if [[ $stdout == 1 ]]; then
  report
  exit 0
fi
[[ -f BENCHMARKS.md ]] || printf '# Benchmarks\n\n<!-- results:begin -->\n<!-- results:end -->\n' >BENCHMARKS.md
block=$(mktemp)
report >"$block"
awk -v block="$block" '
  /<!-- results:begin -->/ { print; while ((getline line < block) > 0) print line; skip = 1; next }
  /<!-- results:end -->/ { skip = 0 }
  !skip { print }
' BENCHMARKS.md >BENCHMARKS.md.new
mv BENCHMARKS.md.new BENCHMARKS.md
rm -f "$block"
echo "BENCHMARKS.md updated"
