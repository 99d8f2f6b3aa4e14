#!/usr/bin/env bash
# make.sh OUTDIR -- build the hostile/odd disk images used by tests/hardening.rs.
#
# Every image starts as a well-formed GPT written by sfdisk and is then damaged
# with dd/printf; where the damage must keep valid checksums (overlapping or
# out-of-range entries, an all-zero disk GUID, odd names) the CRCs are recomputed
# by `fixcrc` (a few lines of perl, Compress::Zlib's crc32).
#
#   HOSTILE_MIB   image size in MiB (default 8); HOSTILE_TINY=1 makes 64 KiB
#                 images instead (fuzz seeds: fuzz/corpus/gpt/)
#
# Images (512-byte sectors unless noted):
#   good               GPT: p1 linux-generic "data" 1 MiB, p2 swap "swp" 1 MiB
#   primary-corrupt    primary header zeroed (backup must be used)
#   both-corrupt       primary and backup header zeroed (protective MBR left)
#   entries-crc        one byte of the primary entry array flipped (header CRC ok)
#   entries-crc-both   the same in both entry arrays
#   overlap            p2 moved to overlap p1, CRCs fixed
#   out-of-range       p2 ends beyond the last usable LBA, CRCs fixed
#   backup-mid         GPT made, then the file grown to twice the size
#   mbr-only           DOS label with one Linux partition
#   hybrid             good + a second (0x83) record in the protective MBR
#   zero-guid          good with an all-zero disk GUID, CRCs fixed
#   entries-256        table-length 256, partitions in slots 1 and 200
#   odd-names          p1 named with a non-BMP character, p2 with a lone surrogate
#   truncated          the first 16 KiB of good (smaller than the GPT itself)
#   sector4k           4096-byte sectors (needs root + losetup; skipped otherwise)
set -euo pipefail

OUT=${1:?usage: make.sh OUTDIR}
mkdir -p "$OUT"
cd "$OUT"
SFDISK=$(command -v sfdisk || echo /usr/sbin/sfdisk)

if [ "${HOSTILE_TINY:-0}" = 1 ]; then
    SECTORS=128             # 64 KiB: first usable 34, last usable 94
    P1="start=34, size=16"
    P2="start=50, size=16"
else
    SECTORS=$(( ${HOSTILE_MIB:-8} * 2048 ))
    P1="start=2048, size=2048"
    P2="start=4096, size=2048"
fi
LAST=$((SECTORS - 1))
GUID_DISK=11111111-2222-3333-4444-555555555555
GENERIC=0FC63DAF-8483-4772-8E79-3D69D8477DE4
SWAP=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F

# fixcrc IMAGE [SECTOR_SIZE]: recompute entry-array and header CRCs of both headers.
fixcrc() {
    perl -MCompress::Zlib -e '
        my ($f, $ss) = @ARGV; $ss ||= 512;
        open(my $h, "+<:raw", $f) or die "$f: $!";
        my $total = (-s $f) / $ss;
        for my $lba (1, $total - 1) {
            seek($h, $lba * $ss, 0); read($h, my $hdr, 92);
            next unless substr($hdr, 0, 8) eq "EFI PART";
            my ($elba) = unpack("Q<", substr($hdr, 72, 8));
            my ($n, $sz) = unpack("V V", substr($hdr, 80, 8));
            seek($h, $elba * $ss, 0); read($h, my $ents, $n * $sz);
            substr($hdr, 88, 4) = pack("V", crc32($ents));
            substr($hdr, 16, 4) = pack("V", 0);
            substr($hdr, 16, 4) = pack("V", crc32($hdr));
            seek($h, $lba * $ss, 0); print $h $hdr;
        }
        close($h) or die;
    ' "$1" "${2:-512}"
}

# poke IMAGE OFFSET BYTES...: overwrite bytes (given as \xNN escapes) at OFFSET.
poke() {
    local img=$1 off=$2
    shift 2
    printf "$*" | dd of="$img" bs=1 seek="$off" conv=notrunc status=none
}

# le64 N: little-endian 8-byte escape string of N.
le64() {
    perl -e 'print join("", map { sprintf("\\x%02x", $_) } unpack("C8", pack("Q<", $ARGV[0])))' "$1"
}

mkgpt() {   # mkgpt IMAGE SECTORS [extra sfdisk header lines...]
    local img=$1 n=$2
    shift 2
    rm -f "$img"
    truncate -s $((n * 512)) "$img"
    {
        echo "label: gpt"
        echo "label-id: $GUID_DISK"
        for l in "$@"; do echo "$l"; done
        echo "$P1, type=$GENERIC, uuid=AAAAAAAA-0000-4000-8000-000000000001, name=data"
        echo "$P2, type=$SWAP, uuid=AAAAAAAA-0000-4000-8000-000000000002, name=swp"
    } | "$SFDISK" --no-reread --no-tell-kernel -q "$img" > /dev/null
}

mkgpt good.img "$SECTORS"

cp good.img primary-corrupt.img
dd if=/dev/zero of=primary-corrupt.img bs=512 seek=1 count=1 conv=notrunc status=none

cp primary-corrupt.img both-corrupt.img
dd if=/dev/zero of=both-corrupt.img bs=512 seek="$LAST" count=1 conv=notrunc status=none

# Entry 10 (unused) gets a stray byte: the array CRC no longer matches.
cp good.img entries-crc.img
poke entries-crc.img $((2 * 512 + 10 * 128 + 100)) '\x5a'
cp entries-crc.img entries-crc-both.img
poke entries-crc-both.img $(((LAST - 32) * 512 + 10 * 128 + 100)) '\x5a'

# Entry 1 (p2) starts inside p1; both arrays, CRCs fixed.
P1_START=$(echo "$P1" | sed 's/start=\([0-9]*\).*/\1/')
P2_END=$(( $(echo "$P2" | sed 's/start=\([0-9]*\), size=\([0-9]*\)/\1 + \2/') - 1 ))
cp good.img overlap.img
for base in 2 $((LAST - 32)); do
    poke overlap.img $((base * 512 + 128 + 32)) "$(le64 $((P1_START + 8)))"
done
fixcrc overlap.img

cp good.img out-of-range.img
for base in 2 $((LAST - 32)); do
    poke out-of-range.img $((base * 512 + 128 + 40)) "$(le64 $((LAST - 1)))"
done
fixcrc out-of-range.img

# The disk grew after partitioning: backup header in the middle.
mkgpt backup-mid.img "$SECTORS"
truncate -s $((SECTORS * 2 * 512)) backup-mid.img

rm -f mbr-only.img
truncate -s $((SECTORS * 512)) mbr-only.img
DOS_P1=$P1
[ "${HOSTILE_TINY:-0}" = 1 ] && DOS_P1="start=64, size=16"
printf 'label: dos\nlabel-id: 0x12345678\n%s, type=83\n' "$DOS_P1" |
    "$SFDISK" --no-reread --no-tell-kernel -q mbr-only.img > /dev/null

# Second MBR record: type 0x83 over p1 (CHS fields left zero).
cp good.img hybrid.img
poke hybrid.img $((446 + 16)) '\x00\x00\x00\x00\x83\x00\x00\x00'"$(le64 $((P1_START | (16 << 32))))"

cp good.img zero-guid.img
for lba in 1 "$LAST"; do
    poke zero-guid.img $((lba * 512 + 56)) '\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'
done
fixcrc zero-guid.img

# 256 entries (32 sectors of entries more); partitions in slots 1 and 200.
rm -f entries-256.img
truncate -s $(( (SECTORS > 320 ? SECTORS : 320) * 512)) entries-256.img
{
    echo "label: gpt"
    echo "label-id: $GUID_DISK"
    echo "table-length: 256"
    if [ "${HOSTILE_TINY:-0}" = 1 ]; then
        echo "entries-256.img2 : start=66, size=8, type=$GENERIC, name=data"
        echo "entries-256.img201 : start=74, size=8, type=$SWAP, name=swp"
    else
        echo "entries-256.img2 : $P1, type=$GENERIC, uuid=AAAAAAAA-0000-4000-8000-000000000001, name=data"
        echo "entries-256.img201 : $P2, type=$SWAP, uuid=AAAAAAAA-0000-4000-8000-000000000002, name=swp"
    fi
} | "$SFDISK" --no-reread --no-tell-kernel -q entries-256.img > /dev/null

# Name of p1: "a" U+1F600 "b" (surrogate pair); name of p2: a lone high surrogate.
cp good.img odd-names.img
for base in 2 $((LAST - 32)); do
    poke odd-names.img $((base * 512 + 56)) '\x61\x00\x3d\xd8\x00\xde\x62\x00\x00\x00'
    poke odd-names.img $((base * 512 + 128 + 56)) '\x78\x00\x3d\xd8\x79\x00\x00\x00'
done
fixcrc odd-names.img

head -c 16384 good.img > truncated.img

# 4096-byte sectors: sfdisk on a loop device with a 4 KiB logical block size.
rm -f sector4k.img
if [ "$(id -u)" = 0 ] && command -v losetup > /dev/null && [ "${HOSTILE_TINY:-0}" != 1 ]; then
    truncate -s $((SECTORS * 512)) sector4k.img
    if LOOP=$(losetup --find --show --sector-size 4096 sector4k.img 2> /dev/null); then
        trap 'losetup -d "$LOOP" 2> /dev/null || true' EXIT
        {
            echo "label: gpt"
            echo "label-id: $GUID_DISK"
            echo "start=256, size=256, type=$GENERIC, uuid=AAAAAAAA-0000-4000-8000-000000000001, name=data"
            echo "start=512, size=256, type=$SWAP, uuid=AAAAAAAA-0000-4000-8000-000000000002, name=swp"
        } | "$SFDISK" --no-reread --no-tell-kernel -q "$LOOP" > /dev/null
        sync
        losetup -d "$LOOP"
        trap - EXIT
    else
        rm -f sector4k.img
    fi
fi
ls
