#!/usr/bin/env bash
# tests/vm/loop-differential.sh -- first boot on a real block device, ours vs upstream.
#
# For 512- and 4096-byte logical sectors: build the example appliance image with
# our repart (image mode), grow it by 10 GiB, make two copies and attach each to a
# loop device this script creates itself (losetup --find --show --partscan
# [--sector-size 4096]; detached again in a trap; no other device is touched).
# Then run the first-boot step (home ext4 Weight=2000, var ext4 Weight=1000,
# --dry-run=no --seed=...) with upstream systemd-repart 257 (the oracle, ldso
# mode) on one and with our repart on the other, and require identical:
#   * exit status and stdout;
#   * repart's own stderr messages (loop device and temp file names masked);
#   * `sfdisk -d` of the two backing files;
#   * the partitions the kernel knows afterwards (start/size in sysfs);
#   * `dumpe2fs -h` of home and var, read by offset (time stamps masked);
# and then a second run of both: "No changes.", exit 0, same stdout.
# Both tools run with Debian 13's mkfs tools (the oracle's tree first on PATH).
#
# Needs root (loop devices). Exit 0 and "loop-differential: PASS" on success.
# Environment: REPART_BIN (default: cargo build --release), VMTEST_SECTOR_SIZES.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh
source "$HERE/lib.sh"

T0=$(now)
[ "$(id -u)" = 0 ] || die "needs root (loop devices)"
ORACLE=$REPO/tools/oracle/reference-repart
ORACLE_TOOLS=/var/cache/repart-oracle/trixie-ldso/bin
export REPART_ORACLE_MODE=ldso

command -v losetup >/dev/null || die "losetup missing"
if [ ! -x "$ORACLE_TOOLS/sfdisk" ]; then
  "$REPO/tools/oracle/setup-reference-repart.sh" >&2 || die "cannot install the oracle (ldso mode)"
fi
"$ORACLE" --version >/dev/null 2>&1 || die "the oracle ($ORACLE, ldso mode) does not run"
command -v openssl >/dev/null || DEBIAN_FRONTEND=noninteractive apt_get install -y --no-install-recommends openssl >/dev/null
if [ -z "${REPART_BIN:-}" ]; then
  (cd "$REPO" && cargo build --release -q) || die "cargo build --release"
  REPART_BIN=$REPO/target/release/repart
fi
TOOLS_PATH=$ORACLE_TOOLS:$PATH
SFDISK=$ORACLE_TOOLS/sfdisk

WORK=$(mktemp -d "${TMPDIR:-/tmp}/repart-loopdiff.XXXXXX")
LOOPS=()
MOUNTS=()
cleanup() {
  local rc=$? d
  for d in "${MOUNTS[@]}"; do umount "$d" 2>/dev/null; done
  for d in "${LOOPS[@]}"; do
    losetup -d "$d" 2>/dev/null || echo "warning: could not detach $d" >&2
  done
  if [ $rc = 0 ] && [ "${VMTEST_KEEP:-0}" != 1 ]; then rm -rf "$WORK"; else echo "work directory kept: $WORK" >&2; fi
}
trap cleanup EXIT
attach() {  # attach FILE SECTOR_SIZE -> prints the loop device
  local dev
  dev=$(losetup --find --show --partscan --sector-size "$2" "$1") || die "losetup $1"
  LOOPS+=("$dev")
  echo "$dev"
}
detach() {
  local d=$1 i
  losetup -d "$d" || die "losetup -d $d"
  for i in "${!LOOPS[@]}"; do [ "${LOOPS[$i]}" = "$d" ] && unset 'LOOPS[i]'; done
}

# Inputs: the example appliance, or a generated stand-in.
CONTENT=$WORK/content
FACTORY=$WORK/factory.d
COPY_SOURCE=()
if [ -d "$REPO/examples/appliance/repart.d" ] && [ -x "$REPO/examples/appliance/make-content.sh" ]; then
  "$REPO/examples/appliance/make-content.sh" "$CONTENT"
  cp -r "$REPO/examples/appliance/repart.d" "$FACTORY"
  COPY_SOURCE=(--copy-source="$CONTENT")
else
  mkdir -p "$CONTENT/esp" "$CONTENT/store/pkg" "$FACTORY"
  echo efi > "$CONTENT/esp/BOOTX64.EFI"; seq 1 50000 > "$CONTENT/store/pkg/data"
  printf '[Partition]\nType=esp\nFormat=vfat\nLabel=boot\nSizeMinBytes=200M\nCopyFiles=%s:/EFI/BOOT/BOOTX64.EFI\n' "$CONTENT/esp/BOOTX64.EFI" > "$FACTORY/10-esp.conf"
  printf '[Partition]\nType=linux-generic\nFormat=squashfs\nLabel=nix-store\nMinimize=guess\nCopyFiles=%s:/\n' "$CONTENT/store" > "$FACTORY/20-nix-store.conf"
fi
FB=$WORK/firstboot.d
mkdir -p "$FB"
printf '[Partition]\nType=home\nFormat=ext4\nLabel=home\nWeight=2000\n' > "$FB/30-home.conf"
printf '[Partition]\nType=var\nFormat=ext4\nLabel=var\nWeight=1000\n' > "$FB/40-var.conf"

repart_msgs() {  # repart's own stderr lines, node/temp names masked
  grep -E '^(Applying changes to |Successfully |Block device is busy|Storage does not support|Partition [0-9]+ too short|Formatting future|Syncing future|Adding new partition|Growing existing|Initializing UUID|Setting partition label|Writing new partition table|Telling kernel|Not telling kernel|All done|No changes|[^ ]+ successfully formatted as )' "$1" \
    | sed -E 's|^Applying changes to .*\.$|Applying changes to NODE.|; s|^[^ ]+ successfully formatted as|NODE successfully formatted as|'
}
kernel_parts() {  # the kernel's partitions of a loop device: "N start size" (512-byte units)
  local name p; name=$(basename "$1")
  for p in /sys/block/"$name"/"$name"p*; do
    [ -e "$p" ] || continue
    echo "${p##*p} $(cat "$p/start") $(cat "$p/size")"
  done | sort -n
}
dumpe2fs_norm() {
  dumpe2fs -h "$1" 2>/dev/null | grep -vE '^(Filesystem created|Last mount time|Last write time|Last checked|Lifetime writes|Directory Hash Seed|Checksum|Mount count):'
}

scenario() {
  local ss=$1 side dev t
  local W=$WORK/ss$ss
  mkdir -p "$W/oracle" "$W/ours"
  log "=== sector size $ss ==="
  (cd "$W" && PATH=$TOOLS_PATH "$REPART_BIN" --definitions="$FACTORY" "${COPY_SOURCE[@]}" --offline=yes \
      --empty=create --size=auto --seed="$SEED" --dry-run=no --sector-size="$ss" image.raw) \
      > "$W/build.out" 2>&1 || { cat "$W/build.out" >&2; die "[$ss] image build failed"; }
  truncate -s +10G "$W/image.raw"
  for side in oracle ours; do cp --sparse=always "$W/image.raw" "$W/$side/disk.raw"; done
  rm -f "$W/image.raw"

  for side in oracle ours; do
    dev=$(attach "$W/$side/disk.raw" "$ss")
    echo "$dev" > "$W/$side/dev"
    # As in an initrd, a partition of the disk is in use while repart runs: the
    # kernel does not scan GPTs on loop devices here, so announce the store
    # (partition 2) with BLKPG and mount it read-only.
    partx -a --nr 2 "$dev" || die "partx -a --nr 2 $dev"
    mkdir -p "$W/$side/store"
    mount -t squashfs -o ro "${dev}p2" "$W/$side/store" || die "mount ${dev}p2"
    MOUNTS+=("$W/$side/store")
    set +e
    t=$(now)
    if [ $side = oracle ]; then
      "$ORACLE" --definitions="$FB" --dry-run=no --seed="$SEED" "$dev" > "$W/$side/stdout" 2> "$W/$side/stderr"
    else
      PATH=$TOOLS_PATH "$REPART_BIN" --definitions="$FB" --dry-run=no --seed="$SEED" "$dev" > "$W/$side/stdout" 2> "$W/$side/stderr"
    fi
    echo $? > "$W/$side/rc"
    since "$t" > "$W/$side/seconds"
    set -e
    kernel_parts "$dev" > "$W/$side/kernel-parts"
    # second run: nothing to do
    set +e
    if [ $side = oracle ]; then
      "$ORACLE" --definitions="$FB" --dry-run=no --seed="$SEED" "$dev" > "$W/$side/stdout2" 2> "$W/$side/stderr2"
    else
      PATH=$TOOLS_PATH "$REPART_BIN" --definitions="$FB" --dry-run=no --seed="$SEED" "$dev" > "$W/$side/stdout2" 2> "$W/$side/stderr2"
    fi
    echo $? > "$W/$side/rc2"
    set -e
    umount "$W/$side/store" || die "umount ${dev}p2"
    MOUNTS=()
    detach "$dev"
    (cd "$W/$side" && "$SFDISK" --sector-size "$ss" -d disk.raw) > "$W/$side/sfdisk-d" 2>/dev/null
  done
  log "[$ss] oracle on $(cat "$W/oracle/dev"): exit $(cat "$W/oracle/rc") in $(cat "$W/oracle/seconds")s; ours on $(cat "$W/ours/dev"): exit $(cat "$W/ours/rc") in $(cat "$W/ours/seconds")s"

  local fails=0
  check() {  # check WHAT FILE
    if diff -u "$W/oracle/$2" "$W/ours/$2" > "$W/diff.$2" 2>&1; then log "[$ss] same $1"
    else echo "FAIL: [$ss] $1 differs (oracle vs ours):" >&2; cat "$W/diff.$2" >&2; fails=$((fails + 1)); fi
  }
  [ "$(cat "$W/oracle/rc")" = 0 ] || { cat "$W/oracle/stderr" >&2; die "[$ss] the oracle failed"; }
  check "exit status" rc
  check "stdout" stdout
  for side in oracle ours; do repart_msgs "$W/$side/stderr" > "$W/$side/msgs"; done
  check "stderr messages" msgs
  check "sfdisk -d" sfdisk-d
  check "kernel partitions after BLKPG" kernel-parts
  local name start
  for name in home var; do
    for side in oracle ours; do
      start=$(awk -v n="name=\"$name\"" 'index($0, n){sub(/.*start= */, ""); sub(/,.*/, ""); print; exit}' "$W/$side/sfdisk-d")
      [ -n "$start" ] || die "[$ss] $side: no partition named $name"
      dumpe2fs_norm "$W/$side/disk.raw?offset=$((start * ss))" > "$W/$side/dumpe2fs.$name"
      e2fsck -fn "$W/$side/disk.raw?offset=$((start * ss))" > "$W/$side/e2fsck.$name" 2>&1 \
        || { cat "$W/$side/e2fsck.$name" >&2; die "[$ss] $side: e2fsck -fn $name"; }
    done
    check "dumpe2fs -h of $name" "dumpe2fs.$name"
  done
  check "exit status of the second run" rc2
  check "stdout of the second run" stdout2
  for side in oracle ours; do
    [ "$(cat "$W/$side/stderr2")" = "No changes." ] || { cat "$W/$side/stderr2" >&2; die "[$ss] $side: second run did not print just 'No changes.'"; }
  done
  [ $fails = 0 ] || die "[$ss] $fails differences"
  [ "${VMTEST_KEEP:-0}" = 1 ] || rm -f "$W"/*/disk.raw
}

for ss in ${VMTEST_SECTOR_SIZES:-512 4096}; do scenario "$ss"; done
echo "loop-differential: total $(since "$T0")s"
echo "loop-differential: PASS"
