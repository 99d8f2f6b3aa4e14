#!/usr/bin/env python3
"""luks-decrypt.py IMG OFFSET SIZE VOLUME_KEY_FILE OUT -- decrypt the LUKS2 data segment
of the partition at OFFSET (SIZE bytes) of IMG with the raw volume key (as written by
`cryptsetup luksDump --dump-volume-key --volume-key-file`), into OUT, in userspace:
no device mapper, no root. Only what repart makes is supported: one crypt segment,
aes-xts-plain64, IVs counted in 512-byte sectors (LUKS2 without iv_large_sectors).
The segment's offset and sector size are read from the header's JSON area."""
import json
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

img, offset, size, keyfile, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
key = open(keyfile, "rb").read()
with open(img, "rb") as f:
    f.seek(offset)
    binary = f.read(4096)
    if binary[:6] != b"LUKS\xba\xbe":
        sys.exit("not a LUKS header")
    hdr_size = int.from_bytes(binary[8:16], "big")
    f.seek(offset + 4096)
    meta = json.loads(f.read(hdr_size - 4096).split(b"\0", 1)[0])
    seg = meta["segments"]["0"]
    if seg["type"] != "crypt" or seg["encryption"] != "aes-xts-plain64":
        sys.exit("unsupported segment: %r" % seg)
    data_off, sector = int(seg["offset"]), int(seg["sector_size"])
    length = size - data_off if seg["size"] == "dynamic" else int(seg["size"])
    f.seek(offset + data_off)
    with open(out, "wb") as o:
        done = 0
        while done < length:
            block = f.read(min(sector * 256, length - done))
            if not block:
                break
            plain = bytearray()
            for i in range(0, len(block), sector):
                iv = ((done + i) // 512).to_bytes(16, "little")
                d = Cipher(algorithms.AES(key), modes.XTS(iv)).decryptor()
                plain += d.update(block[i:i + sector]) + d.finalize()
            o.write(plain)
            done += len(block)
