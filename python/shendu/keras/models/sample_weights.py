"""Per-sample weights of fit / evaluate / *_on_batch: given as ``sample_weight`` or made from
``class_weight`` and the targets, as Keras does."""

from __future__ import annotations

import numpy as np

from ... import _device


def from_class_weight(y, class_weight):
    """float32 weights, one per sample: ``class_weight[class of y_i]``, 1.0 for a class it does
    not name. The class is y_i for integer labels (rounded), argmax(y_i) for one-hot rows."""
    check_class_weight(class_weight)
    y = np.asarray(_device.to_host(y.numpy() if hasattr(y, "numpy") else y))
    if y.ndim > 1:
        y = np.argmax(y, axis=-1) if y.shape[-1] != 1 else np.squeeze(y, axis=-1)
    classes = np.round(y).astype(np.int64).reshape(len(y), -1)[:, 0]
    return np.array([class_weight.get(int(c), 1.0) for c in classes], dtype=np.float32)


def check_class_weight(class_weight):
    if not isinstance(class_weight, dict):
        raise ValueError(
            "class_weight: expected a dict mapping class indices to weights, got "
            f"{type(class_weight).__name__}"
        )


def checked(sample_weight, n, name="sample_weight"):
    """``sample_weight`` as a float32 vector of ``n`` weights ((n,) or (n, 1) given)."""
    sw = _device.to_host(
        sample_weight.numpy() if hasattr(sample_weight, "numpy") else sample_weight
    )
    sw = np.asarray(sw)
    if sw.dtype.kind not in "biuf":
        raise ValueError(f"{name}: expected numeric weights, got dtype {sw.dtype}")
    if sw.ndim == 2 and sw.shape[1] == 1:
        sw = sw[:, 0]
    if sw.shape != (n,):
        raise ValueError(
            f"{name}: expected one weight per sample, shape ({n},), got shape {sw.shape}"
        )
    return sw.astype(np.float32, copy=False)


def resolve(sample_weight, class_weight, y, n):
    """The weights of ``n`` samples with targets ``y`` (raw), or None when neither is given."""
    if class_weight is not None:
        if sample_weight is not None:
            raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
        return from_class_weight(y, class_weight)
    return None if sample_weight is None else checked(sample_weight, n)
