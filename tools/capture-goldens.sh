#!/usr/bin/env bash
# capture-goldens.sh [--check] [CASE...] -- (re)create testdata/golden/<case>/expected/
# from the reference systemd-repart (the oracle, tools/oracle/reference-repart).
#
# Without CASE arguments all cases are captured. Each case is run twice and the
# two results must be identical (catches time stamps, random names, ...).
#
#   --check   do not write anything; run the oracle and compare with the stored
#             expected/ files (exit 1 on any difference)
#
# Environment:
#   REPART_CAPTURE_BINARY  binary to capture from (default: tools/oracle/reference-repart)
#   GOLDEN_TMPDIR          where the per-case temp dirs go (default /tmp; must be
#                          reachable by the oracle; keep the default for
#                          byte-identical debug tables, which show full paths)
#   REPART_ORACLE_*        passed to the oracle wrapper (see tools/oracle/)
#
# The case format is described in testdata/golden/README.md.
set -uo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd -- "$HERE/.." && pwd)
GOLDEN=$TOP/testdata/golden
# shellcheck source=tools/golden-lib.sh
. "$HERE/golden-lib.sh"

REPART=${REPART_CAPTURE_BINARY:-$HERE/oracle/reference-repart}
CHECK=0
cases=()
for a in "$@"; do
    case $a in
        --check) CHECK=1 ;;
        -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "capture-goldens: unknown option $a" >&2; exit 2 ;;
        *) cases+=("${a%/}") ;;
    esac
done
if [ ${#cases[@]} = 0 ]; then
    for d in "$GOLDEN"/*/; do
        [ -f "$d/cmd" ] && cases+=("$(basename "$d")")
    done
fi

"$REPART" --version > /dev/null 2>&1 || {
    echo "capture-goldens: $REPART does not run; install the oracle with tools/oracle/setup-reference-repart.sh" >&2
    exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/capture-goldens.XXXXXX")
trap 'rm -rf --one-file-system -- "$work"' EXIT
fail=0 n=0
for name in "${cases[@]}"; do
    name=${name##*/}
    c=$GOLDEN/$name
    [ -f "$c/cmd" ] || { echo "capture-goldens: no case $name" >&2; fail=1; continue; }
    if ! golden_run_case "$c" "$REPART" "$work/$name.1" || ! golden_run_case "$c" "$REPART" "$work/$name.2"; then
        echo "FAIL $name (harness error)" >&2; fail=1; continue
    fi
    if ! diff -r "$work/$name.1" "$work/$name.2" > "$work/$name.diff"; then
        echo "UNSTABLE $name: two oracle runs differ:" >&2
        sed 's/^/    /' "$work/$name.diff" >&2
        fail=1; continue
    fi
    n=$((n + 1))
    if [ "$CHECK" = 1 ]; then
        # Files listed in the case's `ignore` are not compared (as in tests/golden.rs).
        rm -rf -- "$work/$name.exp"; cp -r -- "$c/expected" "$work/$name.exp"
        if [ -f "$c/ignore" ]; then
            while read -r f _; do
                case $f in ''|'#'*) continue ;; esac
                rm -f -- "$work/$name.exp/$f" "$work/$name.1/$f"
            done < "$c/ignore"
        fi
        if diff -r "$work/$name.exp" "$work/$name.1" > "$work/$name.diff"; then
            echo "ok   $name (status $(cat "$work/$name.1/status"))"
        else
            echo "DIFF $name:"; sed 's/^/    /' "$work/$name.diff"; fail=1
        fi
    else
        rm -rf -- "$c/expected"
        cp -r -- "$work/$name.1" "$c/expected"
        echo "captured $name (status $(cat "$c/expected/status"))"
    fi
done
echo "capture-goldens: $n case(s) $([ "$CHECK" = 1 ] && echo checked || echo captured), $([ $fail = 0 ] && echo 'no problems' || echo 'SOME FAILED')" >&2
exit $fail
