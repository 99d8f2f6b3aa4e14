# shellcheck shell=bash
# Shared helpers for tests/vm/*.sh (sourced, not executed).
# Everything big is cached under $VMTEST_CACHE (default /var/cache/repart-vmtest).

export PATH=$PATH:/usr/sbin:/sbin
VMTEST_CACHE=${VMTEST_CACHE:-/var/cache/repart-vmtest}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck disable=SC2034  # used by the scripts that source this file
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

# build_initramfs KDIR OUT REPART_BIN DEFS_DIR MACHINE_ID
# A cpio (newc) with busybox-static, the virtio/ext4/squashfs modules and their
# modules.dep closure, repart and mke2fs with the libraries ldd lists, the
# host's mke2fs.conf, /etc/repart.d, /etc/machine-id and guest-init.sh as /init.
# The loop driver is deliberately left out (the live path must not need it).
build_initramfs() {
  local kdir=$1 out=$2 repart=$3 defs=$4 machine_id=$5
  local kver modsrc st m pat rel
  kver=$(basename "$(ls -d "$kdir"/lib/modules/*/ | head -1)")
  modsrc=$kdir/lib/modules/$kver
  st=$(mktemp -d "${TMPDIR:-/tmp}/repart-initramfs.XXXXXX")
  mkdir -p "$st"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,mnt,lib/modules/$kver}

  install -m755 "$(command -v busybox)" "$st/bin/busybox"
  file -L "$st/bin/busybox" | grep -q 'statically linked' || die "busybox is not static (busybox-static)"
  for m in $("$st/bin/busybox" --list-full); do
    [ -e "$st/$m" ] || ln -s /bin/busybox "$st/$m"
  done

  declare -A seen=()
  _add_mod() {
    local r=$1 d
    [ -n "${seen[$r]:-}" ] && return; seen[$r]=1
    mkdir -p "$st/lib/modules/$kver/$(dirname "$r")"
    case $r in
      *.ko.xz)  xz -dc "$modsrc/$r" > "$st/lib/modules/$kver/${r%.xz}" ;;
      *.ko.zst) zstd -dcq "$modsrc/$r" > "$st/lib/modules/$kver/${r%.zst}" ;;
      *)        cp "$modsrc/$r" "$st/lib/modules/$kver/$r" ;;
    esac
    for d in $(grep -m1 "^$r:" "$modsrc/modules.dep" | cut -d: -f2-); do _add_mod "$d"; done
  }
  for m in virtio_pci virtio_blk crc32c_generic crc32c-intel ext4 squashfs; do
    pat=$(echo "$m" | sed 's/[-_]/[-_]/g')
    rel=$(grep -m1 -E "(^|/)$pat\.ko(\.[a-z]+)?:" "$modsrc/modules.dep" | cut -d: -f1 || true)
    [ -n "$rel" ] && _add_mod "$rel"
  done
  if find "$st/lib/modules" -name 'loop.ko*' | grep -q .; then die "loop.ko slipped into the initramfs"; fi
  cp "$modsrc"/modules.builtin "$modsrc"/modules.order "$st/lib/modules/$kver/" 2>/dev/null || true
  grep -qE '(^|/)loop\.ko' "$modsrc/modules.builtin" && die "this kernel has loop built in; the no-loop test needs it as a module"
  busybox depmod -b "$st" "$kver"

  _copy_bin() {
    local src=$1 dst=$2 lib d
    for d in bin sbin usr/bin usr/sbin; do rm -f "$st/$d/$(basename "$dst")"; done
    mkdir -p "$st/$(dirname "$dst")"
    cp -L "$src" "$st/$dst"
    for lib in $(ldd "$src" 2>/dev/null | grep -oE '/[^ ]+\.so[^ ]*'); do
      [ -e "$st/$lib" ] && continue
      mkdir -p "$st/$(dirname "$lib")"; cp -L "$lib" "$st/$lib"
    done
  }
  _copy_bin "$repart" /usr/bin/repart
  _copy_bin "$(command -v mke2fs)" /usr/sbin/mke2fs
  _copy_bin "$(command -v blkid)" /usr/sbin/blkid      # busybox-static has none
  for m in mkfs.ext4 mkfs.ext3 mkfs.ext2; do rm -f "$st"/{bin,sbin,usr/bin}/$m; ln -sf mke2fs "$st/usr/sbin/$m"; done
  cp /etc/mke2fs.conf "$st/etc/mke2fs.conf"
  mkdir -p "$st/etc/repart.d"
  cp "$defs"/*.conf "$st/etc/repart.d/"
  echo "$machine_id" > "$st/etc/machine-id"
  echo "root:x:0:0:root:/:/bin/sh" > "$st/etc/passwd"
  install -m755 "$REPO/tests/vm/guest-init.sh" "$st/init"
  [ "$(id -u)" = 0 ] && mknod -m 600 "$st/dev/console" c 5 1

  ( cd "$st" && find . -mindepth 1 -printf '%P\0' | LC_ALL=C sort -z \
      | cpio --null --create --format=newc --reproducible --owner=0:0 --quiet ) > "$out"
  rm -rf "$st"
  unset -f _add_mod _copy_bin
}

# run_vm KERNEL INITRD DISK RESULTS_DISK LOG SECTOR_SIZE CMDLINE TIMEOUT
# QEMU under TCG (KVM does not work on these machines), serial to LOG.
# $VMTEST_QEMU_ARGS: more QEMU arguments (split at spaces), e.g. a TPM.
# Returns 0 if the guest printed VMTEST-RESULT: PASS.
run_vm() {
  local kernel=$1 initrd=$2 disk=$3 results=$4 logf=$5 ss=$6 extra=$7 tmo=${8:-240}
  local bios=() accel=tcg cpu=max qrc more=()
  read -ra more <<< "${VMTEST_QEMU_ARGS:-}"
  [ -f /usr/share/qemu/qboot.rom ] && bios=(-bios /usr/share/qemu/qboot.rom)
  if [ "${VMTEST_ACCEL:-tcg}" = kvm ]; then accel=kvm cpu=host; fi
  : > "$logf"
  timeout --foreground -k 5 "$tmo" \
    qemu-system-x86_64 -nodefaults -no-user-config \
      -machine "q35,accel=$accel" -cpu "$cpu" -smp 1 -m "${VMTEST_MEM:-512}" "${bios[@]}" \
      -display none -no-reboot -serial "file:$logf" \
      -kernel "$kernel" -initrd "$initrd" \
      -append "console=ttyS0 panic=-1 oops=panic loglevel=4 rdinit=/init $extra" \
      -drive "file=$disk,format=raw,if=none,id=disk0,cache=writeback,discard=unmap" \
      -device "virtio-blk-pci,drive=disk0,logical_block_size=$ss,physical_block_size=$ss" \
      -drive "file=$results,format=raw,if=none,id=disk1,cache=writeback" \
      -device virtio-blk-pci,drive=disk1 "${more[@]}"
  qrc=$?
  [ $qrc = 124 ] && { echo "qemu: timeout after ${tmo}s" >&2; return 124; }
  [ $qrc = 0 ] || { echo "qemu exited $qrc" >&2; return $qrc; }
  grep -q '^VMTEST-RESULT: PASS' "$logf"
}

# ------------------------------------------------------------ reading GPTs
# Debian 12's sfdisk (2.38) has no --sector-size and reads every image file
# with 512-byte sectors; Debian 13's (from the unpacked tool tree in
# $ORACLE_TOOLS) is used when present, and is required for 4096-byte images.
sfdisk_ss() {  # sfdisk_ss SECTOR_SIZE ARGS...
  local ss=$1; shift
  if [ -x "${ORACLE_TOOLS:-}/sfdisk" ]; then "$ORACLE_TOOLS/sfdisk" --sector-size "$ss" "$@"
  elif [ "$ss" = 512 ]; then sfdisk "$@"
  else die "reading a $ss-byte-sector GPT needs sfdisk >= 2.39 (tools/oracle/setup-reference-repart.sh in ldso mode)"; fi
}
sfd() { (cd "$(dirname "$1")" && sfdisk_ss "$2" -d "$(basename "$1")") || die "sfdisk -d $1 failed"; }
# part_field TABLE NAME FIELD -> start|size|attrs of the partition named NAME
part_field() {
  awk -v n="name=\"$2\"" -v f="$3" 'index($0, n) {
      if (f == "attrs") { if (match($0, /attrs="[^"]*"/)) print substr($0, RSTART + 7, RLENGTH - 8); exit }
      if (match($0, f "= *[0-9]+")) { s = substr($0, RSTART, RLENGTH); sub(/.*= */, "", s); print s; exit } }' "$1"
}

# ------------------------------------------------------------ live-mode Encrypt= guests
# build_crypt_initramfs KDIR OUT REPART_BIN INIT EXTRA_DIR
# A cpio (newc) with busybox-static, the virtio/ext4/squashfs modules plus loop, dm-mod,
# dm-crypt and the ciphers (their names in /etc/modules-to-load for INIT to modprobe),
# REPART_BIN and the host's libcryptsetup (dlopened) with the libraries ldd lists,
# INIT as /init and the tree EXTRA_DIR copied over the root (definitions, keys, ...).
# The guest's other tools come from the oracle's tool tree disk (tool_disk).
build_crypt_initramfs() {
  local kdir=$1 out=$2 repart=$3 init=$4 extra=$5
  local kver modsrc st m pat rel lib libcs loaded=()
  kver=$(basename "$(ls -d "$kdir"/lib/modules/*/ | head -1)")
  modsrc=$kdir/lib/modules/$kver
  # (awk reads everything: an early exit would SIGPIPE ldconfig under pipefail)
  libcs=$(ldconfig -p | awk '/libcryptsetup.so.12 .*x86-64/ && !found {print $NF; found = 1}')
  [ -n "$libcs" ] || die "libcryptsetup.so.12 not installed on the host (repart dlopens it)"
  st=$(mktemp -d "${TMPDIR:-/tmp}/repart-initramfs.XXXXXX")
  mkdir -p "$st"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,var/tmp,lib/modules/$kver}
  install -m755 "$(command -v busybox)" "$st/bin/busybox"
  for m in $("$st/bin/busybox" --list-full); do [ -e "$st/$m" ] || ln -s /bin/busybox "$st/$m"; done
  declare -A seen=()
  _add_mod() {
    local r=$1 d
    [ -n "${seen[$r]:-}" ] && return; seen[$r]=1
    mkdir -p "$st/lib/modules/$kver/$(dirname "$r")"
    case $r in
      *.ko.xz) xz -dc "$modsrc/$r" > "$st/lib/modules/$kver/${r%.xz}" ;;
      *.ko.zst) zstd -dcq "$modsrc/$r" > "$st/lib/modules/$kver/${r%.zst}" ;;
      *) cp "$modsrc/$r" "$st/lib/modules/$kver/$r" ;;
    esac
    for d in $(grep -m1 "^$r:" "$modsrc/modules.dep" | cut -d: -f2-); do _add_mod "$d"; done
  }
  # $VMTEST_EXTRA_MODULES: more modules for one test (e.g. the file systems it mounts).
  for m in virtio_pci virtio_blk crc32c_generic crc32c-intel ext4 squashfs loop dm-mod dm-crypt xts aesni-intel aes_generic af_alg algif_skcipher algif_hash ${VMTEST_EXTRA_MODULES:-}; do
    pat=$(echo "$m" | sed 's/[-_]/[-_]/g')
    rel=$(grep -m1 -E "(^|/)$pat\.ko(\.[a-z]+)?:" "$modsrc/modules.dep" | cut -d: -f1 || true)
    if [ -n "$rel" ]; then _add_mod "$rel"; loaded+=("$m"); fi
  done
  for m in loop dm-mod dm-crypt; do [[ " ${loaded[*]} " == *" $m "* ]] || die "kernel module $m not found in $kver"; done
  printf '%s\n' "${loaded[@]}" > "$st/etc/modules-to-load"
  cp "$modsrc"/modules.builtin "$modsrc"/modules.order "$st/lib/modules/$kver/" 2>/dev/null || true
  busybox depmod -b "$st" "$kver"
  _copy_with_libs() {  # SRC DST
    mkdir -p "$st/$(dirname "$2")"; cp -L "$1" "$st/$2"
    for lib in $(ldd "$1" 2>/dev/null | grep -oE '/[^ ]+\.so[^ ]*'); do
      [ -e "$st/$lib" ] && continue
      mkdir -p "$st/$(dirname "$lib")"; cp -L "$lib" "$st/$lib"
    done
  }
  _copy_with_libs "$repart" /usr/bin/repart
  _copy_with_libs "$libcs" "$libcs"
  install -m755 "$init" "$st/init"
  cp -a "$extra/." "$st/"
  echo "root:x:0:0:root:/:/bin/sh" > "$st/etc/passwd"
  [ "$(id -u)" = 0 ] && mknod -m 600 "$st/dev/console" c 5 1
  ( cd "$st" && find . -mindepth 1 -printf '%P\0' | LC_ALL=C sort -z \
      | cpio --null --create --format=newc --reproducible --owner=0:0 --quiet ) > "$out"
  rm -rf "$st"
  unset -f _add_mod _copy_with_libs
}

# tool_disk: the oracle's ldso tool tree (Debian 13: systemd-repart 257, cryptsetup,
# losetup, sfdisk, mke2fs, ...) as a read-only ext4 image, cached and rebuilt when the
# tree changes; prints its path. The guest mounts it at the tree's host path.
tool_disk() {
  local ldso=/var/cache/repart-oracle/trixie-ldso tools=$VMTEST_CACHE/trixie-ldso-tools.ext4 stamp
  [ -f "$ldso/.repart-oracle-complete" ] \
    || REPART_ORACLE_MODE=ldso "$REPO/tools/oracle/setup-reference-repart.sh" >&2 \
    || die "cannot install the oracle's ldso tree"
  stamp=$(stat -c %Y "$ldso/.repart-oracle-complete")
  if [ "$(cat "$tools.stamp" 2>/dev/null)" != "$stamp" ]; then
    log "building the tool disk from $ldso"
    mkdir -p "$VMTEST_CACHE"; rm -f "$tools.tmp"
    truncate -s $(( $(du -sm "$ldso" | cut -f1) * 2 + 64 ))M "$tools.tmp"
    mke2fs -q -t ext4 -d "$ldso" "$tools.tmp" >&2 || die "mke2fs -d $ldso"
    mv "$tools.tmp" "$tools"; echo "$stamp" > "$tools.stamp"
  fi
  echo "$tools"
}
