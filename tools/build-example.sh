#!/usr/bin/env bash
# tools/build-example.sh [OUTDIR] -- the main job: build the example appliance image
# (examples/appliance: a vfat ESP with boot files and a minimized squashfs "nix-store")
# into OUTDIR/image.raw (default OUTDIR: out), as NixOS's image builder would: image
# mode, no root privileges needed, no loop devices, no mounts.
#
# Reproducible: a second run gives the same sha256.
set -euo pipefail
cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.."
out=${1:-out}

# The mkfs tools: Debian 13's, as upstream 257 is built against them. Debian 12's
# mtools (4.0.32) cannot write FAT file systems with 4096-byte logical sectors, which
# is what systemd-repart 257 (and repart) make for the ESP ("No directory slots").
# The oracle installer unpacks Debian 13's tools without installing them (~15 s).
command -v openssl >/dev/null || { apt-get update -q >&2; DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssl >&2; }
cache=${REPART_ORACLE_CACHE:-/var/cache/repart-oracle}
if [ "$(id -u)" = 0 ]; then
    REPART_ORACLE_MODE=ldso tools/oracle/setup-reference-repart.sh >&2
fi
if [ -x "$cache/trixie-ldso/bin/mcopy" ]; then
    export PATH="$cache/trixie-ldso/bin:$PATH"
else
    echo "build-example.sh: Debian 13's mkfs tools are missing; run as root once to unpack them" >&2
    exit 1
fi

mkdir -p -- "$out"
examples/appliance/make-content.sh "$out/content"
cargo build --release --quiet
rm -f -- "$out/image.raw"     # --empty=create refuses to overwrite
SOURCE_DATE_EPOCH=1704067200 target/release/repart \
    --definitions=examples/appliance/repart.d \
    --copy-source="$out/content" \
    --empty=create --size=auto \
    --seed=e2a40bf9-73f1-4278-9160-49c031e7aedd \
    --dry-run=no \
    "$out/image.raw"
sha256sum "$out/image.raw"
