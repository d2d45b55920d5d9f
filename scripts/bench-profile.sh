#!/usr/bin/env bash
# Where the time of each benchmark case goes: every engine call of pier, compose v2
# and the floor, traced by scripts/engine-trace.py, one run each.
#
# Usage: scripts/bench-profile.sh [CASE...]   (cases: chain5 wide20 healthy3 down20;
#                                              default: all)
# Prints, per case and tool, the per-kind call summary and the split of the wall
# time into "engine answering" (some call in flight) and "tool alone". Add
# `TRACE_CALLS=1` to see every call. Projects are named `pierprof-*` and removed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

[[ -x /bin/busybox ]] || apt-get install -y -qq busybox-static >/dev/null
scripts/install-compose-v2.sh
cargo build --release --locked -q --bin pier --example pier-bench

pier=target/release/pier
bench=target/release/examples/pier-bench
v2=.tools/compose/docker-compose
dir=$(mktemp -d)
clean() {
  docker ps -aq --filter name=pierprof- | xargs -r docker rm -f -v >/dev/null
  docker network ls -q --filter name=pierprof- | xargs -r docker network rm >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap clean EXIT
"$bench" stacks "$dir"
cases=("$@")
[[ ${#cases[@]} -gt 0 ]] || cases=(chain5 wide20 healthy3 down20)

trace() {
  if [[ ${TRACE_CALLS:-0} == 1 ]]; then
    scripts/engine-trace.py -- "$@" 2>&1 >/dev/null
  else
    scripts/engine-trace.py -- "$@" 2>&1 >/dev/null | sed -n '/^call /,$p'
  fi
}

for case in "${cases[@]}"; do
  stack=$case
  [[ $case == down20 ]] && stack=wide20
  file=$dir/$stack/compose.yaml
  [[ -f $file ]] || { echo "unknown case $case (chain5 wide20 healthy3 down20)" >&2; exit 2; }
  for tool in pier v2 floor; do
    p=pierprof-$case-$tool
    up=() down=()
    case $tool in
      pier) up=("$pier" --progress quiet -f "$file" -p "$p" up); down=("$pier" --progress quiet -f "$file" -p "$p" down) ;;
      v2) up=("$v2" -f "$file" -p "$p" up -d); down=("$v2" -f "$file" -p "$p" down) ;;
      floor) up=("$bench" floor up "$file" "$p"); down=("$bench" floor down "$file" "$p") ;;
    esac
    echo "== $case, $tool"
    if [[ $case == down20 ]]; then
      "${up[@]}" >/dev/null 2>&1
      trace "${down[@]}"
    else
      trace "${up[@]}"
      "${down[@]}" >/dev/null 2>&1
    fi
  done
done
