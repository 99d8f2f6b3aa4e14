#!/bin/bash
# Regenerates the GPT reference dumps in this directory from the upstream
# systemd-repart 257 / libfdisk 2.41 oracle (/work/shared/oracle/reference-repart).
#
# For every case it writes:
#   NAME.sectors  "ss <sector size>", "total <bytes>" and one "lba <n> <hex>" line per
#                 non-zero sector (trailing zero bytes trimmed) inside the GPT areas (protective MBR, primary header and
#                 entry array, backup entry array and header; for grown images also the
#                 areas of the old table end).
#   NAME.sfdisk   the oracle's `sfdisk -d` of the image (device names normalised).
# The Rust tests in src/shell/disk/ parse these files; they never need the oracle.
set -euo pipefail
ORACLE=${ORACLE:-$(cd "$(dirname "$0")/../.." && pwd)/tools/oracle/reference-repart}
SEED=e2a40bf9-73f1-4278-9160-49c031e7aedd
OUT=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d /tmp/repart-disk-gen.XXXXXX)
trap 'rm -rf "$W"' EXIT

# dump IMG SS EXTRA_TOTALS... -> stdout
dump() {
    python3 - "$@" <<'PY'
import sys, os
img, ss = sys.argv[1], int(sys.argv[2])
totals = [int(t) for t in sys.argv[3:]]
size = os.path.getsize(img)
total = size // ss
es = 16384 // ss
lbas = set(range(0, 2 + es))
for t in [total] + [t // ss for t in totals]:
    lbas |= set(range(t - 1 - es, t))
print(f"ss {ss}")
print(f"total {size}")
with open(img, 'rb') as f:
    for lba in sorted(lbas):
        f.seek(lba * ss)
        b = f.read(ss)
        if any(b):
            print(f"lba {lba} {b.rstrip(bytes(1)).hex()}")
PY
}

sf() { # IMG SS NAME
    REPART_ORACLE_BINARY=sfdisk "$ORACLE" --sector-size "$2" -d "$1" | sed "s|$1|IMG|g" >"$OUT/$3.sfdisk"
}

repart() { "$ORACLE" --seed=$SEED --dry-run=no --pretty=no --json=off "$@" >/dev/null 2>"$W/log" || { cat "$W/log"; exit 1; }; }

defs() { # DIR NAME BODY
    mkdir -p "$W/$1"; printf '[Partition]\n%b' "$3" >"$W/$1/$2.conf"
}

case_create() { # NAME SS DEFSDIR SIZE
    local img="$W/$1.raw"
    repart --definitions="$W/$3" --empty=create --size="$4" --sector-size="$2" "$img"
    dump "$img" "$2" >"$OUT/$1.sectors"
    sf "$img" "$2" "$1"
}

mkdir -p "$W/none"
case_create empty512 512 none 10M
case_create empty4k 4096 none 10M

defs one 10-a 'Type=linux-generic\nSizeMinBytes=20M\n'
case_create one512 512 one auto

defs three 10-esp 'Type=esp\nLabel=Ünïcødé-☃-😀\nSizeMinBytes=10M\nSizeMaxBytes=10M\n'
defs three 20-root 'Type=root-x86-64\nLabel=root\nSizeMinBytes=8M\nSizeMaxBytes=8M\n'
defs three 30-flags 'Type=linux-generic\nLabel=flags\nFlags=0x9800000000000000\nSizeMinBytes=4M\nSizeMaxBytes=4M\n'
case_create three512 512 three auto
case_create three4k 4096 three auto

defs tiny 10-a 'Type=linux-generic\nSizeMinBytes=4K\nSizeMaxBytes=4K\n'
case_create tiny512 512 tiny auto
case_create tiny4k 4096 tiny auto

# Grown image: three512 + 100M, one more partition; --discard=no isolates what libfdisk
# itself writes (repart would otherwise punch holes into the new partition and the gaps).
cp "$W/three512.raw" "$W/grown512.raw"
old=$(stat -c %s "$W/grown512.raw")
truncate -s +100M "$W/grown512.raw"
dump "$W/grown512.raw" 512 "$old" >"$OUT/grown512-before.sectors"
cp -r "$W/three" "$W/three-more"
defs three-more 40-new 'Type=home\nLabel=new\nSizeMinBytes=16M\nSizeMaxBytes=16M\n'
repart --discard=no --definitions="$W/three-more" "$W/grown512.raw"
dump "$W/grown512.raw" 512 "$old" >"$OUT/grown512.sectors"
sf "$W/grown512.raw" 512 grown512

# --size= on an existing image ("Resized partition table."), even in dry-run mode:
# the backup moves to the new end and last-lba is raised; the old backup stays.
cp "$W/one512.raw" "$W/resized512.raw"
old=$(stat -c %s "$W/resized512.raw")
"$ORACLE" --seed=$SEED --definitions="$W/one" --size=40M "$W/resized512.raw" >/dev/null 2>"$W/log" || { cat "$W/log"; exit 1; }
grep -q 'Resized partition table.' "$W/log"
dump "$W/resized512.raw" 512 "$old" >"$OUT/resized512.sectors"
sf "$W/resized512.raw" 512 resized512

# A table with 32 entries (made by the oracle's sfdisk), grown by 8M; repart grows
# partition 0 and adds one: the entry count is kept, last-lba = total - 2 - 8.
truncate -s 32M "$W/len32.raw"
printf 'label: gpt\nlabel-id: 11111111-2222-3333-4444-555555555555\ntable-length: 32\nstart=2048,size=8192,type=0FC63DAF-8483-4772-8E79-3D69D8477DE4,uuid=AAAAAAAA-2222-3333-4444-555555555555,name="x"\n' |
    REPART_ORACLE_BINARY=sfdisk "$ORACLE" "$W/len32.raw" >/dev/null
old=$(stat -c %s "$W/len32.raw")
truncate -s +8M "$W/len32.raw"
dump "$W/len32.raw" 512 "$old" >"$OUT/len32-before.sectors"
defs len32 10-a 'Type=linux-generic\nSizeMinBytes=20M\nSizeMaxBytes=20M\n'
defs len32 20-b 'Type=linux-generic\nSizeMinBytes=4K\nSizeMaxBytes=4K\n'
repart --discard=no --definitions="$W/len32" "$W/len32.raw"
dump "$W/len32.raw" 512 "$old" >"$OUT/len32.sectors"
sf "$W/len32.raw" 512 len32

# > 2 TiB: the protective MBR size saturates at 0xFFFFFFFF.
case_create huge512 512 none 3T

echo "written to $OUT"
