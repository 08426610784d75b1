#!/usr/bin/env python3
"""Reads encoded image sets that FeedBench wrote (convert/generate --encode) the way Python
users would — py-lmdb + protobuf + Pillow for an LMDB, h5py + Pillow for HDF5 (variable-length
rows or flat bytes with offsets) — and prints, per set, the records, formats, sizes and modes
Pillow found. Exits 1 when any record does not decode.

    python3 benchmarks/peers/check_encoded.py lmdb:DIR SET.txt FILE.h5 ...
"""
import collections
import io
import os
import sys

from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def images_of(path):
    if path.startswith("lmdb:") or os.path.exists(os.path.join(path, "data.mdb")):
        import lmdb
        import lmdb_reader
        env = lmdb.open(path.removeprefix("lmdb:"), readonly=True, lock=False)
        with env.begin() as txn:
            for key, value in txn.cursor():
                d = lmdb_reader.Datum()
                d.ParseFromString(value)
                if not d.encoded:
                    raise SystemExit(f"{path}: record {key!r} is not encoded")
                yield key.decode(errors="replace"), d.data
        env.close()
        return
    import h5py
    import h5py_reader
    for member in h5py_reader.member_paths(path.removeprefix("hdf5:")):
        with h5py.File(member, "r") as f:
            data = f["data"]
            if "offsets" in f:
                offsets = f["offsets"][:]
                flat = data[:]
                for i in range(len(offsets) - 1):
                    yield f"{member} row {i}", flat[offsets[i]:offsets[i + 1]].tobytes()
            else:
                for i in range(data.shape[0]):
                    yield f"{member} row {i}", data[i].tobytes()


def main():
    failed = False
    for path in sys.argv[1:]:
        kinds = collections.Counter()
        for name, data in images_of(path):
            try:
                image = Image.open(io.BytesIO(data))
                image.load()
                kinds[(image.format, image.size, image.mode)] += 1
            except Exception as error:  # noqa: BLE001 (report every failure)
                print(f"{path}: {name}: Pillow cannot decode it: {error}")
                failed = True
        summary = ", ".join(f"{n} {fmt} {w}×{h} {mode}" for (fmt, (w, h), mode), n in sorted(kinds.items()))
        print(f"{path}: {sum(kinds.values())} images decoded by Pillow ({summary})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
