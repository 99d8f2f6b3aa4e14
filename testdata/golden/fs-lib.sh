# shellcheck shell=bash
# fs-lib.sh -- helpers for the setup scripts of the file-system golden cases
# (testdata/golden/fs-*): `. "$(dirname "$0")/../fs-lib.sh"` in a case's setup.
# Everything is deterministic (contents, modes, mtimes), so that the oracle and
# our binary see the same inputs in every run.

SEED=e2a40bf9-73f1-4278-9160-49c031e7aedd
MTIME=@1704067200   # 2024-01-01 00:00:00 UTC (SOURCE_DATE_EPOCH in cases is 1700000000, another day)

# fs_make_tree DIR: the standard source tree
#   DIR/esp/{BOOTX64.EFI,loader.conf}   DIR/kernel.efi
#   DIR/nix/<hash>-pkgN/{bin/progN (0755), share/doc/README, prog-link -> bin/progN}, N=1..3
#   DIR/rootfs/{etc/{os-release,hostname,secret (0600),skip/file},usr/bin/tool (0755),
#               usr/lib/lib.so -> libx.so.1, usr/lib/libx.so.1, var/cache/junk/{a,b},
#               var/log/ (empty), tmp/scratch, home/user/.profile, srv/ (empty, 0700)}
fs_make_tree() {
    local d=$1 i h
    mkdir -p "$d/esp" "$d/nix" "$d/rootfs"
    for i in $(seq 1 300); do printf 'fake-efi-binary-%04d\n' "$i"; done > "$d/esp/BOOTX64.EFI"
    printf 'timeout 3\ndefault nixos-*\n' > "$d/esp/loader.conf"
    for i in $(seq 1 100); do printf 'kernel %d\n' "$i"; done > "$d/kernel.efi"
    for i in 1 2 3; do
        h=$(printf '%032d' "$i" | tr 0 "$((i + 3))")
        mkdir -p "$d/nix/$h-pkg$i/bin" "$d/nix/$h-pkg$i/share/doc"
        for x in $(seq 1 $((i * 700))); do echo "pkg$i line $x $((x * x * i))"; done > "$d/nix/$h-pkg$i/bin/prog$i"
        chmod 0755 "$d/nix/$h-pkg$i/bin/prog$i"
        printf 'package %d\n' "$i" > "$d/nix/$h-pkg$i/share/doc/README"
        ln -s "bin/prog$i" "$d/nix/$h-pkg$i/prog-link"
    done
    mkdir -p "$d/rootfs/etc/skip" "$d/rootfs/usr/bin" "$d/rootfs/usr/lib" "$d/rootfs/var/cache/junk" \
        "$d/rootfs/var/log" "$d/rootfs/tmp" "$d/rootfs/home/user" "$d/rootfs/srv"
    printf 'ID=test\nVERSION_ID=1\n' > "$d/rootfs/etc/os-release"
    echo appliance > "$d/rootfs/etc/hostname"
    echo secret > "$d/rootfs/etc/secret"; chmod 0600 "$d/rootfs/etc/secret"
    echo skipped > "$d/rootfs/etc/skip/file"
    printf '#!/bin/sh\necho tool\n' > "$d/rootfs/usr/bin/tool"; chmod 0755 "$d/rootfs/usr/bin/tool"
    echo lib > "$d/rootfs/usr/lib/libx.so.1"; ln -s libx.so.1 "$d/rootfs/usr/lib/lib.so"
    echo a > "$d/rootfs/var/cache/junk/a"; echo b > "$d/rootfs/var/cache/junk/b"
    echo scratch > "$d/rootfs/tmp/scratch"
    echo 'PS1=$ ' > "$d/rootfs/home/user/.profile"
    chmod 0700 "$d/rootfs/srv"
    fs_fix_times "$d"
}

# fs_fix_times DIR: fixed mtimes (and no group/other write bits) for a tree
fs_fix_times() {
    chmod -R go-w "$1"
    find "$1" -depth -exec touch -h -d "$MTIME" {} +
}

# fs_subst FILE|DIR...: replace @TMP@ by the case's temp dir in definition files
fs_subst() {
    local f
    while IFS= read -r -d '' f; do
        sed -i "s|@TMP@|$TMP|g" "$f"
    done < <(find "$@" -type f -print0)
}
