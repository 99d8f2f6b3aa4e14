#!/usr/bin/env bash
# setup-reference-repart.sh -- install an up-to-date upstream systemd-repart
# (default: Debian trixie, systemd 257) as a *reference oracle* on a Debian 12
# (bookworm) host WITHOUT touching the host's own systemd (252).
#
# This is the repart project's own copy (tools/oracle/), adapted from the team's
# shared oracle scripts so that the project works stand-alone. The golden tests
# (testdata/golden, tools/capture-goldens.sh) and tests/differential.rs use it
# through ./reference-repart. Needs root and network access to the Debian mirror
# only; on a fresh Debian 12 it installs debootstrap (and the archive keyring)
# with apt-get if they are missing.
#
# Idempotent: re-running with the same settings is a no-op (prints the version).
#
# Usage:  setup-reference-repart.sh [--force] [--check]
#   --force   rebuild the oracle even if it is already installed
#   --check   only report whether the oracle is installed (exit 0/1)
#
# Environment (all optional):
#   REPART_ORACLE_CACHE    cache dir                 (default /var/cache/repart-oracle)
#   REPART_ORACLE_SUITE    Debian suite              (default trixie; also: testing, sid/unstable;
#                          bookworm-backports = systemd 254, ldso mode only)
#   REPART_ORACLE_MIRROR   Debian mirror             (default http://deb.debian.org/debian)
#   REPART_ORACLE_MODE     chroot | ldso | both      (default chroot)
#        chroot: debootstrap --variant=minbase tree in $CACHE/$SUITE (~300 MB, ~80 s),
#                run via chroot in a private mount namespace (most faithful).
#        ldso:   only the needed .debs unpacked into $CACHE/$SUITE-ldso (~150 MB, ~10 s),
#                run through the suite's own ld.so --library-path, no chroot.
#   REPART_ORACLE_PACKAGES comma separated package list (default below; cryptsetup and
#                          the tss2 libraries are there for Encrypt=/Verity= with TPM2)
#
# The wrapper ./reference-repart (next to this script) uses the same variables.
set -euo pipefail

CACHE=${REPART_ORACLE_CACHE:-/var/cache/repart-oracle}
SUITE=${REPART_ORACLE_SUITE:-trixie}
MIRROR=${REPART_ORACLE_MIRROR:-http://deb.debian.org/debian}
MODE=${REPART_ORACLE_MODE:-chroot}
PACKAGES=${REPART_ORACLE_PACKAGES:-systemd,systemd-repart,e2fsprogs,dosfstools,mtools,squashfs-tools,erofs-utils,btrfs-progs,xfsprogs,util-linux,fdisk,libcryptsetup12,cryptsetup-bin,systemd-cryptsetup,libtss2-esys-3.0.2-0t64,libtss2-mu-4.0.1-0t64,libtss2-rc0t64,libtss2-tctildr0t64,libtss2-tcti-device0t64,libtss2-tcti-swtpm0t64}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

FORCE=0 CHECK=0
for a in "$@"; do
    case $a in
        --force) FORCE=1 ;;
        --check) CHECK=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "setup-reference-repart: unknown argument '$a'" >&2; exit 2 ;;
    esac
done

log() { printf 'setup-reference-repart: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"
case $MODE in chroot|ldso|both) ;; *) die "REPART_ORACLE_MODE must be chroot, ldso or both" ;; esac

# A stamp that changes whenever the requested configuration changes.
STAMP="suite=$SUITE mirror=$MIRROR packages=$PACKAGES"

# Refuse to delete anything that still has mounts below it (a leaked bind mount
# of /dev or /tmp under the tree would otherwise be wiped by rm -rf).
assert_no_mounts_below() {
    local d
    d=$(realpath -m -- "$1")
    if awk -v d="$d" '{ if ($5 == d || index($5, d "/") == 1) { found=1 } } END { exit !found }' /proc/self/mountinfo; then
        die "there are mounts below $d; unmount them first (see /proc/self/mountinfo)"
    fi
}

safe_rm() {
    [ -e "$1" ] || return 0
    assert_no_mounts_below "$1"
    rm -rf --one-file-system -- "$1"
}

# Install host packages with apt-get; on a fresh machine the package lists may be
# missing or stale, so run 'apt-get update' once and retry if the first try fails.
host_apt_install() {
    command -v apt-get >/dev/null || die "apt-get not found; install $* by hand"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-upgrade --no-install-recommends "$@" >&2; then
        log "apt-get install $* failed; running apt-get update and retrying"
        apt-get update -q >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-upgrade --no-install-recommends "$@" >&2
    fi
}

ensure_keyring() {
    [ -s "$KEYRING" ] && return 0
    log "installing debian-archive-keyring on the host ($KEYRING is missing)"
    host_apt_install debian-archive-keyring
    [ -s "$KEYRING" ] || die "$KEYRING still missing"
}

# ---------------------------------------------------------------- chroot mode
setup_chroot() {
    local root=$CACHE/$SUITE marker=$CACHE/$SUITE/.repart-oracle-complete
    if [ "$FORCE" = 0 ] && [ -f "$marker" ] && [ "$(head -n1 "$marker")" = "$STAMP" ]; then
        log "chroot oracle already installed in $root ($(chroot "$root" systemd-repart --version | head -n1))"
        return 0
    fi
    [ "$CHECK" = 1 ] && { log "chroot oracle NOT installed in $root"; return 1; }
    case $SUITE in *-backports) die "chroot mode does not support $SUITE; use REPART_ORACLE_MODE=ldso" ;; esac

    if ! command -v debootstrap >/dev/null; then
        log "installing debootstrap on the host (only new package, nothing upgraded)"
        host_apt_install debootstrap
    fi
    # debootstrap needs a script for the suite; 'forky' etc. fall back to sid's script.
    local script=""
    [ -e "/usr/share/debootstrap/scripts/$SUITE" ] || script=/usr/share/debootstrap/scripts/sid

    ensure_keyring
    local tmp=$root.partial t0
    safe_rm "$tmp"
    mkdir -p "$CACHE"
    t0=$(date +%s)
    log "debootstrap --variant=minbase $SUITE -> $tmp (takes ~1-2 min)"
    debootstrap --variant=minbase --keyring="$KEYRING" --include="$PACKAGES" \
        "$SUITE" "$tmp" "$MIRROR" ${script:+"$script"} >&2
    # Free the .deb cache (~60 MB); keep apt lists so 'chroot ... apt-get' still works.
    chroot "$tmp" apt-get clean >/dev/null 2>&1 || true
    # Make sure the mount points the wrapper needs exist.
    mkdir -p "$tmp/dev" "$tmp/proc" "$tmp/sys" "$tmp/run" "$tmp/tmp" "$tmp/var/tmp"
    # Record versions.
    {
        echo "$STAMP"
        echo "installed=$(date -u +%FT%TZ) seconds=$(( $(date +%s) - t0 ))"
        chroot "$tmp" systemd-repart --version | head -n1
        chroot "$tmp" dpkg-query -W -f '${Package} ${Version}\n' \
            systemd systemd-repart libsystemd-shared libfdisk1 libblkid1 libc6 \
            e2fsprogs dosfstools mtools squashfs-tools erofs-utils btrfs-progs xfsprogs util-linux fdisk 2>/dev/null || true
    } > "$tmp/.repart-oracle-complete.new"

    safe_rm "$root"
    mv "$tmp/.repart-oracle-complete.new" "$tmp/.repart-oracle-complete"
    mv "$tmp" "$root"
    log "chroot oracle installed in $root: $(sed -n 3p "$root/.repart-oracle-complete") ($(du -sh "$root" | cut -f1), $(( $(date +%s) - t0 )) s)"
}

# ------------------------------------------------------------------ ldso mode
setup_ldso() {
    local top=$CACHE/$SUITE-ldso marker=$CACHE/$SUITE-ldso/.repart-oracle-complete
    if [ "$FORCE" = 0 ] && [ -f "$marker" ] && [ "$(head -n1 "$marker")" = "$STAMP" ]; then
        log "ldso oracle already installed in $top ($(sed -n 3p "$marker"))"
        return 0
    fi
    [ "$CHECK" = 1 ] && { log "ldso oracle NOT installed in $top"; return 1; }

    ensure_keyring
    command -v dpkg-deb >/dev/null || die "dpkg-deb not found (ldso mode needs a Debian host)"
    local tmp=$top.partial t0
    t0=$(date +%s)
    safe_rm "$tmp"
    mkdir -p "$tmp"/{apt/etc/apt/preferences.d,apt/etc/apt/apt.conf.d,apt/etc/apt/sources.list.d,apt/lists/partial,apt/archives/partial,apt/cache,root,bin}
    : > "$tmp/apt/status"
    # A private apt configuration: the host's apt sources/state are not touched.
    local base=$SUITE default_release=""
    case $SUITE in *-backports) base=${SUITE%-backports}; default_release=$SUITE ;; esac
    {
        echo "deb [signed-by=$KEYRING] $MIRROR $base main"
        case $base in
            sid|unstable|testing|experimental|rc-buggy) ;;
            *) echo "deb [signed-by=$KEYRING] $MIRROR $base-updates main"
               echo "deb [signed-by=$KEYRING] ${MIRROR%/debian}/debian-security $base-security main" ;;
        esac
        [ "$base" = "$SUITE" ] || echo "deb [signed-by=$KEYRING] $MIRROR $SUITE main"
    } > "$tmp/apt/etc/apt/sources.list"
    cat > "$tmp/apt/apt.conf" <<EOF
Dir::State "$tmp/apt";
Dir::State::Lists "$tmp/apt/lists";
Dir::State::status "$tmp/apt/status";
Dir::Cache "$tmp/apt/cache";
Dir::Cache::archives "$tmp/apt/archives";
Dir::Etc "$tmp/apt/etc/apt";
APT::Architecture "amd64";
APT::Install-Recommends "false";
Acquire::Languages "none";
// sid/testing Release files on snapshot mirrors may carry an expired Valid-Until
Acquire::Check-Valid-Until "false";
EOF
    # e.g. bookworm-backports: prefer the backports versions (systemd 254 there)
    [ -z "$default_release" ] || echo "APT::Default-Release \"$default_release\";" >> "$tmp/apt/apt.conf"
    export APT_CONFIG=$tmp/apt/apt.conf
    log "apt-get update (private config for $SUITE)"
    apt-get update -q >&2
    # Drop packages the suite does not have (e.g. systemd-repart is part of
    # 'systemd' before v256, so bookworm(-backports) has no such package).
    local pkg pkgs=()
    for pkg in ${PACKAGES//,/ }; do
        if apt-cache show "$pkg" >/dev/null 2>&1; then pkgs+=("$pkg"); else log "no package $pkg in $SUITE, skipping"; fi
    done
    log "downloading ${pkgs[*]} and dependencies"
    DEBIAN_FRONTEND=noninteractive apt-get install -q -y --download-only "${pkgs[@]}" >&2
    unset APT_CONFIG
    local deb versions=""
    for deb in "$tmp"/apt/archives/*.deb; do
        dpkg-deb -x "$deb" "$tmp/root"
        versions+="$(dpkg-deb -W --showformat='${Package} ${Version}' "$deb")"$'\n'
    done
    # Drop the .debs and apt's lists/caches (~140 MB); the private config stays for reference.
    rm -rf "$tmp"/apt/archives/*.deb "$tmp"/apt/lists "$tmp"/apt/cache

    # Merged-/usr suites (trixie+) ship everything below /usr; bookworm's packages
    # still use /lib, /bin, /sbin -- handle both layouts.
    local ldso="" d libpath="" flibpath="" f n t i l
    for d in usr/lib/x86_64-linux-gnu lib/x86_64-linux-gnu lib64; do
        [ -x "$tmp/root/$d/ld-linux-x86-64.so.2" ] && { ldso=$d/ld-linux-x86-64.so.2; break; }
    done
    [ -n "$ldso" ] || die "no ld.so in the unpacked tree"
    for d in usr/lib/x86_64-linux-gnu lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu/systemd usr/lib/systemd lib/systemd; do
        [ -d "$tmp/root/$d" ] || continue
        libpath+="${libpath:+:}$tmp/root/$d"; flibpath+="${flibpath:+:}$top/root/$d"
    done
    # One wrapper per ELF executable, so that tools exec'd by repart (mkfs.*, mcopy,
    # mksquashfs, ...) also run with the suite's libraries and config files
    # (MKE2FS_CONFIG matters: trixie's mke2fs.conf enables orphan_file and
    # metadata_csum_seed, bookworm's does not). Paths point to the final location.
    for f in "$tmp"/root/usr/bin/* "$tmp"/root/usr/sbin/* "$tmp"/root/bin/* "$tmp"/root/sbin/*; do
        [ -e "$f" ] || [ -L "$f" ] || continue
        n=${f##*/}; t=$f
        [ -e "$tmp/bin/$n" ] && continue        # /usr/bin wins over /bin
        # resolve symlinks *inside* the unpacked tree (absolute links are relative to it)
        for i in 1 2 3 4 5 6 7 8; do
            [ -L "$t" ] || break
            l=$(readlink -- "$t")
            case $l in /*) t=$tmp/root$l ;; *) t=$(dirname -- "$t")/$l ;; esac
        done
        [ -f "$t" ] || continue
        head -c 4 -- "$t" 2>/dev/null | grep -q 'ELF' || continue
        t=$(realpath -s -- "$t"); t=$top/root${t#"$tmp"/root}
        printf '#!/bin/sh\nMKE2FS_CONFIG=${MKE2FS_CONFIG:-%s} MTOOLSRC=${MTOOLSRC:-%s}\nexport MKE2FS_CONFIG MTOOLSRC\nexec %s --library-path %s --argv0 "$0" %s "$@"\n' \
            "$top/root/etc/mke2fs.conf" "$top/root/etc/mtools.conf" \
            "$top/root/$ldso" "$flibpath" "$t" > "$tmp/bin/$n"
        chmod 0755 "$tmp/bin/$n"
    done
    [ -e "$tmp/bin/systemd-repart" ] || die "no systemd-repart in the unpacked tree"
    {
        echo "$STAMP"
        echo "installed=$(date -u +%FT%TZ) seconds=$(( $(date +%s) - t0 ))"
        for f in usr/bin/systemd-repart bin/systemd-repart; do
            [ -e "$tmp/root/$f" ] && { "$tmp/root/$ldso" --library-path "$libpath" "$tmp/root/$f" --version | head -n1; break; }
        done
        printf '%s' "$versions" | sort
    } > "$tmp/.repart-oracle-complete.new"
    safe_rm "$top"
    mv "$tmp/.repart-oracle-complete.new" "$tmp/.repart-oracle-complete"
    mv "$tmp" "$top"
    # The wrappers were written with the final path; verify they work now.
    "$top/bin/systemd-repart" --version >/dev/null || die "ldso oracle does not run"
    log "ldso oracle installed in $top: $(sed -n 3p "$marker") ($(du -sh "$top" | cut -f1), $(( $(date +%s) - t0 )) s)"
}

rc=0
case $MODE in
    chroot) setup_chroot || rc=$? ;;
    ldso)   setup_ldso || rc=$? ;;
    both)   setup_chroot || rc=$?; setup_ldso || rc=$? ;;
esac
exit $rc
