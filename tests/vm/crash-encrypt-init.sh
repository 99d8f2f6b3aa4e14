#!/bin/sh
# /init (PID 1, busybox sh) of the initramfs built by tests/vm/crash-encrypt.sh.
#
# The crash matrix of a first boot with Encrypt=key-file in live mode (loop device,
# LUKS2, mkfs through dm-crypt), the stops given on the kernel command line (the host
# shares the matrix out to guests running at once): per case an image file in RAM
# (tmpfs) with an 8 MiB data partition, grown, attached with `losetup -P`; our
# fault-injection build of repart stopped at one point (REPART_FAULT_AT, SIGKILL or
# with REPART_FAULT_SIGNAL=TERM SIGTERM), then run again. Checked per case: the
# table after the stop is the old or the new one with a valid primary GPT (the
# kernel's copy), the data partition is intact, a
# SIGTERM leaves no dm-crypt mapping and no loop device, the rerun completes with the
# table of an uninterrupted run and leaves nothing of its own, and the encrypted
# partition opens with upstream's cryptsetup and the key file and holds the files.
# What a SIGKILL leaves (a mapping and its loop device: nothing can take them down
# but the next boot) is counted and then removed, as a reboot would.
# Then (report only, crashupstream=1) upstream's systemd-repart killed at the same stage.
#
# Disks: vda = results (tar of /results), vdb = the oracle's tool tree (ext4),
# mounted at its host path (its bin/ first on PATH: Debian 13's cryptsetup,
# losetup, sfdisk, mke2fs, dmsetup, blkid).
LDSO=/var/cache/repart-oracle/trixie-ldso
export PATH=$LDSO/bin:/usr/sbin:/usr/bin:/sbin:/bin
# busybox sh runs its own applets before PATH: util-linux and cryptsetup by path.
T=$LDSO/bin
mount -t devtmpfs -o mode=0755 devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /results /mnt/part "$LDSO" /tmp/tmp

say() { echo "VMTEST: $*"; echo "$*" >> /results/log; }
up() { cut -d' ' -f1 /proc/uptime; }
finish() {
  cd /
  sync
  [ -b /dev/vda ] && { (cd /results && tar -cf - .) > /dev/vda; sync; }
  if [ "$1" = 0 ]; then echo "VMTEST-RESULT: PASS"; else echo "VMTEST-RESULT: FAIL rc=$1"; fi
  poweroff -f
  sleep 5; echo o > /proc/sysrq-trigger
}
fail() { say "FAIL: $*"; finish 1; }
step() { echo "VMTEST-STEP: $* ($(up)s)"; }
# watchdog SECONDS WHAT: in the background, after SECONDS dumps what every process is
# blocked in (kernel stacks, the last repart output) and fails the boot, so that a
# hang shows where it is instead of running into the host's timeout.
watchdog() {
  ( sleep "$1"
    echo "VMTEST: watchdog: $2 still running after $1 s"
    for d in /proc/[0-9]*; do
      cmd=$(tr '\0' ' ' < "$d/cmdline" 2>/dev/null)
      case $cmd in ''|'/bin/sh /init '|sleep*) continue ;; esac  # kernel threads, this script
      echo "--- pid ${d#/proc/} $cmd: state $(cut -d' ' -f3 "$d/stat"), waits in $(cat "$d/wchan" 2>/dev/null)"
      cat "$d/stack" 2>/dev/null
    done
    echo "--- /proc/locks:"; cat /proc/locks
    echo "--- /tmp/out:"; tail -30 /tmp/out
    echo "--- loop devices:"; "$T/losetup" -a
    ls -l /dev/mapper
    fail "$2: hung (watchdog)" ) &
  WATCHDOG=$!
}
unwatch() { kill "$WATCHDOG" 2>/dev/null; wait "$WATCHDOG" 2>/dev/null; }

for m in $(cat /etc/modules-to-load); do modprobe "$m" 2>/dev/null || say "modprobe $m failed"; done
i=0
while { [ ! -b /dev/vda ] || [ ! -b /dev/vdb ]; } && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
[ -b /dev/vdb ] || fail "/dev/vdb (tool tree) did not appear"
mount -t ext4 -o ro /dev/vdb "$LDSO" || fail "mount the tool tree"
[ -e /dev/loop-control ] || fail "no /dev/loop-control (loop module)"
[ -e /dev/mapper/control ] || { mkdir -p /dev/mapper; mknod /dev/mapper/control c 10 236; }
say "kernel $(uname -r), uptime $(up)s"

SEED=$(cat /etc/crash-seed)
KEY=/etc/vm.key
# This guest's share of the stops (the host runs the matrix in several guests at once):
# crashcases=POINT:SIG,... and crashupstream=1 on the kernel command line.
arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^$1=//p"; }
MINE=$(arg crashcases | tr ',' ' ')
UPSTREAM=$(arg crashupstream)
WATCHDOG_S=$(arg crashwatchdog); WATCHDOG_S=${WATCHDOG_S:-300}
head -c 8388608 /dev/urandom > /tmp/data.bin
DATA=$(sha256sum < /tmp/data.bin | cut -d' ' -f1)
WANT_FILES=$(cd /etc/crash-files && find . -type f | sort | xargs sha256sum)

# new_image FILE: the disk as the image build left it, grown for the first boot.
new_image() {
  rm -f "$1"
  TMPDIR=/tmp/tmp /usr/bin/repart --definitions=/etc/first.d --empty=create --size=auto \
    --seed="$SEED" --dry-run=no "$1" > /dev/null 2>&1 || fail "creating the base image"
  dd if=/tmp/data.bin of="$1" bs=1M seek=1 conv=notrunc 2>/dev/null
  truncate -s $(( $(stat -c %s "$1") + 112 * 1048576 )) "$1"
}
table() { "$T/sfdisk" -d "$1" | sed "s|$1|DEV|"; }
data_of() { dd if="${1}p1" bs=1M count=8 2>/dev/null | sha256sum | cut -d' ' -f1; }
# leftovers DEV: dm-crypt mappings of repart and loop devices other than DEV.
leftovers() {
  { "$T/dmsetup" ls 2>/dev/null | awk '/^luks-repart-/ {print "dm " $1}'
    "$T/losetup" -a | cut -d: -f1 | grep -vx "$1" | sed 's/^/loop /'; } | sort
}
# teardown DEV: what a reboot would take down (the realistic recovery after a crash:
# a SIGKILLed run can leave a mapping and its loop device that nothing else removes).
teardown() {
  for n in $("$T/dmsetup" ls 2>/dev/null | awk '/^luks-repart-/ {print $1}'); do "$T/dmsetup" remove --force "$n"; done
  for l in $("$T/losetup" -a | cut -d: -f1 | grep -vx "$1"); do "$T/losetup" -d "$l"; done
}
# check_home DEV WHAT: the encrypted partition opens with the key file and holds the files.
check_home() {
  "$T/blockdev" --rereadpt "$1" 2>/dev/null || "$T/partx" -u "$1" 2>/dev/null
  part=''
  for p in "$1"p*; do
    [ "$("$T/blkid" -p -s PART_ENTRY_NAME -o value "$p" 2>/dev/null)" = home ] && part=$p
  done
  [ -n "$part" ] || fail "$2: no partition named home"
  [ "$("$T/blkid" -p -s TYPE -o value "$part")" = crypto_LUKS ] || fail "$2: home is not crypto_LUKS"
  "$T/cryptsetup" open --key-file="$KEY" "$part" crash-check || fail "$2: cryptsetup open with the key file"
  mount -t ext4 -o ro /dev/mapper/crash-check /mnt/part || { "$T/cryptsetup" close crash-check; fail "$2: mount"; }
  got=$(cd /mnt/part && find . -type f ! -path './lost+found/*' | sort | xargs sha256sum)
  umount /mnt/part; "$T/cryptsetup" close crash-check
  [ "$got" = "$WANT_FILES" ] || fail "$2: the files in home differ"
}
run_ours() {  # DEV [POINT SIGNAL]
  dev=$1
  if [ -n "${2:-}" ]; then
    if [ "$3" = TERM ]; then
      env REPART_FAULT_AT="$2" REPART_FAULT_SIGNAL=TERM TMPDIR=/tmp/tmp /usr/bin/repart --dry-run=no \
        --key-file="$KEY" --definitions=/etc/repart.d --seed="$SEED" "$dev" > /tmp/out 2>&1
    else
      env REPART_FAULT_AT="$2" TMPDIR=/tmp/tmp /usr/bin/repart --dry-run=no \
        --key-file="$KEY" --definitions=/etc/repart.d --seed="$SEED" "$dev" > /tmp/out 2>&1
    fi
  else
    TMPDIR=/tmp/tmp /usr/bin/repart --dry-run=no --key-file="$KEY" --definitions=/etc/repart.d \
      --seed="$SEED" "$dev" > /tmp/out 2>&1
  fi
}

# The uninterrupted run.
t0=$(up)
new_image /tmp/case.raw
dev=$("$T/losetup" -P -f --show /tmp/case.raw) || fail "losetup -P"
OLD=$(table "$dev")
run_ours "$dev" || { cat /tmp/out; fail "uninterrupted run failed"; }
NEW=$(table "$dev")
[ "$OLD" != "$NEW" ] || fail "the uninterrupted run changed nothing"
[ "$(data_of "$dev")" = "$DATA" ] || fail "uninterrupted run: data changed"
[ -z "$(leftovers "$dev")" ] || fail "uninterrupted run left: $(leftovers "$dev")"
check_home "$dev" "uninterrupted run"
# home's CopyFiles= goes in by mounting the new ext4 through dm-crypt (as upstream's
# context_mkfs): the run says so, and no mount of ours is left behind.
grep -qx 'Populating ext4 filesystem.' /tmp/out || { cat /tmp/out; fail "uninterrupted run: home not filled by mount and copy"; }
grep -q 'repart-mount' /proc/mounts && fail "uninterrupted run left a mount: $(grep repart-mount /proc/mounts)"
table "$dev" > /results/table.new
"$T/losetup" -d "$dev"
say "uninterrupted run passed in $(awk -v a="$t0" -v b="$(up)" 'BEGIN{printf "%.1f", b - a}')s"

PASSED=0 CASES=0
for case_ in $MINE; do
  point=${case_%:*} sig=${case_#*:}
  t0=$(up)
  what="$sig at $point"
  CASES=$((CASES + 1))
  watchdog "$WATCHDOG_S" "$what"
  step "$what: image"
  new_image /tmp/case.raw
  dev=$("$T/losetup" -P -f --show /tmp/case.raw) || fail "$what: losetup -P"
  step "$what: stopped run"
  run_ours "$dev" "$point" "$sig"
  rc=$?
  step "$what: stopped run exit $rc"
  want=137; [ "$sig" = TERM ] && want=143
  [ "$rc" = "$want" ] || { cat /tmp/out; fail "$what: exit status $rc, expected $want (fault-injection build?)"; }
  after=$(table "$dev")
  if [ "$after" = "$OLD" ]; then state=old; elif [ "$after" = "$NEW" ]; then state=new; else
    echo "$after"; fail "$what: neither the old nor the new table"; fi
  [ "$(data_of "$dev")" = "$DATA" ] || fail "$what: data partition changed"
  # The kernel reads the primary GPT only (the backup only with `gpt` on its command
  # line); sfdisk, like repart, falls back to the backup with this warning.
  "$T/sfdisk" -d "$dev" 2>&1 >/dev/null | grep -q 'primary GPT table is corrupt' \
    && fail "$what: the primary GPT (the kernel's copy) is corrupt"
  left=$(leftovers "$dev")
  [ "$sig" = TERM ] && [ -n "$left" ] && fail "$what: left $left"
  nleft=$(printf '%s' "$left" | grep -c . || true)
  step "$what: rerun ($nleft left)"
  run_ours "$dev" || { cat /tmp/out; fail "$what: rerun failed"; }
  step "$what: rerun done"
  [ "$(table "$dev")" = "$NEW" ] || { table "$dev"; fail "$what: rerun gave another table"; }
  [ "$(data_of "$dev")" = "$DATA" ] || fail "$what: data changed by the rerun"
  [ "$(leftovers "$dev")" = "$left" ] || fail "$what: the rerun left $(leftovers "$dev")"
  grep -q 'repart-mount' /proc/mounts && fail "$what: a mount left: $(grep repart-mount /proc/mounts)"
  [ -z "$(ls -A /tmp/tmp)" ] || [ "$sig" = KILL ] || fail "$what: temporary files left: $(ls -A /tmp/tmp)"
  step "$what: check home"
  check_home "$dev" "$what"
  step "$what: teardown"
  teardown "$dev"
  "$T/losetup" -d "$dev"
  rm -rf /tmp/case.raw /tmp/tmp/* /tmp/tmp/.[!.]*
  [ -z "$(leftovers none)" ] || fail "$what: cannot tear down $(leftovers none)"
  unwatch
  PASSED=$((PASSED + 1))
  say "$what: table after the stop $state, $nleft device(s) left by the stopped run; rerun completed, home opens with the key file ($(awk -v a="$t0" -v b="$(up)" 'BEGIN{printf "%.1f", b - a}')s)"
done
say "ours: $PASSED of $CASES stops passed"
echo "$PASSED $CASES" > /results/counts

# Report only: upstream's systemd-repart SIGKILLed once its mapping is up (it has no
# fault points), then run again.
if [ "$UPSTREAM" = 1 ] && [ -x "$LDSO/bin/systemd-repart" ]; then
  new_image /tmp/case.raw
  dev=$("$T/losetup" -P -f --show /tmp/case.raw)
  TMPDIR=/tmp/tmp "$LDSO/bin/systemd-repart" --dry-run=no --key-file="$KEY" --definitions=/etc/repart.d \
    --seed="$SEED" "$dev" > /tmp/up.out 2>&1 &
  pid=$!
  i=0
  while [ $i -lt 600 ] && ! "$T/dmsetup" ls 2>/dev/null | grep -q '^luks-repart-'; do sleep 0.05; i=$((i+1)); done
  kill -9 $pid 2>/dev/null; wait $pid; urc=$?
  after=$(table "$dev")
  if [ "$after" = "$OLD" ]; then state=old; elif [ "$after" = "$NEW" ]; then state=new; else state=other; fi
  left=$(leftovers "$dev" | tr '\n' ' ')
  TMPDIR=/tmp/tmp "$LDSO/bin/systemd-repart" --dry-run=no --key-file="$KEY" --definitions=/etc/repart.d \
    --seed="$SEED" "$dev" > /tmp/up2.out 2>&1
  rrc=$?
  rtable=same; [ "$(table "$dev")" = "$NEW" ] || rtable=different
  say "upstream: SIGKILL once its mapping was up (exit $urc): table $state, left: ${left:-nothing}, temp files: $(ls -A /tmp/tmp | wc -l); rerun exit $rrc, table $rtable as ours"
  cp /tmp/up.out /results/upstream-killed.out; cp /tmp/up2.out /results/upstream-rerun.out
  teardown "$dev"; "$T/losetup" -d "$dev"
fi
[ "$PASSED" = "$CASES" ] || fail "$PASSED of $CASES passed"
finish 0
