"""h5py reading an HDF5 split set (a list file or one .h5) the way PyTorch users do.

  sequential     slicing f[key][i:i+B], batches crossing files
  shuffle        a global permutation; each batch's indices grouped by file, sorted, read
                 with fancy indexing f[key][sorted] (what h5py allows)
  file-shuffle   Caffe's: files in random order, each read whole by one slice, rows permuted
  chunk-shuffle  chunks in random order read whole by slicing, shuffled in windows of 8
  getitem        shuffled, one sample at a time: a Dataset.__getitem__ loop
Every batch ends as float32 (uint8 divided by 255), as FeedBench's batches do. Filters that
h5py does not carry (LZ4, Zstd, Blosc, Bitshuffle) need hdf5plugin, imported when present.
"""
import os
import time

import h5py
import numpy as np

from orders import chunk_windows, epoch_order

try:
    import hdf5plugin  # noqa: F401  (registers the plugin filters)
except ImportError:
    hdf5plugin = None


def member_paths(path):
    if path.endswith((".h5", ".hdf5", ".hdf")):
        return [path]
    base = os.path.dirname(os.path.abspath(path))
    names = [l.strip() for l in open(path) if l.strip() and not l.strip().startswith("#")]
    return [n if os.path.isabs(n) else (os.path.join(base, n) if os.path.exists(os.path.join(base, n)) else n) for n in names]


def to_float(x):
    return x.astype(np.float32) / 255 if x.dtype == np.uint8 else x.astype(np.float32)


def read_encoded_epoch(req, files):
    """Encoded images (a variable-length uint8 `data`, or a flat `data` with `offsets`): each
    sample read alone (a Dataset.__getitem__), decoded by Pillow with FeedBench's transform
    (lmdb_reader.decode_image) and stacked as float32 / 255."""
    import lmdb_reader
    lmdb_reader.TRANSFORM.clear()
    lmdb_reader.TRANSFORM.update(req.get("transform") or {})
    data = [f[req.get("data_key", "data")] for f in files]
    offsets = [f["offsets"][:] if "offsets" in f else None for f in files]
    sizes = [len(o) - 1 if o is not None else d.shape[0] for d, o in zip(data, offsets)]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    total = int(sum(sizes))
    limit = min(total, int(req.get("max_samples") or total))
    batch = int(req["batch"])
    order_idx = epoch_order(req["order"], sizes, [64] * len(sizes), req["seed"])
    done = 0
    t0 = time.perf_counter()
    for b in range(0, limit, batch):
        rows = []
        for i in order_idx[b:b + batch]:
            k = int(np.searchsorted(starts, i, side="right") - 1)
            r = int(i - starts[k])
            raw = data[k][offsets[k][r]:offsets[k][r + 1]] if offsets[k] is not None else data[k][r]
            rows.append(lmdb_reader.decode_image(raw.tobytes()))
        np.stack(rows).astype(np.float32) / 255
        done += len(rows)
    return {"samples": done, "seconds": time.perf_counter() - t0}


def read_epoch(req):
    files = [h5py.File(p, "r") for p in member_paths(req["path"])]
    try:
        first = files[0][req.get("data_key", "data")]
        if h5py.check_vlen_dtype(first.dtype) is not None or "offsets" in files[0]:
            return read_encoded_epoch(req, files)
        data = [f[req.get("data_key", "data")] for f in files]
        labels = [f[req.get("label_key", "label")][:] for f in files]  # read once, as FeedBench does
        sizes = [d.shape[0] for d in data]
        chunk_rows = [(d.chunks[0] if d.chunks else 64) for d in data]
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        total = int(sum(sizes))
        limit = min(total, int(req.get("max_samples") or total))
        batch = int(req["batch"])
        order = req["order"]
        mode = req.get("mode", "batch")
        done = 0
        t0 = time.perf_counter()
        if order == "sequential":
            pos = 0
            while pos < limit:
                n = min(batch, total - pos)
                parts, i = [], pos
                while i < pos + n:
                    k = int(np.searchsorted(starts, i, side="right") - 1)
                    r = i - starts[k]
                    m = min(pos + n - i, sizes[k] - r)
                    parts.append(data[k][r:r + m])
                    i += m
                x = to_float(np.concatenate(parts))
                pos += n
                done += n
        elif order == "chunk-shuffle" and mode != "getitem":
            windows, rng = chunk_windows(sizes, chunk_rows, req["seed"])
            for window in windows:
                block = np.concatenate([data[f][a:b] for f, a, b in window])
                block = block[rng.permutation(len(block))]
                for s in range(0, len(block), batch):
                    x = to_float(block[s:s + batch])
                    done += len(x)
                if done >= limit:
                    break
        elif order == "file-shuffle" and mode != "getitem":
            rng = np.random.default_rng(req["seed"])
            for f in rng.permutation(len(data)):
                whole = data[f][:]
                whole = whole[rng.permutation(len(whole))]
                for s in range(0, len(whole), batch):
                    x = to_float(whole[s:s + batch])
                    done += len(x)
                if done >= limit:
                    break
        else:
            order_idx = epoch_order(order, sizes, chunk_rows, req["seed"])
            for b in range(0, limit, batch):
                idx = order_idx[b:b + batch]
                out = np.empty((len(idx),) + data[0].shape[1:], dtype=data[0].dtype)
                if mode == "getitem":
                    for j, i in enumerate(idx):
                        k = int(np.searchsorted(starts, i, side="right") - 1)
                        out[j] = data[k][i - starts[k]]
                else:
                    file_of = np.searchsorted(starts, idx, side="right") - 1
                    for k in np.unique(file_of):
                        sel = np.nonzero(file_of == k)[0]
                        rows = idx[sel] - starts[k]
                        perm = np.argsort(rows)
                        out[sel[perm]] = data[k][rows[perm]]
                x = to_float(out)
                done += len(idx)
        seconds = time.perf_counter() - t0
        del labels
        return {"samples": done, "seconds": seconds}
    finally:
        for f in files:
            f.close()
