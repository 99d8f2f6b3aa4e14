#!/bin/bash
# fs-compare.sh: build file systems with repart's src/shell/fs layer and with the upstream 257
# oracle from the same inputs, then compare sizes, bytes and contents.
#
# What it does:
#  1. Recreates the captured source tree (shared/oracle/run-captures.sh make_inputs: src/esp,
#     src/nix with 5 x 700 KiB incompressible programs, src/rootfs), mtimes 2024-01-01.
#  2. Runs the oracle (`reference-repart`, ldso mode, trixie mkfs tools first on PATH) with
#     --offline=yes --empty=create --size=auto on a set of definitions covering the scenario
#     (vfat ESP with CopyFiles to a nested target, squashfs Minimize=guess from one directory,
#     from one CopyFiles= line per store path, and with hard links across pairs) plus ext4
#     (Minimize=guess below the 32M floor and with 24 MiB of data, fixed size with
#     MakeDirectories and a file source), erofs, xfs, btrfs and swap.
#  3. Cuts every partition out of the oracle image (offsets from --json=short).
#  4. Builds the same partitions with our code (the ignored test fs::oracle_harness, using the
#     oracle's partition UUIDs and sizes), same PATH and SOURCE_DATE_EPOCH.
#  5. Compares: sizes; bytes (cmp); vfat: `mdir -/` listing and extracted files; squashfs:
#     `unsquashfs -lln`; ext4: `debugfs` rdump + `ls -l` listings + dumpe2fs header; erofs:
#     fsck.erofs --extract; xfs/btrfs: superblock fields.
#
# Usage: tools/fs-compare.sh [WORKDIR]   (default /tmp/fs-compare; needs root, as the oracle)
set -u
HERE=$(cd "$(dirname "$0")/.." && pwd)
W=${1:-/tmp/fs-compare}
TOOLS=/var/cache/repart-oracle/trixie-ldso/bin
ORACLE=${ORACLE:-$HERE/tools/oracle/reference-repart}
SEED=e2a40bf9-73f1-4278-9160-49c031e7aedd
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH-1704067200}
export PATH=$TOOLS:$PATH
export REPART_ORACLE_MODE=ldso

rm -rf "$W"; mkdir -p "$W/src/esp" "$W/src/nix" "$W/src/rootfs/etc" "$W/defs" "$W/oracle" "$W/ours"
printf 'fake-efi-binary-%04d\n' $(seq 1 200) > "$W/src/esp/BOOTX64.EFI"
echo 'timeout 3' > "$W/src/esp/loader.conf"
echo 'hello esp' > "$W/src/esp/README.txt"
for i in 1 2 3 4 5; do
    d=$W/src/nix/0000000000000000000000000000000$i-pkg$i
    mkdir -p "$d/bin" "$d/share/doc"
    openssl enc -aes-128-ctr -nosalt -pass "pass:seed$i" -pbkdf2 -in /dev/zero 2>/dev/null | head -c $((700*1024)) > "$d/bin/prog$i"
    chmod 755 "$d/bin/prog$i"
    cp /usr/share/common-licenses/GPL-3 "$d/share/doc/COPYING"
    ln -s "bin/prog$i" "$d/prog-link"
done
echo 'root-fs-marker' > "$W/src/rootfs/etc/marker"
mkdir -p "$W/src/big"
for i in 1 2 3; do
    openssl enc -aes-128-ctr -nosalt -pass "pass:big$i" -pbkdf2 -in /dev/zero 2>/dev/null | head -c $((8*1024*1024)) > "$W/src/big/f$i"
done
# hard links shared between two CopyFiles= pairs (like an optimised Nix store)
mkdir -p "$W/src/linked/a" "$W/src/linked/b"
cp /usr/share/common-licenses/GPL-3 "$W/src/linked/a/COPYING"; ln "$W/src/linked/a/COPYING" "$W/src/linked/b/COPYING"
ln "$W/src/linked/a/COPYING" "$W/src/linked/a/COPYING.again"
find "$W/src" -exec touch -h -d '2024-01-01 00:00:00 UTC' {} +

def() { cat > "$W/defs/$1.conf"; }
def 10-esp <<EOF
[Partition]
Type=esp
Format=vfat
Label=boot
SizeMinBytes=200M
CopyFiles=$W/src/esp:/EFI/BOOT
EOF
def 20-nix-store <<EOF
[Partition]
Type=linux-generic
Format=squashfs
Label=nix-store
Minimize=guess
CopyFiles=$W/src/nix:/
EOF
def 25-nix-multi <<EOF
[Partition]
Type=linux-generic
Format=squashfs
Label=nix-multi
Minimize=guess
$(for d in "$W"/src/nix/*; do echo "CopyFiles=$d:/${d##*/}"; done)
EOF
def 26-linked <<EOF
[Partition]
Type=linux-generic
Format=squashfs
Label=linked
Minimize=guess
CopyFiles=$W/src/linked/a:/a
CopyFiles=$W/src/linked/b:/b
EOF
def 30-ext4-min <<EOF
[Partition]
Type=linux-generic
Format=ext4
Label=ext4-min
Minimize=guess
CopyFiles=$W/src/rootfs:/
EOF
def 35-ext4-big <<EOF
[Partition]
Type=linux-generic
Format=ext4
Label=ext4-big
Minimize=guess
CopyFiles=$W/src/big:/
EOF
def 40-ext4-data <<EOF
[Partition]
Type=linux-generic
Format=ext4
Label=ext4-data-long-label
SizeMinBytes=64M
SizeMaxBytes=64M
CopyFiles=$W/src/nix:/nix
CopyFiles=$W/src/esp/README.txt:/etc/readme
MakeDirectories=/var/lib/x
EOF
def 50-erofs <<EOF
[Partition]
Type=linux-generic
Format=erofs
Label=erofs
Minimize=best
CopyFiles=$W/src/nix:/
EOF
def 60-xfs <<EOF
[Partition]
Type=linux-generic
Format=xfs
Label=xfs
SizeMinBytes=300M
SizeMaxBytes=300M
CopyFiles=$W/src/rootfs:/
EOF
def 70-btrfs <<EOF
[Partition]
Type=linux-generic
Format=btrfs
Label=btrfs
SizeMinBytes=256M
SizeMaxBytes=256M
CopyFiles=$W/src/rootfs:/
EOF
def 80-swap <<EOF
[Partition]
Type=swap
Label=swap
SizeMinBytes=16M
SizeMaxBytes=16M
EOF

echo "== oracle"
(cd "$W/oracle" && "$ORACLE" --definitions="$W/defs" --empty=create --size=auto --seed=$SEED \
    --dry-run=no --offline=yes --json=short image.raw > oracle.json 2> oracle.stderr) || { cat "$W/oracle/oracle.stderr"; exit 1; }
/usr/bin/python3 - "$W" <<'EOF'
import json, sys, os
w = sys.argv[1]
parts = json.load(open(f"{w}/oracle/oracle.json"))
fmt = {"10-esp": "vfat", "20-nix-store": "squashfs", "25-nix-multi": "squashfs", "26-linked": "squashfs", "30-ext4-min": "ext4", "35-ext4-big": "ext4", "40-ext4-data": "ext4",
       "50-erofs": "erofs", "60-xfs": "xfs", "70-btrfs": "btrfs", "80-swap": "swap"}
jobs = []
with open(f"{w}/oracle/parts.txt", "w") as f:
    for p in parts:
        name = os.path.basename(p["file"]).removesuffix(".conf")
        f.write(f'{name} {p["offset"]} {p["raw_size"]}\n')
        text = open(f"{w}/defs/{name}.conf").read().splitlines()
        kv = [l.split("=", 1) for l in text if "=" in l]
        j = {"name": name, "format": fmt[name], "label": p["label"], "uuid": p["uuid"],
             "size": p["raw_size"], "minimize": any(k == "Minimize" for k, _ in kv),
             "copy_files": [v.rsplit(":", 1) for k, v in kv if k == "CopyFiles"],
             "make_directories": [v for k, v in kv if k == "MakeDirectories"]}
        jobs.append(j)
json.dump(jobs, open(f"{w}/jobs.json", "w"), indent=1)
EOF
while read -r name off size; do
    dd if="$W/oracle/image.raw" of="$W/oracle/$name.img" bs=4096 skip=$((off/4096)) count=$((size/4096)) status=none
done < "$W/oracle/parts.txt"

echo "== ours"
run_harness() {
    FS_HARNESS_JOBS=$W/jobs.json FS_HARNESS_OUT=$W/ours cargo test --offline --quiet --lib "$@" fs::oracle_harness -- --ignored --nocapture
}
if ! (cd "$HERE" && run_harness > "$W/ours/cargo.log" 2>&1); then
    # The harness needs the whole crate to build (src/shell/fs uses other shell modules).
    tail -30 "$W/ours/cargo.log"; echo "fs-compare: the crate does not build (log: $W/ours/cargo.log)" >&2; exit 1
fi

echo "== compare"
fail=0
ok() { printf '  %-14s %-28s %s\n' "$1" "$2" "$3"; }
bad() { printf '  %-14s %-28s DIFFERENT %s\n' "$1" "$2" "$3"; fail=1; }
same() { if [ "$3" = "$4" ]; then ok "$1" "$2" same; else bad "$1" "$2" "($3 vs $4)"; fi; }
samefile() { if diff -u "$3" "$4" > "$3.diff"; then ok "$1" "$2" same; else bad "$1" "$2" "(see $3.diff)"; fi; }
while read -r name off size; do
    o=$W/oracle/$name.img; u=$W/ours/$name.img
    same "$name" "size (oracle vs ours)" "$size" "$(stat -c %s "$u")"
    if cmp -s "$o" "$u"; then ok "$name" bytes identical; else ok "$name" bytes "differ (expected for ext4/vfat/xfs/btrfs: timestamps, random seeds)"; fi
    case $name in
    10-esp)
        for s in oracle ours; do
            mdir -/ -i "$W/$s/$name.img" :: | sed 's/[0-9-]* *[0-9]*:[0-9]* *$//' > "$W/$s/$name.mdir"
            mkdir -p "$W/$s/$name.x"; MTOOLS_SKIP_CHECK=1 mcopy -s -n -i "$W/$s/$name.img" ::EFI "$W/$s/$name.x/"
            dosfslabel "$W/$s/$name.img" 2>/dev/null > "$W/$s/$name.label"
        done
        samefile "$name" "mdir -/ (names, sizes)" "$W/oracle/$name.mdir" "$W/ours/$name.mdir"
        samefile "$name" "volume label" "$W/oracle/$name.label" "$W/ours/$name.label"
        if diff -r "$W/oracle/$name.x" "$W/ours/$name.x" > /dev/null; then ok "$name" "file contents" same; else bad "$name" "file contents"; fi
        mdir -/ -i "$W/ours/$name.img" :: | grep -E 'BOOT|EFI' | head -3 | sed 's/^/      ours: /'
        mdir -/ -i "$W/oracle/$name.img" :: | grep -E 'BOOT|EFI' | head -3 | sed 's/^/    oracle: /' ;;
    2[0-9]-*)
        for s in oracle ours; do unsquashfs -lln "$W/$s/$name.img" > "$W/$s/$name.ls"; done
        samefile "$name" "unsquashfs -lln" "$W/oracle/$name.ls" "$W/ours/$name.ls" ;;
    30-*|35-*|40-*)
        for s in oracle ours; do
            debugfs -R "rdump / $W/$s/$name.x" "$W/$s/$name.img" 2>/dev/null; mkdir -p "$W/$s/$name.x"
            debugfs -R "rdump / $W/$s/$name.x" "$W/$s/$name.img" > /dev/null 2>&1
            (cd "$W/$s/$name.x" && find . -printf '%M %U:%G %s %TY-%Tm-%Td %p %l\n' | sort -k6) > "$W/$s/$name.ls"
            dumpe2fs -h "$W/$s/$name.img" 2>/dev/null | grep -E 'volume name|Filesystem UUID|Block count|Inode count|features' > "$W/$s/$name.sb"
        done
        samefile "$name" "tree (rdump + find)" "$W/oracle/$name.ls" "$W/ours/$name.ls"
        if diff -r "$W/oracle/$name.x" "$W/ours/$name.x" > /dev/null; then ok "$name" "file contents" same; else bad "$name" "file contents"; fi
        samefile "$name" "superblock (label/uuid/counts)" "$W/oracle/$name.sb" "$W/ours/$name.sb" ;;
    50-erofs)
        for s in oracle ours; do
            mkdir -p "$W/$s/$name.x"; fsck.erofs --extract="$W/$s/$name.x" "$W/$s/$name.img" > /dev/null 2>&1
            (cd "$W/$s/$name.x" && find . -printf '%M %s %p %l\n' | sort -k3) > "$W/$s/$name.ls"
        done
        samefile "$name" "tree (fsck.erofs --extract)" "$W/oracle/$name.ls" "$W/ours/$name.ls" ;;
    60-xfs)
        for s in oracle ours; do xfs_db -r -c 'sb 0' -c 'p uuid fname dblocks icount' "$W/$s/$name.img" > "$W/$s/$name.sb" 2>&1; done
        samefile "$name" "superblock (uuid/label/icount)" "$W/oracle/$name.sb" "$W/ours/$name.sb" ;;
    70-btrfs)
        for s in oracle ours; do btrfs inspect-internal dump-super "$W/$s/$name.img" 2>/dev/null | grep -E '^(fsid|label|total_bytes|bytes_used|sectorsize)' > "$W/$s/$name.sb"; done
        samefile "$name" "superblock (fsid/label/used)" "$W/oracle/$name.sb" "$W/ours/$name.sb" ;;
    esac
done < "$W/oracle/parts.txt"
echo "== log lines (oracle stderr vs ours, mkfs tool output filtered)"
# The first build of a writable Minimize=guess partition uses a random UUID: mask it.
mask_random() { awk '/^Pre-populating (ext|xfs|btrfs|vfat|f2fs)/ {r=1} r && /successfully formatted/ {sub(/uuid [0-9a-f-]+/, "uuid RANDOM"); r=0} {print}'; }
grep -E '^(Pre-populating|Preparing|Ready|Minimal|.* successfully formatted)' "$W/oracle/oracle.stderr" | sed 's#/var/tmp/[^ ]*#NODE#' | mask_random > "$W/oracle/log.txt"
grep -E '^(Pre-populating|Preparing|Ready|Minimal|.* successfully formatted)' "$W/ours/cargo.log" | sed 's#/var/tmp/[^ ]*#NODE#; s#'"$W"'/ours/[^ ]*#NODE#' | mask_random > "$W/ours/log.txt"
sort -o "$W/oracle/log.txt" "$W/oracle/log.txt"; sort -o "$W/ours/log.txt" "$W/ours/log.txt"
samefile all "log lines (sorted)" "$W/oracle/log.txt" "$W/ours/log.txt"
echo "sizes/timings: $(tr '\n' ';' < "$W/ours/sizes.txt")"
exit $fail
