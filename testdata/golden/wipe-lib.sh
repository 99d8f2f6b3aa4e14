# shellcheck shell=bash
# wipe-lib.sh -- sourced by the wipe-* cases' setup: builds images whose unused bytes
# are 0xaa and that hold stale signatures, so that the raw image (image-sha256) shows
# exactly which bytes a signature wipe touches. Everything is deterministic (fixed
# UUIDs, E2FSPROGS_FAKE_TIME) because the oracle is captured twice.

MIB=$((1024 * 1024))

# wipe_fill FILE MiB: a file of MiB mebibytes of 0xaa.
wipe_fill() {
    head -c "$(($2 * MIB))" /dev/zero | LC_ALL=C tr '\0' '\252' > "$1"
}

# wipe_put IMAGE SECTOR PIECE: PIECE's bytes written into IMAGE at 512-byte SECTOR.
wipe_put() {
    dd if="$3" of="$1" bs=512 seek="$2" conv=notrunc status=none
}

# Stale pieces, each on a 0xaa background (the tools write only their own metadata).
wipe_ext4() {
    wipe_fill "$1" "$2"
    E2FSPROGS_FAKE_TIME=1700000000 mkfs.ext4 -q -F -b 1024 -L old-ext4 \
        -U 0e0e0e0e-1111-4222-8333-444444444444 \
        -E hash_seed=0e0e0e0e-5555-4666-8777-888888888888,nodiscard,lazy_itable_init=1 \
        "$1" > /dev/null
}
wipe_swap() {
    wipe_fill "$1" "$2"
    mkswap -q -L old-swap -U 5a5a5a5a-1111-4222-8333-444444444444 "$1" > /dev/null
}
wipe_gpt() {
    wipe_fill "$1" "$2"
    printf 'label: gpt\nlabel-id: 6a6a6a6a-1111-4222-8333-444444444444\nstart=2048, size=4096, type=L, uuid=6b6b6b6b-1111-4222-8333-444444444444\n' \
        | sfdisk -q "$1" > /dev/null
}
wipe_mbr() {
    wipe_fill "$1" "$2"
    printf 'label: dos\nlabel-id: 0x7a7a7a7a\nstart=2048, size=4096, type=83\n' | sfdisk -q "$1" > /dev/null
}
