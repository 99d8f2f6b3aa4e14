#!/usr/bin/env bash
# tools/fuzz.sh [SECONDS] [TARGET...] -- run the cargo-fuzz targets in fuzz/ for a
# bounded time each (default 60 s; targets: config gpt plan).
#
# New inputs go to fuzz/target/corpus/<target> (not committed); the committed seed
# corpus fuzz/corpus/<target> is only read. Crashes land in fuzz/artifacts/<target>/
# and make the script exit 1. FUZZ_MERGE=1 afterwards minimizes everything found into
# a fresh fuzz/corpus/<target> (libFuzzer -merge=1, then at most FUZZ_CORPUS_MAX=300
# files kept), ready to commit.
#
# Needs: cargo +nightly, cargo-fuzz (`cargo install cargo-fuzz`). Runs under nice.
set -euo pipefail

SECS=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(config gpt plan)
cd "$(dirname -- "${BASH_SOURCE[0]}")/../fuzz"

max_len() {
    case $1 in
        config) echo 16384 ;;
        gpt) echo 200000 ;;
        *) echo 1024 ;;
    esac
}

nice -n 10 cargo +nightly fuzz build -O

status=0
for t in "${TARGETS[@]}"; do
    mkdir -p "target/corpus/$t" "artifacts/$t"
    extra=()
    [ -f "dict/$t.dict" ] && extra+=("-dict=dict/$t.dict")
    log="target/fuzz-$t.log"
    echo "== $t: ${SECS}s"
    if ! nice -n 10 cargo +nightly fuzz run -O "$t" "target/corpus/$t" "corpus/$t" -- \
        -max_total_time="$SECS" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 "${extra[@]}" > "$log" 2>&1; then
        echo "!! $t: crash, see $log and fuzz/artifacts/$t/"
        grep -m1 -A20 "panicked\|ERROR: libFuzzer" "$log" || true
        status=1
    fi
    grep -E "^Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb" "$log" | sed "s/^/   $t: /" || true
    grep -E "#[0-9]+.*(DONE|cov:)" "$log" | tail -1 | sed "s/^/   $t: /" || true
    if [ "${FUZZ_MERGE:-0}" = 1 ]; then
        rm -rf "target/merged-$t" && mkdir -p "target/merged-$t"
        nice -n 10 cargo +nightly fuzz run -O "$t" "target/merged-$t" "corpus/$t" "target/corpus/$t" -- \
            -merge=1 -max_len="$(max_len "$t")" > "target/merge-$t.log" 2>&1
        # Keep the committed corpus small: a deterministic sample (names are
        # content hashes) of at most FUZZ_CORPUS_MAX files; the full set stays in
        # fuzz/target/corpus/<target>.
        max=${FUZZ_CORPUS_MAX:-300}
        n=$(ls "target/merged-$t" | wc -l)
        if [ "$n" -gt "$max" ]; then
            ls "target/merged-$t" | sort | tail -n +$((max + 1)) |
                while read -r f; do rm -f "target/merged-$t/$f"; done
        fi
        rm -rf "corpus/$t" && mv "target/merged-$t" "corpus/$t"
        echo "   $t: corpus merged: $n files, $(ls "corpus/$t" | wc -l) kept"
    fi
done
exit $status
