#!/usr/bin/env bash
# tests/vm/uefi.sh -- first boot under real firmware: OVMF, systemd-boot, a systemd
# initrd (dracut) in which upstream's systemd-repart.service runs repart.
#
# Build time: the example appliance (examples/appliance/repart.d) made by our repart
# in image mode, with real boot files in its ESP: Debian 13's systemd-boot as
# EFI/BOOT/BOOTX64.EFI and a unified kernel image (ukify: Debian's kernel, the initrd
# below, the kernel command line) as EFI/Linux/appliance.efi, which systemd-boot
# finds by itself (Type #2 entry). The image is grown by $VMTEST_GROW
# (truncate), as if dd'd onto a larger disk.
#
# The initrd: dracut (Debian 13, in a throwaway chroot cached under
# $VMTEST_CACHE/uefi-trixie, the host is not changed) with systemd, udev and the
# kernel's virtio/ext4/squashfs modules, cached across runs; plus a small second
# cpio for every run with our binary as /usr/bin/systemd-repart, mke2fs,
# upstream 257's systemd-repart.service (the systemd-repart package's unit and its
# initrd-root-fs.target.wants link), the first-boot definitions
# (examples/appliance/first-boot.d) in /etc/repart.d, /etc/fstab with the
# partitions by partlabel, a drop-in as NixOS's boot.initrd.systemd.repart writes
# it (TMPDIR=/tmp, ExecStart=systemd-repart --definitions=/etc/repart.d
# --dry-run=no [DEVICE]), and a check unit that prints the results on the console
# and powers off. There is no root= on the kernel command line: /sysroot comes from
# the initrd's /etc/fstab, as in NixOS's systemd initrd. Two variants, as NixOS has them:
#   device:     boot.initrd.systemd.repart.device = "/dev/vda": /sysroot is a tmpfs,
#               the store is mounted at /sysroot/nix/store; the unit Requires= and
#               is After= dev-vda.device;
#   discovered: device = null: /sysroot is the store (squashfs, by partlabel), the
#               unit is ordered after sysroot.mount and repart finds the disk behind
#               /sysroot itself;
#   rootarg:    (not in the default matrix) as discovered, but the classic dracut
#               way: root=PARTLABEL=nix-store on the kernel command line, so the
#               initrd is a ramfs and the drop-in sets TMPDIR=/run (a tmpfs).
# With 4096-byte sectors the ESP gets a drop-in (10-esp.conf.d/, SizeMinBytes=260M):
# the example's 200M makes a FAT32 with too few clusters for OVMF; the "rejected"
# entry of the matrix proves that (see rejected_scenario).
#
# Boot 1: the unit must run before initrd-root-fs.target and succeed; home (ext4,
# Weight=2000) and var (ext4, Weight=1000) split the free space 2:1 and are mounted
# by partlabel; a marker is written to each. Host checks: sfdisk -V, the backup GPT
# at the new end, names, GUID:59, the 2:1 split, e2fsck -fn, the markers; and, if
# the oracle is installed, upstream 257 on a copy of the same grown image must give
# the same partition table. Boot 2: the unit must log exactly "No changes.", the
# markers must still be there, the table must be unchanged.
#
# Environment:
#   REPART_BIN=path        use this binary instead of `cargo build --release`
#   VMTEST_UEFI_MATRIX     "SECTOR:VARIANT ..." (default "512:device 512:discovered 4096:device 4096:rejected")
#   VMTEST_CACHE           default /var/cache/repart-vmtest
#   VMTEST_TIMEOUT         per boot, seconds (default 300)
#   VMTEST_GROW            default 4G
#   VMTEST_KEEP=1          keep the work directory even on success
#   VMTEST_MIRROR          Debian mirror (default http://deb.debian.org/debian)
#   VMTEST_ROOTARG_TMPDIR  TMPDIR of the rootarg variant (default /run; /tmp, on the
#                          ramfs, makes the first boot run out of memory)
# Exit 0 and "uefi-test: PASS" on success.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh
source "$HERE/lib.sh"

T0=$(now)
MATRIX=${VMTEST_UEFI_MATRIX:-512:device 512:discovered 4096:device 4096:rejected}
TIMEOUT=${VMTEST_TIMEOUT:-300}
GROW=${VMTEST_GROW:-4G}
MIRROR=${VMTEST_MIRROR:-http://deb.debian.org/debian}
MACHINE_ID=${SEED//-/}
ORACLE=$REPO/tools/oracle/reference-repart
ORACLE_TOOLS=/var/cache/repart-oracle/trixie-ldso/bin
CHROOT=$VMTEST_CACHE/uefi-trixie
# What the chroot holds: systemd 257 and its initrd pieces, dracut, the boot
# loader, ukify (with its stub) and the firmware. Change it and the chroot is rebuilt.
CHROOT_PKGS=systemd,systemd-repart,udev,dracut-core,kmod,e2fsprogs,util-linux,mount,systemd-boot-efi,systemd-ukify,ovmf,zstd

WORK=$(mktemp -d "${TMPDIR:-/tmp}/repart-uefitest.XXXXXX")
cleanup() {
  local rc=$?
  if [ $rc = 0 ] && [ "${VMTEST_KEEP:-0}" != 1 ]; then rm -rf "$WORK"
  else echo "work directory kept: $WORK" >&2; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- prerequisites
# ensure_chroot: a Debian 13 minbase tree with CHROOT_PKGS, made once by debootstrap.
ensure_chroot() {
  local stamp="suite=trixie mirror=$MIRROR packages=$CHROOT_PKGS"
  if [ -f "$CHROOT/.vmtest-stamp" ] && [ "$(cat "$CHROOT/.vmtest-stamp")" = "$stamp" ]; then return 0; fi
  [ "$(id -u)" = 0 ] || die "the Debian 13 chroot $CHROOT is missing and we are not root"
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt_get install -y --no-install-recommends debootstrap debian-archive-keyring >/dev/null
  log "debootstrap trixie -> $CHROOT (once; ~3-5 min)"
  rm -rf "$CHROOT.tmp"
  # debootstrap's --include leaves some packages unconfigured (systemd-ukify):
  # install them with apt-get in the new tree instead.
  debootstrap --variant=minbase trixie "$CHROOT.tmp" "$MIRROR" > "$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }
  CHROOT=$CHROOT.tmp in_chroot sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"' sh ${CHROOT_PKGS//,/ } \
    >> "$WORK/debootstrap.log" 2>&1 || { tail -20 "$WORK/debootstrap.log" >&2; die "apt-get install in the chroot failed"; }
  CHROOT=$CHROOT.tmp in_chroot dpkg --audit >&2 || die "packages left unconfigured in the chroot"
  rm -rf "$CHROOT.tmp"/var/cache/apt/archives/*.deb
  echo "$stamp" > "$CHROOT.tmp/.vmtest-stamp"
  rm -rf "$CHROOT"; mv "$CHROOT.tmp" "$CHROOT"
}

# in_chroot CMD...: run CMD in the chroot with /proc, /sys and /dev from the host,
# in a private mount namespace so that nothing stays mounted.
in_chroot() {
  unshare --mount --propagation private -- sh -c '
    r=$1; shift
    mount -t proc proc "$r/proc" && mount --rbind /sys "$r/sys" && mount --rbind /dev "$r/dev" && exec chroot "$r" "$@"
  ' sh "$CHROOT" "$@"
}

t=$(now)
ensure_packages
ensure_chroot
if [ -z "${REPART_BIN:-}" ]; then
  (cd "$REPO" && cargo build --release -q) || die "cargo build --release"
  REPART_BIN=$REPO/target/release/repart
fi
[ -x "$REPART_BIN" ] || die "no repart binary at $REPART_BIN"
KDIR=$(fetch_kernel)
KVER=$(basename "$(ls -d "$KDIR"/lib/modules/*/ | head -1)")
OVMF_CODE=$CHROOT/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=$CHROOT/usr/share/OVMF/OVMF_VARS_4M.fd
SDBOOT=$CHROOT/usr/lib/systemd/boot/efi/systemd-bootx64.efi
for f in "$OVMF_CODE" "$OVMF_VARS" "$SDBOOT"; do [ -f "$f" ] || die "missing $f"; done
log "prerequisites ready in $(since "$t")s (kernel $KVER, repart $REPART_BIN)"

have_oracle=0
if [ -x "$ORACLE" ] && "$ORACLE" --version >/dev/null 2>&1; then have_oracle=1
elif [ "${REPART_REQUIRE_ORACLE:-0}" = 1 ]; then die "oracle required but $ORACLE does not run"
else log "oracle not installed: skipping the comparison with upstream"; fi

# Debian 12's mtools cannot write into a FAT with 4096-byte sectors (see run.sh).
IMAGE_TOOLS_PATH=$PATH
if [ ! -x "$ORACLE_TOOLS/mcopy" ] && [ "$(id -u)" = 0 ] && [ -x "$REPO/tools/oracle/setup-reference-repart.sh" ]; then
  REPART_ORACLE_MODE=ldso "$REPO/tools/oracle/setup-reference-repart.sh" >&2 || log "could not unpack Debian 13's mkfs tools"
fi
[ -x "$ORACLE_TOOLS/mcopy" ] && IMAGE_TOOLS_PATH=$ORACLE_TOOLS:$PATH
case " $MATRIX" in *" 4096:"*)
  [ -x "$ORACLE_TOOLS/mcopy" ] || die "4096-byte images need Debian 13's mtools: run tools/oracle/setup-reference-repart.sh (ldso mode) as root" ;;
esac
# ------------------------------------------------------------------ the initrd
# Base: dracut's systemd initrd for KVER, cached by its inputs (chroot stamp, kernel).
base_initrd() {
  local key out
  key=$( { cat "$CHROOT/.vmtest-stamp"; echo "$KVER v4"; } | sha256sum | cut -c1-16)
  out=$VMTEST_CACHE/uefi-initrd-$KVER-$key.img
  if [ ! -s "$out" ]; then
    [ "$(id -u)" = 0 ] || die "building the dracut initrd needs root (chroot)"
    rm -rf "$CHROOT/usr/lib/modules/$KVER"
    mkdir -p "$CHROOT/usr/lib/modules"
    cp -al "$KDIR/lib/modules/$KVER" "$CHROOT/usr/lib/modules/$KVER"   # hard links: no copy
    rm -f "$CHROOT/usr/lib/modules/$KVER"/modules.dep*
    in_chroot depmod -a "$KVER"
    # Only the modules a systemd initrd needs for this test (-m), none of the
    # host's configuration (--no-hostonly): udev makes /dev/disk/by-partlabel,
    # fstab-generator makes the mounts, systemd-repart.service comes in the overlay.
    in_chroot dracut --force --quiet --no-hostonly --no-hostonly-cmdline --no-early-microcode \
        --reproducible --compress=zstd \
        -m "systemd systemd-initrd udev-rules kernel-modules base fs-lib" \
        --drivers "virtio_pci virtio_blk virtio_scsi sd_mod ext4 squashfs" \
        --install "/usr/sbin/mke2fs /usr/sbin/mkfs.ext4 /etc/mke2fs.conf /usr/sbin/blkid /usr/bin/mountpoint /usr/bin/findmnt /usr/bin/sync /usr/bin/stat /usr/sbin/sfdisk" \
        --kver "$KVER" /tmp/initrd.img > "$WORK/dracut.log" 2>&1 \
      || { tail -30 "$WORK/dracut.log" >&2; die "dracut failed"; }
    rm -f "$VMTEST_CACHE"/uefi-initrd-*.img   # older inputs
    mv "$CHROOT/tmp/initrd.img" "$out"
    rm -rf "$CHROOT/usr/lib/modules/$KVER"
  fi
  echo "$out"
}

# overlay_initrd VARIANT OUT: the per-run second cpio (see the header).
overlay_initrd() {
  local variant=$1 out=$2 st=$WORK/overlay-$1 u
  rm -rf "$st"; mkdir -p "$st"/{usr/bin,etc/repart.d,etc/systemd/system,usr/lib/systemd/system/initrd-root-fs.target.wants,usr/lib/vmtest}
  install -m755 "$REPART_BIN" "$st/usr/bin/systemd-repart"
  # The binary's shared libraries (ldd) that the dracut initrd lacks, e.g.
  # libssl.so.3: Debian 13's copy from the chroot, so that it matches the initrd's
  # libcrypto and glibc; the host's only if the chroot has none.
  [ -s "$WORK/base.list" ] || zstd -dcq "$BASE_INITRD" | cpio -t --quiet 2>/dev/null | sed 's|.*/||' | sort -u > "$WORK/base.list"
  local lib name
  for lib in $(ldd "$REPART_BIN" | grep -oE '/[^ ]+\.so[^ ]*'); do
    name=$(basename "$lib")
    grep -qxF "$name" "$WORK/base.list" && continue
    mkdir -p "$st/usr/lib/x86_64-linux-gnu"
    if [ -e "$CHROOT/usr/lib/x86_64-linux-gnu/$name" ]; then cp -L "$CHROOT/usr/lib/x86_64-linux-gnu/$name" "$st/usr/lib/x86_64-linux-gnu/"
    else cp -L "$lib" "$st/usr/lib/x86_64-linux-gnu/"; fi
  done
  cp "$REPO"/examples/appliance/first-boot.d/*.conf "$st/etc/repart.d/"
  echo "$MACHINE_ID" > "$st/etc/machine-id"
  # Upstream 257's unit, unchanged, and its static link.
  cp "$CHROOT/usr/lib/systemd/system/systemd-repart.service" "$st/usr/lib/systemd/system/"
  ln -s ../systemd-repart.service "$st/usr/lib/systemd/system/initrd-root-fs.target.wants/systemd-repart.service"
  u=$st/etc/systemd/system
  mkdir -p "$u/systemd-repart.service.d" "$u/initrd.target.wants"
  # What NixOS's boot.initrd.systemd.repart writes (nixos/modules/system/boot/systemd/repart.nix).
  case $variant in
    device)
      printf '[Unit]\nRequires=dev-vda.device\nAfter=dev-vda.device\n' > "$u/systemd-repart.service.d/nixos.conf"
      printf '[Service]\nEnvironment=TMPDIR=/tmp\nExecStart=\nExecStart=/usr/bin/systemd-repart --definitions=/etc/repart.d --dry-run=no /dev/vda\n' \
        >> "$u/systemd-repart.service.d/nixos.conf"
      printf 'tmpfs /sysroot tmpfs mode=0755 0 0\n/dev/disk/by-partlabel/nix-store /sysroot/nix/store squashfs ro 0 0\n' > "$st/etc/fstab" ;;
    discovered)
      printf '[Unit]\nAfter=sysroot.mount\n' > "$u/systemd-repart.service.d/nixos.conf"
      printf '[Service]\nEnvironment=TMPDIR=/tmp\nExecStart=\nExecStart=/usr/bin/systemd-repart --definitions=/etc/repart.d --dry-run=no\n' \
        >> "$u/systemd-repart.service.d/nixos.conf"
      printf '/dev/disk/by-partlabel/nix-store /sysroot squashfs ro 0 0\n' > "$st/etc/fstab" ;;
    rootarg)
      # The classic dracut way: root= on the kernel command line (see uki). The
      # kernel then unpacks the initrd into a ramfs, so TMPDIR must be /run (tmpfs).
      printf '[Unit]\nAfter=sysroot.mount\n' > "$u/systemd-repart.service.d/nixos.conf"
      printf '[Service]\nEnvironment=TMPDIR=%s\nExecStart=\nExecStart=/usr/bin/systemd-repart --definitions=/etc/repart.d --dry-run=no\n' \
        "${VMTEST_ROOTARG_TMPDIR:-/run}" \
        >> "$u/systemd-repart.service.d/nixos.conf"
      : > "$st/etc/fstab" ;;
    *) die "unknown variant $variant" ;;
  esac
  # home and var by partlabel, as NixOS's fileSystems."/home".device = "/dev/disk/by-partlabel/home".
  cat >> "$st/etc/fstab" <<'EOF'
/dev/disk/by-partlabel/home /run/appliance/home ext4 defaults,x-systemd.after=systemd-repart.service,x-systemd.device-timeout=60s 0 0
/dev/disk/by-partlabel/var /run/appliance/var ext4 defaults,x-systemd.after=systemd-repart.service,x-systemd.device-timeout=60s 0 0
EOF
  cat > "$u/vmtest-check.service" <<'EOF'
[Unit]
Description=repart UEFI test: report and power off
DefaultDependencies=no
After=systemd-repart.service initrd-root-fs.target run-appliance-home.mount run-appliance-var.mount
# initrd.target (and so initrd-cleanup's switch to the fake root) waits for us;
# the poweroff job queued in ExecStartPost= is irreversible, so it wins.
Before=initrd.target
Wants=run-appliance-home.mount run-appliance-var.mount
[Service]
Type=oneshot
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
ExecStart=/usr/lib/vmtest/check.sh
ExecStartPost=/usr/bin/systemctl --no-block poweroff
EOF
  ln -s ../vmtest-check.service "$u/initrd.target.wants/vmtest-check.service"
  cat > "$st/usr/lib/vmtest/check.sh" <<'EOF'
#!/bin/sh
# Runs in the initrd after systemd-repart.service: prints what the host checks.
echo "VMTEST-UNIT-DONE"
read -r up _ < /proc/uptime   # (no cut in the initrd)
echo "VMTEST-UPTIME=$up"
for p in ActiveState Result ExecMainStatus ExecMainExitTimestampMonotonic; do
  echo "VMTEST-REPART-$p=$(systemctl show -P $p systemd-repart.service)"
done
for p in FirmwareTimestampMonotonic LoaderTimestampMonotonic InitRDTimestampMonotonic; do
  echo "VMTEST-MANAGER-$p=$(systemctl show -P $p)"
done
echo "VMTEST-INITRD-ROOTFS=$(stat -f -c %T /)"
echo "VMTEST-LOOP-MODULE=$([ -e /sys/module/loop ] && echo loaded || echo absent)"
echo "VMTEST-ROOTFS-TARGET-AFTER=$(systemctl show -P ActiveEnterTimestampMonotonic initrd-root-fs.target)"
echo "VMTEST-SYSROOT=$(findmnt -n -o SOURCE,FSTYPE /sysroot | tr -s ' ' ' ')"
echo "VMTEST-STORE=$( (ls /sysroot/nix/store 2>/dev/null || ls /sysroot) | tr '\n' ' ')"
echo "VMTEST-JOURNAL-BEGIN"
journalctl -b -o cat --no-pager -u systemd-repart.service 2>&1
echo "VMTEST-JOURNAL-END"
for n in home var; do
  m=/run/appliance/$n
  if mountpoint -q "$m"; then
    src=$(findmnt -n -o SOURCE "$m")
    if [ -f "$m/vmtest-marker" ]; then echo "VMTEST-MARKER-$n=present $(cat "$m/vmtest-marker" | tr ' ' _)"
    else echo "$n written on first boot" > "$m/vmtest-marker" && sync && echo "VMTEST-MARKER-$n=written"; fi
    echo "VMTEST-MOUNT-$n=$src"
  else
    echo "VMTEST-MOUNT-$n=not-mounted"
  fi
done
umount /run/appliance/home /run/appliance/var 2>/dev/null
echo "VMTEST-FULL-JOURNAL-BEGIN"
journalctl -b -o short-monotonic --no-pager -n 400 2>&1
echo "VMTEST-FULL-JOURNAL-END"
echo "VMTEST-END"
EOF
  chmod 755 "$st/usr/lib/vmtest/check.sh"
  ( cd "$st" && find . -mindepth 1 -printf '%P\0' | LC_ALL=C sort -z \
      | cpio --null --create --format=newc --reproducible --owner=0:0 --quiet ) > "$out"
}

# uki VARIANT OUT: kernel + base initrd + overlay + command line, by ukify.
uki() {
  local variant=$1 out=$2 cmdline
  # No root=: /sysroot comes from the initrd's /etc/fstab, as NixOS does it. (With
  # root= on the command line the kernel unpacks the initrd into a ramfs, not a
  # tmpfs, and the file systems repart prepares in /tmp cannot stay sparse.)
  cmdline=
  [ "$variant" = rootarg ] && cmdline="root=PARTLABEL=nix-store rootfstype=squashfs ro "
  cmdline="${cmdline}console=ttyS0 panic=-1 loglevel=4 systemd.show_status=error rd.systemd.show_status=error"
  mkdir -p "$CHROOT/tmp/uki"
  cp "$KDIR/vmlinuz" "$CHROOT/tmp/uki/vmlinuz"
  cp "$BASE_INITRD" "$CHROOT/tmp/uki/base.img"
  overlay_initrd "$variant" "$CHROOT/tmp/uki/overlay.cpio"
  in_chroot ukify build --linux=/tmp/uki/vmlinuz --initrd=/tmp/uki/base.img --initrd=/tmp/uki/overlay.cpio \
      --cmdline="$cmdline" --os-release="@/usr/lib/os-release" --uname="$KVER" \
      --output=/tmp/uki/appliance.efi > "$WORK/ukify-$variant.log" 2>&1 \
    || { cat "$WORK/ukify-$variant.log" >&2; die "ukify failed"; }
  mv "$CHROOT/tmp/uki/appliance.efi" "$out"
  rm -rf "$CHROOT/tmp/uki"
}

t=$(now)
BASE_INITRD=$(base_initrd)
log "dracut initrd: $(du -h "$BASE_INITRD" | cut -f1) ($BASE_INITRD) in $(since "$t")s"

# ---------------------------------------------------------------------- boot
# boot_vm DISK SECTOR_SIZE VARS LOG -> prints seconds from QEMU start to the
# check unit's first line (firmware + loader + kernel + initrd up to the unit done).
boot_vm() {
  local disk=$1 ss=$2 vars=$3 logf=$4 qpid t0 t_done="" rc
  : > "$logf"
  t0=$(now)
  timeout --foreground -k 5 "$TIMEOUT" \
    qemu-system-x86_64 -nodefaults -no-user-config \
      -machine q35,accel=tcg -cpu max -smp 1 -m "${VMTEST_MEM:-1024}" \
      -display none -no-reboot -serial "file:$logf" \
      -drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE" \
      -drive "if=pflash,format=raw,unit=1,file=$vars" \
      -drive "file=$disk,format=raw,if=none,id=disk0,cache=writeback,discard=unmap" \
      -device "virtio-blk-pci,drive=disk0,logical_block_size=$ss,physical_block_size=$ss" &
  qpid=$!
  while kill -0 $qpid 2>/dev/null; do
    if [ -z "$t_done" ] && grep -qa 'VMTEST-UNIT-DONE' "$logf" 2>/dev/null; then t_done=$(since "$t0"); fi
    sleep 0.5
  done
  rc=0; wait $qpid || rc=$?
  [ -n "$t_done" ] || { grep -qa 'VMTEST-UNIT-DONE' "$logf" && t_done=$(since "$t0"); } || true
  [ $rc = 124 ] && { echo "qemu: timeout after ${TIMEOUT}s" >&2; return 124; }
  [ $rc = 0 ] || { echo "qemu exited $rc" >&2; return $rc; }
  grep -q '^VMTEST-END' "$logf" || return 1
  echo "$t_done $(since "$t0")"
}

vm_field() { sed -n "s/^VMTEST-$2=//p" "$1" | tr -d '\r' | head -1; }
journal_of() { sed -n '/^VMTEST-JOURNAL-BEGIN/,/^VMTEST-JOURNAL-END/p' "$1" | sed '1d;$d' | tr -d '\r'; }

check_unit() {  # check_unit LOG LABEL
  local logf=$1 what=$2
  [ "$(vm_field "$logf" REPART-Result)" = success ] || { journal_of "$logf" >&2; die "$what: systemd-repart.service Result=$(vm_field "$logf" REPART-Result)"; }
  [ "$(vm_field "$logf" REPART-ExecMainStatus)" = 0 ] || die "$what: systemd-repart exit status $(vm_field "$logf" REPART-ExecMainStatus)"
  [ "$(vm_field "$logf" LOOP-MODULE)" = absent ] || die "$what: the loop module is loaded in the initrd"
  local done_at target_at
  done_at=$(vm_field "$logf" REPART-ExecMainExitTimestampMonotonic)
  target_at=$(vm_field "$logf" ROOTFS-TARGET-AFTER)
  [ -n "$done_at" ] && [ -n "$target_at" ] && [ "$done_at" -le "$target_at" ] \
    || die "$what: the unit finished at ${done_at}us, initrd-root-fs.target was reached at ${target_at}us (not before it)"
}

# rejected_scenario SECTOR_SIZE: the example as it is (ESP SizeMinBytes=200M)
# built with 4096-byte sectors, as upstream 257 builds it: mkfs.vfat -S 4096 gives
# a FAT32 of ~51k clusters, below the 65525 that FAT32 needs, and OVMF's FAT driver
# does not mount it: the firmware finds no boot loader and ends in its shell.
# Passes if OVMF never starts the EFI stub. (Upstream 258 enforces a minimum ESP
# size per sector size; 257 and repart do not.)
rejected_scenario() {
  local ss=$1 W=$WORK/$1-rejected qpid t0 seen=""
  mkdir -p "$W"
  log "=== sector size $ss, the example's 200M ESP unchanged (must be rejected by OVMF) ==="
  "$REPO/examples/appliance/make-content.sh" "$W/content"
  cp "$SDBOOT" "$W/content/esp/BOOTX64.EFI"
  cp "$WORK/$(echo "$MATRIX" | awk '{print $1}' | tr : -)/content/esp/appliance.efi" "$W/content/esp/appliance.efi" 2>/dev/null \
    || uki device "$W/content/esp/appliance.efi"
  (cd "$W" && PATH=$IMAGE_TOOLS_PATH "$REPART_BIN" --definitions="$REPO/examples/appliance/repart.d" \
      --copy-source="$W/content" --offline=yes --empty=create --size=auto --seed="$SEED" \
      --dry-run=no --sector-size="$ss" disk.raw) > "$W/build.stdout" 2> "$W/build.stderr" \
    || { cat "$W/build.stderr" >&2; die "[$ss rejected] image build failed"; }
  grep -q 'Number of clusters for 32 bit FAT is less then suggested minimum' "$W/build.stderr" \
    || die "[$ss rejected] mkfs.fat did not warn about too few clusters: the premise of this check is gone"
  truncate -s +"$GROW" "$W/disk.raw"
  cp "$OVMF_VARS" "$W/vars.fd"
  : > "$W/boot.log"
  t0=$(now)
  timeout --foreground -k 5 120 qemu-system-x86_64 -nodefaults -no-user-config \
      -machine q35,accel=tcg -cpu max -smp 1 -m "${VMTEST_MEM:-1024}" -display none -no-reboot -serial "file:$W/boot.log" \
      -drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE" -drive "if=pflash,format=raw,unit=1,file=$W/vars.fd" \
      -drive "file=$W/disk.raw,format=raw,if=none,id=disk0" \
      -device "virtio-blk-pci,drive=disk0,logical_block_size=$ss,physical_block_size=$ss" &
  qpid=$!
  while kill -0 $qpid 2>/dev/null; do
    if grep -qa 'EFI stub' "$W/boot.log"; then seen=stub; break; fi
    if grep -qa 'startup.nsh' "$W/boot.log"; then seen=shell; break; fi   # the shell printed its mapping table
    sleep 0.5
  done
  kill $qpid 2>/dev/null || true; wait $qpid 2>/dev/null || true
  case $seen in
    stub)  die "[$ss rejected] OVMF booted from the 51k-cluster FAT32 ESP: firmware behaviour changed, update docs/first-boot.md" ;;
    shell)
      # The firmware sees the GPT partition (a BLKn alias HD(1,GPT,...)) but maps
      # no file system on it (no FS0:), so the removable-media path is "Not Found".
      grep -qa 'HD(1,GPT,' "$W/boot.log" || die "[$ss rejected] OVMF did not even see the ESP partition"
      if grep -qa 'FS0:' "$W/boot.log"; then die "[$ss rejected] OVMF mapped a file system (FS0:) but did not boot from it"; fi
      grep -qa 'failed to load Boot0001 .*Not Found' "$W/boot.log" || die "[$ss rejected] no 'failed to load ... Not Found' from BdsDxe"
      log "[$ss rejected] as expected, OVMF sees the ESP partition but no file system on it: $(grep -ao 'failed to load Boot0001.*Not Found' "$W/boot.log" | head -1) ($(since "$t0")s)" ;;
    *)     tail -c 2000 "$W/boot.log" >&2; die "[$ss rejected] OVMF neither booted nor reached its shell" ;;
  esac
  SUMMARY+=("sector-size=$ss: the example's 200M ESP (FAT32, 4096-byte sectors, 51k clusters) is rejected by OVMF, as upstream 257's is")
  rm -f "$W/disk.raw"
}

SUMMARY=()
scenario() {
  local ss=$1 variant=$2 W=$WORK/$1-$2 img name start size attrs
  mkdir -p "$W"; img=$W/disk.raw
  log "=== sector size $ss, variant $variant ==="

  # ---- build: content with the real boot files, image mode, grow ----
  t=$(now)
  "$REPO/examples/appliance/make-content.sh" "$W/content"
  cp "$SDBOOT" "$W/content/esp/BOOTX64.EFI"
  uki "$variant" "$W/content/esp/appliance.efi"
  touch -h -d '2024-01-01 00:00:00 UTC' "$W/content/esp/BOOTX64.EFI" "$W/content/esp/appliance.efi"
  cp -r "$REPO/examples/appliance/repart.d" "$W/factory.d"
  if [ "$ss" = 4096 ]; then
    # With 4096-byte sectors the example's 200M ESP holds 51k clusters, too few
    # for FAT32 (65525), and OVMF's FAT driver rejects it (see rejected_scenario).
    # What the user sets on 257: a bigger ESP, here as a drop-in.
    mkdir -p "$W/factory.d/10-esp.conf.d"
    printf '[Partition]\nSizeMinBytes=260M\n' > "$W/factory.d/10-esp.conf.d/4k-sectors.conf"
  fi
  (cd "$W" && PATH=$IMAGE_TOOLS_PATH SOURCE_DATE_EPOCH=1704067200 "$REPART_BIN" --definitions="$W/factory.d" \
      --copy-source="$W/content" --offline=yes --empty=create --size=auto --seed="$SEED" \
      --dry-run=no --sector-size="$ss" disk.raw) > "$W/build.stdout" 2> "$W/build.stderr" \
    || { cat "$W/build.stderr" >&2; die "[$ss $variant] image build failed"; }
  local factory_bytes; factory_bytes=$(stat -c %s "$img")
  truncate -s +"$GROW" "$img"
  log "[$ss $variant] image built in $(since "$t")s: $factory_bytes bytes (UKI $(stat -c %s "$W/content/esp/appliance.efi")), grown to $(stat -c %s "$img")"

  if [ $have_oracle = 1 ]; then
    mkdir -p "$W/oracle"
    cp --sparse=always "$img" "$W/oracle/disk.raw"
    (cd "$W/oracle" && "$ORACLE" --definitions="$REPO/examples/appliance/first-boot.d" --dry-run=no --offline=yes --seed="$SEED" disk.raw) \
      > "$W/oracle/stdout" 2> "$W/oracle/stderr" || { cat "$W/oracle/stderr" >&2; die "[$ss $variant] oracle failed on the grown image"; }
    sfd "$W/oracle/disk.raw" "$ss" > "$W/oracle/table"
    rm -f "$W/oracle/disk.raw"
  fi

  # ---- boot 1 ----
  cp "$OVMF_VARS" "$W/vars.fd"
  local b1 b2
  b1=$(boot_vm "$img" "$ss" "$W/vars.fd" "$W/boot1.log") \
    || { tail -40 "$W/boot1.log" >&2; die "[$ss $variant] boot 1 failed (log: $W/boot1.log)"; }
  check_unit "$W/boot1.log" "[$ss $variant] boot 1"
  journal_of "$W/boot1.log" > "$W/journal1"
  grep -qx 'All done.' "$W/journal1" || { cat "$W/journal1" >&2; die "[$ss $variant] boot 1: no 'All done.' in the unit's journal"; }
  for name in home var; do
    [ "$(vm_field "$W/boot1.log" "MARKER-$name")" = written ] || die "[$ss $variant] boot 1: $name marker: $(vm_field "$W/boot1.log" "MARKER-$name")"
    [ "$(vm_field "$W/boot1.log" "MOUNT-$name")" != not-mounted ] || die "[$ss $variant] boot 1: $name not mounted"
  done
  case $variant in
    discovered|rootarg) [ "$(vm_field "$W/boot1.log" SYSROOT)" = "/dev/vda2 squashfs" ] || die "[$ss $variant] /sysroot is '$(vm_field "$W/boot1.log" SYSROOT)', expected the store partition" ;;
    device)     [ "$(vm_field "$W/boot1.log" SYSROOT | cut -d' ' -f2)" = tmpfs ] || die "[$ss $variant] /sysroot is '$(vm_field "$W/boot1.log" SYSROOT)', expected tmpfs" ;;
  esac
  # The kernel unpacks the initrd into a tmpfs unless root= is on its command line.
  local rootfs; rootfs=$(vm_field "$W/boot1.log" INITRD-ROOTFS)
  [ "$rootfs" = "$([ "$variant" = rootarg ] && echo ramfs || echo tmpfs)" ] || die "[$ss $variant] the initrd's / is '$rootfs'"
  vm_field "$W/boot1.log" STORE | grep -q 'appliance-system' || die "[$ss $variant] the store is not mounted in the initrd"

  # ---- host checks ----
  sfd "$img" "$ss" > "$W/table1"
  sfdisk_ss "$ss" -V "$img" > "$W/verify1" 2>&1 || { cat "$W/verify1" >&2; die "[$ss $variant] sfdisk -V reports problems"; }
  local total_sectors last_lba
  total_sectors=$(( $(stat -c %s "$img") / ss ))
  last_lba=$(awk '/^last-lba:/{print $2}' "$W/table1")
  [ "$last_lba" = $(( total_sectors - 2 - 16384 / ss )) ] || die "[$ss $variant] last-lba $last_lba: the backup GPT is not at the new end"
  declare -A START=() SIZE=()
  for name in home var; do
    start=$(part_field "$W/table1" "$name" start); size=$(part_field "$W/table1" "$name" size)
    attrs=$(part_field "$W/table1" "$name" attrs)
    [ -n "$start" ] || { cat "$W/table1" >&2; die "[$ss $variant] no GPT partition named $name"; }
    [ "$attrs" = "GUID:59" ] || die "[$ss $variant] $name: attrs '$attrs', expected GUID:59"
    START[$name]=$start SIZE[$name]=$size
    local dev="$img?offset=$((start * ss))"
    e2fsck -fn "$dev" > "$W/e2fsck1.$name" 2>&1 || { cat "$W/e2fsck1.$name" >&2; die "[$ss $variant] e2fsck -fn $name"; }
    [ "$(debugfs -R 'cat /vmtest-marker' "$dev" 2>/dev/null)" = "$name written on first boot" ] \
      || die "[$ss $variant] $name: marker not found on the host"
  done
  local ratio; ratio=$(awk -v h="${SIZE[home]}" -v v="${SIZE[var]}" 'BEGIN{printf "%.3f", h / v}')
  awk -v r="$ratio" 'BEGIN{exit !(r > 1.99 && r < 2.01)}' || die "[$ss $variant] home/var size ratio $ratio, expected 2"
  if [ $have_oracle = 1 ]; then
    diff -u "$W/oracle/table" "$W/table1" >&2 || die "[$ss $variant] partition table differs from upstream 257 on the same image"
    # stdout: upstream's table and tree, line by line and in order, among the
    # unit's journal lines (stdout and stderr reach journald as separate streams;
    # trailing blanks do not survive the console, blank lines are skipped).
    awk 'BEGIN { i = n = 0 } { sub(/[ \t]+$/, "") } NR == FNR { if ($0 != "") want[n++] = $0; next } i < n && $0 == want[i] { i++ }
         END { if (i < n) { print "missing from the journal: " want[i]; exit 1 } }' \
      "$W/oracle/stdout" "$W/journal1" >&2 || die "[$ss $variant] repart's stdout in the unit's journal differs from upstream 257's on the same image"
  fi
  log "[$ss $variant] boot 1 passed: home ${SIZE[home]} sectors, var ${SIZE[var]} (ratio $ratio)$([ $have_oracle = 1 ] && echo ', table and stdout = upstream 257 on the same image')"

  # ---- boot 2 ----
  b2=$(boot_vm "$img" "$ss" "$W/vars.fd" "$W/boot2.log") \
    || { tail -40 "$W/boot2.log" >&2; die "[$ss $variant] boot 2 failed (log: $W/boot2.log)"; }
  check_unit "$W/boot2.log" "[$ss $variant] boot 2"
  journal_of "$W/boot2.log" > "$W/journal2"
  grep -qx 'No changes.' "$W/journal2" || { cat "$W/journal2" >&2; die "[$ss $variant] boot 2: no 'No changes.' in the unit's journal"; }
  for name in home var; do
    [ "$(vm_field "$W/boot2.log" "MARKER-$name")" = "present ${name}_written_on_first_boot" ] \
      || die "[$ss $variant] boot 2: $name marker: $(vm_field "$W/boot2.log" "MARKER-$name")"
  done
  sfd "$img" "$ss" > "$W/table2"
  cmp -s "$W/table1" "$W/table2" || { diff -u "$W/table1" "$W/table2" >&2; die "[$ss $variant] boot 2 changed the partition table"; }
  log "[$ss $variant] boot 2 passed: No changes., markers present, table identical"
  # Firmware + systemd-boot + EFI stub = host time to the check unit's first line
  # minus the kernel's uptime at that line.
  local fw1 fw2
  fw1=$(awk -v a="${b1%% *}" -v b="$(vm_field "$W/boot1.log" UPTIME)" 'BEGIN{printf "%.1f", a - b}')
  fw2=$(awk -v a="${b2%% *}" -v b="$(vm_field "$W/boot2.log" UPTIME)" 'BEGIN{printf "%.1f", a - b}')
  SUMMARY+=("sector-size=$ss variant=$variant: firmware to unit done ${b1%% *}s (boot 1; firmware+loader ${fw1}s, kernel to unit done $(vm_field "$W/boot1.log" UPTIME)s, QEMU ${b1##* }s), ${b2%% *}s (boot 2; firmware+loader ${fw2}s, QEMU ${b2##* }s)")
  rm -f "$img"
}

for m in $MATRIX; do
  case ${m#*:} in
    rejected) rejected_scenario "${m%%:*}" ;;
    *)        scenario "${m%%:*}" "${m#*:}" ;;
  esac
done
for s in "${SUMMARY[@]}"; do echo "uefi-test: $s"; done
echo "uefi-test: total $(since "$T0")s"
echo "uefi-test: PASS"
