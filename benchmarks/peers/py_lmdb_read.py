"""py-lmdb + protobuf reading a Caffe LMDB the way PyTorch users do, for `benchmarks read --peers`.

    python3 py_lmdb_read.py DIR --mode sequential|shuffle [--batch 128] [--epochs 2] [--cold] [--no-readahead]

  sequential  a cursor in key order
  shuffle     keys collected once, then txn.get in a seeded permutation
Each record is parsed as a Caffe Datum (protobuf) and its bytes become float32 / 255 in a
batch array, as FeedBench's batches do. --cold evicts data.mdb from the page cache
(posix_fadvise DONTNEED) before each epoch. Prints one JSON line {"samples_per_s": median,
"epochs": [...]}; exit code 3 when lmdb, protobuf or numpy is missing.
"""
import argparse
import json
import os
import sys
import time

try:
    import lmdb
    import numpy as np
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
except ImportError:
    sys.exit(3)


def datum_class():
    f = descriptor_pb2.FileDescriptorProto(name="caffe_datum.proto", package="caffe", syntax="proto2")
    m = f.message_type.add(name="Datum")
    T = descriptor_pb2.FieldDescriptorProto
    for name, number, kind, label in [
        ("channels", 1, T.TYPE_INT32, T.LABEL_OPTIONAL), ("height", 2, T.TYPE_INT32, T.LABEL_OPTIONAL),
        ("width", 3, T.TYPE_INT32, T.LABEL_OPTIONAL), ("data", 4, T.TYPE_BYTES, T.LABEL_OPTIONAL),
        ("label", 5, T.TYPE_INT32, T.LABEL_OPTIONAL), ("float_data", 6, T.TYPE_FLOAT, T.LABEL_REPEATED),
        ("encoded", 7, T.TYPE_BOOL, T.LABEL_OPTIONAL),
    ]:
        m.field.add(name=name, number=number, type=kind, label=label)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("caffe.Datum"))


def evict(path):
    fd = os.open(os.path.join(path, "data.mdb"), os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("path")
    p.add_argument("--mode", choices=["sequential", "shuffle"], default="sequential")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--cold", action="store_true")
    p.add_argument("--no-readahead", action="store_true")
    a = p.parse_args()
    Datum = datum_class()
    rng = np.random.default_rng(a.seed)
    rates = []
    for _ in range(a.epochs):
        if a.cold:
            evict(a.path)
        env = lmdb.open(a.path, readonly=True, lock=False, readahead=not a.no_readahead)
        t0 = time.perf_counter()
        done = 0
        with env.begin() as txn:
            if a.mode == "sequential":
                items = iter(txn.cursor())
                values = (v for _, v in items)
                total = env.stat()["entries"]
            else:
                keys = [k for k, _ in txn.cursor()]
                total = len(keys)
                order = rng.permutation(total)
                values = (txn.get(keys[i]) for i in order)
            batch, labels = [], []
            for value in values:
                d = Datum()
                d.ParseFromString(value)
                batch.append(np.frombuffer(d.data, dtype=np.uint8))
                labels.append(d.label)
                if len(batch) == a.batch:
                    x = np.stack(batch).astype(np.float32) / 255
                    done += len(batch)
                    batch, labels = [], []
            if batch:
                x = np.stack(batch).astype(np.float32) / 255
                done += len(batch)
        rates.append(done / (time.perf_counter() - t0))
        env.close()
    rates.sort()
    print(json.dumps({"samples_per_s": rates[len(rates) // 2], "epochs": rates}))


if __name__ == "__main__":
    main()
