"""CIFAR-10: keras.datasets.cifar10.load_data(), from Keras's cifar-10-python.tar.gz."""

import numpy as np

from . import _cifar, _download

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
_CACHE_NAME = "cifar-10-batches-py-target_archive"
_BATCHES = [f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6)] + [
    "cifar-10-batches-py/test_batch"
]


def load_data():
    """Returns ``(x_train, y_train), (x_test, y_test)``: uint8 colour images (N, 32, 32, 3)
    and uint8 labels 0..9 (N, 1), 50,000 training and 10,000 test images for Keras's file.
    The labels are 0 airplane, 1 automobile, 2 bird, 3 cat, 4 deer, 5 dog, 6 frog, 7 horse,
    8 ship, 9 truck. The archive is read where it lies: $SHENDU_DATA_DIR/cifar-10-python.tar.gz,
    or Keras's cached download, else it is downloaded there with its sha256 checked."""
    # ORIGIN and SHA256 are read at call time, so tests can point them at a local server.
    path = _download.get_file(
        "cifar-10-python.tar.gz", ORIGIN, SHA256, "CIFAR-10", cache_name=_CACHE_NAME
    )
    batches = _cifar.read_batches(path, _BATCHES, "labels", 10)
    x_train = np.concatenate([images for images, _ in batches[:-1]])
    y_train = np.concatenate([np.asarray(labels) for _, labels in batches[:-1]])
    x_test, y_test = batches[-1]
    # channels_last, as Keras returns them (a transposed view of the batches' layout).
    return (
        (x_train.transpose(0, 2, 3, 1), y_train.astype(np.uint8).reshape(-1, 1)),
        (x_test.transpose(0, 2, 3, 1), np.asarray(y_test).astype(np.uint8).reshape(-1, 1)),
    )
