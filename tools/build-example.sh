#!/usr/bin/env bash
# tools/build-example.sh [OUTDIR] -- build the example appliance image from
# examples/appliance/repart.d into OUTDIR/image.raw (default OUTDIR: out).
#
# PLACEHOLDER: the lead will fill in the real example (definitions, seed,
# content sources). It runs the "main job" of repart: image mode, as NixOS's
# image builder does.
set -euo pipefail
cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.."
out=${1:-out}
mkdir -p -- "$out"
rm -f -- "$out/image.raw"     # --empty=create refuses to overwrite
exec cargo run --release -- \
    --definitions=examples/appliance/repart.d \
    --empty=create --size=auto \
    --seed=e2a40bf9-73f1-4278-9160-49c031e7aedd \
    --dry-run=no --offline=yes \
    "$out/image.raw"
