"""py-lmdb + protobuf reading a Caffe LMDB the way PyTorch users do: each record parsed as
a Caffe Datum, its bytes made float32 / 255 (float_data as is) and stacked into a batch.
Encoded records (JPEG, PNG) are decoded with Pillow, as a torchvision-style Dataset does
(Image.open(...).convert("RGB" or "L")), resized and centre-cropped like FeedBench's
transform when the request says so, and made CHW float32 / 255.

  sequential  a cursor in key order
  otherwise   keys collected once, then txn.get in the epoch's order
Keys are collected once per LMDB (`prepare`, before any epoch is timed or any file evicted),
as a PyTorch Dataset does when it is built: walking them reads the whole file, even with
values=False, so collecting them per epoch would warm every cold epoch. The environment is
opened per epoch (read-only, no lock) and closed after, so a cold epoch finds nothing of it
mapped.
"""
import io
import time

import lmdb
import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from orders import epoch_order


def datum_class():
    f = descriptor_pb2.FileDescriptorProto(name="caffe_datum_peer.proto", package="caffe", syntax="proto2")
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


Datum = datum_class()
KEYS = {}


def prepare(path):
    """Collects the keys of an LMDB once."""
    if path not in KEYS:
        env = lmdb.open(path, readonly=True, lock=False)
        try:
            with env.begin() as txn:
                KEYS[path] = list(txn.cursor().iternext(keys=True, values=False))
        finally:
            env.close()
    return {"records": len(KEYS[path])}


TRANSFORM = {}


def decode_image(data):
    """Pillow's decode, then FeedBench's transform: resize (bilinear), centre crop, CHW."""
    from PIL import Image
    image = Image.open(io.BytesIO(data))
    image = image.convert("L" if image.mode in ("L", "LA", "I", "I;16") else "RGB")
    resize = TRANSFORM.get("resize")
    if resize and (image.height, image.width) != tuple(resize):
        image = image.resize((resize[1], resize[0]), Image.BILINEAR)
    crop = TRANSFORM.get("crop")
    if crop:
        top, left = (image.height - crop) // 2, (image.width - crop) // 2
        image = image.crop((left, top, left + crop, top + crop))
    x = np.asarray(image)
    return x[None] if x.ndim == 2 else x.transpose(2, 0, 1)


def sample(value):
    """A record's stored values (uint8 bytes or float32) and label."""
    d = Datum()
    d.ParseFromString(value)
    if d.encoded:
        return decode_image(d.data), d.label
    if d.data:
        return np.frombuffer(d.data, dtype=np.uint8), d.label
    return np.asarray(d.float_data, dtype=np.float32), d.label


def to_batch(rows):
    """Stacks a batch, then converts it in one pass (the cheaper way round)."""
    x = np.stack(rows)
    return x.astype(np.float32) / 255 if x.dtype == np.uint8 else x


def read_epoch(req):
    TRANSFORM.clear()
    TRANSFORM.update(req.get("transform") or {})
    env = lmdb.open(req["path"], readonly=True, lock=False, readahead=bool(req.get("readahead", True)))
    try:
        batch = int(req["batch"])
        total = env.stat()["entries"]
        limit = min(total, int(req.get("max_samples") or total))
        done = 0
        with env.begin() as txn:
            keys = None if req["order"] == "sequential" else KEYS.get(req["path"]) or prepare(req["path"]) and KEYS[req["path"]]
            t0 = time.perf_counter()
            if keys is None:
                values = (v for _, v in txn.cursor())
            else:
                order = epoch_order(req["order"], [total], [64], req["seed"])
                values = (txn.get(keys[i]) for i in order)
            rows, labels = [], []
            for value in values:
                x, y = sample(value)
                rows.append(x)
                labels.append(y)
                if len(rows) == batch:
                    to_batch(rows)
                    done += len(rows)
                    rows, labels = [], []
                    if done >= limit:
                        break
            if rows and done < limit:
                to_batch(rows)
                done += len(rows)
            seconds = time.perf_counter() - t0
        return {"samples": done, "seconds": seconds}
    finally:
        env.close()
