"""Fashion-MNIST: keras.datasets.fashion_mnist.load_data(), from Keras's four gzipped idx files
(``fashion-mnist/`` in $SHENDU_DATA_DIR or Keras's cache, else downloaded there)."""

import gzip
import os
import struct
import zlib

import numpy as np

from . import _download

ORIGIN_FOLDER = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_FOLDER = "fashion-mnist"
_IDX_UBYTE = 0x08


def load_data():
    """Returns ``(x_train, y_train), (x_test, y_test)``: uint8 grayscale images (N, 28, 28) and
    uint8 labels 0..9 (N,), 60,000 training and 10,000 test images for Keras's files. The
    labels are 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt,
    7 Sneaker, 8 Bag, 9 Ankle boot. Fashion-MNIST is Zalando SE's, under the MIT licence."""
    splits = []
    for split in ("train", "t10k"):
        labels = _read_idx(_fetch(f"{split}-labels-idx1-ubyte.gz"), ndim=1)
        path = _fetch(f"{split}-images-idx3-ubyte.gz")
        images = _read_idx(path, ndim=3)
        if images.shape != (len(labels), 28, 28):
            raise ValueError(
                f"{path} must hold {len(labels)} images of 28x28 pixels (one per label), "
                f"got shape {images.shape}"
            )
        splits.append((images, labels))
    return tuple(splits)


def _fetch(name):
    # ORIGIN_FOLDER is read at call time, so tests can point it at a local server. Keras
    # publishes no checksums for these files: a cached copy is used as it is, as Keras does.
    return _download.get_file(
        os.path.join(_FOLDER, name), ORIGIN_FOLDER + name, None, "Fashion-MNIST"
    )


def _read_idx(filename, ndim):
    """The array of an idx file of unsigned bytes with ``ndim`` dimensions, gzipped."""
    try:
        with gzip.open(filename, "rb") as f:
            raw = bytearray(f.read())
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(
            f"{filename} is not a valid gzip file (truncated or corrupt?): {e}"
        ) from None
    header = 4 + 4 * ndim
    if len(raw) < header or raw[:4] != bytes([0, 0, _IDX_UBYTE, ndim]):
        raise ValueError(
            f"{filename} is not an idx file of {ndim}-dimensional unsigned bytes "
            f"(it starts with {bytes(raw[:4]).hex() or 'nothing'})"
        )
    shape = struct.unpack(f">{ndim}i", raw[4:header])
    data = np.frombuffer(raw, np.uint8, offset=header)
    if data.size != np.prod(shape):
        raise ValueError(
            f"{filename}: its header gives shape {shape} but it holds {data.size} values "
            "(truncated?)"
        )
    return data.reshape(shape)
