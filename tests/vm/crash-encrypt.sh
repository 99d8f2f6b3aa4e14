#!/usr/bin/env bash
# tests/vm/crash-encrypt.sh -- the crash test of a first boot with Encrypt=key-file
# in live mode (loop device, LUKS2, mkfs through dm-crypt) in QEMU boots of Debian's
# kernel (TCG; CRASH_SHARDS guests at once, the stops shared out among them): each
# guest (tests/vm/crash-encrypt-init.sh) makes image files in its RAM, attaches them
# with `losetup -P`, and stops our fault-injection build of repart at its points of a
# first boot (SIGKILL at every point, SIGTERM too at the dm-crypt ones), then runs
# it again: table old or new after the stop (in the primary GPT too, the only copy
# the kernel reads), data intact, the final table that of an uninterrupted run, the
# encrypted partition opened by upstream's cryptsetup with the key file and holding
# its files, no dm-crypt mapping or loop device left by a SIGTERM or by the rerun.
# Also, for the report only: upstream 257 SIGKILLed once its mapping is up.
#
# First boot: data (existing, 8 MiB of random data), home (ext4, Encrypt=key-file,
# 48 MiB, CopyFiles= of a small tree, which goes in by mounting the new ext4 through
# dm-crypt: the initrd carries the ext4 module and the run must say "Populating ext4
# filesystem."), var (plain, the rest).
#
# no_timer_check: under a loaded host TCG can fail the kernel's IO-APIC timer check
# (a panic before anything runs).
# In .ci/run after tools/test.sh (whose fault-injection build it gets as
# REPART_FAULT_BIN). What it found: a SIGKILL after activated-live hung the rerun
# (our loop device kept the caller's open file description of the target and with it
# the target's flock; fixed: the loop device gets its own, as upstream's reopen);
# SIGTERM once the mapping was up left it (our own descriptor on it made the removal
# fail; fixed); SIGKILL between the primary GPT's entries and header writes (libfdisk's
# order, ours then) left a primary failing its CRC check: the kernel sees no
# partitions, and the rerun, like upstream 257's (golden rerun-primary-corrupt), reads
# the new backup and says "No changes." (fixed: header and entries in one write, the
# point gpt-primary-entries is gone). A hang in the guest fails the stop after
# CRASH_WATCHDOG seconds with the blocked processes' wait channels, /proc/locks and
# the devices.
# Runtime: 2 guests (the default) with the host at load average 12 on 2 cores: 7.3 min
# wall, 2.7 min of CPU per guest (27-74 s per stop); quiet, about 4 min (each guest on
# its own core; libcryptsetup's PBKDF targets wall time, so ~0.5 min more than the CPU).
# Needs root. Builds `cargo build --release --features fault-injection` unless
# REPART_FAULT_BIN names such a binary. Exit 0 and "vm-crash-encrypt: PASS".
# Environment: VMTEST_TIMEOUT (per guest, default 1200), VMTEST_KEEP=1, VMTEST_MEM
# (2048: argon2id takes up to 1 GiB), CRASH_POINTS / CRASH_TERM_POINTS
# (space-separated), CRASH_SHARDS (guests at once, default 2: TCG runs one vCPU per
# host thread), CRASH_WATCHDOG (seconds per stop, default 420).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh
source "$HERE/lib.sh"

T0=$(now)
TIMEOUT=${VMTEST_TIMEOUT:-1200}
export VMTEST_MEM=${VMTEST_MEM:-2048}
POINTS=${CRASH_POINTS:-wiped copied luks-formatted-live activated-live formatted-live formatted gpt-backup gpt-primary}
TERM_POINTS=${CRASH_TERM_POINTS:-luks-formatted-live activated-live formatted-live}
SHARDS=${CRASH_SHARDS:-2}
WATCHDOG=${CRASH_WATCHDOG:-420}

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
echo "${SEED//-/}" > "$EXTRA/etc/machine-id"
INITRD=$WORK/initramfs.cpio
build_crypt_initramfs "$KDIR" "$INITRD" "$REPART_FAULT_BIN" "$HERE/crash-encrypt-init.sh" "$EXTRA"
log "initramfs $(du -h "$INITRD" | cut -f1)"

# The stops, shared out round-robin to SHARDS guests running at once (each boots and
# makes its own uninterrupted run; the last one also runs the upstream report).
cases=()
for p in $POINTS; do
  cases+=("$p:KILL")
  case " $TERM_POINTS " in *" $p "*) cases+=("$p:TERM") ;; esac
done
[ "$SHARDS" -ge 1 ] || die "CRASH_SHARDS must be at least 1"
[ "$SHARDS" -le "${#cases[@]}" ] || SHARDS=${#cases[@]}
bios=()
[ -f /usr/share/qemu/qboot.rom ] && bios=(-bios /usr/share/qemu/qboot.rom)
# run_guest N CASES UPSTREAM: one boot; results in $WORK/rN, console in $WORK/bootN.log.
run_guest() {
  local n=$1 res=$WORK/results$1.tar logf=$WORK/boot$1.log qrc
  truncate -s 16M "$res"
  set +e
  timeout --foreground -k 5 "$TIMEOUT" \
    qemu-system-x86_64 -nodefaults -no-user-config \
      -machine q35,accel=tcg -cpu max -smp 1 -m "$VMTEST_MEM" "${bios[@]}" \
      -display none -no-reboot -serial "file:$logf" \
      -kernel "$KDIR/vmlinux" -initrd "$INITRD" \
      -append "console=ttyS0 panic=-1 oops=panic loglevel=4 no_timer_check rdinit=/init crashcases=$2 crashupstream=$3 crashwatchdog=$WATCHDOG" \
      -drive "file=$res,format=raw,if=none,id=disk1,cache=writeback" \
      -device virtio-blk-pci,drive=disk1 \
      -drive "file=$TOOLS,format=raw,if=none,id=disk2,readonly=on" \
      -device virtio-blk-pci,drive=disk2
  qrc=$?
  set -e
  mkdir -p "$WORK/r$n"
  tar -xf "$res" -C "$WORK/r$n" 2>/dev/null || true
  echo "$qrc" > "$WORK/qemu$n.rc"
}
t=$(now)
pids=()
for ((i = 0; i < SHARDS; i++)); do
  mine=()
  for ((j = i; j < ${#cases[@]}; j += SHARDS)); do mine+=("${cases[j]}"); done
  list=$(IFS=,; echo "${mine[*]}")
  log "guest $i: $list"
  run_guest "$i" "$list" "$([ $i = $((SHARDS - 1)) ] && echo 1 || echo 0)" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
passed=0 ncases=0 failed=0
for ((i = 0; i < SHARDS; i++)); do
  grep -a '^VMTEST' "$WORK/boot$i.log" | sed "s/^/guest $i: /" >&2 || true
  if grep -aq '^VMTEST-RESULT: PASS' "$WORK/boot$i.log"; then
    read -r p c < "$WORK/r$i/counts"
    passed=$((passed + p)) ncases=$((ncases + c))
  else
    tail -60 "$WORK/boot$i.log" >&2
    echo "vm-crash-encrypt: guest $i failed (qemu $(cat "$WORK/qemu$i.rc"), log $WORK/boot$i.log)" >&2
    failed=$((failed + 1))
  fi
done
[ "$failed" = 0 ] || die "$failed guest(s) failed"
[ "$ncases" = "${#cases[@]}" ] || die "$ncases stops run, ${#cases[@]} expected"
echo "vm-crash-encrypt: $passed of $ncases stops passed in $SHARDS guests ($(echo "$POINTS" | wc -w) points; SIGTERM also at: $TERM_POINTS)"
cat "$WORK"/r*/log | grep '^upstream:' | sed 's/^/vm-crash-encrypt: /' || true
echo "vm-crash-encrypt: guests $(since "$t")s, total $(since "$T0")s"
echo "vm-crash-encrypt: PASS"
