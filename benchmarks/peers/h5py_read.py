"""h5py reading an HDF5 split set the way PyTorch users do, for `benchmarks read --peers`.

    python3 h5py_read.py LIST --mode slice|fancy|getitem [--batch 128] [--epochs 2] [--seed 1]

  slice    sequential batches by slicing f["data"][i:i+B] (crossing files), the fast path
  fancy    shuffled batches: a global permutation, each batch's indices grouped by file,
           sorted, read with fancy indexing f["data"][sorted] (what h5py allows)
  getitem  shuffled batches of per-sample reads f["data"][i], a Dataset.__getitem__ loop
Every batch ends as float32 divided by 255, as FeedBench's batches do. Prints one JSON
line: {"samples_per_s": median over epochs, "epochs": [...]}; exit code 3 without h5py.
"""
import argparse
import json
import os
import sys
import time

try:
    import h5py
    import numpy as np
except ImportError:
    sys.exit(3)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("list")
    p.add_argument("--mode", choices=["slice", "fancy", "getitem"], default="slice")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max-samples", type=int, default=0, help="stop an epoch after this many samples (slow modes)")
    a = p.parse_args()
    base = os.path.dirname(os.path.abspath(a.list))
    names = [l.strip() for l in open(a.list) if l.strip() and not l.startswith("#")]
    files = [h5py.File(n if os.path.isabs(n) else os.path.join(base, n), "r") for n in names]
    data = [f["data"] for f in files]
    labels = [f["label"][:] for f in files]
    sizes = [d.shape[0] for d in data]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    total = int(sum(sizes))
    rng = np.random.default_rng(a.seed)
    limit = a.max_samples or total

    def locate(i):
        k = int(np.searchsorted(starts, i, side="right") - 1)
        return k, int(i - starts[k])

    rates = []
    for _ in range(a.epochs):
        done = 0
        t0 = time.perf_counter()
        if a.mode == "slice":
            pos = 0
            while pos < min(total, limit):
                n = min(a.batch, total - pos)
                parts, lab = [], []
                i = pos
                while i < pos + n:
                    k, r = locate(i)
                    m = min(pos + n - i, sizes[k] - r)
                    parts.append(data[k][r:r + m])
                    lab.append(labels[k][r:r + m])
                    i += m
                x = np.concatenate(parts).astype(np.float32) / 255
                pos += n
                done += n
        else:
            order = rng.permutation(total)
            for b in range(0, min(total, limit), a.batch):
                idx = order[b:b + a.batch]
                out = np.empty((len(idx),) + data[0].shape[1:], dtype=np.float32)
                if a.mode == "getitem":
                    for j, i in enumerate(idx):
                        k, r = locate(i)
                        out[j] = data[k][r]
                else:
                    file_of = np.searchsorted(starts, idx, side="right") - 1
                    for k in np.unique(file_of):
                        sel = np.nonzero(file_of == k)[0]
                        rows = idx[sel] - starts[k]
                        perm = np.argsort(rows)
                        out[sel[perm]] = data[k][rows[perm]]
                x = out / 255
                done += len(idx)
        rates.append(done / (time.perf_counter() - t0))
    rates.sort()
    print(json.dumps({"samples_per_s": rates[len(rates) // 2], "epochs": rates}))


if __name__ == "__main__":
    main()
