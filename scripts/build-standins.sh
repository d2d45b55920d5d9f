#!/usr/bin/env bash
# Build local stand-ins for the official images pier's built-in stacks use
# (php, mariadb/mysql, phpmyadmin, postgres, python, redis; caddy for pier's
# router; and the .NET SDK, as a Python program serving the dotnet skeleton's
# endpoints), from Debian bookworm packages, because no container registry can
# be reached here.
#
#   scripts/build-standins.sh [--rebuild] [NAME...]
#
# NAME is a directory under tests/standins/ (mariadb, postgres, php, ...) or
# "base" (the Debian root filesystem image they are all built FROM); without
# names everything is built. An image whose tags all exist already is skipped
# unless --rebuild is given; `--rebuild NAME` rebuilds only NAME (and the base
# only when it is missing or named). Everything is tagged
# pier-standin/<name>:<tag>, never php:... or mariadb:..., so a real image on
# the machine is never overwritten. See tests/standins/README.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STANDINS="$ROOT/tests/standins"
BASE_TAG="pier-standin/debian:bookworm"
SUITE="bookworm"

# name -> the tags its image gets (first one is the primary tag). Aliases
# point to the same image: versions come from Debian, not from the tag. They
# cover the versions pier's built-in stacks default to (stacks/*/stack.yaml),
# so a test only has to swap the image name.
declare -A TAGS=(
  [mariadb]="pier-standin/mariadb:11 pier-standin/mariadb:11.8 pier-standin/mysql:8 pier-standin/mysql:8.4"
  [postgres]="pier-standin/postgres:16 pier-standin/postgres:18"
  [php]="pier-standin/php:8.2-apache pier-standin/php:8.3-apache pier-standin/php:8.4-apache"
  [phpmyadmin]="pier-standin/phpmyadmin:5 pier-standin/phpmyadmin:5.2"
  [python]="pier-standin/python:3.11-slim pier-standin/python:3.12-slim pier-standin/python:3.13-slim"
  [redis]="pier-standin/redis:7 pier-standin/redis:8"
  [dotnet]="pier-standin/dotnet-sdk:10.0 pier-standin/dotnet-sdk:9.0 pier-standin/dotnet-sdk:8.0"
  [caddy]="pier-standin/caddy:2"
)
# Build order matters: phpmyadmin is built FROM the php stand-in.
ORDER=(php phpmyadmin mariadb postgres python redis dotnet caddy)

die() { echo "build-standins: error: $*" >&2; exit 1; }
log() { echo "build-standins: $*"; }

rebuild=0
rebuild_base=0
wanted=()
for arg in "$@"; do
  case "$arg" in
    --rebuild) rebuild=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option '$arg' (expected --rebuild)" ;;
    base) rebuild_base=1 ;;
    *) [[ -n "${TAGS[$arg]:-}" ]] || die "unknown stand-in '$arg' (known: base ${ORDER[*]})"
       wanted+=("$arg") ;;
  esac
done
named=("${wanted[@]}")
if [[ ${#wanted[@]} -eq 0 && $rebuild_base -eq 0 ]]; then wanted=("${ORDER[@]}"); rebuild_base=1; fi
[[ $rebuild -eq 1 ]] || rebuild_base=0
# phpmyadmin is built FROM the php stand-in; keep ORDER whatever the argument order.
if [[ " ${wanted[*]} " == *" phpmyadmin "* ]]; then wanted+=(php); fi
selected=()
for name in "${ORDER[@]}"; do
  if [[ " ${wanted[*]} " == *" $name "* ]]; then selected+=("$name"); fi
done
is_selected() { [[ " ${selected[*]} " == *" $1 "* ]]; }

command -v docker >/dev/null || die "docker not found in PATH"
docker info >/dev/null 2>&1 || die "cannot talk to the Docker engine (is it running? DOCKER_HOST=${DOCKER_HOST:-unset})"

start=$(date +%s)
image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# The Debian mirror this machine uses, read from its apt configuration rather
# than hard-coded: deb822 sources first, then the one-line format.
mirror_for() { # $1 = suite to look for (bookworm | bookworm-security)
  local suite="$1" f uri=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -e "$f" ]] || continue
    uri=$(awk -v s="$suite" '
      BEGIN { RS=""; FS="\n" }
      { u=""; ok=0
        for (i=1;i<=NF;i++) {
          if ($i ~ /^URIs:/)   { sub(/^URIs:[ \t]*/, "", $i); split($i, a, /[ \t]+/); u=a[1] }
          if ($i ~ /^Suites:/) { n=split($i, b, /[ \t]+/); for (j=2;j<=n;j++) if (b[j]==s) ok=1 }
        }
        if (ok && u!="") { print u; exit } }' "$f")
    [[ -n "$uri" ]] && { echo "$uri"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -e "$f" ]] || continue
    uri=$(awk -v s="$suite" '$1=="deb" { for (i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) { if ($(i+1)==s) { print $i; exit } break } }' "$f")
    [[ -n "$uri" ]] && { echo "$uri"; return; }
  done
}

build_base() {
  if image_exists "$BASE_TAG" && [[ $rebuild_base -eq 0 ]]; then
    log "$BASE_TAG exists, skipping (use --rebuild to rebuild)"
    return
  fi
  [[ $(id -u) -eq 0 ]] || die "building the base root filesystem needs root (debootstrap, chroot)"
  local mirror security
  mirror=$(mirror_for "$SUITE")
  [[ -n "$mirror" ]] || die "no Debian mirror for '$SUITE' found in /etc/apt/sources.list.d/*.sources or sources.list"
  security=$(mirror_for "$SUITE-security")
  if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap"
    apt-get install -y -qq debootstrap >/dev/null || die "apt-get install debootstrap failed"
  fi
  local dir
  dir=$(mktemp -d /var/tmp/pier-standin-rootfs.XXXXXX)
  # shellcheck disable=SC2064
  trap "rm -rf '$dir'" EXIT
  log "debootstrap $SUITE from $mirror (log: $dir.log)"
  if ! debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$dir" "$mirror" >"$dir.log" 2>&1; then
    tail -n 20 "$dir.log" >&2
    die "debootstrap failed (full log: $dir.log)"
  fi

  # Extra CA certificates of this host (e.g. an egress proxy's): without
  # them pip inside a container fails with CERTIFICATE_VERIFY_FAILED.
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$dir/usr/local/share/ca-certificates/"
  fi
  local out
  out=$(chroot "$dir" update-ca-certificates 2>&1) || { echo "$out" >&2; die "update-ca-certificates failed in the root filesystem"; }

  # apt sources as the host has them (security updates too when configured).
  rm -f "$dir/etc/apt/sources.list"
  {
    printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" "$SUITE" "$SUITE"
    if [[ -n "$security" ]]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$security" "$SUITE"
    fi
  } >"$dir/etc/apt/sources.list.d/debian.sources"

  # Lean images, as debian:bookworm-slim does: no recommends, no docs/man
  # pages, no apt caches left in layers, and no service starts during builds.
  cat >"$dir/etc/apt/apt.conf.d/90pier-standin" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  # force-unsafe-io: no fsync per file while unpacking (as the official
  # debian images); an interrupted build is simply rebuilt.
  cat >"$dir/etc/dpkg/dpkg.cfg.d/90pier-standin" <<'EOF'
force-unsafe-io
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
  chmod 755 "$dir/usr/sbin/policy-rc.d"
  rm -rf "${dir:?}"/var/lib/apt/lists/* "$dir"/var/cache/apt/* "$dir"/var/log/*.log \
         "${dir:?}"/usr/share/doc "${dir:?}"/usr/share/man "${dir:?}"/usr/share/info "${dir:?}"/dev/* "${dir:?}"/proc/* "${dir:?}"/sys/*
  mkdir -p "$dir/var/lib/apt/lists/partial"

  log "importing $BASE_TAG"
  tar -C "$dir" --numeric-owner -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["bash"]' \
    - "$BASE_TAG" >/dev/null || die "docker import of the root filesystem failed"
  rm -rf "$dir" "$dir.log"
  trap - EXIT
  base_built=1
}

# build_one NAME FORCE: build tests/standins/NAME unless all its tags exist
# (FORCE=1 rebuilds anyway). Prints one line; the build log is kept only on
# failure.
build_one() {
  local name="$1" force="$2" ctx="$STANDINS/$1"
  # shellcheck disable=SC2206
  local tags=(${TAGS[$name]})
  [[ -f "$ctx/Dockerfile" ]] || die "missing $ctx/Dockerfile"
  if [[ $force -eq 0 ]]; then
    local t missing=0
    for t in "${tags[@]}"; do image_exists "$t" || missing=1; done
    if [[ $missing -eq 0 ]]; then log "${tags[0]} exists, skipping"; return 3; fi
  fi
  local t0 logf
  t0=$(date +%s)
  logf=$(mktemp /tmp/pier-standin-build-"$name".XXXXXX.log)
  local targs=() t
  for t in "${tags[@]}"; do targs+=(-t "$t"); done
  # Docker 20.10 here: the classic builder (no BuildKit).
  if ! DOCKER_BUILDKIT=0 docker build --force-rm "${targs[@]}" "$ctx" >"$logf" 2>&1; then
    tail -n 30 "$logf" | sed "s/^/  [$name] /" >&2
    die "building ${tags[0]} failed (full log: $logf)"
  fi
  rm -f "$logf"
  log "built ${tags[*]} in $(( $(date +%s) - t0 ))s"
}

is_named() { [[ " ${named[*]} " == *" $1 "* ]]; }

# An image is rebuilt when --rebuild names it (or names nothing), and when
# the image it is built FROM was just built, so that no stand-in is left on
# a stale base.
# Images the tags point to now: once rebuilt, the old ones are untagged
# garbage and removed at the end (children first, so the rmi succeeds).
old_ids=()
for name in phpmyadmin mariadb postgres python redis dotnet caddy php; do
  if is_selected "$name"; then
    # shellcheck disable=SC2206
    tags=(${TAGS[$name]})
    old_ids+=("$(docker image inspect -f '{{.Id}}' "${tags[0]}" 2>/dev/null || true)")
  fi
done
old_ids+=("$(docker image inspect -f '{{.Id}}' "$BASE_TAG" 2>/dev/null || true)")
remove_replaced() {
  local id
  for id in "${old_ids[@]}"; do
    [[ -n "$id" ]] || continue
    # Only when nothing tags it any more (and no container uses it).
    if [[ "$(docker image inspect -f '{{len .RepoTags}}' "$id" 2>/dev/null)" == 0 ]]; then
      docker rmi "$id" >/dev/null 2>&1 || true
    fi
  done
}

base_built=0
build_base

force_for() { # NAME [PARENT_BUILT]
  if [[ $base_built -eq 1 || "${2:-0}" -eq 1 ]]; then echo 1; return; fi
  if [[ $rebuild -eq 1 ]] && { [[ ${#named[@]} -eq 0 ]] || is_named "$1"; }; then echo 1; else echo 0; fi
}

# Independent images build concurrently (mostly apt downloads and unpacking);
# phpmyadmin waits for php, its base.
pids=()
for name in "${selected[@]}"; do
  case "$name" in
    phpmyadmin) continue ;;
    php)
      (
        php_built=0
        if is_selected php; then
          rc=0; build_one php "$(force_for php)" || rc=$?
          case $rc in 0) php_built=1 ;; 3) ;; *) exit "$rc" ;; esac
        fi
        if is_selected phpmyadmin; then
          rc=0; build_one phpmyadmin "$(force_for phpmyadmin "$php_built")" || rc=$?
          [[ $rc -eq 0 || $rc -eq 3 ]] || exit "$rc"
        fi
      ) & pids+=($!) ;;
    *)
      ( rc=0; build_one "$name" "$(force_for "$name")" || rc=$?; [[ $rc -eq 0 || $rc -eq 3 ]] || exit "$rc" ) & pids+=($!) ;;
  esac
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
[[ $failed -eq 0 ]] || die "some stand-ins failed to build (see above) after $(( $(date +%s) - start ))s"
remove_replaced
log "done in $(( $(date +%s) - start ))s"
