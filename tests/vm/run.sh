#!/usr/bin/env bash
# tests/vm/run.sh -- first boot, proven in a real kernel.
#
# For each logical sector size (512, then 4096):
#   1. build the appliance image with our repart in image mode (ESP vfat +
#      squashfs store; examples/appliance/repart.d if it exists, otherwise
#      generated definitions), then grow it by 10 GiB (truncate -s +10G);
#   2. boot 1: Debian's stock kernel in QEMU (TCG) with a busybox initramfs that
#      has repart, mke2fs and the first-boot definitions (home ext4 Weight=2000,
#      var ext4 Weight=1000) in /etc/repart.d, and NO loop driver. The guest
#      mounts the squashfs store partition first (the disk is busy, as in a real
#      initrd), runs `TMPDIR=/tmp repart --dry-run=no /dev/vda`, checks the
#      kernel learnt the new partitions (BLKPG), mounts home and var, writes
#      markers and powers off. repart's stdout/stderr/exit status come back
#      through a second disk (tar on /dev/vdb);
#   3. host checks: GPT (sfdisk -d / -V, backup header at the new end, names,
#      GUID:59, 2:1 split), e2fsck -fn and labels of home/var read by offset,
#      the markers; and, if the upstream oracle is installed, that upstream 257
#      run on a copy of the same grown image gives the same stdout and table;
#   4. boot 2: repart must print "No changes." and exit 0, the markers must be
#      there, and `sfdisk -d` must be identical to after boot 1.
#
# Exit 0 and "vm-test: PASS" on success; non-zero with "FAIL: ..." otherwise.
# Needs root only to install packages (apt-get, idempotent). Cache:
# /var/cache/repart-vmtest (kernel .deb and unpacked kernel).
#
# Environment:
#   REPART_BIN=path        use this binary instead of `cargo build --release`
#   VMTEST_SECTOR_SIZES    default "512 4096"
#   VMTEST_CACHE           default /var/cache/repart-vmtest
#   VMTEST_TIMEOUT         per boot, seconds (default 240)
#   VMTEST_KEEP=1          keep the work directory even on success
#   KPKG=linux-image-6.1.0-NN-amd64   pin the kernel package
#   REPART_REQUIRE_ORACLE=1           fail if the oracle comparison cannot run
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh
source "$HERE/lib.sh"

T0=$(now)
SECTOR_SIZES=${VMTEST_SECTOR_SIZES:-512 4096}
TIMEOUT=${VMTEST_TIMEOUT:-240}
GROW=${VMTEST_GROW:-10G}
MACHINE_ID=${SEED//-/}     # the guest's machine-id: same UUIDs as --seed=$SEED
ORACLE=$REPO/tools/oracle/reference-repart
ORACLE_TOOLS=/var/cache/repart-oracle/trixie-ldso/bin

WORK=$(mktemp -d "${TMPDIR:-/tmp}/repart-vmtest.XXXXXX")
cleanup() {
  local rc=$?
  if [ $rc = 0 ] && [ "${VMTEST_KEEP:-0}" != 1 ]; then rm -rf "$WORK"
  else echo "work directory kept: $WORK" >&2; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- prerequisites
t=$(now)
ensure_packages
if [ -z "${REPART_BIN:-}" ]; then
  (cd "$REPO" && cargo build --release -q) || die "cargo build --release"
  REPART_BIN=$REPO/target/release/repart
fi
[ -x "$REPART_BIN" ] || die "no repart binary at $REPART_BIN"
KDIR=$(fetch_kernel)
KERNEL=$KDIR/vmlinux
log "prerequisites ready in $(since "$t")s (kernel $(basename "$KDIR"), repart $REPART_BIN)"

have_oracle=0
if [ -x "$ORACLE" ] && "$ORACLE" --version >/dev/null 2>&1; then have_oracle=1
elif [ "${REPART_REQUIRE_ORACLE:-0}" = 1 ]; then die "oracle required but $ORACLE does not run"
else log "oracle not installed: skipping the comparison with upstream"; fi

# ------------------------------------------------------------------ definitions
# Factory (build-time) definitions and their contents: the example appliance
# (examples/appliance: repart.d + make-content.sh, used with --copy-source) if
# the checkout has it, otherwise a generated equivalent.
CONTENT=$WORK/content
COPY_SOURCE=()
if [ -d "$REPO/examples/appliance/repart.d" ] && [ -x "$REPO/examples/appliance/make-content.sh" ]; then
  command -v openssl >/dev/null || { [ "$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt_get install -y --no-install-recommends openssl >/dev/null; }
  "$REPO/examples/appliance/make-content.sh" "$CONTENT"
  FACTORY_DEFS_SRC=$REPO/examples/appliance/repart.d
  COPY_SOURCE=(--copy-source="$CONTENT")
else
  mkdir -p "$CONTENT/esp" "$CONTENT/store/0000-pkg-a/bin" "$CONTENT/store/0001-pkg-b/share"
  printf 'not really an EFI binary\n' > "$CONTENT/esp/BOOTX64.EFI"
  seq 1 50000 > "$CONTENT/store/0000-pkg-a/bin/prog"
  seq 50000 90000 | sed 's/^/line /' > "$CONTENT/store/0001-pkg-b/share/data"
  ln -s ../../0000-pkg-a/bin/prog "$CONTENT/store/0001-pkg-b/share/prog"
  find "$CONTENT" -exec touch -h -d @1 {} +
  FACTORY_DEFS_SRC=$WORK/factory-generated.d
  mkdir -p "$FACTORY_DEFS_SRC"
  printf '[Partition]\nType=esp\nFormat=vfat\nLabel=boot\nSizeMinBytes=200M\nCopyFiles=%s:/EFI/BOOT/BOOTX64.EFI\n' \
    "$CONTENT/esp/BOOTX64.EFI" > "$FACTORY_DEFS_SRC/10-esp.conf"
  printf '[Partition]\nType=linux-generic\nFormat=squashfs\nLabel=nix-store\nMinimize=guess\nReadOnly=yes\nCopyFiles=%s:/\n' \
    "$CONTENT/store" > "$FACTORY_DEFS_SRC/20-nix-store.conf"
fi
# What the guest must see at the top of the mounted store.
(cd "$CONTENT/store" && ls -1) > "$WORK/store.ls"

# First-boot definitions, as in the scenario (and examples/appliance/first-boot.d).
FB_DEFS=$WORK/firstboot.d
mkdir -p "$FB_DEFS"
printf '[Partition]\nType=home\nFormat=ext4\nLabel=home\nWeight=2000\n' > "$FB_DEFS/30-home.conf"
printf '[Partition]\nType=var\nFormat=ext4\nLabel=var\nWeight=1000\n' > "$FB_DEFS/40-var.conf"

# Debian 12's mtools 4.0.32 cannot write into a FAT with 4096-byte sectors
# ("Internal error, size too big"); Debian 13's (4.0.48) can. Like
# tools/build-example.sh, use the mkfs tools the oracle installer unpacks.
IMAGE_TOOLS_PATH=$PATH
if [ ! -x "$ORACLE_TOOLS/mcopy" ] && [ "$(id -u)" = 0 ] && [ -x "$REPO/tools/oracle/setup-reference-repart.sh" ]; then
  REPART_ORACLE_MODE=ldso "$REPO/tools/oracle/setup-reference-repart.sh" >&2 || log "could not unpack Debian 13's mkfs tools"
fi
[ -x "$ORACLE_TOOLS/mcopy" ] && IMAGE_TOOLS_PATH=$ORACLE_TOOLS:$PATH

t=$(now)
INITRD=$WORK/initramfs.cpio
build_initramfs "$KDIR" "$INITRD" "$REPART_BIN" "$FB_DEFS" "$MACHINE_ID"
log "initramfs: $(du -h "$INITRD" | cut -f1) in $(since "$t")s"

# --------------------------------------------------------------------- helpers
extract_results() {  # $1 results disk, $2 directory
  rm -rf "$2"; mkdir -p "$2"
  tar -xf "$1" -C "$2" 2>/dev/null || true
}

# repart's own log lines (not the mkfs tools'), with node and temp file names masked.
repart_msgs() {
  grep -E '^(Applying changes to |Successfully |Block device is busy|Storage does not support|Partition [0-9]+ too short|Formatting future|Syncing future|Adding new partition|Growing existing|Initializing UUID|Setting partition label|Writing new partition table|Telling kernel|Not telling kernel|All done|No changes|[^ ]+ successfully formatted as )' "$1" \
    | sed -E 's|^Applying changes to .*\.$|Applying changes to NODE.|; s|^[^ ]+ successfully formatted as|NODE successfully formatted as|'
}

SUMMARY=()

scenario() {
  local ss=$1 img
  local W=$WORK/ss$ss
  mkdir -p "$W"
  img=$W/disk.raw
  log "=== sector size $ss ==="

  cp -r "$FACTORY_DEFS_SRC" "$W/factory.d"
  if [ "$ss" = 4096 ] && [ ! -x "$ORACLE_TOOLS/mcopy" ]; then
    sed -i '/^CopyFiles=/d' "$W/factory.d/10-esp.conf"
    log "note: no mtools >= 4.0.4x for a 4K-sector FAT: the ESP is left empty in this run"
  fi

  # ---- 1. image mode build, then grow ----
  t=$(now)
  (cd "$W" && PATH=$IMAGE_TOOLS_PATH "$REPART_BIN" --definitions="$W/factory.d" "${COPY_SOURCE[@]}" --offline=yes --empty=create \
      --size=auto --seed="$SEED" --dry-run=no --sector-size="$ss" disk.raw) \
      > "$W/build.stdout" 2> "$W/build.stderr" \
    || { cat "$W/build.stderr" >&2; die "[$ss] image build failed"; }
  sfd "$img" "$ss" > "$W/table.factory"
  local factory_bytes; factory_bytes=$(stat -c %s "$img")
  truncate -s +$GROW "$img"
  log "[$ss] image built in $(since "$t")s: $factory_bytes bytes, grown to $(stat -c %s "$img")"

  # Reference: upstream 257 on a copy of the grown image (file mode, no loop devices).
  if [ $have_oracle = 1 ]; then
    mkdir -p "$W/oracle"
    cp --sparse=always "$img" "$W/oracle/disk.raw"
    set +e
    (cd "$W/oracle" && "$ORACLE" --definitions="$FB_DEFS" --dry-run=no --offline=yes --seed="$SEED" disk.raw) \
      > "$W/oracle/stdout" 2> "$W/oracle/stderr"
    echo $? > "$W/oracle/rc"
    set -e
    sfd "$W/oracle/disk.raw" "$ss" > "$W/oracle/table"
    rm -f "$W/oracle/disk.raw"
  fi

  # ---- 2. boot 1 ----
  truncate -s 16M "$W/results1.tar"
  t=$(now)
  run_vm "$KERNEL" "$INITRD" "$img" "$W/results1.tar" "$W/boot1.log" "$ss" "vmtest.boot=1" "$TIMEOUT" \
    || { grep '^VMTEST' "$W/boot1.log" >&2 || tail -30 "$W/boot1.log" >&2; die "[$ss] boot 1 failed (log: $W/boot1.log)"; }
  local boot1_wall; boot1_wall=$(since "$t")
  extract_results "$W/results1.tar" "$W/r1"
  grep '^VMTEST' "$W/boot1.log" | sed "s/^/  [$ss boot1] /" >&2
  [ "$(cat "$W/r1/repart.rc")" = 0 ] || die "[$ss] repart exit status $(cat "$W/r1/repart.rc")"
  local fb_secs; fb_secs=$(cat "$W/r1/repart.seconds")
  cmp -s "$WORK/store.ls" "$W/r1/store.ls" || die "[$ss] the guest's mounted store does not list the store contents"

  # ---- 3. host checks after boot 1 ----
  sfd "$img" "$ss" > "$W/table1"
  sfdisk_ss "$ss" -V "$img" > "$W/verify1" 2>&1 || { cat "$W/verify1" >&2; die "[$ss] sfdisk -V reports problems"; }
  local total_sectors last_lba expect_last
  total_sectors=$(( $(stat -c %s "$img") / ss ))
  last_lba=$(awk '/^last-lba:/{print $2}' "$W/table1")
  expect_last=$(( total_sectors - 2 - 16384 / ss ))
  [ "$last_lba" = "$expect_last" ] || die "[$ss] last-lba $last_lba, expected $expect_last (backup GPT not at the new end)"
  [ "$(dd if="$img" bs="$ss" skip=$((total_sectors - 1)) count=1 2>/dev/null | head -c 8)" = "EFI PART" ] \
    || die "[$ss] no backup GPT header in the last sector"
  local name start size attrs
  declare -A START=() SIZE=()
  for name in home var; do
    start=$(part_field "$W/table1" "$name" start); size=$(part_field "$W/table1" "$name" size)
    attrs=$(part_field "$W/table1" "$name" attrs)
    [ -n "$start" ] || { cat "$W/table1" >&2; die "[$ss] no GPT partition named $name"; }
    [ "$attrs" = "GUID:59" ] || die "[$ss] $name: attrs '$attrs', expected GUID:59 (grow-fs)"
    START[$name]=$start SIZE[$name]=$size
    local dev="$img?offset=$((start * ss))"
    e2fsck -fn "$dev" > "$W/e2fsck1.$name" 2>&1 || { cat "$W/e2fsck1.$name" >&2; die "[$ss] e2fsck -fn $name"; }
    local label; label=$(dumpe2fs -h "$dev" 2>/dev/null | awk -F': *' '/^Filesystem volume name/{print $2}')
    [ "$label" = "$name" ] || die "[$ss] $name: file system label '$label'"
    [ "$(debugfs -R 'cat /vmtest-marker' "$dev" 2>/dev/null)" = "$name written on first boot" ] \
      || die "[$ss] $name: marker not found on the host"
  done
  # home:var = 2000:1000 of the free space (within one grain), home first, var up to last-lba.
  local ratio; ratio=$(awk -v h="${SIZE[home]}" -v v="${SIZE[var]}" 'BEGIN{printf "%.3f", h / v}')
  awk -v r="$ratio" 'BEGIN{exit !(r > 1.99 && r < 2.01)}' || die "[$ss] home/var size ratio $ratio, expected 2"
  local grain=$(( 4096 / ss )) var_end=$(( START[var] + SIZE[var] - 1 ))
  [ $(( last_lba - var_end )) -lt $(( 1048576 / ss )) ] || die "[$ss] var ends at $var_end, last-lba $last_lba: free space left"
  [ $(( START[home] % grain )) = 0 ] || die "[$ss] home not 4K-aligned"
  log "[$ss] host checks after boot 1 passed: home ${SIZE[home]} sectors at ${START[home]}, var ${SIZE[var]} at ${START[var]}, last-lba $last_lba"

  if [ $have_oracle = 1 ]; then
    [ "$(cat "$W/oracle/rc")" = 0 ] || { cat "$W/oracle/stderr" >&2; die "[$ss] oracle failed on the grown image"; }
    diff -u "$W/oracle/stdout" "$W/r1/repart.stdout" >&2 || die "[$ss] stdout in the VM differs from upstream 257 on the same image"
    diff -u "$W/oracle/table" "$W/table1" >&2 || die "[$ss] partition table differs from upstream 257 on the same image"
    # stderr: repart's own messages must be upstream's, in the same order (mkfs
    # output, node names and temp file names are left out). On a block device
    # upstream adds "Telling kernel to reread partition table." (spec 7.7 #14).
    grep -qx 'Telling kernel to reread partition table.' "$W/r1/repart.stderr" \
      || die "[$ss] no 'Telling kernel to reread partition table.' on the block device"
    repart_msgs "$W/oracle/stderr" > "$W/oracle/stderr.msgs"
    repart_msgs "$W/r1/repart.stderr" | grep -vx 'Telling kernel to reread partition table.' > "$W/r1/stderr.msgs"
    diff -u "$W/oracle/stderr.msgs" "$W/r1/stderr.msgs" >&2 || die "[$ss] repart's messages in the VM differ from upstream 257's"
    log "[$ss] same stdout, messages and partition table as upstream 257 on a copy of the grown image"
  fi

  # ---- 4. boot 2 ----
  truncate -s 16M "$W/results2.tar"
  t=$(now)
  run_vm "$KERNEL" "$INITRD" "$img" "$W/results2.tar" "$W/boot2.log" "$ss" "vmtest.boot=2" "$TIMEOUT" \
    || { grep '^VMTEST' "$W/boot2.log" >&2 || tail -30 "$W/boot2.log" >&2; die "[$ss] boot 2 failed (log: $W/boot2.log)"; }
  local boot2_wall; boot2_wall=$(since "$t")
  extract_results "$W/results2.tar" "$W/r2"
  grep '^VMTEST' "$W/boot2.log" | sed "s/^/  [$ss boot2] /" >&2
  [ "$(cat "$W/r2/repart.rc")" = 0 ] || die "[$ss] boot 2: repart exit status $(cat "$W/r2/repart.rc")"
  [ "$(cat "$W/r2/repart.stderr")" = "No changes." ] || { cat "$W/r2/repart.stderr" >&2; die "[$ss] boot 2: stderr is not exactly 'No changes.'"; }
  sfd "$img" "$ss" > "$W/table2"
  cmp -s "$W/table1" "$W/table2" || { diff -u "$W/table1" "$W/table2" >&2; die "[$ss] boot 2 changed the partition table"; }
  for name in home var; do
    e2fsck -fn "$img?offset=$((START[$name] * ss))" > "$W/e2fsck2.$name" 2>&1 \
      || { cat "$W/e2fsck2.$name" >&2; die "[$ss] e2fsck -fn $name after boot 2"; }
  done
  log "[$ss] boot 2: No changes., table identical, markers present, e2fsck clean"
  SUMMARY+=("sector-size=$ss: first-boot repart ${fb_secs}s in the guest (boot 1 ${boot1_wall}s wall, boot 2 ${boot2_wall}s wall; rerun $(cat "$W/r2/repart.seconds")s)")
  rm -f "$img"
}

for ss in $SECTOR_SIZES; do scenario "$ss"; done

for s in "${SUMMARY[@]}"; do echo "vm-test: $s"; done
echo "vm-test: total $(since "$T0")s"
echo "vm-test: PASS"
