#!/usr/bin/env python3
"""Write the hand-made seeds of tests/fuzz/corpus/ (run from anywhere; stdlib only).

.npy seeds are built byte by byte rather than with numpy so that every header variant
is exact: versions 1.0/2.0/3.0, '<f8'/'<f4', C and Fortran order, and the malformed
cases. The name prefix is the expected outcome checked by tests/fuzz/test_fuzz.c:
ok-* must parse, bad-* must be rejected with COD_EFORMAT. Scenario and model seeds are
copied from scenarios/*.ini, tests/golden/*.ini and models/zoo/*.model (ok-*) next to
the hand-written ones kept in the corpus folders. Output is deterministic: rerunning
the script rewrites the same bytes.
"""
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
CORPUS = os.path.join(HERE, "corpus")


def npy(version, descr, fortran, shape, data, pad_to=64, hlen_delta=0):
    if len(shape) == 1:
        shape_txt = "(%d,)" % shape[0]
    elif len(shape) == 0:
        shape_txt = "()"
    else:
        shape_txt = "(" + ", ".join(str(d) for d in shape) + ")"
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, "True" if fortran else "False", shape_txt)
    pre = 10 if version == 1 else 12
    total = pre + len(header) + 1
    padded = (total + pad_to - 1) // pad_to * pad_to
    header = header + " " * (padded - total) + "\n"
    hlen = len(header) + hlen_delta
    if version == 1:
        head = b"\x93NUMPY\x01\x00" + struct.pack("<H", hlen)
    else:
        head = b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<I", hlen)
    return head + header.encode("utf-8") + data


def values(fmt, n):
    # distinct, non-trivial values (never all ones)
    return b"".join(struct.pack("<" + fmt, (i * 7 % 11) - 3.25 + i / 8.0) for i in range(n))


def idx(type_byte, dims, data):
    return bytes([0, 0, type_byte, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + data


def pixels(n):
    return bytes((i * 37 + 11) % 256 for i in range(n))


def write(sub, name, blob):
    with open(os.path.join(CORPUS, sub, name), "wb") as f:
        f.write(blob)


def main():
    for sub in ("npy", "scenario", "model", "idx"):
        os.makedirs(os.path.join(CORPUS, sub), exist_ok=True)
    write("npy", "ok-f8-v1-2x3", npy(1, "<f8", False, (2, 3), values("d", 6)))
    write("npy", "ok-f4-v1-4d", npy(1, "<f4", False, (1, 2, 2, 3), values("f", 12)))
    write("npy", "ok-f8-v2-3d", npy(2, "<f8", False, (2, 1, 3), values("d", 6)))
    write("npy", "ok-f4-v3-1d", npy(3, "<f4", False, (5,), values("f", 5)))
    write("npy", "ok-f8-v1-empty", npy(1, "<f8", False, (0, 3), b""))
    write("npy", "bad-fortran", npy(1, "<f8", True, (2, 3), values("d", 6)))
    write("npy", "bad-f4-fortran-v2", npy(2, "<f4", True, (3, 2), values("f", 6)))
    write("npy", "bad-dtype-i4", npy(1, "<i4", False, (4,), struct.pack("<4i", 1, -2, 3, 9)))
    write("npy", "bad-big-endian", npy(1, ">f8", False, (2,), struct.pack(">2d", 1.5, -2.0)))
    write("npy", "bad-truncated", npy(1, "<f8", False, (2, 3), values("d", 5)))
    write("npy", "bad-extra-data", npy(1, "<f8", False, (2,), values("d", 3)))
    write("npy", "bad-5d", npy(1, "<f8", False, (1, 1, 1, 1, 2), values("d", 2)))
    write("npy", "bad-0d", npy(1, "<f8", False, (), values("d", 1)))
    write("npy", "bad-version4", npy(3, "<f8", False, (2,), values("d", 2)).replace(
        b"\x93NUMPY\x03", b"\x93NUMPY\x04", 1))
    write("npy", "bad-header-len", npy(2, "<f8", False, (2,), values("d", 2), hlen_delta=4096))
    write("npy", "bad-magic", b"\x93NUMPX\x01\x00" + npy(1, "<f8", False, (1,), values("d", 1))[8:])
    write("npy", "bad-overflow", npy(1, "<f8", False, (1 << 40, 1 << 40), b""))
    write("idx", "ok-images-2x3x4", idx(8, (2, 3, 4), pixels(24)))
    write("idx", "ok-labels-5", idx(8, (5,), bytes([3, 1, 4, 1, 5])))
    write("idx", "ok-4d", idx(8, (1, 2, 2, 2), pixels(8)))
    write("idx", "ok-npy-u8-2x3", npy(1, "|u1", False, (2, 3), pixels(6)))
    write("idx", "bad-type-float", idx(0x0D, (2,), struct.pack(">2f", 1.0, 2.0)))
    write("idx", "bad-rank0", idx(8, (), b""))
    write("idx", "bad-rank5", idx(8, (1, 1, 1, 1, 2), pixels(2)))
    write("idx", "bad-truncated", idx(8, (2, 3, 4), pixels(23)))
    write("idx", "bad-extra", idx(8, (2, 2), pixels(5)))
    write("idx", "bad-huge-dims", idx(8, (60000, 60000, 60000), pixels(16)))
    write("idx", "bad-zero-dim", idx(8, (0, 28), b""))
    write("idx", "bad-npy-f4", npy(1, "<f4", False, (2,), values("f", 2)))
    write("idx", "bad-npy-fortran", npy(1, "|u1", True, (2, 3), pixels(6)))
    for ini in ("scenarios/quickstart.ini", "tests/golden/small.ini"):
        shutil.copyfile(os.path.join(ROOT, ini), os.path.join(CORPUS, "scenario", "ok-" + os.path.basename(ini)))
    for name in sorted(os.listdir(os.path.join(ROOT, "models", "zoo"))):
        if name.endswith(".model"):
            shutil.copyfile(os.path.join(ROOT, "models", "zoo", name),
                            os.path.join(CORPUS, "model", "ok-" + name))


if __name__ == "__main__":
    main()
