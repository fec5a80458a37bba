#!/usr/bin/env bash
# make fresh: the README's two commands, `make run` and `make test`, on a
# clean Debian 12 root that has only what a fresh machine of this kind has:
# Debian bookworm (minbase) with build-essential, git, make and CA
# certificates, plus the Go toolchain (bind-mounted read-only). The
# repository is cloned into it; nothing else of this machine comes along
# but its CA certificates and proxy settings, without which no download
# passes this network's TLS inspection. Any install step the project forgot
# fails here, even when this machine already has the package.
#
# The base root is cached as build/fresh/base.tar; every run unpacks a new
# copy of it outside the source tree (under /var/tmp, so that no `./...`
# pattern of the host's tree walks into it), so a rerun is quick and still
# starts clean. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
say() { echo "fresh: $*"; }

[ "$(id -u)" -eq 0 ] || { say "needs root (mmdebstrap, chroot and bind mounts)"; exit 2; }
scripts/deps.sh fresh

goroot=$(go env GOROOT)
cache=$repo/build/fresh
base=$cache/base.tar
mkdir -p "$cache"
suite=bookworm
mirror=${FRESH_MIRROR:-http://deb.debian.org/debian}
if [ -s "$base" ]; then
  say "reusing the clean root $base (built $(date -u -r "$base" '+%F %T UTC'))"
else
  say "building the clean root: Debian $suite minbase + ca-certificates, git, make, build-essential"
  aptopts=()
  # The machine's apt settings that say how to reach the archive (proxy,
  # snapshot validity) go into the root too.
  for f in /etc/apt/apt.conf.d/*; do
    grep -q '^Acquire::' "$f" 2>/dev/null && aptopts+=(--aptopt="$f")
  done
  mmdebstrap --quiet --variant=minbase --include=ca-certificates,git,make,build-essential \
    "${aptopts[@]}" "$suite" "$cache/base.part.tar" \
    "deb $mirror $suite main" "deb $mirror $suite-updates main" \
    "deb ${mirror%/debian}/debian-security $suite-security main"
  mv "$cache/base.part.tar" "$base"
fi

root=$(mktemp -d "${TMPDIR:-/var/tmp}/kpos-fresh.XXXXXX")
mounts=()
cleanup() {
  local m
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    m=${mounts[i]}
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf --one-file-system "$root"
}
trap cleanup EXIT
tar -C "$root" -xf "$base"
bindmount() { # bindmount SRC DEST [ro]
  mkdir -p "$2"
  mount --bind "$1" "$2"
  mounts+=("$2")
  if [ "${3:-}" = ro ]; then mount -o remount,bind,ro "$2"; fi
}
# The root is a mount point, as / is on a real machine: a private mount
# namespace (the PC/SC tests' own pcscd) changes the propagation of /, which
# the kernel refuses for a directory that is not one.
bindmount "$root" "$root"
bindmount /proc "$root/proc"
bindmount /sys "$root/sys"
bindmount /dev "$root/dev"
bindmount /dev/pts "$root/dev/pts"
bindmount "$goroot" "$root/usr/local/go" ro
mount -t tmpfs tmpfs "$root/tmp" && mounts+=("$root/tmp")
cp /etc/resolv.conf "$root/etc/resolv.conf"
# This network's CA certificates, installed the Debian way inside the root.
if compgen -G '/usr/local/share/ca-certificates/*' >/dev/null; then
  cp -r /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
fi
chroot "$root" update-ca-certificates >/dev/null
git clone --quiet --no-local "$repo" "$root/src/kpos"
say "cloned $(git -C "$repo" rev-parse --short HEAD) into the clean root"

# The environment of a fresh login: Go on the PATH, an empty module cache,
# and the proxy settings of this machine, if any.
envs=(HOME=/root PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  LANG=C.UTF-8 TERM=dumb CI=true)
for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
  [ -n "${!v:-}" ] && envs+=("$v=${!v}")
done
for v in GOPROXY GOSUMDB GONOSUMDB GOPRIVATE GOTOOLCHAIN; do
  envs+=("$v=$(go env "$v")")
done
# What CI asks of the tests (KPOS_REQUIRE_PCSCD=1: the PC/SC tests must run,
# not skip) holds inside the root too.
for v in $(compgen -v KPOS_); do envs+=("$v=${!v}"); done
inroot() { chroot "$root" /usr/bin/env -i "${envs[@]}" bash -c "cd /src/kpos && $1"; }

say "make run: a sale at the counter, then quit"
if ! inroot "scripts/counter-sale.sh /tmp/run.log; rc=\$?; cat /tmp/run.log; exit \$rc"; then
  say "make run FAILED"
  exit 1
fi
say "make test"
if ! inroot "make test"; then
  say "make test FAILED"
  exit 1
fi
say "make run ok, make test ok"
