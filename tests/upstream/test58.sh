#!/usr/bin/env bash
# tests/upstream/test58.sh -- upstream systemd's own repart test suite
# (TEST-58-REPART from systemd 257.13) run against our repart, testcase by testcase,
# and once against the oracle (upstream systemd-repart 257.13) on the same machine.
#
# The upstream files are fetched at test time by fetch-systemd-tests.sh (never
# committed). Each `testcase_*` runs alone, in a fresh bash, through upstream's own
# `run_testcases` (TEST_MATCH_TESTCASE=^NAME$) with upstream's real assert_* helpers;
# the only change to the script is that its top-level tail (which runs all testcases
# and the sector-size tests and writes /testok) is replaced by one call of
# `run_testcases` (or `test_sector N`). `systemd-repart` resolves to the program under
# test through a directory with a `systemd-repart` link first on PATH; Debian 13's
# tools (the oracle installer's ldso tree: sfdisk, mkfs.*, veritysetup...) come next.
#
# Output: one line per testcase, `NAME RESULT oracle=RESULT [note]` (RESULT is
# PASS, FAIL or SKIP = exit 77), then a summary line. A testcase that fails with the
# oracle too is an environment limitation here and is not counted against repart.
# Exit status: 1 if a testcase passes with the oracle but not with repart and is not
# listed in test58-expected-failures (NAME, then the missing feature). A listed
# testcase that passes now is reported as UNEXPECTED PASS (remove it from the list:
# the list only shrinks); with TEST58_STRICT=1 that fails the run too.
#
# Usage: tests/upstream/test58.sh [--mode=container|vm] [--table] [NAME...]
#   --mode=container (default) this machine as it is: a docker container whose kernel
#                    has no vfat, device-mapper or GPT scanning of loop devices, so
#                    upstream takes its container paths (offline image builds only).
#   --mode=vm        shims make upstream's VM path run: systemd-detect-virt says
#                    "none", udevadm control/settle/wait wait for device nodes,
#                    losetup -P adds the partitions with partx -a; the testcases then
#                    also run with OFFLINE=no, and test_sector 512..4096 is added.
#                    Needs root and loop devices; mounts of vfat or device-mapper
#                    targets fail on the oracle too (reported as environment).
#   --table          also print a Markdown table (docs/compatibility.md's format)
#   NAME...          only these testcases (e.g. testcase_basic)
# Environment: REPART_BIN (default: cargo build --release), TEST58_TIMEOUT (seconds
# per testcase, default 600), TEST58_LOGS (directory for the per-run logs; default
# a temp dir, kept on failure), TEST58_ORACLE=0 (skip the oracle runs: every
# testcase is then assumed to pass there).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
ORACLE=$REPO/tools/oracle/reference-repart
TRIXIE_TOOLS=${REPART_ORACLE_CACHE:-/var/cache/repart-oracle}/trixie-ldso/bin
EXPECTED=$HERE/test58-expected-failures
TIMEOUT=${TEST58_TIMEOUT:-600}

MODE=container TABLE=0 ONLY=()
for a in "$@"; do
    case $a in
        --mode=container|--mode=vm) MODE=${a#--mode=} ;;
        --table) TABLE=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "test58: unknown option '$a'" >&2; exit 2 ;;
        *) ONLY+=("$a") ;;
    esac
done

log() { printf 'test58: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }

[ "$(id -u)" = 0 ] || die "needs root (upstream's test runs as root; the oracle needs a chroot)"
[ -x "$TRIXIE_TOOLS/sfdisk" ] || die "no Debian 13 tools in $TRIXIE_TOOLS (REPART_ORACLE_MODE=both tools/oracle/setup-reference-repart.sh)"
for t in jq openssl cmp timeout; do command -v "$t" >/dev/null || die "$t missing (apt-get install jq openssl diffutils)"; done
if [ -z "${REPART_BIN:-}" ]; then
    (cd "$REPO" && cargo build --release -q) || die "cargo build --release"
    REPART_BIN=$REPO/target/release/repart
fi
REPART_BIN=$(readlink -f -- "$REPART_BIN")
UNITS=$("$HERE/fetch-systemd-tests.sh")

# Not below /tmp or /var/tmp: each run gets its own empty /tmp and /var/tmp (bind
# mounts in a private mount namespace), so leftovers of a failed testcase (upstream
# removes its temp dirs in RETURN traps only) vanish and no other user's files are seen.
WORK_PARENT=${REPART_UPSTREAM_CACHE:-/var/cache/repart-upstream}
mkdir -p "$WORK_PARENT"
case $(realpath -m -- "$WORK_PARENT")/ in
    /tmp/*|/var/tmp/*) die "REPART_UPSTREAM_CACHE ($WORK_PARENT) must not be below /tmp or /var/tmp (each testcase gets its own)" ;;
esac
WORK=$(mktemp -d "$WORK_PARENT/run.XXXXXX")
LOGS=${TEST58_LOGS:-$WORK/logs}
mkdir -p "$LOGS"
keep=0
cleanup() { [ "$keep" = 1 ] && log "logs kept in $LOGS"; [ "$keep" = 1 ] && [ -z "${TEST58_LOGS:-}" ] || rm -rf "$WORK/units" "$WORK/bin-"* "$WORK/shim"; [ "$keep" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT

# The upstream script next to its helpers (it sources them from its own directory),
# with the top-level tail replaced: everything from `OFFLINE="yes"` on.
mkdir -p "$WORK/units"
cp "$UNITS/util.sh" "$UNITS/test-control.sh" "$WORK/units/"
grep -qx 'OFFLINE="yes"' "$UNITS/TEST-58-REPART.sh" || die "upstream's TEST-58-REPART.sh has no 'OFFLINE=\"yes\"' line; the runner needs updating"
{
    sed '/^OFFLINE="yes"$/,$d' "$UNITS/TEST-58-REPART.sh"
    cat <<'EOF'
# --- tail replaced by tests/upstream/test58.sh: one testcase (or one sector size) ---
OFFLINE="${TEST58_OFFLINE:?}"
if [[ -n "${TEST58_SECTOR:-}" ]]; then test_sector "$TEST58_SECTOR"; else run_testcases; fi
EOF
} > "$WORK/units/TEST-58-REPART.sh"
chmod +x "$WORK/units/TEST-58-REPART.sh"
mapfile -t ALL < <(grep -oE '^testcase_[A-Za-z0-9_]+\(\)' "$WORK/units/TEST-58-REPART.sh" | tr -d '()')

# Second mode: shims for upstream's VM path on this container.
SHIM_PATH=""
if [ "$MODE" = vm ]; then
    SHIM=$WORK/shim
    mkdir -p "$SHIM"
    cat > "$SHIM/systemd-detect-virt" <<'EOF'
#!/bin/sh
# test58 shim: pretend to be a VM ("none" = no container, no virtualization known)
for a; do case $a in -q|--quiet) exit 1 ;; esac; done
echo none; exit 1
EOF
    cat > "$SHIM/udevadm" <<'EOF'
#!/bin/bash
# test58 shim: no udev here; devtmpfs makes the nodes, so "wait" polls for them
case ${1:-} in
    control|settle|trigger) exit 0 ;;
    wait) shift; t=60 devs=()
          for a; do case $a in --timeout=*) t=${a#--timeout=} ;; -*) ;; *) devs+=("$a") ;; esac; done
          for ((i = 0; i < t * 10; i++)); do
              ok=1; for d in "${devs[@]}"; do [ -b "$d" ] || ok=0; done
              [ $ok = 1 ] && exit 0; sleep 0.1
          done
          echo "udevadm shim: timeout waiting for ${devs[*]}" >&2; exit 1 ;;
    *) echo "udevadm shim: unsupported: $*" >&2; exit 1 ;;
esac
EOF
    cat > "$SHIM/losetup" <<'EOF'
#!/bin/bash
# test58 shim: the kernel does not scan GPTs of loop devices; after attaching with
# -P/--partscan, add the partitions with partx -a (BLKPG), as the scan would have.
self=$(dirname "$(readlink -f "$0")")
real=$(PATH=$(echo "$PATH" | tr ':' '\n' | grep -vx "$self" | paste -sd:) command -v losetup)
scan=0
for a; do case $a in -P|--partscan) scan=1 ;; -*P*) [[ $a != --* ]] && scan=1 ;; esac; done
if [ $scan = 0 ]; then exec "$real" "$@"; fi
dev=$("$real" "$@") || exit
echo "$dev"
partx -a "$dev" 2>/dev/null || true
EOF
    chmod +x "$SHIM"/*
    SHIM_PATH=$SHIM:
fi

# Link directories: `systemd-repart` = the program under test.
mkdir -p "$WORK/bin-repart" "$WORK/bin-oracle"
# Copies, not links: each testcase gets its own /tmp, which would hide a checkout
# (and its target/ and tools/oracle/) below /tmp.
cp "$REPART_BIN" "$WORK/bin-repart/systemd-repart"
cp "$ORACLE" "$WORK/bin-oracle/systemd-repart"

# run IMPL NAME OFFLINE [SECTOR] -> PASS|FAIL|SKIP (log in $LOGS/IMPL/NAME.log)
run_one() {
    local impl=$1 name=$2 offline=$3 sector=${4:-} logf rc=0
    mkdir -p "$LOGS/$impl"
    logf=$LOGS/$impl/$name.log
    local t=$WORK/tmp-$impl
    rm -rf --one-file-system "$t" && mkdir -p "$t/tmp" "$t/vartmp" && chmod 1777 "$t/tmp" "$t/vartmp"
    (cd "$WORK/units" && unshare -m --propagation private sh -c \
        'mount --bind "$1" /tmp && mount --bind "$2" /var/tmp && shift 2 && exec "$@"' sh "$t/tmp" "$t/vartmp" \
        env PATH="$WORK/bin-$impl:$SHIM_PATH$TRIXIE_TOOLS:$PATH" \
        TEST_MATCH_TESTCASE="^${name%@*}\$" TEST58_OFFLINE="$offline" TEST58_SECTOR="$sector" \
        timeout -k 10 "$TIMEOUT" bash ./TEST-58-REPART.sh) > "$logf" 2>&1 < /dev/null || rc=$?
    echo "exit status $rc" >> "$logf"
    if [ "$MODE" = vm ]; then
        # loop devices a failed testcase left attached (only files in upstream's temp
        # dirs; the kernel shows their paths relative to the bind mounts above)
        losetup -n -l -O NAME,BACK-FILE 2>/dev/null | awk '$2 ~ /(^|\/)test-repart\.[a-z]+\.[A-Za-z0-9]+\// { print $1 }' \
            | while read -r dev; do losetup -d "$dev" 2>/dev/null || true; done
    fi
    rm -rf --one-file-system "$t"
    case $rc in 0) echo PASS ;; 77) echo SKIP ;; *) echo FAIL ;; esac
}

# What runs: every testcase offline; in vm mode also with OFFLINE=no (NAME@online)
# and the sector-size tests (test_sector_N).
RUNS=()
for n in "${ALL[@]}"; do
    if [ ${#ONLY[@]} -gt 0 ] && ! printf '%s\n' "${ONLY[@]}" | grep -qx -- "$n"; then continue; fi
    RUNS+=("$n yes")
    [ "$MODE" = vm ] && RUNS+=("$n@online no")
done
if [ "$MODE" = vm ] && [ ${#ONLY[@]} -eq 0 ]; then
    for s in 512 1024 2048 4096; do RUNS+=("test_sector_$s no $s"); done
fi
[ ${#RUNS[@]} -gt 0 ] || die "no testcases selected"

declare -A XFAIL=()
while read -r n reason; do
    [ -n "$n" ] && [ "${n:0:1}" != "#" ] && XFAIL[$n]=$reason
done < "$EXPECTED"

log "mode=$MODE, ${#RUNS[@]} runs, repart=$REPART_BIN, logs in $LOGS"
pass=0 fail=0 skip=0 env=0 xfail=0 xpass=0 bad=0 opass=0 total=0
ROWS=()
for r in "${RUNS[@]}"; do
    read -r name offline sector <<< "$r"
    total=$((total + 1))
    res=$(run_one repart "$name" "$offline" "$sector")
    if [ "${TEST58_ORACLE:-1}" = 0 ]; then ores=PASS; else ores=$(run_one oracle "$name" "$offline" "$sector"); fi
    note=""
    grep -q 'in container' "$LOGS/repart/$name.log" && [ "$MODE" = container ] && note="container path"
    case $res in PASS) pass=$((pass + 1)) ;; SKIP) skip=$((skip + 1)) ;; FAIL) fail=$((fail + 1)) ;; esac
    [ "$ores" = PASS ] && opass=$((opass + 1))
    if [ "$ores" != PASS ]; then
        env=$((env + 1)); note="${note:+$note; }fails with the oracle too here (environment)"
    elif [ "$res" = FAIL ] && [ -n "${XFAIL[${name%@*}]:-}" ]; then
        xfail=$((xfail + 1)); note="${note:+$note; }expected failure: ${XFAIL[${name%@*}]}"
    elif [ "$res" = FAIL ]; then
        bad=$((bad + 1)); keep=1; note="${note:+$note; }UNEXPECTED FAILURE (log: $LOGS/repart/$name.log)"
    elif [ -n "${XFAIL[${name%@*}]:-}" ]; then
        xpass=$((xpass + 1)); note="${note:+$note; }UNEXPECTED PASS: remove it from $(basename "$EXPECTED")"
        [ "${TEST58_STRICT:-0}" = 1 ] && bad=$((bad + 1))
    fi
    printf '%s %s oracle=%s%s\n' "$name" "$res" "$ores" "${note:+ ($note)}"
    ROWS+=("| \`$name\` | $ores | $res | $note |")
done

summary="TEST-58-REPART ($MODE mode, systemd 257.13): repart $pass/$total passed, $fail failed, $skip skipped; oracle $opass/$total passed; $env environment failures (oracle fails too), $xfail expected failures, $xpass listed but passing, $bad unexpected"
echo "$summary"
if [ "$TABLE" = 1 ]; then
    echo
    echo "| testcase | oracle | repart | note |"
    echo "| --- | --- | --- | --- |"
    printf '%s\n' "${ROWS[@]}"
fi
if [ "${TEST58_ORACLE:-1}" != 0 ] && [ "$opass" = 0 ]; then
    keep=1; die "the oracle passed no testcase: the runner or this machine is broken (logs in $LOGS)"
fi
[ "$bad" = 0 ]
