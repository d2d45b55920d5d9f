#!/usr/bin/env bash
# Check tests/compose/ against Docker Compose v2 (installed by
# scripts/install-compose-v2.sh):
#   - every valid file (NN-*.yaml, dotenv/compose.yaml) is accepted by
#     `docker-compose config`, and its normalized output equals the golden in
#     tests/compose/expected/ (absolute paths there read @CORPUS@);
#   - every file in tests/compose/invalid/ is rejected.
# Compose runs in an empty environment (env -i) so that no variable of the
# caller's shell leaks into interpolation; NN-feature.env, when present, is
# passed as --env-file.
#
# Usage: scripts/check-compose-corpus.sh [--update]   (--update rewrites the goldens)
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
corpus="$repo_root/tests/compose"
compose="$repo_root/.tools/compose/docker-compose"
update=0
[[ ${1:-} == --update ]] && update=1

[[ -x $compose ]] || { echo "check-compose-corpus: $compose missing; run scripts/install-compose-v2.sh" >&2; exit 1; }

# A clean environment: only what compose itself needs to start.
run_compose() { env -i PATH=/usr/bin:/bin HOME="$HOME" "$compose" "$@"; }

failures=0
fail() { echo "FAIL $*" >&2; failures=$((failures + 1)); }

mkdir -p "$corpus/expected"
cd "$corpus"
for f in [0-9][0-9]-*.yaml dotenv/compose.yaml; do
  args=()
  [[ -f ${f%.yaml}.env ]] && args=(--env-file "${f%.yaml}.env")
  golden="expected/${f//\//-}"
  if ! out=$(run_compose "${args[@]}" -f "$f" config 2>&1); then
    fail "$f: compose rejected it: $out"
    continue
  fi
  out=${out//"$corpus"/@CORPUS@}
  if [[ $update -eq 1 ]]; then
    printf '%s\n' "$out" >"$golden"
  elif ! diff -u "$golden" <(printf '%s\n' "$out") >&2; then
    fail "$f: compose output differs from $golden"
  fi
done

for f in invalid/*.yaml; do
  if out=$(run_compose -f "$f" config -q 2>&1); then
    fail "$f: compose accepted a file that must be rejected"
  else
    echo "ok   $f rejected: $(printf '%s' "$out" | tail -n1)"
  fi
done

if [[ $failures -gt 0 ]]; then
  echo "check-compose-corpus: $failures failure(s)" >&2
  exit 1
fi
echo "check-compose-corpus: all valid files accepted (goldens $([[ $update -eq 1 ]] && echo written || echo match)), all invalid files rejected"
