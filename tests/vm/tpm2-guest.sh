#!/bin/sh
# /init (PID 1, busybox sh) of tests/vm/tpm2.sh's initramfs.
#
# The disk (/dev/vda) holds LUKS2 partitions sealed to this machine's TPM on the
# host (GPT names in /etc/tpm2-names; "sealed" has the files listed in
# /etc/tpm2-content.sha256). Upstream's systemd-cryptsetup 257 runs in /trixie
# (a chroot with Debian 13's libraries) and unlocks each one with
# tpm2-device=auto through /dev/tpmrm0; dm-crypt maps it, busybox mounts it.
# Results go to /dev/vdb as a tar archive of /results; the console gets a log
# and a final "VMTEST-RESULT: PASS|FAIL" line (the host decides from the files).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t devtmpfs -o mode=0755 devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /results /mnt/p

say() { echo "VMTEST: $*"; echo "$*" >> /results/log; }
up() { cut -d' ' -f1 /proc/uptime; }
finish() {
  if [ "$1" = 0 ]; then res=PASS; else res=FAIL; fi
  cd /
  umount /mnt/p 2>/dev/null
  sync
  [ -b /dev/vdb ] && (cd /results && tar -cf - .) > /dev/vdb && sync
  echo "VMTEST: uptime at end: $(up)s"
  echo "VMTEST-RESULT: $res rc=$1"
  poweroff -f
  sleep 5; echo o > /proc/sysrq-trigger
}
fail() { say "FAIL: $*"; finish 1; }

say "init started, kernel $(uname -r), uptime $(up)s"
for m in virtio_pci virtio_blk crc32c_generic ext4 dm_mod dm_crypt xts aes_generic aesni_intel sha256_generic loop; do
  modprobe "$m" 2>/dev/null || say "modprobe $m failed"
done
i=0
while { [ ! -b /dev/vda ] || [ ! -b /dev/vdd ] || [ ! -c /dev/tpmrm0 ]; } && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
[ -b /dev/vdd ] || fail "/dev/vd[a-d] did not appear"
[ -c /dev/loop-control ] || fail "no /dev/loop-control (loop)"
[ -c /dev/tpmrm0 ] || fail "no /dev/tpmrm0 (TPM not found by the kernel: $(dmesg | grep -i tpm | head -3))"
[ -c /dev/mapper/control ] || fail "no /dev/mapper/control (dm_mod)"
say "TPM: $(cat /sys/class/tpm/tpm0/tpm_version_major 2>/dev/null) ($(ls /sys/class/tpmrm 2>/dev/null))"
dmesg | grep -i tpm > /results/dmesg.tpm

# upstream's tools in their own root, sharing this system's devices
for d in dev proc sys; do mount --bind /$d /trixie/$d; done
mount -t tmpfs tmpfs /trixie/run
mount -t tmpfs tmpfs /trixie/tmp
pcr7() { cat /sys/class/tpm/tpm0/pcr-sha256/7 2>/dev/null || echo unknown; }

dev_of() {  # the partition whose GPT entry is named $1
  for d in /dev/vda[0-9]*; do
    blkid -p -o export "$d" 2>/dev/null | grep -qx "PART_ENTRY_NAME=$1" && { echo "$d"; return 0; }
  done
  return 1
}
attach() {  # attach NAME DEV TAG -> rc in /results/TAG.NAME.rc
  timeout 120 chroot /trixie env SYSTEMD_LOG_LEVEL=debug /usr/lib/systemd/systemd-cryptsetup \
    attach "$1" "$2" - tpm2-device=auto,headless=true > "/results/$3.$1.log" 2>&1
  echo $? > "/results/$3.$1.rc"
  return "$(cat "/results/$3.$1.rc")"
}
detach() { chroot /trixie /usr/lib/systemd/systemd-cryptsetup detach "$1" >> /results/detach.log 2>&1; }
secs() { awk -v a="$1" -v b="$(up)" 'BEGIN{printf "%.2f", b - a}'; }

# First boot with Encrypt=tpm2 (/etc/fb.d in the chroot), as the unit runs it (no
# --offline: loop device + dm-crypt): ours on /dev/vdc, upstream's on /dev/vdd (a copy).
firstboot() {  # firstboot PHASE
  for who in ours upstream; do
    case $who in ours) bin=/usr/bin/repart disk=/dev/vdc ;; *) bin=/usr/bin/systemd-repart disk=/dev/vdd ;; esac
    t0=$(up)
    timeout 300 chroot /trixie "$bin" --dry-run=no --definitions=/etc/fb.d --seed=e2a40bf9-73f1-4278-9160-49c031e7aedd \
      --tpm2-device=auto "$disk" > "/results/fb$1.$who.stdout" 2> "/results/fb$1.$who.stderr"
    echo $? > "/results/fb$1.$who.rc"
    secs "$t0" > "/results/fb$1.$who.seconds"
    say "first boot $1 ($who, $disk): exit $(cat "/results/fb$1.$who.rc") after $(cat "/results/fb$1.$who.seconds")s: $(tail -1 "/results/fb$1.$who.stderr")"
  done
}
fb_dev() {  # the partition named "data" on $1
  for d in "$1"[0-9]*; do
    blkid -p -o export "$d" 2>/dev/null | grep -qx "PART_ENTRY_NAME=data" && { echo "$d"; return 0; }
  done
  return 1
}

PHASE=1
for arg in $(cat /proc/cmdline); do
  case $arg in vmtest.phase=*) PHASE=${arg#vmtest.phase=} ;; esac
done
if [ "$PHASE" = 2 ]; then
  firstboot 2
  dev=$(fb_dev /dev/vdc) || fail "boot 2: no partition 'data' on /dev/vdc"
  attach fb "$dev" fb2 || fail "boot 2: systemd-cryptsetup attach of the first-boot partition failed"
  mount -t ext4 -o ro /dev/mapper/fb /mnt/p || fail "boot 2: mount"
  cat /mnt/p/fb-marker > /results/fb2.marker
  umount /mnt/p
  detach fb
  finish 0
fi

pcr7 > /results/pcr7.before
say "PCR 7 (sha256) before: $(cat /results/pcr7.before)"
first=1
for n in $(cat /etc/tpm2-names); do
  dev=$(dev_of "$n") || fail "no partition named $n"
  t0=$(up)
  attach "$n" "$dev" attach1 || fail "$n: systemd-cryptsetup attach failed: $(tail -3 /results/attach1.$n.log)"
  t1=$(up)
  if [ $first = 1 ]; then awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f\n", b - a}' > /results/attach.seconds; first=0; fi
  [ -b "/dev/mapper/$n" ] || fail "$n: no /dev/mapper/$n after attach"
  grep -q 'TPM2' /results/attach1.$n.log || say "note: $n: no TPM2 lines in the log"
  chroot /trixie /usr/sbin/cryptsetup status "$n" > /results/status.$n 2>&1
  mount -t ext4 "/dev/mapper/$n" /mnt/p || fail "$n: mount /dev/mapper/$n"
  if [ "$n" = sealed ]; then
    if (cd /mnt/p && sha256sum -c /etc/tpm2-content.sha256 > /results/content.sha256.out 2>&1); then
      echo OK > /results/content.check
    else
      echo "sha256sum -c failed" > /results/content.check
    fi
  fi
  echo "$n written in the guest" > /mnt/p/guest-marker
  umount /mnt/p || fail "umount $n"
  detach "$n" || fail "$n: detach"
  [ -b "/dev/mapper/$n" ] && fail "$n: still mapped after detach"
  # Written through dm-crypt, read back after a fresh unlock (once: each unlock
  # costs ~10 s under TCG).
  if [ "$n" = sealed ]; then
    attach "$n" "$dev" attach2 || fail "$n: second attach failed"
    mount -t ext4 -o ro "/dev/mapper/$n" /mnt/p || fail "$n: mount again"
    cat /mnt/p/guest-marker > /results/reattach.$n
    umount /mnt/p
    detach "$n"
  fi
  say "$n ($dev): unlocked through the TPM by systemd-cryptsetup in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b - a}')s"
done

# First boot (before PCR 7 changes: boot 2 starts with it zero again).
firstboot 1
dev=$(fb_dev /dev/vdc) || fail "no partition 'data' on /dev/vdc after the first boot"
t0=$(up)
attach fb "$dev" fb1 || fail "the first-boot partition: systemd-cryptsetup attach failed: $(tail -3 /results/fb1.fb.log)"
say "first-boot partition $dev unlocked by systemd-cryptsetup in $(secs "$t0")s"
mount -t ext4 /dev/mapper/fb /mnt/p || fail "mount the first-boot partition"
echo "written on first boot" > /mnt/p/fb-marker
dd if=/dev/urandom of=/mnt/p/blob bs=1M count=4 2>/dev/null
sha256sum /mnt/p/blob | cut -d' ' -f1 > /results/fb1.blob.sha256
umount /mnt/p
detach fb
attach fb "$dev" fb1b || fail "the first-boot partition: second attach failed"
mount -t ext4 -o ro /dev/mapper/fb /mnt/p || fail "mount the first-boot partition again"
cat /mnt/p/fb-marker > /results/fb1.marker
sha256sum /mnt/p/blob | cut -d' ' -f1 > /results/fb1.blob.sha256.again
umount /mnt/p
detach fb

# A changed PCR 7 must stop the PCR-bound partitions from unlocking.
# (SYSTEMD_FORCE_MEASURE: without it upstream skips measuring when no UKI stub
# measured the kernel, as here.)
chroot /trixie env SYSTEMD_FORCE_MEASURE=1 /usr/lib/systemd/systemd-pcrextend --pcr=7 --tpm2-device=auto vmtest > /results/pcrextend.log 2>&1 \
  || fail "systemd-pcrextend failed: $(cat /results/pcrextend.log)"
pcr7 > /results/pcr7.after
say "PCR 7 after extending: $(cat /results/pcr7.after)"
for n in sealed nopcr; do
  dev=$(dev_of "$n")
  if attach "$n" "$dev" attach-pcr; then say "$n: unlocks with the changed PCR 7"; detach "$n"
  else say "$n: does not unlock with the changed PCR 7 (rc $(cat /results/attach-pcr.$n.rc))"; fi
done

# Image mode with Encrypt=key-file+tpm2, upstream's systemd-repart and ours, against
# this kernel's TPM (only with vmtest.keyfile=1: ~75 s under TCG).
grep -qw vmtest.keyfile=1 /proc/cmdline || finish 0
mkdir -p /trixie/tmp/kd
printf '[Partition]\nType=srv\nFormat=ext4\nEncrypt=key-file+tpm2\nSizeMinBytes=40M\n' > /trixie/tmp/kd/10-srv.conf
printf 'secret key file' > /trixie/tmp/key
chmod 600 /trixie/tmp/key
for who in upstream ours; do
  case $who in upstream) bin=/usr/bin/systemd-repart ;; ours) bin=/usr/bin/repart ;; esac
  t0=$(up)
  timeout 180 chroot /trixie "$bin" --definitions=/tmp/kd --empty=create --size=auto --offline=yes --dry-run=no \
    --seed=e2a40bf9-73f1-4278-9160-49c031e7aedd --key-file=/tmp/key --tpm2-device=auto /tmp/kf.raw \
    > "/results/kf.$who.stdout" 2> "/results/kf.$who.stderr"
  echo $? > "/results/kf.$who.rc"
  if [ -e /trixie/tmp/kf.raw ]; then echo left > "/results/kf.$who.image"; rm -f /trixie/tmp/kf.raw
  else echo removed > "/results/kf.$who.image"; fi
  say "key-file+tpm2 image build ($who): exit $(cat /results/kf.$who.rc), image $(cat /results/kf.$who.image), $(awk -v a="$t0" -v b="$(up)" 'BEGIN{printf "%.2f", b - a}')s: $(grep '^Failed' /results/kf.$who.stderr | tail -1)"
done
finish 0
