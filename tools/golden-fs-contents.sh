#!/usr/bin/env bash
# golden-fs-contents.sh DIR -- print the file systems inside the images in DIR
# (img.raw and the --split files img.*.raw, ...), read back WITHOUT mounting,
# as a normalised text listing. Used by fs golden cases (testdata/golden/fs-*,
# see testdata/golden/README.md) for `expected/contents`, by both runners
# (tools/golden-lib.sh and tests/golden.rs), with the mkfs tool dir first on PATH.
#
# Per image: the list of image files (name, size) in DIR; per partition (from
# `sfdisk -d`; a split file is one partition at offset 0): blkid TYPE/LABEL/UUID,
# then by type:
#   vfat     `mdir -/ -a` listing (volume label, serial, names, sizes, dates),
#            sha256 of every file (mcopy -s)
#   squashfs `unsquashfs -lln` listing (modes, owners, sizes, dates, symlinks),
#            sha256 of every file (unsquashfs -d)
#   ext4     debugfs stats (label, UUID, block/inode counts, features), tree from
#            `debugfs rdump` (mode, owner, size, mtime, symlink target) + sha256
#   erofs    dump.erofs -s (label, UUID), tree from `fsck.erofs --extract` + sha256
#   btrfs    dump-super (label, fsid, total_bytes, bytes_used, sectorsize),
#            tree from `btrfs restore` (names, sizes, symlink targets) + sha256
#   xfs      xfs_db superblock (uuid, label, dblocks, icount), `xfs_db ls` of /
#   crypto_LUKS  `cryptsetup luksDump` with salts, digests and the benchmarked
#            PBKDF costs masked; whether DIR/key (an empty passphrase without
#            it) opens a keyslot (one unlock: `luksDump --dump-volume-key`); then the
#            data segment decrypted in userspace with the volume key
#            (tools/luks-decrypt.py, no device mapper) and described like a
#            partition of its own.
#   With $SOURCE_DATE_EPOCH set, squashfs and erofs partitions also get the
#   sha256 of their bytes (reproducible upstream then).
# Normalisation: dates/times of "now" (today or yesterday, UTC, in the formats
# the tools print) and of the day of $SOURCE_DATE_EPOCH (if set) are replaced
# by {now} -- upstream stamps directories it creates implicitly with the
# current time, we use SOURCE_DATE_EPOCH there (deliberate difference).
set -uo pipefail
export TZ=UTC LC_ALL=C MTOOLS_SKIP_CHECK=1
D=${1:?usage: golden-fs-contents.sh DIR}
HERE=$(cd -- "$(dirname -- "$0")" && pwd)
cd -- "$D" || exit 1
W=$(mktemp -d "${TMPDIR:-/tmp}/golden-fs-contents.XXXXXX")
trap 'rm -rf --one-file-system -- "$W"' EXIT
SFDISK=$(command -v sfdisk || echo /usr/sbin/sfdisk)

# Dates to mask: today, yesterday, and the SOURCE_DATE_EPOCH day.
days=("$(date -u +%s)" "$(( $(date -u +%s) - 86400 ))")
[ -n "${SOURCE_DATE_EPOCH:-}" ] && days+=("$SOURCE_DATE_EPOCH")
sedargs=()
for s in "${days[@]}"; do
    d1=$(date -u -d "@$s" +%Y-%m-%d)      # all the tools print YYYY-MM-DD [ ]HH:MM
    sedargs+=(-e "s/$d1[ T]*[0-9]\{1,2\}:[0-9][0-9]\(:[0-9][0-9]\)\{0,1\}/{now}/g")
done
mask() { sed "${sedargs[@]}"; }

# tree DIR: a sorted listing of an extracted tree + sha256 of the regular files
tree() {
    (cd "$1" && find . -mindepth 1 -printf '%y %M %U:%G %s %TY-%Tm-%Td %TH:%TM %p -> %l\n' \
        | sed 's/ -> $//; s/^d \([^ ]* [^ ]*\) [0-9]* /d \1 - /' | sort -k7) | mask
    (cd "$1" && find . -type f -print0 | sort -z | xargs -0r sha256sum)
}
tree_nomode() {   # names, sizes, symlink targets only (btrfs restore does not keep metadata)
    (cd "$1" && find . -mindepth 1 -printf '%y %s %p -> %l\n' | sed 's/^\(d\) [0-9]* /\1 - /; s/ -> $//' | sort -k3)
    (cd "$1" && find . -type f -print0 | sort -z | xargs -0r sha256sum)
}

# part IMG OFF SIZE: describe one partition
part() {
    local img=$1 off=$2 size=$3 type cut x
    type=$(blkid -p -O "$off" -S "$size" -s TYPE -o value "$img" 2>/dev/null)
    echo "  blkid: $(blkid -p -O "$off" -S "$size" -o export "$img" 2>/dev/null | grep -E '^(TYPE|LABEL|UUID|VERSION)=' | tr '\n' ' ')"
    x=$W/x.$RANDOM$RANDOM; mkdir -p "$x"
    # A Verity=signature partition: its JSON text (NUL-padded), and all of its bytes.
    if [ -z "$type" ] && [ "$(dd if="$img" bs=1 iflag=skip_bytes skip="$off" count=11 status=none | tr -d '\0')" = '{"rootHash"' ]; then
        echo "  verity signature: $(dd if="$img" bs=1M iflag=skip_bytes,count_bytes skip="$off" count="$size" status=none | tr -d '\0')"
        echo "  partition sha256: $(dd if="$img" bs=1M iflag=skip_bytes,count_bytes skip="$off" count="$size" status=none | sha256sum | cut -d' ' -f1)"
    fi
    case $type in
    vfat)
        mdir -/ -a -i "$img@@$off" :: 2>&1 | mask | sed 's/^/  /'
        mcopy -s -n -m -i "$img@@$off" '::*' "$x/" > /dev/null 2>&1
        (cd "$x" && find . -type f -print0 | sort -z | xargs -0r sha256sum) | sed 's/^/  /' ;;
    squashfs)
        unsquashfs -lln -o "$off" "$img" 2>&1 | grep -v '^Parallel unsquashfs' | mask | sed 's/^/  /'
        unsquashfs -n -d "$x/r" -o "$off" "$img" > /dev/null 2>&1
        (cd "$x/r" && find . -type f -print0 | sort -z | xargs -0r sha256sum) | sed 's/^/  /' ;;
    ext2|ext3|ext4)
        debugfs -R stats "$img?offset=$off" 2>/dev/null \
            | grep -E '^(Filesystem volume name|Filesystem UUID|Block count|Inode count|Block size|Filesystem features|Reserved block count):' | sed 's/^/  /'
        debugfs -R "rdump / $x" "$img?offset=$off" > /dev/null 2>&1
        tree "$x" | sed 's/^/  /' ;;
    erofs)
        dump.erofs -s --offset="$off" "$img" 2>/dev/null | grep -E '^(Filesystem (UUID|label|blocks|inodes)|Filesystem total)' | sed 's/^/  /'
        fsck.erofs --offset="$off" --extract="$x/r" "$img" > /dev/null 2>&1
        tree "$x/r" | sed 's/^/  /' ;;
    crypto_LUKS)
        luks "$img" "$off" "$size" ;;
    btrfs|xfs)
        cut=$W/part.img
        dd if="$img" of="$cut" bs=1M iflag=skip_bytes,count_bytes skip="$off" count="$size" conv=sparse status=none
        if [ "$type" = btrfs ]; then
            btrfs inspect-internal dump-super "$cut" 2>/dev/null \
                | grep -E '^(label|fsid|total_bytes|bytes_used|sectorsize|nodesize|num_devices)\s' | sed 's/^/  /'
            mkdir -p "$x/r"; btrfs restore -S "$cut" "$x/r" > /dev/null 2>&1
            tree_nomode "$x/r" | sed 's/^/  /'
        else
            xfs_db -r -c 'sb 0' -c 'p uuid fname dblocks icount ifree fdblocks' "$cut" 2>&1 | sed 's/^/  /'
            xfs_db -r -c 'ls /' "$cut" 2>&1 | sed 's/^/  /'
        fi
        rm -f "$cut" ;;
    esac
    # With SOURCE_DATE_EPOCH these file systems are byte-for-byte reproducible upstream
    # (times clamped to it, UUIDs from the seed), so their bytes must match too: the
    # listings above cannot show every difference (dates of "now" and of
    # SOURCE_DATE_EPOCH are both masked, squashfs/erofs inode layout, hard links).
    # Inside LUKS2 only the file system's own bytes: offline encryption leaves
    # unreproducible bytes (its hot zone) behind them in the data segment.
    case $type in
    squashfs|erofs)
        if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
            local len=$size what=partition
            if [ -n "${IN_LUKS:-}" ]; then
                len=$(fs_bytes "$img" "$off" "$type") what="file system ($len bytes)"
            fi
            echo "  $what sha256: $(dd if="$img" bs=1M iflag=skip_bytes,count_bytes skip="$off" count="$len" status=none | sha256sum | cut -d' ' -f1)"
        fi ;;
    esac
    rm -rf --one-file-system "$x"
}

# le IMG OFFSET BYTES: an unsigned little-endian number read from the image
le() {
    od -An -t u"$3" -j "$2" -N "$3" --endian=little "$1" | tr -d ' '
}

# fs_bytes IMG OFF TYPE: the length of a squashfs (bytes_used) or erofs (blocks)
fs_bytes() {
    case $3 in
    squashfs) le "$1" $(($2 + 40)) 8 ;;
    erofs) echo $(( $(le "$1" $(($2 + 1024 + 36)) 4) << $(le "$1" $(($2 + 1024 + 12)) 1) )) ;;
    esac
}

# luks IMG OFF SIZE: a LUKS2 partition, then what it holds
luks() {
    local img=$1 off=$2 size=$3 cut=$W/luks.img plain=$W/plain.img key=$D/key
    [ -f "$key" ] || { key=$W/empty-key; : > "$key"; }
    dd if="$img" of="$cut" bs=1M iflag=skip_bytes,count_bytes skip="$off" count="$size" conv=sparse status=none
    # Salts, digests, the volume key and the PBKDF costs libcryptsetup benchmarks on
    # the machine are random or machine-dependent; everything else is compared.
    cryptsetup luksDump "$cut" 2>&1 | awk '
        /^Digests:/ { dig = 1 }
        /^\t(Salt|Digest):/ { sub(/:.*/, ": {random}"); print; skip = 1; next }
        skip && /^\t            / { next }
        { skip = 0 }
        /^\t(Time cost|Memory|Threads):/ { sub(/:.*/, ": {benchmarked}") }
        dig && /^\tIterations:/ { sub(/:.*/, ": {benchmarked}") }
        { print }' | sed 's/^/  /'
    # Getting the volume key unlocks a keyslot with the key file, as `cryptsetup open
    # --test-passphrase` does: one argon2 unlock (about 2 s) instead of two; the test
    # runs only when that fails (to tell a wrong key from another failure).
    local vk=0
    if cryptsetup luksDump -q --dump-volume-key --volume-key-file "$W/vk" --key-file="$key" "$cut" > /dev/null 2>&1; then
        vk=1
        echo "  the key file opens a keyslot"
    elif cryptsetup open --test-passphrase --key-file="$key" "$cut" 2>/dev/null; then
        echo "  the key file opens a keyslot"
    else
        echo "  the key file opens NO keyslot"
    fi
    # The host python3: the one in the oracle tool dir on PATH runs only in its chroot.
    if [ "$vk" = 1 ] && /usr/bin/python3 "$HERE/luks-decrypt.py" "$cut" 0 "$size" "$W/vk" "$plain"; then
        echo "  decrypted data segment ($(stat -c %s "$plain") bytes):"
        IN_LUKS=1 part "$plain" 0 "$(stat -c %s "$plain")" | sed 's/^/  /'
    else
        echo "  cannot decrypt"
    fi
    rm -f "$cut" "$plain" "$W/vk"
}

shopt -s nullglob
imgs=()
for f in *.raw *.img; do [ -f "$f" ] && imgs+=("$f"); done
echo "image files:"
for f in "${imgs[@]}"; do echo "  $f $(stat -c %s "$f")"; done
for f in "${imgs[@]}"; do
    if "$SFDISK" -d "$f" > "$W/sf" 2>/dev/null && grep -q 'start=' "$W/sf"; then
        ss=$(sed -n 's/^sector-size: //p' "$W/sf"); ss=${ss:-512}
        sed -n 's/^\([^ ]*\) : start= *\([0-9]*\), size= *\([0-9]*\),.*/\1 \2 \3/p' "$W/sf" | while read -r node start size; do
            echo "== $f partition ${node#"$f"} (offset $((start * ss)), size $((size * ss)))"
            part "$f" $((start * ss)) $((size * ss))
        done
    else
        echo "== $f (no partition table: whole file)"
        part "$f" 0 "$(stat -c %s "$f")"
    fi
done
exit 0
