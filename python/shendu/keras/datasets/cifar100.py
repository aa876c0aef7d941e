"""CIFAR-100: keras.datasets.cifar100.load_data(label_mode), from Keras's
cifar-100-python.tar.gz."""

import numpy as np

from . import _cifar, _download

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
SHA256 = "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"
_CACHE_NAME = "cifar-100-python-target_archive"
_NUM_CLASSES = {"fine": 100, "coarse": 20}


def load_data(label_mode="fine"):
    """Returns ``(x_train, y_train), (x_test, y_test)``: uint8 colour images (N, 32, 32, 3)
    and integer labels (N, 1), 50,000 training and 10,000 test images for Keras's file; the
    labels are the 100 fine classes with ``label_mode="fine"``, the 20 superclasses with
    ``"coarse"``. The archive is read where it lies: $SHENDU_DATA_DIR/cifar-100-python.tar.gz,
    or Keras's cached download, else it is downloaded there with its sha256 checked."""
    if label_mode not in _NUM_CLASSES:
        raise ValueError(f'label_mode must be "fine" or "coarse", got {label_mode!r}')
    # ORIGIN and SHA256 are read at call time, so tests can point them at a local server.
    path = _download.get_file(
        "cifar-100-python.tar.gz", ORIGIN, SHA256, "CIFAR-100", cache_name=_CACHE_NAME
    )
    names = ["cifar-100-python/train", "cifar-100-python/test"]
    batches = _cifar.read_batches(path, names, f"{label_mode}_labels", _NUM_CLASSES[label_mode])
    # The labels keep the integer type of the pickled lists (int64), as Keras's do.
    return tuple(
        (images.transpose(0, 2, 3, 1), np.asarray(labels).reshape(-1, 1))
        for images, labels in batches
    )
