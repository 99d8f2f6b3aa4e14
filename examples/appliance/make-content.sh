#!/usr/bin/env bash
# examples/appliance/make-content.sh DIR -- generate the example's inputs into DIR:
# esp/ (a fake boot loader and kernel image) and store/ (four fake store paths with
# binaries, text and symlinks). Deterministic: same bytes and mtimes on every run.
set -euo pipefail
dir=$1
rm -rf -- "$dir"
mkdir -p -- "$dir/esp" "$dir/store"
printf 'MZ fake systemd-boot %06d\n' $(seq 1 4000) > "$dir/esp/BOOTX64.EFI"
printf 'MZ fake unified kernel image %06d\n' $(seq 1 60000) > "$dir/esp/appliance.efi"
n=0
for path in 0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d-glibc-2.40 1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e-bash-5.2 \
            2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f-coreutils-9.5 3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a-appliance-system; do
    n=$((n + 1))
    p=$dir/store/$path
    mkdir -p "$p/bin" "$p/lib" "$p/share/doc"
    # Incompressible "binaries" and compressible text, from a fixed key.
    head -c $((n * 300 * 1024)) /dev/zero | openssl enc -aes-128-ctr -nosalt -K "$(printf '%032x' $n)" -iv "$(printf '%032x' 0)" > "$p/bin/${path#*-}"
    chmod 0755 "$p/bin/${path#*-}"
    for i in $(seq 1 20); do
        seq 1 200 | sed "s|^|line of file $i in $path: |" > "$p/share/doc/file$i.txt"
    done
    ln -s "../bin/${path#*-}" "$p/lib/link-to-binary"
done
find "$dir" -exec touch -h -d '2024-01-01 00:00:00 UTC' {} +
