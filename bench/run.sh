#!/usr/bin/env bash
# bench/run.sh -- benchmark repart against upstream systemd-repart 257.
#
# Generates its inputs deterministically (bench/gen.py), then runs every
# workload alternately with our repart and with the reference systemd-repart
# (ldso mode of tools/oracle/setup-reference-repart.sh), RUNS times each, and
# prints/writes the medians of wall time, CPU time and peak RSS, and the ratio
# repart/upstream. Checks that both tools produce the same `sfdisk -d`.
# Timings are only reported, never asserted. Needs root (like the oracle).
#
# Usage: bench/run.sh [WORKLOAD...]        (default: W0 W1 W2 W3 W3L W4 W5)
#        bench/run.sh W6K W6 W6L            (Encrypt=key-file image builds; their
#                                            report is docs/benchmarks-encrypt.md)
#
# Environment:
#   RUNS=5            measured runs per tool and workload
#   WARMUP=1          unmeasured warm-up runs per tool and workload
#   QUICK=1           1/10 of the data (smoke test; ~1 minute); does not
#                     touch docs/benchmarks.md unless WRITE_DOC=1
#   WORK=/var/tmp/repart-bench   work dir (inputs, images, logs, results.md)
#   WRITE_DOC=0|1     write the report (default: 1 for full runs)
#   DOC=path          the report (default docs/benchmarks.md; docs/benchmarks-encrypt.md
#                     when only W6* workloads run)
#   NO_BUILD=1        do not run `cargo build --release`
#   REPART_BIN=path   benchmark this binary (implies NO_BUILD=1)
#   OURS_LIBS=host|suite   run our binary with the host's libraries (default) or
#                     through the suite's ld.so with upstream's (same libcryptsetup)
#   INTERVAL=0.025    RSS sampling interval in seconds
#   QUIET_WAIT=10     before each run wait up to this many seconds until other
#                     processes use < 15% CPU (0 = do not wait)
#   REPART_ORACLE_CACHE / REPART_ORACLE_SUITE   as for the oracle scripts
#
# Output: the summary on stdout, per-run lines on stderr, and in $WORK:
#   results.md, runs.json, logs/<workload>-<tool>-<run>.{out,err},
#   logs/<workload>-<tool>.sfdisk, img/<workload>-<tool>.img (last run).
set -euo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd -- "$HERE/.." && pwd)
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
QUICK=${QUICK:-0}
INTERVAL=${INTERVAL:-0.025}
QUIET_WAIT=${QUIET_WAIT:-10}
if [ "$QUICK" = 1 ]; then
    WORK=${WORK:-/var/tmp/repart-bench-quick}; SCALE=0.1; WRITE_DOC=${WRITE_DOC:-0}
else
    WORK=${WORK:-/var/tmp/repart-bench}; SCALE=1.0; WRITE_DOC=${WRITE_DOC:-1}
fi
WORKLOADS=${*:-W0 W1 W2 W3 W3L W4 W5}
case " $WORKLOADS " in
    *" W0 "*|*" W1 "*|*" W2 "*|*" W3 "*|*" W3L "*|*" W4 "*|*" W5 "*) DEFAULT_DOC=docs/benchmarks.md ;;
    *) DEFAULT_DOC=docs/benchmarks-encrypt.md ;;
esac
DOC=${DOC:-$REPO/$DEFAULT_DOC}
CACHE=${REPART_ORACLE_CACHE:-/var/cache/repart-oracle}
SUITE=${REPART_ORACLE_SUITE:-trixie}
LDSO_TOP=$CACHE/$SUITE-ldso
# Resolve python before anything puts the oracle's bin/ (which has its own
# python3) on PATH.
PYTHON=$(command -v python3)

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }

[ "$(id -u)" = 0 ] || die "must run as root (the oracle needs it for CopyFiles of root-owned files)"
for t in openssl sfdisk cmp truncate; do command -v $t >/dev/null || die "$t not found"; done

# ---- oracle (ldso mode; prefer the project's own installer)
if [ -x "$REPO/tools/oracle/setup-reference-repart.sh" ]; then
    ORACLE_DIR=$REPO/tools/oracle
else
    ORACLE_DIR=/work/shared/oracle
fi
if [ ! -f "$LDSO_TOP/.repart-oracle-complete" ]; then
    log "installing the oracle (ldso mode) with $ORACLE_DIR/setup-reference-repart.sh"
    REPART_ORACLE_MODE=ldso "$ORACLE_DIR/setup-reference-repart.sh"
fi
[ -x "$LDSO_TOP/bin/systemd-repart" ] || die "no oracle in $LDSO_TOP"

# ---- our binary: build, then snapshot it (others may rebuild during the run)
if [ -n "${REPART_BIN:-}" ]; then NO_BUILD=1; fi
REPART_BIN=${REPART_BIN:-$REPO/target/release/repart}
if [ "${NO_BUILD:-0}" != 1 ]; then
    log "cargo build --release"
    (cd "$REPO" && cargo build --release --quiet)
fi
mkdir -p "$WORK/bin"
cp "$REPART_BIN" "$WORK/bin/repart"
command -v cc >/dev/null || die "a C compiler (cc) is needed for bench/measure.c"
cc -O2 -o "$WORK/bin/measure" "$HERE/measure.c"
GIT=$(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(cd "$REPO" && git status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null)" ]; then GIT="$GIT+dirty"; fi

# ---- inputs (regenerated only when the generator or the scale changed)
STAMP="scale=$SCALE gen=$(sha256sum "$HERE/gen.py" | cut -c1-16)"
if [ "$(cat "$WORK/.inputs-stamp" 2>/dev/null)" != "$STAMP" ]; then
    log "generating inputs in $WORK (scale $SCALE)"
    rm -rf "$WORK/src" "$WORK/defs" "$WORK/w3-base.img" "$WORK/.inputs-stamp"
    mkdir -p "$WORK"
    t0=$(date +%s)
    "$PYTHON" "$HERE/gen.py" "$WORK" "$SCALE"
    echo "$STAMP" > "$WORK/.inputs-stamp"
    log "inputs generated in $(( $(date +%s) - t0 )) s: $(du -sh "$WORK/src" | cut -f1), $(find "$WORK/src" | wc -l) entries"
fi
rm -rf "$WORK/img" "$WORK/logs"

CFG=$("$PYTHON" - "$WORK" "$RUNS" "$WARMUP" "$QUICK" "$INTERVAL" "$WRITE_DOC" "$REPO" "$LDSO_TOP" \
      "$ORACLE_DIR/reference-repart" "$GIT" "$QUIET_WAIT" "$DOC" "${OURS_LIBS:-host}" $WORKLOADS <<'EOF'
import json, sys
a = sys.argv[1:]
print(json.dumps({
    "work": a[0], "runs": int(a[1]), "warmup": int(a[2]), "quick": a[3] == "1",
    "interval": float(a[4]), "write_doc": a[5] == "1", "repo": a[6],
    "doc": a[11], "ldso_top": a[7], "oracle_wrapper": a[8],
    "git": a[9], "quiet_wait": float(a[10]), "ours_libs": a[12], "workloads": a[13:],
}))
EOF
)
mkdir -p "$(dirname "$DOC")"
BENCH_CFG=$CFG exec "$PYTHON" "$HERE/bench.py"
