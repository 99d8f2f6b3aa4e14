#!/usr/bin/env python3
"""Guest helper of tests/vm/encrypt.sh (runs with the tool tree's python3).

  populate-tree.py make DIR [fat]   the CopyFiles= source tree: regular files, a
                                    sparse file, a hard link, symlinks, a 0700
                                    directory owned 1234:5678, a setuid file,
                                    trusted.* xattrs, fixed times ("fat": only
                                    what vfat can hold: files and directories)
  populate-tree.py manifest DIR CONTENT TIMES
                                    CONTENT: one line per entry with everything a
                                    copy is expected to keep (type, mode, owner,
                                    size, content hash, mtime, hard-link group,
                                    symlink target, xattrs, sparse or not);
                                    TIMES: the times the kernel or mkfs stamps
                                    (ctime, birth time, atime), for the
                                    reproducibility comparison.
"""
import hashlib
import os
import stat
import sys

T = 1262304000  # 2010-01-01 00:00:00 UTC, even seconds (vfat's granularity)


def data(seed, n):
    out, h = bytearray(), seed.encode()
    while len(out) < n:
        h = hashlib.sha256(h).digest()
        out += h
    return bytes(out[:n])


def make(root, fat):
    os.makedirs(root)
    def f(rel, content, mode=0o644, t=T):
        p = os.path.join(root, rel)
        with open(p, "wb") as fh:
            fh.write(content)
        os.chmod(p, mode)
        os.utime(p, ns=(t * 10**9, t * 10**9))
        return p
    os.mkdir(os.path.join(root, "conf"))
    a = f("conf/a.txt", b"hello from the CopyFiles= tree\n", t=T + 2)
    f("conf/empty", b"", t=T + 4)
    f("big.bin", data("big", 300 * 1024 + 17), t=T + 6)
    sparse = os.path.join(root, "sparse.img")
    with open(sparse, "wb") as fh:
        fh.write(data("head", 4096))
        fh.seek(8 << 20)
        fh.write(data("middle", 8192))
        fh.truncate(16 << 20)
    os.utime(sparse, ns=((T + 8) * 10**9, (T + 8) * 10**9))
    dirs = ["conf"]
    if not fat:
        os.link(a, os.path.join(root, "hard.txt"))
        os.symlink("conf/a.txt", os.path.join(root, "link"))
        os.symlink("/nonexistent/target", os.path.join(root, "dangling"))
        os.lchown(os.path.join(root, "dangling"), 42, 43)
        for i, l in enumerate(("link", "dangling")):
            t = (T + 50 + 2 * i) * 10**9
            os.utime(os.path.join(root, l), ns=(t, t), follow_symlinks=False)
        priv = os.path.join(root, "private")
        os.mkdir(priv)
        f("private/secret", b"secret\n", mode=0o600, t=T + 10)
        os.chown(os.path.join(priv, "secret"), 1234, 5678)
        os.chmod(priv, 0o700)
        os.chown(priv, 1234, 5678)
        f("tool", b"#!/bin/sh\necho tool\n", mode=0o4755, t=T + 12)
        for p, v in ((a, b"on a file"), (priv, b"on a directory")):
            try:
                os.setxattr(p, "trusted.repart-test", v)
            except OSError as e:
                print("no trusted.* xattrs here:", e, file=sys.stderr)
        dirs.append("private")
    os.mkdir(os.path.join(root, "deep"))
    os.makedirs(os.path.join(root, "deep/er/est"))
    f("deep/er/est/leaf", b"leaf\n", t=T + 14)
    dirs += ["deep/er/est", "deep/er", "deep", "."]
    for i, d in enumerate(dirs):
        t = (T + 100 + 2 * i) * 10**9
        os.utime(os.path.join(root, d), ns=(t, t))


def manifest(root, content_out, times_out):
    content, times, first = [], [], {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in [None] + sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]):
            p = dirpath if name is None else os.path.join(dirpath, name)
            if name is None and dirpath != root and os.path.islink(p):
                continue
            rel = "/" + os.path.relpath(p, root) if p != root else "/"
            rel = rel.replace("/.", "/") if rel == "/." else rel
            st = os.lstat(p)
            kind = stat.S_IFMT(st.st_mode)
            fields = [rel, {stat.S_IFDIR: "d", stat.S_IFREG: "f", stat.S_IFLNK: "l"}.get(kind, "?"),
                      "%04o" % stat.S_IMODE(st.st_mode), "%d:%d" % (st.st_uid, st.st_gid)]
            if kind == stat.S_IFREG:
                h = hashlib.sha256()
                with open(p, "rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        h.update(chunk)
                key = (st.st_dev, st.st_ino)
                fields += ["size=%d" % st.st_size, "sha256=" + h.hexdigest()[:16],
                           "nlink=%d" % st.st_nlink, "same-as=" + first.setdefault(key, rel),
                           "sparse" if st.st_blocks * 512 < st.st_size else "dense"]
            if kind == stat.S_IFLNK:
                fields.append("-> " + os.readlink(p))
            fields.append("mtime=%d" % st.st_mtime_ns)
            try:
                xs = sorted(os.listxattr(p, follow_symlinks=False))
            except OSError:
                xs = []
            for x in xs:
                fields.append("xattr %s=%s" % (x, os.getxattr(p, x, follow_symlinks=False).hex()))
            content.append(" ".join(fields))
            times.append("%s ctime=%d atime=%d" % (rel, st.st_ctime_ns, st.st_atime_ns))
    with open(content_out, "w") as fh:
        fh.write("\n".join(content) + "\n")
    with open(times_out, "w") as fh:
        fh.write("\n".join(times) + "\n")


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], len(sys.argv) > 3 and sys.argv[3] == "fat")
    elif sys.argv[1] == "manifest":
        manifest(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit("usage: make DIR [fat] | manifest DIR CONTENT TIMES")
