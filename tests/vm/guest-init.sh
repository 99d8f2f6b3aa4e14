#!/bin/sh
# /init (PID 1, busybox sh) of the first-boot test initramfs built by run.sh.
#
# Plays the part of a real initrd: the appliance's read-only store partition on
# the same disk is mounted first (so the disk is busy and BLKRRPART would fail
# with EBUSY), then repart runs against the whole disk exactly like the unit
# does (`repart --dry-run=no /dev/vda`, TMPDIR=/tmp, definitions in
# /etc/repart.d). There is no loop driver in this initramfs at all.
#
# Kernel command line: vmtest.boot=1|2 (first boot: must repartition; second
# boot: must print "No changes.").
# Results go to the second disk (/dev/vdb) as a tar archive of /results, so the
# host gets repart's stdout/stderr/exit status byte for byte. The console gets
# a readable log and a final "VMTEST-RESULT: PASS|FAIL" line.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t devtmpfs -o mode=0755 devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /results /sysroot /mnt/home /mnt/var

BOOT=0
for arg in $(cat /proc/cmdline); do
  case $arg in vmtest.boot=*) BOOT=${arg#vmtest.boot=} ;; esac
done

say() { echo "VMTEST: $*"; echo "$*" >> /results/log; }
up() { cut -d' ' -f1 /proc/uptime; }

finish() {
  rc=$1
  if [ "$rc" = 0 ]; then res=PASS; else res=FAIL; fi
  echo "$rc" > /results/payload-rc
  cd /
  umount /mnt/home /mnt/var /sysroot 2>/dev/null
  sync
  if [ -b /dev/vdb ]; then
    (cd /results && tar -cf - .) > /dev/vdb && sync
  fi
  echo "VMTEST: uptime at end: $(up)s"
  echo "VMTEST-RESULT: $res rc=$rc"
  poweroff -f
  sleep 5; echo o > /proc/sysrq-trigger
}
fail() { say "FAIL: $*"; finish 1; }

say "boot $BOOT: init started, kernel $(uname -r), uptime $(up)s"

# Drivers: virtio disk, ext4 (+crc32c for metadata_csum), squashfs. Nothing else.
for m in virtio_pci virtio_blk crc32c_generic ext4 squashfs; do
  modprobe "$m" || say "modprobe $m failed"
done
modprobe crc32c-intel 2>/dev/null

i=0
while { [ ! -b /dev/vda ] || [ ! -b /dev/vdb ]; } && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
[ -b /dev/vda ] || fail "/dev/vda did not appear"
[ -b /dev/vdb ] || fail "/dev/vdb (results disk) did not appear"
say "vda: $(cat /sys/block/vda/size) 512-byte units, logical block size $(cat /sys/block/vda/queue/logical_block_size)"

# ---- 1. no loop devices, no loop driver -----------------------------------
[ -e /dev/loop-control ] && fail "/dev/loop-control exists: the test initramfs must not have loop support"
ls /dev/loop* >/dev/null 2>&1 && fail "loop device nodes exist"
[ -d /sys/module/loop ] && fail "loop driver is loaded"
find /lib/modules -name 'loop.ko*' | grep -q . && fail "loop.ko is in the initramfs"
say "no loop support: /dev/loop-control absent, no loop.ko, /sys/module/loop absent"

cp /proc/partitions /results/partitions.before
dmesg > /results/dmesg.before

# ---- 2. like a real initrd: a partition of the disk is in use --------------
STORE=''
for d in /dev/vda[0-9]*; do
  if mount -t squashfs -o ro "$d" /sysroot 2>/dev/null; then STORE=$d; break; fi
done
[ -n "$STORE" ] || fail "no squashfs partition could be mounted ($(ls /dev/vda* | tr '\n' ' '))"
ls -1 /sysroot > /results/store.ls
[ -s /results/store.ls ] || fail "the store in $STORE is empty"
say "store $STORE mounted read-only: $(wc -l < /results/store.ls) top-level entries"
if blockdev --rereadpt /dev/vda 2>/dev/null; then
  say "note: BLKRRPART succeeded although $STORE is mounted"
else
  say "BLKRRPART fails while $STORE is mounted (expected: EBUSY)"
fi

# ---- 3. repart, exactly like the unit ---------------------------------------
t0=$(up)
if [ "$BOOT" = 2 ]; then
  # Second boot: like the unit in an initrd, no device argument: repart must find
  # the disk behind the root mounted at /sysroot by itself.
  touch /etc/initrd-release
  TMPDIR=/tmp repart --dry-run=no --definitions=/etc/repart.d \
    > /results/repart.stdout 2> /results/repart.stderr
  rc=$?
else
  TMPDIR=/tmp repart --dry-run=no /dev/vda > /results/repart.stdout 2> /results/repart.stderr
  rc=$?
fi
t1=$(up)
echo "$rc" > /results/repart.rc
awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f\n", b - a}' > /results/repart.seconds
say "repart exited $rc after $(cat /results/repart.seconds)s (guest uptime $t0 -> $t1)"
sed 's/^/  repart stderr: /' /results/repart.stderr
[ "$rc" = 0 ] || fail "repart exit status $rc"
cp /proc/partitions /results/partitions.after
for p in /sys/block/vda/vda*; do
  echo "$(basename "$p") start=$(cat "$p/start") size=$(cat "$p/size")"
done > /results/sysfs.after
sed 's/^/  kernel: /' /results/sysfs.after

if [ "$BOOT" = 1 ]; then
  grep -qx 'No changes.' /results/repart.stderr && fail "first boot: repart found nothing to do"
else
  grep -qx 'No changes.' /results/repart.stderr || fail "second boot: repart did not print 'No changes.'"
  # The table written on boot 1 must be clean: no GPT complaints from the kernel.
  grep -q 'GPT:' /results/dmesg.before && fail "kernel complains about the GPT on boot 2: $(grep 'GPT:' /results/dmesg.before | head -2)"
fi

# ---- 4. the kernel knows the new partitions (BLKPG), labels are right -------
HOME_DEV='' VAR_DEV=''
: > /results/blkid
for d in /dev/vda[0-9]*; do
  # low-level probe: file system label/type and the GPT entry's name
  info=$(blkid -p -o export "$d" 2>/dev/null)
  echo "$d $(echo $info)" >> /results/blkid   # one line per device (unquoted on purpose)
  l=$(echo "$info" | sed -n 's/^LABEL=//p'); t=$(echo "$info" | sed -n 's/^TYPE=//p')
  n=$(echo "$info" | sed -n 's/^PART_ENTRY_NAME=//p')
  case "$l/$t/$n" in home/ext4/home) HOME_DEV=$d ;; var/ext4/var) VAR_DEV=$d ;; esac
done
[ -n "$HOME_DEV" ] || fail "no ext4 'home' partition device (kernel partitions: $(ls /dev/vda* | tr '\n' ' '))"
[ -n "$VAR_DEV" ] || fail "no ext4 'var' partition device"
grep -qw "$(basename "$HOME_DEV")" /proc/partitions || fail "$HOME_DEV not in /proc/partitions"
grep -qw "$(basename "$VAR_DEV")" /proc/partitions || fail "$VAR_DEV not in /proc/partitions"
say "home is $HOME_DEV, var is $VAR_DEV"

mount -t ext4 "$HOME_DEV" /mnt/home || fail "mount $HOME_DEV"
mount -t ext4 "$VAR_DEV" /mnt/var || fail "mount $VAR_DEV"
df -k /mnt/home /mnt/var | sed 's/^/  /'
df -k /mnt/home /mnt/var > /results/df
if [ "$BOOT" = 1 ]; then
  echo "home written on first boot" > /mnt/home/vmtest-marker
  echo "var written on first boot" > /mnt/var/vmtest-marker
  # Something bigger than a page, to see the data reach the disk.
  dd if=/dev/zero of=/mnt/var/blob bs=1M count=8 2>/dev/null
  say "markers written"
else
  [ "$(cat /mnt/home/vmtest-marker 2>/dev/null)" = "home written on first boot" ] || fail "home marker lost"
  [ "$(cat /mnt/var/vmtest-marker 2>/dev/null)" = "var written on first boot" ] || fail "var marker lost"
  say "markers from boot 1 present"
fi
umount /mnt/home /mnt/var /sysroot || fail "umount"
sync
finish 0
