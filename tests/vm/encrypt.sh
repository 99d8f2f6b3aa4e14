#!/usr/bin/env bash
# tests/vm/encrypt.sh -- first boot with Encrypt=key-file through dm-crypt, in
# QEMU with Debian's kernel, ours against upstream systemd-repart 257.
#
#   1. The example appliance image (examples/appliance) built by our repart in
#      image mode (512-byte sectors), grown by 10 GiB; a copy for upstream.
#   2. An initramfs with busybox, the loop, dm_mod and dm_crypt modules (and the
#      ciphers), our repart with the host's libcryptsetup (dlopened), the
#      first-boot definitions home (ext4, Weight=2000, CopyFiles= of a tree the
#      guest makes with populate-tree.py: files, a sparse file, a hard link,
#      symlinks, a 0700 directory owned 1234:5678, a setuid file, trusted.*
#      xattrs, fixed times; MakeDirectories=), var (ext4, Weight=1000, empty)
#      and one fixed-size populated partition per $VMTEST_POPULATE_FS (default
#      "xfs vfat"; btrfs too), all Encrypt=key-file, and a key file. The oracle's tool
#      tree (Debian 13: systemd-repart 257, cryptsetup, mke2fs, dumpe2fs) is a
#      third, read-only disk; its bin/ comes first on PATH for both tools.
#   3. Boot 1 (ours, then upstream on the copy): `repart --dry-run=no
#      --key-file=/etc/vm.key /dev/vda` without --offline= (live mode: loop
#      device over the new partition, LUKS2 on it, mkfs on the dm-crypt
#      mapping). The guest opens both partitions with upstream's cryptsetup and
#      the key file, keeps luksDump and dumpe2fs -h, mounts them, writes markers.
#   4. Host: same exit status, stdout, repart messages and `sfdisk -d` as
#      upstream; 2:1 split; luksDump shape (aes-xts-plain64, 512-bit key, the
#      disk's 512-byte sectors, data offset 16 MiB, label, the same seed-derived UUID, one
#      argon2id keyslot) equal to upstream's with only random values masked;
#      the same file-system geometry, block count = (partition - 16 MiB) / 4096;
#      and the bytes written to the new partitions (non-zero 1 MiB blocks of the
#      raw file: dm-crypt makes written zeros non-zero), ours vs upstream, both
#      far below the partition size (no pass over the data area).
#      Populated partitions: upstream mounts the empty file system and copies
#      the files in, and so do we; the guest's manifest of each (type, mode,
#      owner, size, content hash, mtime, hard links, xattrs, holes) must equal
#      upstream's, times the run stamps aside.
#   5. Boot 2 (ours): "No changes.", the markers read back after cryptsetup open.
#
# VMTEST_MEASURE=1 (not in CI): upstream also runs on a second copy of the disk and
# the host reports how upstream's two results differ (file times, dumpe2fs -h,
# superblocks, the ext4 metadata images from e2image -Q byte by byte: slow), and
# the comparisons with ours report instead of failing.
#
# Needs root (packages, mknod in the initramfs) and the oracle's ldso tree
# (tools/oracle/setup-reference-repart.sh). Exit 0 and "vm-encrypt: PASS".
# Environment: REPART_BIN, VMTEST_TIMEOUT (per boot, default 400), VMTEST_KEEP=1,
# VMTEST_MEM (default 2048: argon2id takes up to 1 GiB), VMTEST_GROW (10G).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh
source "$HERE/lib.sh"

T0=$(now)
TIMEOUT=${VMTEST_TIMEOUT:-400}
GROW=${VMTEST_GROW:-10G}
export VMTEST_MEM=${VMTEST_MEM:-2048}
MACHINE_ID=${SEED//-/}
LDSO=/var/cache/repart-oracle/trixie-ldso
ORACLE_TOOLS=$LDSO/bin
SS=512
# File systems besides ext4 that get a populated partition (each costs a LUKS2 keyslot,
# an mkfs and a copy in both boots).
# (all three: ~4.5 min more than none; btrfs is left out by default for CI time)
POPULATE_FS=${VMTEST_POPULATE_FS-xfs vfat}
# VMTEST_MEASURE=1: upstream runs twice (on two copies of the disk) and the comparisons
# report instead of failing; the ext4 metadata comes back as qcow2 (e2image -Q).
MEASURE=${VMTEST_MEASURE:-0}

[ "$(id -u)" = 0 ] || die "needs root"
if [ ! -f "$LDSO/.repart-oracle-complete" ]; then
  REPART_ORACLE_MODE=ldso "$REPO/tools/oracle/setup-reference-repart.sh" >&2 || die "cannot install the oracle's ldso tree"
fi
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/repart-vmencrypt.XXXXXX")
cleanup() {
  local rc=$?
  if [ $rc = 0 ] && [ "${VMTEST_KEEP:-0}" != 1 ]; then rm -rf "$WORK"; else echo "work directory kept: $WORK" >&2; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- prerequisites
ensure_packages
command -v openssl >/dev/null || DEBIAN_FRONTEND=noninteractive apt_get install -y --no-install-recommends openssl >/dev/null
if [ -z "${REPART_BIN:-}" ]; then
  (cd "$REPO" && cargo build --release -q) || die "cargo build --release"
  REPART_BIN=$REPO/target/release/repart
fi
KDIR=$(fetch_kernel)
KVER=$(basename "$(ls -d "$KDIR"/lib/modules/*/ | head -1)")
# Our repart dlopens the host's libcryptsetup (build_crypt_initramfs copies it in).
# (awk reads everything: an early exit would SIGPIPE ldconfig under pipefail)
ldconfig -p | awk '/libcryptsetup.so.12 .*x86-64/ {found = 1} END {exit !found}' \
  || DEBIAN_FRONTEND=noninteractive apt_get install -y --no-install-recommends libcryptsetup12 >/dev/null

# The oracle's tool tree as a read-only ext4 disk (lib.sh; cached).
TOOLS=$(tool_disk)
log "prerequisites ready in $(since "$T0")s (kernel $KVER)"

# ---------------------------------------------------------------- initramfs
# lib.sh's live-mode Encrypt= initramfs; this test's definitions, key and machine ID
# go over its root.
EXTRA=$WORK/initramfs-extra
mkdir -p "$EXTRA/etc/repart.d"
printf 'vm key: correct horse battery staple' > "$EXTRA/etc/vm.key"; chmod 0600 "$EXTRA/etc/vm.key"
printf '[Partition]\nType=home\nFormat=ext4\nLabel=home\nWeight=2000\nEncrypt=key-file\n' > "$EXTRA/etc/repart.d/30-home.conf"
printf '[Partition]\nType=var\nFormat=ext4\nLabel=var\nWeight=1000\nEncrypt=key-file\n' > "$EXTRA/etc/repart.d/40-var.conf"
# home is populated (CopyFiles= of a tree the guest makes, MakeDirectories=), var not; one
# more populated partition for each of $POPULATE_FS (fixed sizes, labelled by type).
printf 'CopyFiles=/tmp/tree:/\nMakeDirectories=/made/one /made/two\n' >> "$EXTRA/etc/repart.d/30-home.conf"
printf 'home ext4 yes\nvar ext4 no\n' > "$EXTRA/etc/vmtest-parts"
declare -A FS_SIZE=([xfs]=400M [btrfs]=256M [vfat]=96M)
# Own partition types: linux-generic would match the appliance's nix-store partition.
declare -A FS_TYPE=([xfs]=6b1f0b43-6a4e-4a8b-9f57-2d2b3f0e7a01 [btrfs]=6b1f0b43-6a4e-4a8b-9f57-2d2b3f0e7a02
                    [vfat]=6b1f0b43-6a4e-4a8b-9f57-2d2b3f0e7a03)
i=50
for fs in $POPULATE_FS; do
  [ -n "${FS_SIZE[$fs]:-}" ] || die "VMTEST_POPULATE_FS: no size for $fs"
  tree=/tmp/tree; [ "$fs" = vfat ] && tree=/tmp/fat
  printf '[Partition]\nType=%s\nFormat=%s\nLabel=%s\nEncrypt=key-file\nSizeMinBytes=%s\nSizeMaxBytes=%s\nCopyFiles=%s:/\nMakeDirectories=/made/one\n' \
    "${FS_TYPE[$fs]}" "$fs" "$fs" "${FS_SIZE[$fs]}" "${FS_SIZE[$fs]}" "$tree" > "$EXTRA/etc/repart.d/$i-$fs.conf"
  echo "$fs $fs yes" >> "$EXTRA/etc/vmtest-parts"
  i=$((i + 10))
done
mkdir -p "$EXTRA/usr/lib/vmtest"
install -m755 "$HERE/populate-tree.py" "$EXTRA/usr/lib/vmtest/populate-tree.py"
[ "$MEASURE" = 1 ] && touch "$EXTRA/etc/vmtest-measure"
echo "$MACHINE_ID" > "$EXTRA/etc/machine-id"
INITRD=$WORK/initramfs.cpio
VMTEST_EXTRA_MODULES="nls_cp437 nls_utf8 nls_ascii $POPULATE_FS" \
  build_crypt_initramfs "$KDIR" "$INITRD" "$REPART_BIN" "$HERE/encrypt-init.sh" "$EXTRA"
log "initramfs $(du -h "$INITRD" | cut -f1)"

# ---------------------------------------------------------------- the image
t=$(now)
CONTENT=$WORK/content
"$REPO/examples/appliance/make-content.sh" "$CONTENT"
(cd "$WORK" && PATH=$ORACLE_TOOLS:$PATH "$REPART_BIN" --definitions="$REPO/examples/appliance/repart.d" \
    --copy-source="$CONTENT" --offline=yes --empty=create --size=auto --seed="$SEED" --dry-run=no \
    --sector-size=$SS disk-ours.raw) > "$WORK/build.stdout" 2> "$WORK/build.stderr" \
  || { cat "$WORK/build.stderr" >&2; die "image build failed"; }
truncate -s +"$GROW" "$WORK/disk-ours.raw"
cp --sparse=always "$WORK/disk-ours.raw" "$WORK/disk-upstream.raw"
[ "$MEASURE" = 1 ] && cp --sparse=always "$WORK/disk-ours.raw" "$WORK/disk-upstream2.raw"
log "appliance image built and grown by $GROW in $(since "$t")s"

# ---------------------------------------------------------------- boots
boot() {  # boot TOOL BOOT_NO [DISK_NAME] -> results in $WORK/r-DISK_NAME-BOOT_NO
  local tool=$1 n=$2 name=${3:-$1}
  local disk=$WORK/disk-$name.raw res=$WORK/results-$name-$n.tar logf=$WORK/boot-$name-$n.log bios=() t qrc
  [ -f /usr/share/qemu/qboot.rom ] && bios=(-bios /usr/share/qemu/qboot.rom)
  rm -f "$res"; truncate -s "$( [ "$MEASURE" = 1 ] && echo 256M || echo 16M )" "$res"
  t=$(now)
  set +e
  timeout --foreground -k 5 "$TIMEOUT" \
    qemu-system-x86_64 -nodefaults -no-user-config \
      -machine q35,accel=tcg -cpu max -smp 1 -m "$VMTEST_MEM" "${bios[@]}" \
      -display none -no-reboot -serial "file:$logf" \
      -kernel "$KDIR/vmlinux" -initrd "$INITRD" \
      -append "console=ttyS0 panic=-1 oops=panic loglevel=4 rdinit=/init vmtest.tool=$tool vmtest.boot=$n" \
      -drive "file=$disk,format=raw,if=none,id=disk0,cache=writeback,discard=unmap" \
      -device "virtio-blk-pci,drive=disk0,logical_block_size=$SS,physical_block_size=$SS" \
      -drive "file=$res,format=raw,if=none,id=disk1,cache=writeback" \
      -device virtio-blk-pci,drive=disk1 \
      -drive "file=$TOOLS,format=raw,if=none,id=disk2,readonly=on" \
      -device virtio-blk-pci,drive=disk2
  qrc=$?
  set -e
  rm -rf "$WORK/r-$name-$n"; mkdir -p "$WORK/r-$name-$n"
  tar -xf "$res" -C "$WORK/r-$name-$n" 2>/dev/null || true
  grep '^VMTEST' "$logf" | sed "s/^/  [$name boot $n] /" >&2 || true
  grep -q '^VMTEST-RESULT: PASS' "$logf" || { tail -40 "$logf" >&2; die "$name boot $n failed (qemu $qrc, log $logf)"; }
  log "$name boot $n passed in $(since "$t")s (repart $(cat "$WORK/r-$name-$n/repart.seconds")s in the guest)"
}

# Bytes written into a partition of a raw file: non-zero 1 MiB blocks (holes skipped).
nonzero_mib() {  # DISK START_SECTOR SIZE_SECTORS
  python3 - "$1" "$(( $2 * SS ))" "$(( $3 * SS ))" <<'EOF'
import os, sys
path, start, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
end, mib, zero, count = start + size, 1 << 20, bytes(1 << 20), 0
fd = os.open(path, os.O_RDONLY)
pos = start
while pos < end:
    try:
        data = os.lseek(fd, pos, os.SEEK_DATA)
    except OSError:
        break
    if data >= end:
        break
    hole = min(os.lseek(fd, data, os.SEEK_HOLE), end)
    block = start + (data - start) // mib * mib
    while block < hole:
        buf = os.pread(fd, min(mib, end - block), block)
        count += buf != zero[:len(buf)]
        block += mib
    pos = block
print(count)
EOF
}

# repart's own messages (not mkfs output), the mapping and node names masked.
repart_msgs() {
  grep -E '^(Applying changes to |Successfully |Encrypting future|Populating [a-z0-9]+ filesystem|Preparing to populate|Ready to populate|Block device is busy|Storage does not support|Formatting future|Syncing future|Adding new partition|Growing existing|Writing new partition table|Telling kernel|All done|No changes|[^ ]+ successfully formatted as )' "$1" \
    | sed -E 's|/dev/mapper/luks-repart-[0-9a-f]+|/dev/mapper/luks-repart-X|'
}
# The luksDump lines that are not random (salts, digests, benchmarked PBKDF costs).
luks_shape() {
  grep -vE '^\s*(Salt|Digest|Time cost|Memory|Iterations|Threads):' "$1" | grep -vE '^\s+[0-9a-f]{2}( [0-9a-f]{2})+\s*$'
}
fs_geometry() {
  grep -E '^(Filesystem volume name|Filesystem UUID|Filesystem features|Block count|Block size|Inode count|Reserved block count|Inodes per group|Blocks per group|Inode size|Reserved GDT blocks|Flex block group size|Journal size|First block|Fragment size|Group descriptor size|Journal backup|Default mount options|Filesystem flags):' "$1"
}

# The files of a populated partition (populate-tree.py manifest) without the times the
# run itself stamps: lost+found is made by mkfs, the MakeDirectories= directories during
# the run, and the root gets /made then (upstream's root time is the run's, ours the
# tree's: KNOWN-DIFFERENCES fs-root).
content_kept() {
  sed -E '/^\/(made[^ ]*|lost\+found)? /s/ mtime=[0-9]+/ mtime=(run)/' "$1"
}
MDIFF=()
# A difference from upstream: fatal, or with VMTEST_MEASURE=1 collected and reported.
differs() {
  if [ "$MEASURE" = 1 ]; then MDIFF+=("$*"); log "MEASURE: $*"; else die "$*"; fi
}

boot ours 1
boot upstream 1
[ "$MEASURE" = 1 ] && boot upstream 1 upstream2

# ---------------------------------------------------------------- host checks
O=$WORK/r-ours-1 U=$WORK/r-upstream-1
[ "$(cat "$O/repart.rc")" = "$(cat "$U/repart.rc")" ] || die "exit status differs from upstream"
diff -u "$U/repart.stdout" "$O/repart.stdout" >&2 || die "stdout differs from upstream 257 on the same disk"
repart_msgs "$U/repart.stderr" > "$WORK/msgs.upstream"; repart_msgs "$O/repart.stderr" > "$WORK/msgs.ours"
diff -u "$WORK/msgs.upstream" "$WORK/msgs.ours" >&2 || differs "repart's messages differ from upstream 257's"
diff -u "$U/repart.stderr" "$O/repart.stderr" > "$WORK/stderr.diff" || true
for n in home $POPULATE_FS; do
  diff -u <(content_kept "$U/content.$n") <(content_kept "$O/content.$n") >&2 \
    || differs "$n: the files differ from upstream's (type, mode, owner, size, content, mtime, hard links, xattrs, holes)"
done
for n in $POPULATE_FS; do
  diff -u "$U/super.$n" "$O/super.$n" > "$WORK/super.$n.diff" || log "$n: superblock fields differ (see $WORK/super.$n.diff)"
done
grep -q '^Encrypting future partition ' "$WORK/msgs.ours" || die "no 'Encrypting future partition' message"
grep -q '^/dev/mapper/luks-repart-X successfully formatted as ext4' "$WORK/msgs.ours" || die "mkfs did not run on a dm-crypt mapping"
sfd "$WORK/disk-ours.raw" $SS | sed 's/disk-ours/DISK/' > "$WORK/table.ours"
sfd "$WORK/disk-upstream.raw" $SS | sed 's/disk-upstream/DISK/' > "$WORK/table.upstream"
diff -u "$WORK/table.upstream" "$WORK/table.ours" >&2 || die "sfdisk -d differs from upstream 257's"
declare -A START=() SIZE=()
for n in home var; do
  START[$n]=$(part_field "$WORK/table.ours" "$n" start); SIZE[$n]=$(part_field "$WORK/table.ours" "$n" size)
  [ -n "${START[$n]}" ] || die "no partition $n in the table"
done
ratio=$(awk -v h="${SIZE[home]}" -v v="${SIZE[var]}" 'BEGIN{printf "%.3f", h / v}')
awk -v r="$ratio" 'BEGIN{exit !(r > 1.99 && r < 2.01)}' || die "home/var size ratio $ratio, expected 2"
REPORT=()
for n in home var; do
  d=$O/luksdump.$n
  grep -qE '^Version:\s+2$' "$d" || die "$n: not LUKS2"
  grep -qE '^Label:\s+'"$n"'$' "$d" || die "$n: LUKS label is not '$n'"
  grep -qE 'offset: 16777216 \[bytes\]' "$d" || die "$n: data offset is not 16 MiB"
  grep -qE 'cipher: aes-xts-plain64' "$d" || die "$n: cipher is not aes-xts-plain64"
  # Upstream encrypts with the file-system sector size, on a block device its own.
  grep -qE "sector: $SS \[bytes\]" "$d" || die "$n: encryption sector size is not $SS (the disk's)"
  grep -qE 'PBKDF:\s+argon2id' "$d" || die "$n: keyslot PBKDF is not argon2id"
  grep -qE 'Key:\s+512 bits' "$d" || die "$n: volume key is not 512 bits"
  [ "$(grep -cE '^\s+[0-9]+: luks2' "$d")" = 1 ] || die "$n: not exactly one keyslot"
  [ "$(awk '/^UUID:/{print $2}' "$d")" = "$(awk '/^UUID:/{print $2}' "$U/luksdump.$n")" ] || die "$n: LUKS UUID differs from upstream's"
  diff -u <(luks_shape "$U/luksdump.$n") <(luks_shape "$d") >&2 || die "$n: luksDump shape differs from upstream's"
  diff -u <(fs_geometry "$U/dumpe2fs.$n") <(fs_geometry "$O/dumpe2fs.$n") >&2 || die "$n: file-system geometry differs from upstream's"
  blocks=$(awk -F': *' '/^Block count:/{print $2}' "$O/dumpe2fs.$n")
  psize=$(cat "$O/size.$n")
  [ "$psize" = $(( SIZE[$n] * SS )) ] || die "$n: the guest saw $psize bytes, the table says $(( SIZE[$n] * SS ))"
  [ "$blocks" = $(( (psize - 16777216) / 4096 )) ] || die "$n: $blocks blocks, expected (partition - 16 MiB) / 4096 = $(( (psize - 16777216) / 4096 ))"
  ours_mib=$(nonzero_mib "$WORK/disk-ours.raw" "${START[$n]}" "${SIZE[$n]}")
  up_mib=$(nonzero_mib "$WORK/disk-upstream.raw" "${START[$n]}" "${SIZE[$n]}")
  part_mib=$(( psize >> 20 ))
  # No pass over the data area: far less than the partition was written (upstream's
  # header + mke2fs metadata and journal), and within 10% of what upstream wrote.
  [ $(( ours_mib * 20 )) -lt "$part_mib" ] || die "$n: $ours_mib of $part_mib MiB written: a full encryption pass?"
  awk -v o="$ours_mib" -v u="$up_mib" 'BEGIN{exit !(o <= u * 1.1 + 2 && u <= o * 1.1 + 2)}' \
    || die "$n: $ours_mib MiB written, upstream $up_mib MiB"
  REPORT+=("$n: partition $part_mib MiB, ext4 $blocks blocks; written (non-zero 1 MiB blocks) ours $ours_mib MiB, upstream $up_mib MiB")
  log "${REPORT[-1]}"
done
log "boot 1: same stdout, messages, table, luksDump shape and ext4 geometry as upstream 257"

if [ "$MEASURE" = 1 ]; then
  # Upstream against itself: the same disk, the same definitions and tree, two boots.
  U2=$WORK/r-upstream2-1
  for n in home $POPULATE_FS; do
    cmp -s "$U/content.$n" "$U2/content.$n" && log "upstream twice, $n: the same files" \
      || { diff -u "$U/content.$n" "$U2/content.$n" >&2 || true; log "upstream twice, $n: the files differ"; }
    cmp -s "$U/times.$n" "$U2/times.$n" && log "upstream twice, $n: the same ctimes/atimes" \
      || log "upstream twice, $n: $(diff "$U/times.$n" "$U2/times.$n" | grep -c '^<') of $(wc -l < "$U/times.$n") entries with other ctimes/atimes"
  done
  for n in $POPULATE_FS; do
    diff "$U/super.$n" "$U2/super.$n" >&2 && log "upstream twice, $n: superblock fields equal" \
      || log "upstream twice, $n: superblock fields differ (above)"
  done
  for n in home var; do
    diff "$U/dumpe2fs.$n" "$U2/dumpe2fs.$n" > "$WORK/upstream-twice.dumpe2fs.$n.diff" \
      && log "upstream twice, $n: dumpe2fs -h equal" \
      || { log "upstream twice, $n: dumpe2fs -h differs:"; cat "$WORK/upstream-twice.dumpe2fs.$n.diff" >&2 || true; }
    diff "$O/dumpe2fs.$n" "$U/dumpe2fs.$n" > "$WORK/ours-upstream.dumpe2fs.$n.diff" || true
    for r in "$U" "$U2" "$O"; do
      [ -f "$r/e2image.$n.qcow2" ] && e2image -r "$r/e2image.$n.qcow2" "$r/e2image.$n.raw"
    done
    if [ -f "$U/e2image.$n.raw" ] && [ -f "$U2/e2image.$n.raw" ]; then
      log "upstream twice, $n: metadata images (e2image) differ in $(cmp -l "$U/e2image.$n.raw" "$U2/e2image.$n.raw" | wc -l) bytes, in $(cmp -l "$U/e2image.$n.raw" "$U2/e2image.$n.raw" | awk '{print int(($1-1)/4096)}' | uniq | wc -l) 4 KiB blocks"
      log "ours vs upstream, $n: metadata images (e2image) differ in $(cmp -l "$O/e2image.$n.raw" "$U/e2image.$n.raw" | wc -l) bytes"
    fi
  done
  for m in "${MDIFF[@]}"; do echo "vm-encrypt: MEASURE: $m"; done
fi

boot ours 2
[ "$(cat "$WORK/r-ours-2/repart.stderr")" = "No changes." ] || die "boot 2: stderr is not 'No changes.'"
sfd "$WORK/disk-ours.raw" $SS | sed 's/disk-ours/DISK/' > "$WORK/table.ours2"
cmp -s "$WORK/table.ours" "$WORK/table.ours2" || die "boot 2 changed the partition table"

for r in "${REPORT[@]}"; do echo "vm-encrypt: $r"; done
echo "vm-encrypt: repart in the guest: ours $(cat "$O/repart.seconds")s, upstream $(cat "$U/repart.seconds")s; rerun $(cat "$WORK/r-ours-2/repart.seconds")s"
echo "vm-encrypt: total $(since "$T0")s"
echo "vm-encrypt: PASS"
