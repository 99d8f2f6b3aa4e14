# shellcheck shell=bash
# golden-lib.sh -- run one golden case (testdata/golden/<case>/) with a given
# repart binary and write its normalised results to an output directory.
#
# Sourced by tools/capture-goldens.sh (and usable by hand). The Rust runner in
# tests/golden.rs implements exactly the same procedure; if you change one,
# change the other (running the Rust runner with REPART_UNDER_TEST pointing at
# the oracle proves that both agree).
#
# Procedure for a case directory C and a binary R:
#   1. T = a fresh directory $GOLDEN_TMPDIR/repart-golden.XXXXXXXXXX (default
#      /tmp; the name always has the same length so that column widths of
#      tables that show full paths do not depend on it).
#   2. Everything in C except cmd, env, setup, ignore, expected/ and README is copied
#      to T (symlinks are kept as symlinks); T/repart.d is created if missing.
#   3. If C/setup exists it is run as `bash -euo pipefail C/setup` in T with a
#      clean environment: PATH (+/usr/sbin:/sbin), REPART=R, TMP=T (stdout/stderr go to a log; a
#      failure fails the case).
#   4. The command: each line of C/cmd is one argument; {defs} -> T/repart.d,
#      {img} -> T/img.raw, {tmp} -> T. It runs in T with stdin /dev/null and a
#      clean environment: PATH, the REPART_ORACLE_* variables of the caller,
#      and the KEY=VALUE lines of C/env (blank lines and # comments skipped);
#      argv[0] is "systemd-repart" (as installed: glibc's getopt messages start
#      with argv[0]; the oracle runs by that name in its chroot).
#   5. Results: stdout, stderr, status (exit code and a newline), and, if
#      T/img.raw exists afterwards, sfdisk-d = stdout of `sfdisk -d T/img.raw`
#      (host sfdisk, run in T with a clean environment) followed by a line
#      "sfdisk exit status: N" if sfdisk failed. In all of them T is replaced
#      by {tmp} (both the path as created and its canonical form).
#   6. File-system cases (C/fs exists): steps 3-5 run with PATH =
#      $REPART_FS_TOOLS (default /var/cache/repart-oracle/trixie-ldso/bin, the
#      oracle's mkfs tools) first; stderr is filtered through
#      tools/golden-fs-stderr.pl before the {tmp} replacement; and
#      contents = stdout of `tools/golden-fs-contents.sh T` (run in T with PATH
#      and the KEY=VALUE lines of C/env), {tmp} replaced.
#   7. If C/files exists (paths relative to T, one per line, # comments): files =
#      for each path a line "== PATH mode NNNN" (octal permission bits, or
#      "== PATH missing") followed by the file's contents, {tmp} replaced (used
#      for --generate-fstab= output).
#   8. If C/image-sha256 exists (its text is a comment): image-sha256 = the line
#      "SHA256  img.raw" (sha256sum of T/img.raw, "missing" if absent), for cases
#      whose raw bytes matter (signature wipes leave old data in place).

GOLDEN_TMPDIR=${GOLDEN_TMPDIR:-/tmp}
# PATH for all child processes (same rule as tests/common.rs: base_path)
GOLDEN_PATH="$PATH:/usr/sbin:/sbin"
GOLDEN_FS_TOOLS=${REPART_FS_TOOLS:-/var/cache/repart-oracle/trixie-ldso/bin}
GOLDEN_LIB_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)

golden_sfdisk() {
    local s
    for s in /usr/sbin/sfdisk /sbin/sfdisk /usr/bin/sfdisk; do
        if [ -x "$s" ]; then echo "$s"; return 0; fi
    done
    echo "golden: sfdisk not found (apt-get install fdisk)" >&2
    return 1
}

# golden_subst T FILE...: replace T (and its canonical path) with {tmp} in place.
golden_subst() {
    local t=$1 canon f e1 e2
    shift
    canon=$(realpath -- "$t")
    e1=$(printf '%s' "$t" | sed 's/[.[\*^$|]/\\&/g')
    e2=$(printf '%s' "$canon" | sed 's/[.[\*^$|]/\\&/g')
    for f in "$@"; do
        [ -f "$f" ] || continue
        LC_ALL=C sed -i -e "s|$e1|{tmp}|g" -e "s|$e2|{tmp}|g" "$f"
    done
}

# golden_run_case CASEDIR REPART OUTDIR
# Returns 0 if the case could be run (whatever repart's exit status), 1 on a
# harness error (e.g. the setup script failed).
golden_run_case() {
    local c=$1 repart=$2 out=$3 t f name line rc sfdisk path=$GOLDEN_PATH fs=0
    local -a args envv cenv
    sfdisk=$(golden_sfdisk) || return 1
    if [ -f "$c/fs" ]; then fs=1; path=$GOLDEN_FS_TOOLS:$GOLDEN_PATH; fi
    t=$(mktemp -d "$GOLDEN_TMPDIR/repart-golden.XXXXXXXXXX")
    for f in "$c"/* "$c"/.[!.]*; do
        [ -e "$f" ] || [ -L "$f" ] || continue
        name=${f##*/}
        case $name in cmd|env|setup|expected|README|ignore|fs|files|image-sha256) continue ;; esac
        cp -a -- "$f" "$t/"
    done
    mkdir -p "$t/repart.d"
    mkdir -p "$out"
    rm -f "$out/stdout" "$out/stderr" "$out/status" "$out/sfdisk-d" "$out/contents" "$out/files" "$out/image-sha256"

    if [ -f "$c/setup" ]; then
        if ! (cd "$t" && env -i PATH="$path" REPART="$repart" TMP="$t" \
                bash -euo pipefail "$c/setup") > "$t/.setup.log" 2>&1 < /dev/null; then
            echo "golden: setup of $(basename "$c") failed:" >&2
            sed 's/^/    /' "$t/.setup.log" >&2
            rm -rf --one-file-system -- "$t"
            return 1
        fi
        rm -f "$t/.setup.log"
    fi

    args=()
    while IFS= read -r line || [ -n "$line" ]; do
        line=${line//\{defs\}/$t/repart.d}
        line=${line//\{img\}/$t/img.raw}
        line=${line//\{tmp\}/$t}
        args+=("$line")
    done < "$c/cmd"
    envv=(PATH="$path")
    cenv=(PATH="$path")
    while IFS= read -r line; do
        case $line in REPART_ORACLE_*=*) envv+=("$line") ;; esac
    done < <(env)
    if [ -f "$c/env" ]; then
        while IFS= read -r line || [ -n "$line" ]; do
            case $line in ''|'#'*) continue ;; esac
            envv+=("$line"); cenv+=("$line")
        done < "$c/env"
    fi

    (cd "$t" && env -i "${envv[@]}" /bin/bash -c 'exec -a systemd-repart "$0" "$@"' "$repart" "${args[@]}") \
        > "$out/stdout" 2> "$out/stderr" < /dev/null
    rc=$?
    echo "$rc" > "$out/status"
    if [ $fs = 1 ]; then
        perl "$GOLDEN_LIB_DIR/golden-fs-stderr.pl" < "$out/stderr" > "$out/stderr.n" && mv "$out/stderr.n" "$out/stderr"
    fi
    if [ -e "$t/img.raw" ]; then
        (cd "$t" && env -i PATH="$GOLDEN_PATH" "$sfdisk" -d "$t/img.raw") > "$out/sfdisk-d" 2>/dev/null
        rc=$?
        [ "$rc" = 0 ] || echo "sfdisk exit status: $rc" >> "$out/sfdisk-d"
    fi
    if [ $fs = 1 ]; then
        if ! (cd "$t" && env -i "${cenv[@]}" bash "$GOLDEN_LIB_DIR/golden-fs-contents.sh" "$t") > "$out/contents" < /dev/null; then
            echo "golden: golden-fs-contents.sh failed for $(basename "$c")" >&2
            rm -rf --one-file-system -- "$t"
            return 1
        fi
    fi
    if [ -f "$c/files" ]; then
        while IFS= read -r line || [ -n "$line" ]; do
            case $line in ''|'#'*) continue ;; esac
            if [ -f "$t/$line" ]; then
                printf '== %s mode %04o\n' "$line" "0$(stat -c %a -- "$t/$line")"
                cat -- "$t/$line"
            else
                printf '== %s missing\n' "$line"
            fi
        done < "$c/files" > "$out/files"
    fi
    if [ -f "$c/image-sha256" ]; then
        if [ -f "$t/img.raw" ]; then
            printf '%s  img.raw\n' "$(sha256sum < "$t/img.raw" | cut -d' ' -f1)"
        else
            echo missing
        fi > "$out/image-sha256"
    fi
    golden_subst "$t" "$out/stdout" "$out/stderr" "$out/sfdisk-d" "$out/contents" "$out/files"
    rm -rf --one-file-system -- "$t"
    return 0
}
