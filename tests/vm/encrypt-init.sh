#!/bin/sh
# /init (PID 1, busybox sh) of the initramfs built by tests/vm/encrypt.sh.
#
# A first boot with Encrypt=key-file: the store partition of the appliance is
# mounted first (the disk is busy, as in a real initrd), then one repart runs
# against /dev/vda with the definitions in /etc/repart.d (home and var, ext4,
# Encrypt=key-file) and --key-file=/etc/vm.key, without --offline= (live mode:
# loop device, LUKS2, mkfs through dm-crypt). Then every new partition is opened
# with upstream's cryptsetup and the key file, and its file system inspected,
# mounted, written (boot 1) or read back (boot 2).
#
# Kernel command line: vmtest.tool=ours|upstream, vmtest.boot=1|2.
# Disks: vda = the disk under test, vdb = results (tar of /results), vdc = the
# oracle's tool tree (ext4), mounted at its host path so that its ld.so
# wrappers work; its bin/ (Debian 13's mke2fs, cryptsetup, dumpe2fs, blkid)
# comes first on PATH for both tools.
LDSO=/var/cache/repart-oracle/trixie-ldso
export PATH=$LDSO/bin:/usr/sbin:/usr/bin:/sbin:/bin
# (the tool tree's python3 needs its home for the standard library)
export PYTHONHOME=$LDSO/root/usr
# (and mcopy's iconv its gconv modules)
export GCONV_PATH=$LDSO/root/usr/lib/x86_64-linux-gnu/gconv
mount -t devtmpfs -o mode=0755 devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /results /sysroot /mnt/part "$LDSO"

TOOL=none BOOT=0
for arg in $(cat /proc/cmdline); do
  case $arg in
    vmtest.tool=*) TOOL=${arg#vmtest.tool=} ;;
    vmtest.boot=*) BOOT=${arg#vmtest.boot=} ;;
  esac
done
say() { echo "VMTEST: $*"; echo "$*" >> /results/log; }
up() { cut -d' ' -f1 /proc/uptime; }
finish() {
  echo "$1" > /results/payload-rc
  cd /
  umount /mnt/part /sysroot 2>/dev/null
  while read -r n _; do cryptsetup close "vm-$n" 2>/dev/null; done < /etc/vmtest-parts
  sync
  [ -b /dev/vdb ] && { (cd /results && tar -cf - .) > /dev/vdb; sync; }
  if [ "$1" = 0 ]; then echo "VMTEST-RESULT: PASS"; else echo "VMTEST-RESULT: FAIL rc=$1"; fi
  poweroff -f
  sleep 5; echo o > /proc/sysrq-trigger
}
fail() { say "FAIL: $*"; finish 1; }

say "tool $TOOL boot $BOOT, kernel $(uname -r), uptime $(up)s"
# What an initrd needs for live-mode Encrypt=: loop, dm_mod, dm_crypt (+ ciphers).
for m in $(cat /etc/modules-to-load); do modprobe "$m" 2>/dev/null || say "modprobe $m failed"; done
i=0
while { [ ! -b /dev/vda ] || [ ! -b /dev/vdb ] || [ ! -b /dev/vdc ]; } && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
[ -b /dev/vdc ] || fail "/dev/vdc (tool tree) did not appear"
mount -t ext4 -o ro /dev/vdc "$LDSO" || fail "mount the tool tree"
[ -e /dev/loop-control ] || fail "no /dev/loop-control (loop module)"
[ -e /dev/mapper/control ] || { mkdir -p /dev/mapper; mknod /dev/mapper/control c 10 236; }

STORE=''
for d in /dev/vda[0-9]*; do
  if mount -t squashfs -o ro "$d" /sysroot 2>/dev/null; then STORE=$d; break; fi
done
[ -n "$STORE" ] || fail "no squashfs partition could be mounted"
say "store $STORE mounted read-only"

# The CopyFiles= sources (tmpfs: trusted.* xattrs work there on this kernel), the same
# names, modes, owners, times and contents on every boot.
if [ -f /usr/lib/vmtest/populate-tree.py ]; then
  python3 /usr/lib/vmtest/populate-tree.py make /tmp/tree || fail "make the CopyFiles= tree"
  python3 /usr/lib/vmtest/populate-tree.py make /tmp/fat fat || fail "make the vfat CopyFiles= tree"
fi

case $TOOL in
  ours) set -- /usr/bin/repart ;;
  upstream) set -- "$LDSO/bin/systemd-repart" ;;
  *) fail "vmtest.tool=ours|upstream missing" ;;
esac
t0=$(up)
TMPDIR=/tmp "$@" --dry-run=no --key-file=/etc/vm.key --definitions=/etc/repart.d /dev/vda \
  > /results/repart.stdout 2> /results/repart.stderr
rc=$?
t1=$(up)
echo "$rc" > /results/repart.rc
awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f\n", b - a}' > /results/repart.seconds
say "repart exited $rc after $(cat /results/repart.seconds)s"
sed 's/^/  repart stderr: /' /results/repart.stderr | grep -v '^  repart stderr: *$' | tail -n 40
[ "$rc" = 0 ] || fail "repart exit status $rc"
cat /sys/block/dm-*/dm/name 2>/dev/null | grep -q luks-repart && fail "a luks-repart mapping is left over"
losetup -a 2>/dev/null | grep -q . && fail "a loop device is left over: $(losetup -a)"
if [ "$BOOT" = 1 ]; then
  grep -qx 'No changes.' /results/repart.stderr && fail "first boot: repart found nothing to do"
else
  [ "$(cat /results/repart.stderr)" = "No changes." ] || fail "second boot: stderr is not exactly 'No changes.'"
fi
umount /sysroot

# The new partitions (/etc/vmtest-parts: name and file system a line): LUKS2 opened
# with the key file (upstream's cryptsetup), the file system inside; on boot 1 its
# superblock fields and, for a populated one, the manifest of its files.
while read -r n fstype populated <&3; do
  dev=''
  for d in /dev/vda[0-9]*; do
    [ "$(blkid -p -s PART_ENTRY_NAME -o value "$d" 2>/dev/null)" = "$n" ] && dev=$d
  done
  [ -n "$dev" ] || fail "no partition named $n"
  [ "$(blkid -p -s TYPE -o value "$dev")" = crypto_LUKS ] || fail "$dev ($n) is not crypto_LUKS"
  blockdev --getsize64 "$dev" > "/results/size.$n"
  cryptsetup luksDump "$dev" > "/results/luksdump.$n" || fail "luksDump $dev"
  cryptsetup open --key-file=/etc/vm.key "$dev" "vm-$n" || fail "cryptsetup open $dev with the key file"
  m=/dev/mapper/vm-$n
  [ "$(blkid -p -s TYPE -o value "$m")" = "$fstype" ] || fail "no $fstype inside $dev"
  [ "$fstype" = vfat ] || [ "$(blkid -p -s LABEL -o value "$m")" = "$n" ] || fail "$fstype in $dev is not labelled $n"
  if [ "$BOOT" = 1 ]; then
    case $fstype in
      ext4) dumpe2fs -h "$m" > "/results/dumpe2fs.$n" 2>/dev/null || fail "dumpe2fs $n"
            # (measurements only) the file system's metadata, every block of it, as qcow2
            [ -f /etc/vmtest-measure ] && { e2image -Q "$m" "/results/e2image.$n.qcow2" || fail "e2image $n"; } ;;
      xfs) xfs_db -r -c 'sb 0' -c print "$m" > "/results/super.$n" 2>&1 || fail "xfs_db $n" ;;
      btrfs) btrfs inspect-internal dump-super "$m" > "/results/super.$n" 2>&1 || fail "btrfs dump-super $n" ;;
      vfat) fsck.fat -n -v "$m" > "/results/super.$n" 2>&1 || fail "fsck.fat $n" ;;
    esac
  fi
  mount -t "$fstype" -o noatime "$m" /mnt/part || fail "mount $n"
  if [ "$BOOT" = 1 ] && [ "$populated" = yes ]; then
    python3 /usr/lib/vmtest/populate-tree.py manifest /mnt/part "/results/content.$n" "/results/times.$n" \
      || fail "manifest of $n"
  fi
  if [ "$BOOT" = 1 ]; then
    echo "$n written on first boot by $TOOL" > /mnt/part/vmtest-marker
  else
    [ "$(cat /mnt/part/vmtest-marker 2>/dev/null)" = "$n written on first boot by $TOOL" ] || fail "$n marker lost"
  fi
  cat /mnt/part/vmtest-marker > "/results/marker.$n"
  umount /mnt/part || fail "umount $n"
  cryptsetup close "vm-$n" || fail "cryptsetup close $n"
  say "$n: $dev LUKS2, opened with the key file, $fstype '$n' inside, marker $( [ "$BOOT" = 1 ] && echo written || echo read back)"
done 3< /etc/vmtest-parts
sync
finish 0
