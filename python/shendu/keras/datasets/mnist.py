"""MNIST: keras.datasets.mnist.load_data() and the small sample shipped inside shendu.

load_data() finds Keras's mnist.npz as _download.get_file() does: in $SHENDU_DATA_DIR, then in
Keras's cache, else it downloads it there with its sha256 checked.
"""

import os
import zipfile

import numpy as np

from . import _download

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
_KEYS = ("x_train", "y_train", "x_test", "y_test")
_SAMPLE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    "data",
    "mnist_sample.npz",
)
_ADVICE = (
    ", or use shendu.keras.datasets.mnist.load_sample() for the 5,000-digit sample shipped "
    "with shendu"
)


def load_data(path="mnist.npz"):
    """Returns ``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 28, 28) with pixel
    values 0..255 and uint8 labels 0..9 (N,), 60,000 training and 10,000 test images for Keras's
    file. ``path`` is the file name, relative to $SHENDU_DATA_DIR and to the Keras cache folder."""
    # ORIGIN and SHA256 are read at call time, so tests can point them at a local server.
    return _read_npz(_download.get_file(path, ORIGIN, SHA256, "MNIST", advice=_ADVICE))


def load_sample():
    """The 5,000-digit real MNIST sample shipped inside shendu (4,000 train / 1,000 test), in
    load_data()'s format; no network needed. shendu/data/README.md gives its origin and
    licence."""
    return _read_npz(_SAMPLE)


def _read_npz(filename):
    # The file is opened here, not by np.load: NumPy leaks its own handle when the zip is corrupt.
    try:
        with open(filename, "rb") as f, np.load(f, allow_pickle=False) as data:
            files = list(data.files)
            arrays = {k: data[k] for k in _KEYS if k in files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise ValueError(
            f"{filename} is not a valid npz file (truncated or corrupt?): {e}"
        ) from None
    missing = [k for k in _KEYS if k not in arrays]
    if missing:
        raise ValueError(
            f"{filename} is not an MNIST npz file: it lacks {', '.join(missing)} "
            f"(it has: {', '.join(files) or 'nothing'})"
        )
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28) or x.dtype != np.uint8:
            raise ValueError(
                f"{filename}: x_{split} must be uint8 images of shape (N, 28, 28), "
                f"got {x.dtype} {x.shape}"
            )
        if y.ndim != 1 or y.dtype.kind not in "iu" or len(y) != len(x):
            raise ValueError(
                f"{filename}: y_{split} must be integer labels of shape ({len(x)},), "
                f"got {y.dtype} {y.shape}"
            )
        if len(y) and (y.min() < 0 or y.max() > 9):
            raise ValueError(
                f"{filename}: y_{split} labels must be digits 0..9, got values {y.min()}..{y.max()}"
            )
    return ((arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"]))
