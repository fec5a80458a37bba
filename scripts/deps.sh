#!/usr/bin/env bash
# Installs the Debian packages a make target needs, when run as root and
# they are missing; otherwise names them. Usage: scripts/deps.sh test|arm|hil|bench|fresh|image
set -euo pipefail

want=()
case "${1:-test}" in
  # pkg-config: the cgo build of the PC/SC driver (ebfe/scard) asks it for libpcsclite;
  # swtpm: the TPM 2.0 simulator the device-key sealer is tested against;
  # picocom: the serial terminal program the console is tested with;
  # fuse3: fusermount3, for the lossy filesystem of the power-loss tests.
  test)  want=(fuse3 pkg-config swtpm swtpm-tools picocom pcscd libpcsclite-dev vsmartcard-vpcd socat zbar-tools qrencode zxing-cpp-tools) ;;
  arm)   want=(crossbuild-essential-armhf crossbuild-essential-arm64 libpcsclite-dev:armhf libpcsclite-dev:arm64 qemu-user-static file) ;;
  hil)   want=(fuse3 pcscd libpcsclite-dev vsmartcard-vpcd qemu-user-static crossbuild-essential-armhf libpcsclite-dev:armhf socat) ;;
  fresh) want=(mmdebstrap) ;;
  # image: mke2fs -d and debugfs (e2fsprogs), sfdisk (fdisk), the emulator
  image) want=(qemu-system-arm e2fsprogs fdisk) ;;
  bench) want=(zbar-tools qrencode zxing-cpp-tools libzxing-dev libzbar-dev g++ pkg-config crossbuild-essential-armhf libpcsclite-dev:armhf binutils-arm-linux-gnueabihf) ;;
  *) echo "deps: unknown set $1" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing Debian packages: ${missing[*]}" >&2
  echo "deps: install them with: sudo apt-get install ${missing[*]}" >&2
  echo "deps: (foreign architectures first: sudo dpkg --add-architecture armhf; sudo dpkg --add-architecture arm64; sudo apt-get update)" >&2
  exit 0
fi

for p in "${missing[@]}"; do
  case "$p" in
    *:armhf) dpkg --add-architecture armhf ;;
    *:arm64) dpkg --add-architecture arm64 ;;
  esac
done
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
