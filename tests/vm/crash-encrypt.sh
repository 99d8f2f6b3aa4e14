#!/usr/bin/env bash
# tests/vm/crash-encrypt.sh -- the crash test of a first boot with Encrypt=key-file
# in live mode (loop device, LUKS2, mkfs through dm-crypt), in ONE QEMU boot of
# Debian's kernel (TCG): the guest (tests/vm/crash-encrypt-init.sh) makes image
# files in its RAM, attaches them with `losetup -P`, and stops our fault-injection
# build of repart at each point of a first boot (SIGKILL at every point, SIGTERM
# too at the dm-crypt ones), then runs it again: table old or new after the stop,
# data intact, the final table that of an uninterrupted run, the encrypted
# partition opened by upstream's cryptsetup with the key file and holding its
# files, no dm-crypt mapping or loop device left by a SIGTERM or by the rerun.
# Also, for the report only: upstream 257 SIGKILLed once its mapping is up.
#
# First boot: data (existing, 8 MiB of random data), home (ext4, Encrypt=key-file,
# 48 MiB, CopyFiles= of a small tree), var (plain, the rest).
#
# no_timer_check: under a loaded host TCG can fail the kernel's IO-APIC timer check
# (a panic before anything runs).
# NOT IN CI YET. History: the first run (05:23 UTC) hung after SIGKILL at activated-live:
# our loop device held the caller's open file description of the target and with it
# the target's flock, the killed run's mapping kept the loop device, so the rerun's
# flock waited forever (fixed: the loop device gets its own description, as upstream's
# reopen). Then SIGTERM at activated-live left the mapping (our own descriptor on it
# made the removal fail; fixed). Run of 06:10 UTC (loaded host, ~70 s per stop): 10 of
# the 12 stops passed up to gpt-backup; SIGKILL at gpt-primary-entries then failed
# "no partition named home": the primary GPT is corrupt after that stop, the rerun
# (reading the backup) finds nothing to do and leaves it so, and the kernel sees no
# home partition. Not diagnosed yet (what upstream's rerun does there, whether our
# rerun must rewrite the primary). The whole matrix takes ~10-12 min under load:
# too long for the CI budget as it is. A hang in the guest now fails the stop after
# 300 s with the blocked processes' wait channels, /proc/locks and the devices.
# CRASH_POINTS='wiped copied luks-formatted-live activated-live formatted-live formatted gpt-backup'
# runs what passed.
# Needs root. Builds `cargo build --release --features fault-injection` unless
# REPART_FAULT_BIN names such a binary. Exit 0 and "vm-crash-encrypt: PASS".
# Environment: VMTEST_TIMEOUT (default 900), VMTEST_KEEP=1, VMTEST_MEM (2048:
# argon2id takes up to 1 GiB), CRASH_POINTS / CRASH_TERM_POINTS (space-separated).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh
source "$HERE/lib.sh"

T0=$(now)
TIMEOUT=${VMTEST_TIMEOUT:-900}
export VMTEST_MEM=${VMTEST_MEM:-2048}
POINTS=${CRASH_POINTS:-wiped copied luks-formatted-live activated-live formatted-live formatted gpt-backup gpt-primary-entries gpt-primary}
TERM_POINTS=${CRASH_TERM_POINTS:-luks-formatted-live activated-live formatted-live}

[ "$(id -u)" = 0 ] || die "needs root"
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/repart-vmcrash.XXXXXX")
cleanup() {
  local rc=$?
  if [ $rc = 0 ] && [ "${VMTEST_KEEP:-0}" != 1 ]; then rm -rf "$WORK"; else echo "work directory kept: $WORK" >&2; fi
}
trap cleanup EXIT

ensure_packages
if [ -z "${REPART_FAULT_BIN:-}" ]; then
  (cd "$REPO" && cargo build --release -q --features fault-injection) || die "cargo build --release --features fault-injection"
  # A copy: other scripts rebuild target/release/repart without the feature.
  cp "$REPO/target/release/repart" "$WORK/repart-fault"
  REPART_FAULT_BIN=$WORK/repart-fault
fi
KDIR=$(fetch_kernel)
TOOLS=$(tool_disk)
log "prerequisites ready in $(since "$T0")s"

EXTRA=$WORK/extra
mkdir -p "$EXTRA/etc/repart.d" "$EXTRA/etc/first.d" "$EXTRA/etc/crash-files/sub"
printf '[Partition]\nType=linux-generic\nLabel=data\nSizeMinBytes=8M\nSizeMaxBytes=8M\n' > "$EXTRA/etc/first.d/10-data.conf"
cp "$EXTRA/etc/first.d/10-data.conf" "$EXTRA/etc/repart.d/"
printf '[Partition]\nType=home\nLabel=home\nFormat=ext4\nEncrypt=key-file\nCopyFiles=/etc/crash-files:/\nSizeMinBytes=48M\nSizeMaxBytes=48M\n' > "$EXTRA/etc/repart.d/20-home.conf"
printf '[Partition]\nType=var\nLabel=var\n' > "$EXTRA/etc/repart.d/30-var.conf"
printf 'hello from the crash test\n' > "$EXTRA/etc/crash-files/hello"
head -c 300000 /dev/urandom > "$EXTRA/etc/crash-files/sub/random"
printf 'crash test key: correct horse battery staple' > "$EXTRA/etc/vm.key"; chmod 0600 "$EXTRA/etc/vm.key"
echo "$SEED" > "$EXTRA/etc/crash-seed"
echo "$POINTS" > "$EXTRA/etc/crash-points"
echo "$TERM_POINTS" > "$EXTRA/etc/crash-term-points"
echo "${SEED//-/}" > "$EXTRA/etc/machine-id"
INITRD=$WORK/initramfs.cpio
build_crypt_initramfs "$KDIR" "$INITRD" "$REPART_FAULT_BIN" "$HERE/crash-encrypt-init.sh" "$EXTRA"
log "initramfs $(du -h "$INITRD" | cut -f1)"

RES=$WORK/results.tar LOGF=$WORK/boot.log
truncate -s 16M "$RES"
bios=()
[ -f /usr/share/qemu/qboot.rom ] && bios=(-bios /usr/share/qemu/qboot.rom)
t=$(now)
set +e
timeout --foreground -k 5 "$TIMEOUT" \
  qemu-system-x86_64 -nodefaults -no-user-config \
    -machine q35,accel=tcg -cpu max -smp 1 -m "$VMTEST_MEM" "${bios[@]}" \
    -display none -no-reboot -serial "file:$LOGF" \
    -kernel "$KDIR/vmlinux" -initrd "$INITRD" \
    -append "console=ttyS0 panic=-1 oops=panic loglevel=4 no_timer_check rdinit=/init" \
    -drive "file=$RES,format=raw,if=none,id=disk1,cache=writeback" \
    -device virtio-blk-pci,drive=disk1 \
    -drive "file=$TOOLS,format=raw,if=none,id=disk2,readonly=on" \
    -device virtio-blk-pci,drive=disk2
qrc=$?
set -e
mkdir -p "$WORK/r"
tar -xf "$RES" -C "$WORK/r" 2>/dev/null || true
grep '^VMTEST' "$LOGF" >&2 || true
grep -q '^VMTEST-RESULT: PASS' "$LOGF" || { tail -60 "$LOGF" >&2; die "guest failed (qemu $qrc, log $LOGF)"; }
read -r passed cases < "$WORK/r/counts"
echo "vm-crash-encrypt: $passed of $cases stops passed ($(echo "$POINTS" | wc -w) points; SIGTERM also at: $TERM_POINTS)"
grep '^upstream:' "$WORK/r/log" | sed 's/^/vm-crash-encrypt: /' || true
echo "vm-crash-encrypt: guest $(since "$t")s, total $(since "$T0")s"
echo "vm-crash-encrypt: PASS"
