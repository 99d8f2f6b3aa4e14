#!/usr/bin/env bash
# bench/encrypt-phases.sh TOOL [WORKLOAD] -- one Encrypt= image build (inputs of
# bench/run.sh, default workload w6) with a timestamp (seconds since start) on
# every stderr line, to see where the time goes: staging, mkfs, encryption,
# sync. TOOL = ours (REPART_BIN, default target/release/repart) | upstream.
# Both run through the suite's ld.so with upstream's libraries (as with
# OURS_LIBS=suite), SYSTEMD_LOG_LEVEL=debug. Output on stdout. Not a test.
set -euo pipefail
REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
TOOL=${1:?usage: bench/encrypt-phases.sh ours|upstream [w6|w6l|w6k]}
WL=${2:-w6}
W=${WORK:-/var/tmp/repart-bench}
TOP=/var/cache/repart-oracle/trixie-ldso
L=$TOP/root/usr/lib/x86_64-linux-gnu
PY=$(command -v python3)
[ -d "$W/defs/$WL" ] || { echo "no inputs in $W: run bench/run.sh W6K W6 W6L first" >&2; exit 2; }
case $TOOL in
    ours) B=${REPART_BIN:-$REPO/target/release/repart} ;;
    upstream) B=$TOP/root/usr/bin/systemd-repart ;;
    *) echo "TOOL must be ours or upstream" >&2; exit 2 ;;
esac
export PATH=$TOP/bin:$PATH MKE2FS_CONFIG=$TOP/root/etc/mke2fs.conf SOURCE_DATE_EPOCH=1700000000 SYSTEMD_LOG_LEVEL=debug
img=$W/phases-$TOOL.img
rm -f "$img"; sync
"$L/ld-linux-x86-64.so.2" --library-path "$L:$L/systemd" "$B" --definitions="$W/defs/$WL" --key-file="$W/keyfile" \
    --empty=create --size=auto --offline=yes --seed=e2a40bf9-73f1-4278-9160-49c031e7aedd --dry-run=no "$img" 2>&1 >/dev/null \
  | "$PY" -c '
import sys, time
t0 = time.time()
for line in iter(sys.stdin.readline, ""):
    print(f"{time.time() - t0:8.2f} {line.rstrip()}", flush=True)'
rm -f "$img"
