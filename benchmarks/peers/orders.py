"""Epoch orders for the peers, the same four FeedBench has (DESIGN.md): the peers visit
samples in the same kind of order, drawn from numpy's generator instead of FeedBench's."""
import numpy as np


def epoch_order(order, sizes, chunk_rows, seed, window=8):
    """Global sample indices of one epoch. sizes: samples per file; chunk_rows: rows per
    chunk per file (a block size for contiguous data)."""
    rng = np.random.default_rng(seed)
    total = int(sum(sizes))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    if order == "sequential":
        return np.arange(total)
    if order == "shuffle":
        return rng.permutation(total)
    if order == "file-shuffle":
        parts = []
        for f in rng.permutation(len(sizes)):
            parts.append(starts[f] + rng.permutation(sizes[f]))
        return np.concatenate(parts) if parts else np.arange(0)
    if order == "chunk-shuffle":
        chunks = []
        for f, (start, size) in enumerate(zip(starts, sizes)):
            rows = max(1, chunk_rows[f])
            for s in range(0, size, rows):
                chunks.append((start + s, start + min(s + rows, size)))
        chunks = [chunks[i] for i in rng.permutation(len(chunks))]
        parts = []
        for w in range(0, len(chunks), window):
            block = np.concatenate([np.arange(a, b) for a, b in chunks[w:w + window]])
            parts.append(block[rng.permutation(len(block))])
        return np.concatenate(parts) if parts else np.arange(0)
    raise ValueError(f"unknown order {order}")


def chunk_windows(sizes, chunk_rows, seed, window=8):
    """For chunk-shuffle read as slices: windows of (file, row_start, row_end) chunks in a
    shuffled order; the reader reads each chunk whole and shuffles a window in memory."""
    rng = np.random.default_rng(seed)
    chunks = []
    for f, size in enumerate(sizes):
        rows = max(1, chunk_rows[f])
        for s in range(0, size, rows):
            chunks.append((f, s, min(s + rows, size)))
    chunks = [chunks[i] for i in rng.permutation(len(chunks))]
    return [chunks[w:w + window] for w in range(0, len(chunks), window)], rng
