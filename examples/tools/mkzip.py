#!/usr/bin/python3
"""Build a byte-for-byte reproducible zip: mkzip.py OUT.zip SRCDIR

Entries sorted by path, fixed timestamp (1980-01-01 00:00:00), fixed
permissions (0644), stored (no compression: no dependency on zlib's
version), no extra fields.  The same sources always give the same bytes,
so the same CodeSha256 in Lambda.
"""
import os
import sys
import zipfile

FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: mkzip.py OUT.zip SRCDIR")
    out, src = sys.argv[1], sys.argv[2]
    paths = []
    for root, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        for f in files:
            if f.startswith(".") or f.endswith(".pyc"):
                continue
            paths.append(os.path.relpath(os.path.join(root, f), src))
    paths.sort()
    tmp = "%s.tmp.%d" % (out, os.getpid())  # unique: parallel builds never share it
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as z:
        for p in paths:
            info = zipfile.ZipInfo(p.replace(os.sep, "/"), date_time=FIXED_TIME)
            info.external_attr = 0o100644 << 16
            info.create_system = 3
            with open(os.path.join(src, p), "rb") as f:
                z.writestr(info, f.read())
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
