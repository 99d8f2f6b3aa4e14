# shellcheck shell=bash
# Shared helpers for tests/vm/*.sh (sourced, not executed).
# Everything big is cached under $VMTEST_CACHE (default /var/cache/repart-vmtest).

export PATH=$PATH:/usr/sbin:/sbin
VMTEST_CACHE=${VMTEST_CACHE:-/var/cache/repart-vmtest}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SEED=e2a40bf9-73f1-4278-9160-49c031e7aedd

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f", b - a}'; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() { echo "FAIL: $*" >&2; exit 1; }

apt_get() { apt-get -o DPkg::Lock::Timeout=300 -q "$@"; }

# ensure_packages: install what the VM test needs, idempotently.
# QEMU must come from bookworm-backports: the machine's qemu-utils is 10.x from
# there, and bookworm's qemu-system-x86 7.2 conflicts with it.
ensure_packages() {
  local need=() p
  for p in busybox-static e2fsprogs fdisk cpio xz-utils zstd dosfstools mtools squashfs-tools file; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
  done
  local need_qemu=0
  command -v qemu-system-x86_64 >/dev/null || need_qemu=1
  if [ ${#need[@]} -eq 0 ] && [ $need_qemu = 0 ]; then return 0; fi
  [ "$(id -u)" = 0 ] || die "missing packages (${need[*]} qemu-system-x86?) and not root"
  if [ $need_qemu = 1 ] && ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      > /etc/apt/sources.list.d/bookworm-backports.sources
  fi
  log "installing: ${need[*]} $([ $need_qemu = 1 ] && echo qemu-system-x86)"
  apt_get update >/dev/null
  [ ${#need[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt_get install -y --no-install-recommends "${need[@]}" >/dev/null
  if [ $need_qemu = 1 ]; then
    DEBIAN_FRONTEND=noninteractive apt_get install -y --no-install-recommends -t bookworm-backports qemu-system-x86 >/dev/null
  fi
}

# fetch_kernel: download Debian's stock kernel .deb (no install), unpack it to
# $VMTEST_CACHE/kernel/<kver>/ and print that directory. It holds vmlinuz,
# vmlinux (uncompressed ELF: QEMU boots it through PVH and skips the ~3 s
# decompressor under TCG) and lib/modules/<kver>/ with a busybox-made modules.dep
# (the .deb ships none). KPKG=linux-image-6.1.0-NN-amd64 pins the package.
fetch_kernel() {
  local kpkg=${KPKG:-} kver kdir deb
  mkdir -p "$VMTEST_CACHE/debs" "$VMTEST_CACHE/kernel"
  if [ -z "$kpkg" ]; then
    # Reuse what is cached if the archive cannot be asked (offline CI cache).
    kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}')
    if [ -z "$kpkg" ]; then
      kdir=$(ls -d "$VMTEST_CACHE"/kernel/*/ 2>/dev/null | head -1)
      [ -n "$kdir" ] || die "cannot resolve linux-image-amd64 (apt-get update?)"
      echo "${kdir%/}"; return 0
    fi
  fi
  kver=${kpkg#linux-image-}
  kdir=$VMTEST_CACHE/kernel/$kver
  if [ ! -f "$kdir/vmlinux" ] || [ ! -f "$kdir/lib/modules/$kver/modules.dep" ]; then
    log "fetching $kpkg"
    ( cd "$VMTEST_CACHE/debs" && apt-get download -q "$kpkg" >&2 2>/dev/null ) || die "apt-get download $kpkg"
    deb=$(ls -t "$VMTEST_CACHE/debs/${kpkg}"_*.deb | head -1)
    rm -rf "$kdir.tmp"; mkdir -p "$kdir.tmp/lib/modules"
    dpkg-deb -x "$deb" "$kdir.tmp/root"
    mv "$kdir.tmp/root/lib/modules/$kver" "$kdir.tmp/lib/modules/"
    cp "$kdir.tmp/root/boot/vmlinuz-$kver" "$kdir.tmp/vmlinuz"
    rm -rf "$kdir.tmp/root"
    busybox depmod -b "$kdir.tmp" "$kver"
    extract_vmlinux "$kdir.tmp/vmlinuz" "$kdir.tmp/vmlinux" || cp "$kdir.tmp/vmlinuz" "$kdir.tmp/vmlinux"
    rm -rf "$kdir"; mv "$kdir.tmp" "$kdir"
  fi
  echo "$kdir"
}

# Same method as the kernel's scripts/extract-vmlinux (bash strings cannot
# hold NUL, so the magics are matched without it).
extract_vmlinux() {
  local in=$1 out=$2 spec magic cmd pos
  for spec in $'\xfd7zXZ:xz -dc --single-stream' $'\x28\xb5\x2f\xfd:zstd -dcq' $'\x1f\x8b\x08:gzip -dc'; do
    magic=${spec%%:*} cmd=${spec#*:}
    pos=$(LC_ALL=C grep -obUaF -m1 "$magic" "$in" | head -1 | cut -d: -f1) || true
    [ -n "$pos" ] || continue
    tail -c +$((pos + 1)) "$in" | $cmd > "$out" 2>/dev/null || true
    [ "$(head -c4 "$out" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] && return 0
  done
  rm -f "$out"; return 1
}
