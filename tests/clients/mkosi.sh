#!/usr/bin/env bash
# tests/clients/mkosi.sh -- mkosi as the caller: build small Debian disk images with
# mkosi 24.3 twice, once with the oracle (upstream systemd-repart 257.13) and once
# with our repart as `systemd-repart`, and compare what mkosi gets.
#
# mkosi is Debian's package (bookworm-backports, 24.3-1~bpo12+1), downloaded through
# a private apt configuration (as tools/oracle/setup-reference-repart.sh keeps its
# apt state private) and checked against its pinned sha256. It is unpacked, not
# dpkg-installed: its Depends (systemd >= 254) would replace the host's systemd 252,
# and mkosi only needs systemd-repart, which it gets from ExtraSearchPaths=. The
# host gets what mkosi runs itself: bubblewrap, apt/dpkg (essential), the Debian
# archive keyring and kmod (depmod, checked for Bootable=auto).
#
# Each layout (tests/clients/mkosi/<layout>/ on top of common.conf: Format=disk,
# Debian bookworm's essential set, fixed Seed= and SourceDateEpoch=, packages cached
# in $CACHE/packages) is built with ExtraSearchPaths= naming a tools directory with
#   systemd-repart  a logging wrapper (argv, environment, stdout, exit status of every
#                   call, to stderr with the prefix "@@repart-call"; --version passes
#                   through unchanged, so mkosi's own version check sees the program
#                   as it is) that execs the oracle (ldso tree) or a copy of our binary;
#   mkfs.* etc.     links to Debian 13's tools of the oracle's ldso tree: the SAME
#                   mkfs tools for both builds.
# Compared per layout (any difference fails):
#   * every repart call: argv, exit status and stdout (JSON), in order (the
#     workspace path masked; the --version line is shown, not compared);
#   * the files mkosi writes to its output directory (names);
#   * `sfdisk -d` of the image;
#   * per partition (of the image and of each split artifact): the file list with
#     type, mode, owner, size, link target and the sha256 of each file (vfat via
#     mtools, ext4 via debugfs rdump, erofs via fsck.erofs --extract, squashfs via
#     unsquashfs); swap: its header (label, UUID); a verity hash partition or
#     anything else: the sha256 of the bytes. Whether the bytes are identical too is
#     printed for information (ext4 differs by its hash seed: ours is derived from
#     the partition UUID, upstream's is random).
#
# A layout listed in tests/clients/mkosi-expected-failures (LAYOUT, then the missing
# feature) is reported but does not fail the run; the list only shrinks, to empty.
#
# A layout with a `genkey` file gets mkosi.key/mkosi.crt from one `mkosi genkey` per
# run (Verity=signature: mkosi passes them as --private-key=/--certificate=).
#
# Usage: tests/clients/mkosi.sh [LAYOUT...]   (default: default custom signed)
# Environment: REPART_BIN (default: cargo build --release), REPART_MKOSI_CACHE
#   (default /var/cache/repart-mkosi), MKOSI_KEEP=1 (keep the work directory),
#   REPART_ORACLE_MIRROR.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${REPART_MKOSI_CACHE:-/var/cache/repart-mkosi}
MIRROR=${REPART_ORACLE_MIRROR:-http://deb.debian.org/debian}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
ORACLE_TOP=${REPART_ORACLE_CACHE:-/var/cache/repart-oracle}/trixie-ldso
TOOLS=$ORACLE_TOP/bin
MKOSI_VERSION=24.3-1~bpo12+1
MKOSI_DEB=mkosi_${MKOSI_VERSION}_all.deb
MKOSI_SHA256=5ffda4e383d5bf5004b71c9b5b41031560ea9d141cf8935b5ed25fda05d88063
# The mkfs (and inspection) tools both builds get, from Debian 13 (the oracle's versions).
MKFS_TOOLS=(mkfs.vfat mkfs.fat mkdosfs mcopy mmd mattrib mformat mkfs.ext4 mkfs.ext3 mkfs.ext2 mke2fs
            mksquashfs mkfs.erofs mkswap mkfs.btrfs mkfs.xfs)

log() { printf 'mkosi-test: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }

LAYOUTS=("$@")
[ ${#LAYOUTS[@]} -gt 0 ] || LAYOUTS=(default custom signed)
for l in "${LAYOUTS[@]}"; do [ -f "$HERE/mkosi/$l/mkosi.conf" ] || die "no layout $HERE/mkosi/$l"; done

[ "$(id -u)" = 0 ] || die "needs root (mkosi builds Debian trees as root; bubblewrap)"
[ -x "$TOOLS/systemd-repart" ] || die "no oracle ldso tree in $ORACLE_TOP (REPART_ORACLE_MODE=both tools/oracle/setup-reference-repart.sh)"

# ------------------------------------------------------------ host prerequisites
need=()
command -v bwrap >/dev/null || need+=(bubblewrap)
command -v depmod >/dev/null || need+=(kmod)
command -v jq >/dev/null || need+=(jq)
[ -x /usr/bin/python3 ] || command -v python3 >/dev/null || need+=(python3)
[ -s "$KEYRING" ] || need+=(debian-archive-keyring)
if [ ${#need[@]} -gt 0 ]; then
    log "apt-get install ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >&2 \
        || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >&2; }
fi
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=$(command -v python3) || die "python3 missing"

# ------------------------------------------------------------ mkosi itself
MKOSI_ROOT=$CACHE/mkosi-$MKOSI_VERSION
deb_ok() { [ -f "$CACHE/debs/$MKOSI_DEB" ] && [ "$(sha256sum < "$CACHE/debs/$MKOSI_DEB" | cut -d' ' -f1)" = "$MKOSI_SHA256" ]; }
if [ ! -f "$MKOSI_ROOT/.complete" ]; then
    if ! deb_ok; then
        apt=$CACHE/apt
        rm -rf "$apt" && mkdir -p "$apt"/{etc/apt/apt.conf.d,etc/apt/preferences.d,etc/apt/sources.list.d,lists/partial,cache,archives/partial} "$CACHE/debs"
        : > "$apt/status"
        echo "deb [signed-by=$KEYRING] $MIRROR bookworm-backports main" > "$apt/etc/apt/sources.list"
        cat > "$apt/apt.conf" <<EOF
Dir::State "$apt";
Dir::State::Lists "$apt/lists";
Dir::State::status "$apt/status";
Dir::Cache "$apt/cache";
Dir::Etc "$apt/etc/apt";
APT::Architecture "amd64";
Acquire::Languages "none";
APT::Sandbox::User "root";
EOF
        log "apt-get download mkosi=$MKOSI_VERSION (private apt configuration, bookworm-backports)"
        APT_CONFIG=$apt/apt.conf apt-get update -q >&2
        (cd "$CACHE/debs" && APT_CONFIG=$apt/apt.conf apt-get download -q "mkosi=$MKOSI_VERSION" >&2) || die "cannot download mkosi $MKOSI_VERSION"
        rm -rf "$apt/lists" "$apt/cache"
        deb_ok || die "checksum mismatch for $CACHE/debs/$MKOSI_DEB (pinned: $MKOSI_SHA256)"
    fi
    rm -rf "$MKOSI_ROOT.partial" && dpkg-deb -x "$CACHE/debs/$MKOSI_DEB" "$MKOSI_ROOT.partial"
    echo "$MKOSI_VERSION $MKOSI_SHA256" > "$MKOSI_ROOT.partial/.complete"
    rm -rf "$MKOSI_ROOT" && mv "$MKOSI_ROOT.partial" "$MKOSI_ROOT"
fi
mkosi() { PYTHONPATH=$MKOSI_ROOT/usr/lib/python3/dist-packages "$PYTHON" -m mkosi "$@"; }
log "$(mkosi --version) (Debian $MKOSI_VERSION), python $("$PYTHON" -c 'import sys; print(sys.version.split()[0])')"

if [ -z "${REPART_BIN:-}" ]; then
    (cd "$REPO" && cargo build --release -q) || die "cargo build --release"
    REPART_BIN=$REPO/target/release/repart
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/repart-mkosi.XXXXXX")
keep=${MKOSI_KEEP:-0}
cleanup() { if [ "$keep" = 1 ]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT

# ------------------------------------------------------------ tools directories
make_tools() {  # make_tools IMPL PROGRAM
    local d=$WORK/tools-$1 t
    mkdir -p "$d"
    for t in "${MKFS_TOOLS[@]}"; do [ -e "$TOOLS/$t" ] && ln -s "$TOOLS/$t" "$d/$t"; done
    if [ "$1" = repart ]; then
        # a copy: the sandbox only mounts the ExtraSearchPaths, not the build tree
        cp "$2" "$d/repart-under-test"; set -- "$1" "$d/repart-under-test"
    fi
    cat > "$d/systemd-repart" <<EOF
#!/bin/bash
# tests/clients/mkosi.sh: log the call, run the program, log stdout and status.
real=$2
EOF
    cat >> "$d/systemd-repart" <<'EOF'
id="@@repart-call $$"
printf '%s argv:' "$id" >&2; printf ' %q' "$@" >&2; echo >&2
env | LC_ALL=C sort | sed "s|^|$id env: |" >&2
out=$(mktemp)
rc=0; "$real" "$@" > "$out" || rc=$?
cat "$out"
sed "s|^|$id stdout: |" "$out" >&2
echo "$id exit: $rc" >&2
rm -f "$out"
exit $rc
EOF
    chmod +x "$d/systemd-repart"
}
make_tools oracle "$TOOLS/systemd-repart"
make_tools repart "$REPART_BIN"

# ------------------------------------------------------------ building
build() {  # build LAYOUT IMPL -> $WORK/LAYOUT-IMPL/{out,mkosi.log}
    local layout=$1 impl=$2 d=$WORK/$1-$2 t0 rc=0
    mkdir -p "$d/src/mkosi.extra/efi/EFI/BOOT" "$d/src/mkosi.pkgmngr/etc/apt/sources.list.d" "$d/out"
    cat "$HERE/mkosi/common.conf" "$HERE/mkosi/$layout/mkosi.conf" > "$d/src/mkosi.conf"
    [ -d "$HERE/mkosi/$layout/mkosi.repart" ] && cp -r "$HERE/mkosi/$layout/mkosi.repart" "$d/src/"
    if [ -f "$HERE/mkosi/$layout/genkey" ]; then
        # One key pair per layout (mkosi genkey), the same for both builds: RSA
        # signatures are deterministic, so the signature partitions must match too.
        if [ ! -f "$WORK/$layout-key/mkosi.key" ]; then
            mkdir -p "$WORK/$layout-key"
            (cd "$WORK/$layout-key" && mkosi genkey) > "$WORK/$layout-key/genkey.log" 2>&1 \
                || die "$layout: mkosi genkey failed (see $WORK/$layout-key/genkey.log)"
        fi
        cp -p "$WORK/$layout-key/mkosi.key" "$WORK/$layout-key/mkosi.crt" "$d/src/"
    fi
    echo "stand-in for a boot loader (tests/clients/mkosi.sh)" > "$d/src/mkosi.extra/efi/EFI/BOOT/BOOTX64.EFI"
    printf 'Types: deb\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: %s\n' \
        "$MIRROR" "$KEYRING" > "$d/src/mkosi.pkgmngr/etc/apt/sources.list.d/mkosi.sources"
    mkdir -p "$CACHE/packages" "$CACHE/incremental"
    t0=$(date +%s)
    # --incremental: the installed tree is cached after the first build and every
    # build (both of each layout) starts from a copy of it, so the trees repart gets
    # are the same (a fresh install differs in logs and caches with time stamps).
    (cd "$d/src" && mkosi --debug --package-cache-dir="$CACHE/packages" --output-dir="$d/out" \
        --incremental=yes --cache-dir="$CACHE/incremental" \
        --extra-search-path="$WORK/tools-$impl" --extra-search-path="$ORACLE_TOP" build) \
        > "$d/mkosi.log" 2>&1 < /dev/null || rc=$?
    echo "$rc" > "$d/rc"
    log "$layout/$impl: mkosi build exit status $rc ($(( $(date +%s) - t0 )) s, log $d/mkosi.log)"
}

# ------------------------------------------------------------ what mkosi got
calls() {  # the repart calls of a build, the workspace and build directory masked
    grep -a '^@@repart-call [0-9]* \(argv\|stdout\|exit\):' "$1/mkosi.log" \
        | sed -E 's/^@@repart-call [0-9]+ //; s|/var/tmp/mkosi-workspace-[A-Za-z0-9_]+|$WORKSPACE|g' \
        | sed "s|$1/|\$BUILD/|g" \
        | awk '/^argv:/ { ver = ($0 ~ / --version( |$)/) } !(ver && /^stdout:/) { print }'
}
call_list() {  # one line per call: argv and exit status (for the report)
    calls "$1" | awk '/^argv:/ { a = substr($0, 6) } /^exit:/ { print "  systemd-repart" a " -> exit " $2 }'
}

manifest_tree() {  # a file list of an extracted tree: path type mode owner size target sha256
    local d=$1 sums=$1.sums
    # one sha256sum for all files (a fork per file made a 3000-file root take minutes)
    (cd "$d" && find . -mindepth 1 -type f -print0 | xargs -0r sha256sum) \
        | sed -E 's/^([0-9a-f]{16})[0-9a-f]*  \.\//\1\t/' > "$sums"
    (cd "$d" && find . -mindepth 1 -printf '%P\t%y\t%m\t%U:%G\t%s\t%l\n') | LC_ALL=C sort \
        | awk -F'\t' -v sums="$sums" '
            BEGIN { while ((getline line < sums) > 0) { i = index(line, "\t"); h[substr(line, i + 1)] = substr(line, 1, i - 1) } }
            { print $1, $2, $3, $4, ($2 == "d" ? "-" : $5), ($6 == "" ? "-" : $6), ($2 == "f" ? h[$1] : "-") }'
    rm -f "$sums"
}
manifest() {  # manifest FILE -> text describing the contents of one partition image
    local f=$1 x=$1.x type
    type=$("$TOOLS/blkid" -p -o value -s TYPE "$f" 2>/dev/null || true)
    rm -rf "$x" && mkdir -p "$x"
    echo "type=${type:-none}"
    case $type in
        vfat) MTOOLS_SKIP_CHECK=1 "$TOOLS/mcopy" -s -n -i "$f" '::/*' "$x/" 2>/dev/null || true
              { "$TOOLS/blkid" -p -o export -s LABEL -s UUID "$f" || true; } | sed -n '/^DEVNAME=/!s/^/  /p'
              manifest_tree "$x" | awk '{ $3 = "-"; $4 = "-"; print }' ;;  # vfat: no modes/owners
        ext2|ext3|ext4) "$TOOLS/debugfs" -R "rdump / $x" "$f" >/dev/null 2>&1 || echo "  debugfs rdump failed"
              { "$TOOLS/dumpe2fs" -h "$f" 2>/dev/null || true; } | grep -E '^(Filesystem volume name|Filesystem UUID|Filesystem features|Block count|Inode count|Block size):' | sed 's/^/  /' || true
              manifest_tree "$x" ;;
        erofs) "$TOOLS/fsck.erofs" --extract="$x/t" "$f" >/dev/null 2>&1 || echo "  fsck.erofs --extract failed"
               manifest_tree "$x/t" ;;
        squashfs) "$TOOLS/unsquashfs" -q -n -d "$x/t" "$f" >/dev/null 2>&1 || echo "  unsquashfs failed"
               manifest_tree "$x/t" ;;
        swap) { "$TOOLS/blkid" -p -o export -s LABEL -s UUID -s VERSION "$f" || true; } | sed -n '/^DEVNAME=/!s/^/  /p' ;;
        *) echo "  sha256=$(sha256sum < "$f" | cut -d' ' -f1)" ;;
    esac
    rm -rf "$x"
}
partitions() {  # partitions IMAGE DIR -> DIR/N.img for each partition
    local img=$1 dir=$2 ss n start size
    mkdir -p "$dir"
    ss=$("$TOOLS/sfdisk" -J "$img" | jq -r '.partitiontable.sectorsize // 512')
    n=0
    "$TOOLS/sfdisk" -J "$img" | jq -r '.partitiontable.partitions[] | "\(.start) \(.size)"' | while read -r start size; do
        n=$((n + 1))
        dd if="$img" of="$dir/$n.img" bs=1M iflag=skip_bytes,count_bytes skip=$((start * ss)) count=$((size * ss)) conv=sparse status=none
    done
}

FAILS=0 XFAILS=0 XPASSES=0
declare -A XFAIL=()
while read -r n reason; do
    [ -n "$n" ] && [ "${n:0:1}" != "#" ] && XFAIL[$n]=$reason
done < "$HERE/mkosi-expected-failures"
check() {  # check LAYOUT WHAT FILE_ORACLE FILE_REPART [INFO]
    if cmp -s "$3" "$4"; then
        printf 'mkosi %s: %s: same%s\n' "$1" "$2" "${5:+ ($5)}"
    else
        FAILS=$((FAILS + 1)); keep=1
        printf 'mkosi %s: %s: DIFFERENT%s\n' "$1" "$2" "${5:+ ($5)}"
        { diff -u --label oracle --label repart "$3" "$4" || true; } | head -n 40 | sed 's/^/    /'
    fi
}
same_bytes() { cmp -s "$1" "$2" && echo "bytes identical" || echo "bytes differ"; }

compare() {  # compare LAYOUT
    local l=$1 o=$WORK/$1-oracle r=$WORK/$1-repart c=$WORK/$1-cmp f name n
    mkdir -p "$c"
    for impl in oracle repart; do
        d=$WORK/$l-$impl
        calls "$d" > "$c/calls.$impl"
        echo "exit $(cat "$d/rc")" > "$c/rc.$impl"
        (cd "$d/out" && ls -1 | LC_ALL=C sort) > "$c/files.$impl"
    done
    echo "mkosi $l: repart calls made by mkosi (oracle build):"
    call_list "$o"
    check "$l" "mkosi exit status" "$c/rc.oracle" "$c/rc.repart" "$(cat "$c/rc.oracle")"
    check "$l" "repart calls (argv, exit status, JSON)" "$c/calls.oracle" "$c/calls.repart" \
        "$(grep -c '^argv:' "$c/calls.oracle") calls"
    if ! cmp -s "$c/calls.oracle" "$c/calls.repart"; then
        echo "mkosi $l: repart calls made by mkosi (repart build; environments in $r/mkosi.log, lines '@@repart-call PID env:'):"
        call_list "$r"
    fi
    if [ "$(cat "$o/rc")" != 0 ] || [ "$(cat "$r/rc")" != 0 ]; then
        for impl in oracle repart; do
            [ "$(cat "$WORK/$l-$impl/rc")" = 0 ] || { echo "mkosi $l: the $impl build failed; end of its log:"; grep -av '^‣ "bwrap\|^@@repart-call [0-9]* env:' "$WORK/$l-$impl/mkosi.log" | tail -n 25 | sed 's/^/    /'; }
        done
        FAILS=$((FAILS + 1)); keep=1
        return
    fi
    check "$l" "output files" "$c/files.oracle" "$c/files.repart" "$(paste -sd' ' "$c/files.oracle")"
    while read -r name; do
        case $name in *.raw) ;; *) continue ;; esac
        for impl in oracle repart; do
            f=$WORK/$l-$impl/out/$name
            [ -L "$f" ] && continue 2
            : > "$c/$name.sfdisk.$impl"
            if "$TOOLS/sfdisk" -J "$f" 2>/dev/null | jq -e '.partitiontable.label == "gpt"' >/dev/null; then
                "$TOOLS/sfdisk" -d "$f" | sed "s|$WORK/$l-$impl/out/||" > "$c/$name.sfdisk.$impl"
            fi
        done
        if [ -s "$c/$name.sfdisk.oracle" ] || [ -s "$c/$name.sfdisk.repart" ]; then
            check "$l" "$name: sfdisk -d" "$c/$name.sfdisk.oracle" "$c/$name.sfdisk.repart"
            partitions "$o/out/$name" "$c/$name.p.oracle"
            partitions "$r/out/$name" "$c/$name.p.repart"
            for f in "$c/$name.p.oracle"/*.img; do
                n=$(basename "$f" .img)
                manifest "$f" > "$c/$name.$n.oracle"
                manifest "$c/$name.p.repart/$n.img" > "$c/$name.$n.repart"
                check "$l" "$name: partition $n ($(head -n1 "$c/$name.$n.oracle"), $(($(wc -l < "$c/$name.$n.oracle") - 1)) lines)" \
                    "$c/$name.$n.oracle" "$c/$name.$n.repart" "$(same_bytes "$f" "$c/$name.p.repart/$n.img")"
            done
            rm -rf "$c/$name.p.oracle" "$c/$name.p.repart"
        else  # a split artifact: one partition's contents
            manifest "$o/out/$name" > "$c/$name.oracle"
            manifest "$r/out/$name" > "$c/$name.repart"
            check "$l" "split $name ($(head -n1 "$c/$name.oracle"))" "$c/$name.oracle" "$c/$name.repart" \
                "$(same_bytes "$o/out/$name" "$r/out/$name")"
        fi
    done < "$c/files.oracle"
    echo "mkosi $l: repart's --version as mkosi read it: $(grep -a -m1 '^@@repart-call [0-9]* stdout: systemd' "$r/mkosi.log" | sed 's/.*stdout: //' || true)"
}

RESULTS=()
for l in "${LAYOUTS[@]}"; do
    before=$FAILS keep_before=$keep
    build "$l" oracle
    build "$l" repart
    compare "$l"
    if [ "$FAILS" = "$before" ]; then
        res=PASS
        if [ -n "${XFAIL[$l]:-}" ]; then
            XPASSES=$((XPASSES + 1)); res="PASS (UNEXPECTED PASS: remove $l from mkosi-expected-failures)"
        fi
    elif [ -n "${XFAIL[$l]:-}" ]; then
        XFAILS=$((XFAILS + 1)); FAILS=$before keep=$keep_before; res="FAIL (expected failure: ${XFAIL[$l]})"
    else
        res=FAIL
    fi
    RESULTS+=("$l $res")
    echo "mkosi $l: $res"
    [ "$keep" = 1 ] || rm -rf "$WORK/$l-oracle" "$WORK/$l-repart" "$WORK/$l-cmp"
done
printf 'mkosi summary: %s\n' "${RESULTS[@]}"
if [ "$FAILS" = 0 ]; then
    echo "mkosi: PASS (${LAYOUTS[*]}; $XFAILS expected failures, $XPASSES listed but passing)"
else
    echo "mkosi: FAIL ($FAILS differences; logs in $WORK)"; keep=1
    exit 1
fi
