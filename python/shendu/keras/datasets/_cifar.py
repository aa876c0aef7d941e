"""The CIFAR archives: reading Keras's cifar-*-python.tar.gz batches, Python 2 pickles of dicts
of a uint8 image array and label lists, without extracting them or unpickling anything but
NumPy arrays."""

import tarfile
import zlib

import numpy as np

from . import _safe_pickle

_PIXELS = 3 * 32 * 32


def read_batches(archive, names, label_key, num_classes):
    """[(images (N, 3, 32, 32) uint8, labels (N,))] for the members ``names`` of the tar.gz
    ``archive``, with labels ``label_key`` in 0..num_classes-1."""
    found = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            # One pass in archive order: a gzip stream cannot seek back cheaply.
            for member in tar:
                if member.name in names and member.isfile():
                    where = f"{archive}:{member.name}"
                    with tar.extractfile(member) as f:
                        batch = _safe_pickle.load_pickle(f, where, encoding="bytes")
                    found[member.name] = _check_batch(batch, label_key, num_classes, where)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        raise ValueError(
            f"{archive} is not a valid tar.gz archive (truncated or corrupt?): {e}"
        ) from None
    missing = [name for name in names if name not in found]
    if missing:
        raise ValueError(f"{archive} is not a CIFAR archive: it lacks {', '.join(missing)}")
    return [found[name] for name in names]


def _check_batch(batch, label_key, num_classes, where):
    if not isinstance(batch, dict):
        raise ValueError(f"{where} must hold a dict, got {type(batch).__name__}")
    data, labels = batch.get(b"data"), batch.get(label_key.encode())
    if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] != _PIXELS:
        raise ValueError(
            f"{where}: 'data' must be an array of {_PIXELS} bytes per image, got "
            f"{getattr(data, 'shape', type(data).__name__)}"
        )
    if data.dtype != np.uint8:
        raise ValueError(f"{where}: 'data' must be uint8, got {data.dtype}")
    label_array = np.asarray(labels if labels is not None else [])
    if labels is None or label_array.shape != (len(data),) or label_array.dtype.kind not in "iu":
        raise ValueError(
            f"{where}: '{label_key}' must be {len(data)} integer labels, one per image, got "
            f"{label_array.dtype} {label_array.shape}"
        )
    if len(label_array) and (label_array.min() < 0 or label_array.max() >= num_classes):
        raise ValueError(
            f"{where}: '{label_key}' must be in 0..{num_classes - 1}, got values "
            f"{label_array.min()}..{label_array.max()}"
        )
    return data.reshape(-1, 3, 32, 32), labels
