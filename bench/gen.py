#!/usr/bin/env python3
"""Deterministic input generator for bench/run.sh.

Usage: gen.py WORKDIR SCALE

Writes WORKDIR/src/... (source trees) and WORKDIR/defs/... (repart.d sets).
SCALE is 1.0 for the full benchmark and smaller for QUICK=1 (file counts and
byte totals are multiplied by it). Everything is derived from fixed seeds:
incompressible bytes come from `openssl enc -aes-128-ctr` with a fixed key and
IV over /dev/zero (a keystream), compressible bytes are repeated text. All
mtimes (files, dirs, symlinks) are set to EPOCH. Running it twice produces
the same trees byte for byte.
"""
import os
import subprocess
import sys

EPOCH = 1700000000  # 2023-11-14T22:13:20Z, also used as SOURCE_DATE_EPOCH
SEED = "9a3c1f52-5d0e-4f1e-8c39-2b7d8e4f6a10"


class Lcg:
    """Tiny deterministic PRNG (64-bit LCG), independent of Python's random."""

    def __init__(self, seed):
        self.s = seed & 0xFFFFFFFFFFFFFFFF

    def next(self):
        self.s = (self.s * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        return self.s >> 33

    def below(self, n):
        return self.next() % n


class Keystream:
    """Incompressible bytes: AES-128-CTR keystream produced by openssl."""

    def __init__(self, key_hex, iv_hex):
        self.p = subprocess.Popen(
            ["openssl", "enc", "-aes-128-ctr", "-K", key_hex, "-iv", iv_hex,
             "-nosalt", "-in", "/dev/zero"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def read(self, n):
        out = bytearray()
        while len(out) < n:
            b = self.p.stdout.read(n - len(out))
            if not b:
                raise RuntimeError("openssl keystream ended")
            out += b
        return bytes(out)

    def close(self):
        self.p.kill()
        self.p.wait()


WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod "
         "tempor incididunt ut labore et dolore magna aliqua").split()


def text_bytes(tag, n):
    """Compressible text: a few hundred distinct lines, repeated."""
    line_no = 0
    parts = []
    total = 0
    while total < n:
        w = WORDS[line_no % len(WORDS)]
        line = f"{tag} {line_no % 97:03d} {w} {WORDS[(line_no * 7) % len(WORDS)]} = {line_no % 13}\n"
        parts.append(line)
        total += len(line)
        line_no += 1
    return "".join(parts).encode()[:n]


def set_mtimes(root):
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames + dirnames:
            p = os.path.join(dirpath, name)
            os.utime(p, (EPOCH, EPOCH), follow_symlinks=False)
    os.utime(root, (EPOCH, EPOCH))


def gen_tree(root, nfiles, total_bytes, seed, frac_random, ks, fanout=40,
             big_every=97, prefix="pkg"):
    """Create `nfiles` files with about `total_bytes` bytes under root.

    Files are grouped into package dirs <hash>-<prefix>-N/{bin,lib,share/doc}
    of `fanout` files each. Every `big_every`-th file is large (it carries a
    share of the bytes); the rest are 0.5-8 KiB. A fraction `frac_random` of
    the bytes is incompressible (files under lib/ and bin/).
    """
    rng = Lcg(seed)
    nfiles = max(nfiles, 4)
    nbig = max(1, nfiles // big_every)
    small_sizes = [512 + rng.below(7680) for _ in range(nfiles - nbig)]
    small_total = sum(small_sizes)
    big_total = max(total_bytes - small_total, nbig * 65536)
    big_sizes = []
    for i in range(nbig):
        # uneven but deterministic: between 0.25x and 1.75x the mean
        big_sizes.append(big_total // nbig * (25 + rng.below(150)) // 100)
    sizes = []
    bi = 0
    si = 0
    for i in range(nfiles):
        if i % big_every == big_every - 1 and bi < nbig:
            sizes.append(big_sizes[bi]); bi += 1
        elif si < len(small_sizes):
            sizes.append(small_sizes[si]); si += 1
        else:
            sizes.append(big_sizes[bi]); bi += 1
    os.makedirs(root, exist_ok=True)
    written = 0
    rnd_written = 0
    for i, size in enumerate(sizes):
        pkg = i // fanout
        h = f"{(pkg * 2654435761 + seed) & 0xFFFFFFFF:08x}{pkg:04x}"
        pdir = os.path.join(root, f"{h}-{prefix}-{pkg}")
        # Decide incompressible vs compressible by running byte fraction.
        want_random = rnd_written < frac_random * (written + size)
        sub = ("lib" if i % 3 else "bin") if want_random else ("share/doc" if i % 4 == 0 else "share")
        d = os.path.join(pdir, sub)
        os.makedirs(d, exist_ok=True)
        name = f"f{i:06d}" + (".so" if want_random else ".txt")
        data = ks.read(size) if want_random else text_bytes(f"{prefix}{i}", size)
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        if want_random:
            rnd_written += size
        written += size
        if i % 500 == 0:
            # a few symlinks, like a real closure
            os.symlink(name, os.path.join(d, f"link{i:06d}"))
    set_mtimes(root)
    return written


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def main():
    work = os.path.abspath(sys.argv[1])
    scale = float(sys.argv[2])
    src = os.path.join(work, "src")
    defs = os.path.join(work, "defs")
    ks = Keystream("000102030405060708090a0b0c0d0e0f", "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
    n = lambda x: max(4, int(x * scale))
    MB = 1024 * 1024

    # ---- W1: ESP (2 files) + squashfs store (~300 MB, ~20000 files, 50% random)
    esp = os.path.join(src, "w1", "esp")
    os.makedirs(os.path.join(esp, "EFI", "BOOT"), exist_ok=True)
    os.makedirs(os.path.join(esp, "loader"), exist_ok=True)
    with open(os.path.join(esp, "EFI", "BOOT", "BOOTX64.EFI"), "wb") as f:
        f.write(ks.read(n(24 * MB)))
    write(os.path.join(esp, "loader", "loader.conf"), "timeout 3\ndefault nixos-*\n")
    set_mtimes(esp)
    gen_tree(os.path.join(src, "w1", "store"), n(20000), n(300 * MB), 1, 0.5, ks)

    # ---- W2: ext4 root from several trees (~300 MB, ~20000 files in total)
    w2 = os.path.join(src, "w2")
    gen_tree(os.path.join(w2, "usr"), n(13000), n(200 * MB), 2, 0.5, ks, prefix="usr")
    gen_tree(os.path.join(w2, "opt"), n(3000), n(60 * MB), 3, 0.7, ks, prefix="opt")
    gen_tree(os.path.join(w2, "var"), n(2000), n(30 * MB), 4, 0.3, ks, prefix="var")
    gen_tree(os.path.join(w2, "etc"), n(2000), n(8 * MB), 5, 0.0, ks, prefix="etc", big_every=1000000)
    # excluded subtrees (exist in the sources, must not end up in the image)
    gen_tree(os.path.join(w2, "usr", "zz-excluded-docs"), n(400), n(10 * MB), 6, 0.0, ks, prefix="doc")
    gen_tree(os.path.join(w2, "var", "cache"), n(200), n(6 * MB), 7, 0.5, ks, prefix="cache")
    set_mtimes(w2)

    # ---- W4: NixOS-style: 5000 small store paths (one file each)
    w4 = os.path.join(src, "w4", "store")
    os.makedirs(w4, exist_ok=True)
    npaths = n(5000)
    store_paths = []
    for i in range(npaths):
        h = f"{(i * 2654435761 + 99) & 0xFFFFFFFF:08x}{i:08x}{(i * 40503) & 0xFFFF:04x}abcdefgh"[:32]
        p = os.path.join(w4, f"{h}-pkg-{i}")
        os.makedirs(p, exist_ok=True)
        with open(os.path.join(p, "README"), "wb") as f:
            f.write(text_bytes(f"w4-{i}", 200))
        store_paths.append(p)
    set_mtimes(w4)

    # ---- W5: four smaller trees
    w5 = os.path.join(src, "w5")
    gen_tree(os.path.join(w5, "ext4"), n(4000), n(60 * MB), 8, 0.5, ks, prefix="e4")
    gen_tree(os.path.join(w5, "vfat"), n(300), n(20 * MB), 9, 0.5, ks, prefix="vf", fanout=30)
    gen_tree(os.path.join(w5, "erofs"), n(4000), n(60 * MB), 10, 0.5, ks, prefix="er")
    gen_tree(os.path.join(w5, "squashfs"), n(4000), n(60 * MB), 11, 0.5, ks, prefix="sq")
    ks.close()

    # ---- definitions
    write(f"{defs}/w1/10-esp.conf", f"""[Partition]
Type=esp
Format=vfat
Label=ESP
SizeMinBytes=200M
SizeMaxBytes=200M
CopyFiles={esp}/EFI:/EFI
CopyFiles={esp}/loader:/loader
""")
    write(f"{defs}/w1/20-store.conf", f"""[Partition]
Type=linux-generic
Format=squashfs
Label=nix-store
Minimize=guess
CopyFiles={src}/w1/store:/
""")
    write(f"{defs}/w2/10-root.conf", f"""[Partition]
Type=root
Format=ext4
Label=root
Minimize=guess
CopyFiles={w2}/usr:/usr
CopyFiles={w2}/opt:/opt
CopyFiles={w2}/var:/var
CopyFiles={w2}/etc:/etc
ExcludeFiles={w2}/usr/zz-excluded-docs
ExcludeFilesTarget=/var/cache
""")
    # W3 = W1's ESP definition (matched to the existing partition) + home +
    # var, as on a first boot. The store partition is left out: it is kept as a foreign partition
    # (with its definition it would be grown to fill the disk, see the
    # oracle README, capture 17).
    with open(f"{defs}/w1/10-esp.conf") as fh:
        write(f"{defs}/w3/10-esp.conf", fh.read())
    write(f"{defs}/w3/30-home.conf", """[Partition]
Type=home
Format=ext4
Label=home
Weight=2000
""")
    write(f"{defs}/w3/40-var.conf", """[Partition]
Type=var
Format=ext4
Label=var
Weight=1000
""")
    lines = "".join(f"CopyFiles={p}:/nix/store/{os.path.basename(p)}\n" for p in store_paths)
    write(f"{defs}/w4/000-root.conf", f"""[Partition]
Type=root
Format=ext4
Label=root
SizeMinBytes=2G
{lines}""")
    for i in range(1, n(100) + 1):
        write(f"{defs}/w4/{i:03d}-small.conf", f"""[Partition]
Type=linux-generic
Label=data-{i}
SizeMinBytes={1 + i % 7}M
SizeMaxBytes={1 + i % 7}M
""")
    write(f"{defs}/w5/10-ext4.conf", f"""[Partition]
Type=root
Format=ext4
Label=root
Minimize=guess
CopyFiles={w5}/ext4:/
""")
    write(f"{defs}/w5/20-vfat.conf", f"""[Partition]
Type=esp
Format=vfat
Label=ESP
SizeMinBytes=100M
CopyFiles={w5}/vfat:/
""")
    write(f"{defs}/w5/30-erofs.conf", f"""[Partition]
Type=usr
Format=erofs
Label=usr
Minimize=guess
CopyFiles={w5}/erofs:/
""")
    write(f"{defs}/w5/40-squashfs.conf", f"""[Partition]
Type=linux-generic
Format=squashfs
Label=extra
Minimize=guess
CopyFiles={w5}/squashfs:/
""")

    # ---- W6/W6L/W6K: Encrypt=key-file ext4 (image mode: made, filled, then
    # encrypted in place). W6: W2's usr+opt trees (~260 MB) in 512M; W6L: the
    # same tree in 2G (every byte of the partition is encrypted); W6K: an empty
    # 64M one, the fixed cost (argon2id keyslot: benchmark + derivation + unlock).
    for name, size, trees in (("w6", "512M", True), ("w6l", "2G", True), ("w6k", "64M", False)):
        copy = f"CopyFiles={w2}/usr:/usr\nCopyFiles={w2}/opt:/opt\n" if trees else "MakeDirectories=/srv\n"
        write(f"{defs}/{name}/10-data.conf", f"""[Partition]
Type=linux-generic
Format=ext4
Label=data
Encrypt=key-file
SizeMinBytes={size}
SizeMaxBytes={size}
{copy}""")
    key = os.path.join(work, "keyfile")
    with open(key, "w") as f:
        f.write("bench key: correct horse battery staple")
    os.chmod(key, 0o600)


if __name__ == "__main__":
    main()
