"""h5py writing an HDF5 split set, as a user converting data to HDF5 would: the same number
of files, chunks and filters as the FeedBench layout it copies (hdf5plugin for LZ4, Zstandard
and Blosc), `data` and `label` each written in one call. The source set is read into memory
first, untimed; the timing covers creating, writing and closing the files.
"""
import os
import time

import h5py
import numpy as np

from h5py_reader import member_paths

try:
    import hdf5plugin
except ImportError:
    hdf5plugin = None


def filter_options(compression, shuffle, fletcher32):
    parts = compression.split(":")
    name = parts[0]
    options = {}
    if name == "gzip":
        options = dict(compression="gzip", compression_opts=int(parts[1]) if len(parts) > 1 else 4)
    elif name == "lz4":
        options = dict(**hdf5plugin.LZ4())
    elif name == "zstd":
        options = dict(**hdf5plugin.Zstd(clevel=int(parts[1]) if len(parts) > 1 else 3))
    elif name == "blosc":
        codec = parts[1] if len(parts) > 1 else "lz4"
        level = int(parts[2]) if len(parts) > 2 else 5
        mode = hdf5plugin.Blosc.SHUFFLE if shuffle else hdf5plugin.Blosc.NOSHUFFLE
        options = dict(**hdf5plugin.Blosc(cname=codec, clevel=level, shuffle=mode))
        shuffle = False  # Blosc's own
    if shuffle:
        options["shuffle"] = True
    if fletcher32:
        options["fletcher32"] = True
    return options


def write_set(req):
    paths = member_paths(req["path"])
    data = np.concatenate([h5py.File(p, "r")["data"][:] for p in paths])
    labels = np.concatenate([h5py.File(p, "r")["label"][:] for p in paths]).astype(np.float32)
    target = req["target"]
    os.makedirs(target, exist_ok=True)
    files = max(1, int(req.get("files", 1)))
    chunk = int(req.get("chunk") or 0)
    options = filter_options(req.get("compression", "none"), req.get("shuffle", False), req.get("fletcher32", False))
    total = len(data)
    t0 = time.perf_counter()
    written = 0
    for k in range(files):
        start, end = total * k // files, total * (k + 1) // files
        with h5py.File(os.path.join(target, f"set-{k:03d}.h5"), "w") as f:
            kwargs = dict(options)
            if chunk:
                kwargs["chunks"] = (min(chunk, max(end - start, 1)),) + data.shape[1:]
            f.create_dataset("data", data=data[start:end], **kwargs)
            f.create_dataset("label", data=labels[start:end])
    seconds = time.perf_counter() - t0
    for name in os.listdir(target):
        written += os.path.getsize(os.path.join(target, name))
    return {"samples": total, "seconds": seconds, "bytes": written}
