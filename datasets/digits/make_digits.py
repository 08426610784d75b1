"""Converts scikit-learn's digits set (shipped inside the scikit-learn package) into
Caffe-style HDF5 splits for FeedBench.

    pip install scikit-learn h5py numpy
    python3 datasets/digits/make_digits.py

Writes, beside this script:
  train-000.h5, train-001.h5 and train.txt   1,437 samples (80 %)
  test-000.h5 and test.txt                     360 samples (20 %)
Each file holds `data` uint8 [n, 1, 8, 8] (the 0–16 pixel counts scaled to 0–255 and
rounded) and `label` float32 [n] (the digit), the form Caffe's HDF5Data layer reads. The
split is a seeded permutation (seed 0), so the files are the same on every run.
"""
import os

import h5py
import numpy as np
from sklearn.datasets import load_digits

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, images, labels):
    with h5py.File(os.path.join(HERE, name), "w") as f:
        f.create_dataset("data", data=images)
        f.create_dataset("label", data=labels)


def main():
    digits = load_digits()
    images = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8).reshape(-1, 1, 8, 8)
    labels = digits.target.astype(np.float32)
    order = np.random.RandomState(0).permutation(len(labels))
    train, test = order[:1437], order[1437:]
    halves = np.array_split(train, 2)
    for k, part in enumerate(halves):
        write(f"train-{k:03d}.h5", images[part], labels[part])
    write("test-000.h5", images[test], labels[test])
    with open(os.path.join(HERE, "train.txt"), "w") as f:
        f.write("".join(f"train-{k:03d}.h5\n" for k in range(len(halves))))
    with open(os.path.join(HERE, "test.txt"), "w") as f:
        f.write("test-000.h5\n")
    print(f"train {len(train)} samples in {len(halves)} files, test {len(test)} samples")


if __name__ == "__main__":
    main()
