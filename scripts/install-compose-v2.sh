#!/usr/bin/env bash
# Install Docker Compose v2 (Debian trixie's `docker-compose` package, a static
# Go binary) into <repo>/.tools/compose/docker-compose, without touching the
# system's apt configuration.
#
# Why: the host ships compose v1 (1.29, Python) as /usr/bin/docker-compose and
# no `docker compose` CLI plugin. pier follows the Compose *specification* as
# compose v2 implements it, so the test corpus in tests/compose/ is checked
# against v2, and the benchmarks compare pier with v2.
#
# How: a private apt configuration (own sources list, lists dir and cache, all
# in a temporary directory) pointed at the trixie suite of the mirror the
# system already uses; `apt-get download` + `dpkg -x`; copy the binary out.
#
# Usage: scripts/install-compose-v2.sh [--force]
#   --force   reinstall even if .tools/compose/docker-compose already runs as v2
# Environment:
#   COMPOSE_SUITE   Debian suite to take the package from (default: trixie)
#
# The binary runs standalone as `docker-compose` (argv[0] does not matter for
# `version`/`config`/`up`; it also works as a CLI plugin when copied to
# ~/.docker/cli-plugins/docker-compose, which this script does NOT do).
# Against this host's engine (API 1.41) set DOCKER_API_VERSION=1.41 if a
# command complains about the API version.
set -euo pipefail

die() { echo "install-compose-v2: error: $*" >&2; exit 1; }

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest_dir="$repo_root/.tools/compose"
dest="$dest_dir/docker-compose"
suite="${COMPOSE_SUITE:-trixie}"
force=0
case "${1:-}" in
  --force) force=1 ;;
  "") ;;
  *) die "unknown argument '$1' (usage: $0 [--force])" ;;
esac

# Idempotent: a working v2 binary already in place means there is nothing to do.
if [[ $force -eq 0 && -x "$dest" ]] && "$dest" version --short 2>/dev/null | grep -q '^v\?2\.'; then
  exit 0
fi

command -v apt-get >/dev/null || die "apt-get not found (this script needs a Debian-based host)"
command -v dpkg >/dev/null || die "dpkg not found"

# Derive the Debian mirror from the system's own sources, rather than
# hard-coding a host: the first URI that serves a Debian main archive (not
# -security). Handles deb822 (*.sources, "URIs:") and one-line (*.list,
# "deb [opts] URI suite ...") formats; disabled files are not read.
find_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    awk '/^[[:space:]]*URIs:/ { for (i = 2; i <= NF; i++) print $i }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    awk '$1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } print $i }' "$f"
  done
}
mirror=$(find_mirror | grep -E '/debian/?$' | grep -v -- '-security' | head -n1 || true)
[[ -n $mirror ]] || die "no Debian mirror (a URI ending in /debian) found in /etc/apt/sources.list or /etc/apt/sources.list.d/"
mirror=${mirror%/}

# The trixie signing keys ship in debian-archive-keyring (>= 2023.3 on
# bookworm). Use the combined keyring if it holds a trixie key; otherwise the
# per-release file. There is no fallback to [trusted=yes]: an unverified
# binary is not worth installing.
keyring=""
if [[ -f /usr/share/keyrings/debian-archive-$suite-automatic.gpg || -f /usr/share/keyrings/debian-archive-$suite-stable.gpg ]]; then
  for k in /usr/share/keyrings/debian-archive-keyring.gpg /usr/share/keyrings/debian-archive-$suite-automatic.gpg; do
    if [[ -f $k ]]; then keyring=$k; break; fi
  done
fi
[[ -n $keyring ]] || die "no signing key for Debian $suite in /usr/share/keyrings (install or upgrade debian-archive-keyring)"

arch=$(dpkg --print-architecture)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/etc/preferences.d"
# apt drops privileges to _apt for downloads; let it reach its private dirs
# (mktemp -d is 0700) instead of warning and fetching unsandboxed.
chmod 0755 "$tmp"
if id _apt >/dev/null 2>&1; then
  chown -R _apt "$tmp/lists" "$tmp/cache"
fi
echo "deb [signed-by=$keyring arch=$arch] $mirror $suite main" >"$tmp/sources.list"

# Every path apt would read or write is redirected into $tmp, so the system's
# package lists, caches and preferences stay as they were.
apt_opts=(
  -q -q
  -o "Dir::Etc::sourcelist=$tmp/sources.list"
  -o "Dir::Etc::sourceparts=-"
  -o "Dir::Etc::preferencesparts=$tmp/etc/preferences.d"
  -o "Dir::State::Lists=$tmp/lists"
  -o "Dir::State::status=/dev/null"
  -o "Dir::Cache=$tmp/cache"
  -o "APT::Architecture=$arch"
  -o "APT::Architectures=$arch"
  -o "APT::Get::List-Cleanup=0"
  -o "Acquire::Languages=none"
)

if ! apt-get "${apt_opts[@]}" update >"$tmp/update.log" 2>&1; then
  cat "$tmp/update.log" >&2
  die "apt-get update of $mirror $suite failed"
fi
# apt-get update exits 0 on some fetch/signature failures; check the log too.
if grep -qE '^(W|E): ' "$tmp/update.log"; then
  cat "$tmp/update.log" >&2
  die "apt-get update of $mirror $suite reported errors"
fi

if ! (cd "$tmp" && apt-get "${apt_opts[@]}" download docker-compose >"$tmp/download.log" 2>&1); then
  cat "$tmp/download.log" >&2
  die "could not download package docker-compose from $mirror $suite"
fi
deb=$(ls "$tmp"/docker-compose_*.deb 2>/dev/null | head -n1)
[[ -n $deb ]] || die "apt-get download produced no docker-compose_*.deb"

dpkg -x "$deb" "$tmp/root"
# The Debian package installs the CLI plugin under /usr/libexec/docker/cli-plugins
# and (in some versions) /usr/bin/docker-compose; take whichever is a file.
bin=""
for c in usr/libexec/docker/cli-plugins/docker-compose usr/bin/docker-compose; do
  if [[ -f "$tmp/root/$c" && ! -L "$tmp/root/$c" ]]; then bin="$tmp/root/$c"; break; fi
done
[[ -n $bin ]] || die "no docker-compose binary inside $(basename "$deb")"

mkdir -p "$dest_dir"
install -m 0755 "$bin" "$dest.new"
mv -f "$dest.new" "$dest"

version=$("$dest" version --short 2>/dev/null || true)
[[ $version =~ ^v?2\. ]] || die "installed $dest but it reports version '$version', not 2.x"
echo "installed docker-compose $version ($(basename "$deb")) to ${dest#"$repo_root"/}"
