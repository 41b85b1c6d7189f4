#!/usr/bin/env python3
"""Counts the records and distinct keys that tansu (S3 engine) stored, read straight from its
bucket's directory on s3s-fs: each `.batch` object is one Kafka record batch (v2). The chaos audit's
Kafka consumer cannot read an hour's topic back through tansu in reasonable time (RELIABILITY.md).

usage: scripts/tansu-batch-keys.py <bucket dir> [<bucket dir> ...]
"""
import glob
import struct
import sys


def varint(b, i):
    shift = r = 0
    while True:
        x = b[i]
        i += 1
        r |= (x & 0x7F) << shift
        shift += 7
        if not x & 0x80:
            return (r >> 1) ^ -(r & 1), i


keys, batches = [], 0
for bucket in sys.argv[1:]:
    for path in glob.glob(f"{bucket}/**/*.batch", recursive=True):
        b = open(path, "rb").read()
        batches += 1
        # baseOffset 8, length 4, leader epoch 4, magic 1, crc 4, attributes 2, ..., count at 57.
        if len(b) < 61 or b[16] != 2:
            sys.exit(f"{path}: not a v2 record batch")
        if struct.unpack(">h", b[21:23])[0] & 7:
            sys.exit(f"{path}: compressed; not handled")
        i = 61
        for _ in range(struct.unpack(">i", b[57:61])[0]):
            length, i = varint(b, i)
            end = i + length
            _, i = varint(b, i + 1)  # attributes, then timestamp delta
            _, i = varint(b, i)  # offset delta
            key_len, i = varint(b, i)
            keys.append(b[i : i + max(key_len, 0)].decode())
            i = end
print(f"batches {batches}, records {len(keys)}, distinct keys {len(set(keys))}")
