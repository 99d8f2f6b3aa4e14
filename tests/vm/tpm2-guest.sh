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
for m in virtio_pci virtio_blk crc32c_generic ext4 dm_mod dm_crypt xts aes_generic aesni_intel sha256_generic; do
  modprobe "$m" 2>/dev/null || say "modprobe $m failed"
done
i=0
while { [ ! -b /dev/vda ] || [ ! -b /dev/vdb ] || [ ! -c /dev/tpmrm0 ]; } && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
[ -b /dev/vda ] || fail "/dev/vda did not appear"
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
# this kernel's TPM (PCR 7 now extended: sealing does not care).
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
