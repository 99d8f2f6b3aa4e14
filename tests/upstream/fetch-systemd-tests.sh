#!/usr/bin/env bash
# tests/upstream/fetch-systemd-tests.sh -- fetch upstream systemd's own repart test
# (test/units/TEST-58-REPART.sh with util.sh and test-control.sh) at test time.
#
# The files are upstream's (LGPL-2.1-or-later) and are never committed: they come
# from Debian trixie's systemd source package, pinned to the version of the oracle
# (257.13-1~deb13u1), downloaded with `apt-get source --download-only` through a
# PRIVATE apt configuration (its own sources.list with deb-src lines, lists and
# state under the cache dir; the host's apt sources and state are not touched, as
# in tools/oracle/setup-reference-repart.sh). The .dsc and the upstream tarball are
# checked against the sha256 sums below before anything is extracted.
#
# Usage: fetch-systemd-tests.sh   -> prints the directory holding the three files
# Idempotent: a cached, verified tarball is not downloaded again.
#
# Environment: REPART_UPSTREAM_CACHE (default /var/cache/repart-upstream),
#              REPART_ORACLE_MIRROR  (default http://deb.debian.org/debian)
set -euo pipefail

CACHE=${REPART_UPSTREAM_CACHE:-/var/cache/repart-upstream}
MIRROR=${REPART_ORACLE_MIRROR:-http://deb.debian.org/debian}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
SRC_PACKAGE=systemd
SRC_VERSION=257.13-1~deb13u1
UPSTREAM_VERSION=257.13
# sha256 of the files of systemd 257.13-1~deb13u1 (Debian trixie / trixie-security)
declare -A SHA256=(
    [systemd_257.13-1~deb13u1.dsc]=1b3405d671a82d1e20c9d99f52d4336aafe8543b28d04e91b7f1f586d3a667c7
    [systemd_257.13.orig.tar.gz]=1eb7d5f9ff8a426ff880a3cded9ce819613ba8003ac5ddde9eca162f14ddabe7
)
FILES=(test/units/TEST-58-REPART.sh test/units/util.sh test/units/test-control.sh)

log() { printf 'fetch-systemd-tests: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

verified() {  # all pinned files present with the right checksum
    local f
    for f in "${!SHA256[@]}"; do
        [ -f "$CACHE/src/$f" ] || return 1
        [ "$(sha256sum < "$CACHE/src/$f" | cut -d' ' -f1)" = "${SHA256[$f]}" ] || return 1
    done
}

download() {
    local apt=$CACHE/apt
    [ -s "$KEYRING" ] || die "$KEYRING missing (apt-get install debian-archive-keyring)"
    rm -rf "$apt" && mkdir -p "$apt"/{etc/apt/apt.conf.d,etc/apt/preferences.d,etc/apt/sources.list.d,lists/partial,cache} "$CACHE/src"
    : > "$apt/status"
    cat > "$apt/etc/apt/sources.list" <<EOF
deb-src [signed-by=$KEYRING] $MIRROR trixie main
deb-src [signed-by=$KEYRING] $MIRROR trixie-updates main
deb-src [signed-by=$KEYRING] ${MIRROR%/debian}/debian-security trixie-security main
EOF
    cat > "$apt/apt.conf" <<EOF
Dir::State "$apt";
Dir::State::Lists "$apt/lists";
Dir::State::status "$apt/status";
Dir::Cache "$apt/cache";
Dir::Etc "$apt/etc/apt";
Acquire::Languages "none";
APT::Sandbox::User "root";
EOF
    log "apt-get update (private deb-src configuration for trixie)"
    APT_CONFIG=$apt/apt.conf apt-get update -q >&2
    log "apt-get source --download-only $SRC_PACKAGE=$SRC_VERSION"
    (cd "$CACHE/src" && APT_CONFIG=$apt/apt.conf apt-get source -q --download-only "$SRC_PACKAGE=$SRC_VERSION" >&2) \
        || die "cannot download the source package $SRC_PACKAGE $SRC_VERSION (no longer on the mirror?)"
    rm -rf "$apt/lists" "$apt/cache"
}

if ! verified; then
    download
    verified || die "checksum mismatch for the $SRC_PACKAGE $SRC_VERSION source package in $CACHE/src (see the pinned sums in $0)"
fi

OUT=$CACHE/systemd-$UPSTREAM_VERSION
if [ ! -f "$OUT/.complete" ]; then
    rm -rf "$OUT.partial" && mkdir -p "$OUT.partial"
    tar -xzf "$CACHE/src/systemd_$UPSTREAM_VERSION.orig.tar.gz" -C "$OUT.partial" --strip-components=1 \
        "${FILES[@]/#/systemd-$UPSTREAM_VERSION/}"
    echo "$SRC_PACKAGE $SRC_VERSION ${SHA256[systemd_257.13.orig.tar.gz]}" > "$OUT.partial/.complete"
    rm -rf "$OUT" && mv "$OUT.partial" "$OUT"
fi
echo "$OUT/test/units"
