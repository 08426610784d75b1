"""The real images FeedBench's `generate --content digits|photos` builds samples from,
written into Sources/DataSources/Content/Assets (a SwiftPM resource of DataSources).

    python3 datasets/content/make_assets.py     # needs: pip install scikit-image Pillow h5py numpy

digits.bin   the 1,797 handwritten digits of datasets/digits (train and test lists, in list
             order): 8×8 uint8 each, row-major, then 1,797 label bytes (0–9).
photo-K.jpg  ten photographs from scikit-image's sample data (scikit-image 0.26), each scaled so
             its shorter side is 384 pixels (Lanczos), RGB, JPEG quality 90; class K is photo K.
             All are public domain or CC0, as scikit-image's data module records:
  0 astronaut           NASA, public domain ("no known copyright restrictions")
  1 chelsea (a cat)     CC0, Stéfan van der Walt
  2 coffee              CC0, Rachel Michetti
  3 rocket              SpaceX, released into the public domain
  4 hubble_deep_field   NASA, public domain
  5 retina              CC0 1.0
  6 immunohistochemistry  no known copyright restrictions
  7 brick               CC0 (cc0textures.com), greyscale, tinted brick red here
  8 grass               CC0 (cc0textures.com), greyscale, tinted green here
  9 gravel              CC0 (cc0textures.com), greyscale, tinted warm grey here
The three greyscale textures are tinted (each channel a different multiple of the grey level)
so that, as in a colour photograph, the channels are alike but not identical: three equal
planes would let a compressor find every sample twice more and flatter compression.
"""
import os

import h5py
import numpy as np
from PIL import Image
from skimage import data

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ASSETS = os.path.join(REPO, "Sources", "DataSources", "Content", "Assets")
PHOTOS = ["astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "retina", "immunohistochemistry",
          "brick", "grass", "gravel"]
TINTS = {"brick": (1.0, 0.62, 0.48), "grass": (0.62, 0.95, 0.45), "gravel": (0.95, 0.88, 0.78)}


def digits():
    images, labels = [], []
    for name in ["train-000.h5", "train-001.h5", "test-000.h5"]:
        with h5py.File(os.path.join(REPO, "datasets", "digits", name), "r") as f:
            images.append(f["data"][:].reshape(-1, 64))
            labels.append(f["label"][:].astype(np.uint8))
    images, labels = np.concatenate(images), np.concatenate(labels)
    with open(os.path.join(ASSETS, "digits.bin"), "wb") as out:
        out.write(images.astype(np.uint8).tobytes())
        out.write(labels.tobytes())
    print(f"digits.bin: {len(labels)} digits")


def photos():
    for k, name in enumerate(PHOTOS):
        image = getattr(data, name)()
        if image.ndim == 2:
            tint = TINTS[name]
            image = np.stack([np.clip(image * t, 0, 255) for t in tint], axis=-1)
        image = Image.fromarray(image[..., :3].astype(np.uint8))
        scale = 384 / min(image.size)
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
        path = os.path.join(ASSETS, f"photo-{k}.jpg")
        image.save(path, quality=90)
        print(f"photo-{k}.jpg: {name}, {image.width}×{image.height}, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    os.makedirs(ASSETS, exist_ok=True)
    digits()
    photos()
