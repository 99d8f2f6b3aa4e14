#!/bin/sh
# /init (PID 1, busybox sh) of the initramfs built by bench/vm-encrypt.sh.
#
# One first boot: runs one repart (ours or upstream's, kernel command line
# vmbench.tool=ours|upstream) against /dev/vda with the Encrypt=key-file
# definitions in /etc/repart.d, timed, then checks that the new partition opens
# with the key file (upstream's cryptsetup) and holds an ext4, and powers off.
# Disks: vda = the disk under test, vdb = results (tar of /results), vdc = the
# oracle's tool tree (ext4), mounted at the same path as on the host so that its
# ld.so wrappers work unchanged; its bin/ (Debian 13's mke2fs, cryptsetup) comes
# first on PATH for both tools. vmbench.libs=suite runs ours through the tree's
# ld.so with upstream's libraries (default: the host's, copied into the initramfs).
LDSO=/var/cache/repart-oracle/trixie-ldso
export PATH=$LDSO/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t devtmpfs -o mode=0755 devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /results /mnt/new "$LDSO"

TOOL=none LIBS=own
for arg in $(cat /proc/cmdline); do
  case $arg in vmbench.tool=*) TOOL=${arg#vmbench.tool=} ;; vmbench.libs=*) LIBS=${arg#vmbench.libs=} ;; esac
done
say() { echo "VMBENCH: $*"; echo "$*" >> /results/log; }
up() { cut -d' ' -f1 /proc/uptime; }
finish() {
  echo "$1" > /results/payload-rc
  cd /
  umount /mnt/new 2>/dev/null
  sync
  [ -b /dev/vdb ] && { (cd /results && tar -cf - .) > /dev/vdb; sync; }
  if [ "$1" = 0 ]; then echo "VMTEST-RESULT: PASS"; else echo "VMTEST-RESULT: FAIL rc=$1"; fi
  poweroff -f
  sleep 5; echo o > /proc/sysrq-trigger
}
fail() { say "FAIL: $*"; finish 1; }

for m in $(cat /etc/modules-to-load); do modprobe "$m" 2>/dev/null || say "modprobe $m failed"; done
i=0
while { [ ! -b /dev/vda ] || [ ! -b /dev/vdb ] || [ ! -b /dev/vdc ]; } && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
[ -b /dev/vdc ] || fail "/dev/vdc (tool tree) did not appear"
mount -t ext4 -o ro /dev/vdc "$LDSO" || fail "mount the tool tree"
[ -e /dev/loop-control ] || fail "no /dev/loop-control (loop module)"
[ -e /dev/mapper/control ] || { mkdir -p /dev/mapper; mknod /dev/mapper/control c 10 236 2>/dev/null; }
say "tool $TOOL (libraries: $LIBS), kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPU, $(awk '/MemTotal/{print $2}' /proc/meminfo) kB"

case $TOOL in
  ours)
    if [ "$LIBS" = suite ]; then
      # through the suite's ld.so: the same libcryptsetup/OpenSSL as upstream
      SL=$LDSO/root/usr/lib/x86_64-linux-gnu
      set -- "$SL/ld-linux-x86-64.so.2" --library-path "$SL:$SL/systemd" /usr/bin/repart
    else
      set -- /usr/bin/repart
    fi ;;
  upstream) set -- "$LDSO/bin/systemd-repart" ;;
  *) fail "vmbench.tool=ours|upstream missing" ;;
esac
"$@" --version | head -1 > /results/version
t0=$(up)
TMPDIR=/tmp busybox time -f "%e %U %S %M" -o /results/time "$@" --dry-run=no --seed=e2a40bf9-73f1-4278-9160-49c031e7aedd \
  --key-file=/etc/bench.key --definitions=/etc/repart.d /dev/vda > /results/repart.stdout 2> /results/repart.stderr
rc=$?
t1=$(up)
echo "$rc" > /results/repart.rc
awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f\n", b - a}' > /results/repart.seconds
say "repart exited $rc after $(cat /results/repart.seconds)s (time: $(cat /results/time))"
tail -n 15 /results/repart.stderr | sed 's/^/  repart stderr: /'
[ "$rc" = 0 ] || fail "repart exit status $rc"
# repart removes its dm-crypt mapping (and so frees the loop device) before it exits
left=$(ls /dev/mapper 2>/dev/null | grep '^luks-repart-')
[ -z "$left" ] || fail "repart left the mapping(s) $left active"

# The new partition: LUKS2 that the key file opens, with an ext4 inside.
NEW=''
for d in /dev/vda[0-9]*; do
  [ "$(blkid -p -s TYPE -o value "$d" 2>/dev/null)" = crypto_LUKS ] && NEW=$d
done
[ -n "$NEW" ] || fail "no crypto_LUKS partition on /dev/vda"
cryptsetup open --key-file=/etc/bench.key "$NEW" benchnew || fail "cryptsetup open $NEW"
[ "$(blkid -p -s TYPE -o value /dev/mapper/benchnew)" = ext4 ] || fail "no ext4 inside $NEW"
mount -t ext4 /dev/mapper/benchnew /mnt/new || fail "mount the new file system"
df -k /mnt/new | tail -1 > /results/df
umount /mnt/new
cryptsetup close benchnew
say "$NEW: LUKS2, opened with the key file, ext4 inside ($(cat /results/df))"
finish 0
