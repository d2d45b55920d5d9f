#!/usr/bin/env bash
# The README's test command. Makes sure what the tests need is on this machine
# (a running Docker engine, busybox-static for the tiny test image), then runs
# every test: unit, CLI and engine tests.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'test.sh: %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# 1. A reachable Docker engine: start the daemon when it is installed but not running.
if ! docker info >/dev/null 2>&1; then
  if command -v dockerd >/dev/null 2>&1; then
    say "starting the Docker engine"
    as_root service docker start >/dev/null 2>&1 || (as_root dockerd >/tmp/pier-dockerd.log 2>&1 &)
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  fi
  if ! docker info >/dev/null 2>&1; then
    say "no Docker engine reachable (DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}); install docker.io and start it"
    exit 1
  fi
fi

# 2. Debian packages the tests need.
missing=()
[ -x /bin/busybox ] || missing+=(busybox-static)
# A real registry (v2) for the pull tests (tests/engine_registry.rs).
[ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# 3. Compose v2 (into .tools/), the oracle the corpus tests compare `pier config` with.
#    Without it those tests only check that pier loads the corpus, and say so.
if ! scripts/install-compose-v2.sh; then
  say "note: Compose v2 could not be installed; the Compose oracle comparisons will be skipped"
fi

# 4. kubernetes-validate (PyPI; it ships the Kubernetes schemas), which checks
#    every manifest `pier export kubernetes` writes.
if ! command -v kubernetes-validate >/dev/null 2>&1; then
  say "installing kubernetes-validate"
  python3 -m pip install --quiet --disable-pip-version-check kubernetes-validate==1.37.0
fi

# 5. Stand-ins for the official images the built-in stacks use (no registry is
#    reachable), built offline from Debian packages; reused when they exist
#    (about 4 minutes from scratch). See tests/standins/README.md.
as_root scripts/build-standins.sh

# 6. The tests: everything but the built-in stacks' end-to-end tests, then
#    those, with their output shown so that the log has the time each took.
rm -f target/tmp/matrix-summary.txt target/tmp/faults-summary.txt
cargo test --locked -- --skip e2e_
# The bad-input / fault / data-safety matrix's summary (tests/matrix.rs), which
# `cargo test` does not show for a passing test.
if [ -f target/tmp/matrix-summary.txt ]; then
  say "matrix: $(cat target/tmp/matrix-summary.txt)"
fi
# The fault-injection suite's line (tests/engine_faults.rs), counted from its cases.
if [ -f target/tmp/faults-summary.txt ]; then
  say "$(cat target/tmp/faults-summary.txt)"
fi
cargo test --locked --test e2e_stacks -- --nocapture
