"""keras.utils.to_categorical and normalize."""

import numpy as np


def to_categorical(x, num_classes=None):
    """One-hot encodes integer class labels, like ``keras.utils.to_categorical``.

    ``x`` is array-like of integers in ``[0, num_classes)``; a trailing axis of size 1 is dropped
    (``(N, 1)`` labels give ``(N, num_classes)``). ``num_classes`` defaults to ``max(x) + 1``.
    Returns a float64 NumPy array with the class axis last, as Keras 3 does.
    """
    x = np.asarray(x)
    if x.dtype.kind not in "iub":
        if x.dtype.kind != "f":
            raise TypeError(
                f"to_categorical: `x` must hold integer class labels, got dtype {x.dtype}"
            )
        if not np.all(np.isfinite(x)) or np.any(x != np.floor(x)):
            raise ValueError(
                "to_categorical: `x` must hold integer class labels, got non-integer values"
            )
    labels = x.astype(np.int64)
    input_shape = labels.shape
    # Keras drops a trailing axis of size 1 so that (N, 1) label columns become (N, num_classes).
    if len(input_shape) > 1 and input_shape[-1] == 1:
        input_shape = input_shape[:-1]
    labels = labels.reshape(-1)
    if labels.size and labels.min() < 0:
        raise ValueError(f"to_categorical: class labels must be >= 0, got {labels.min()}")
    if num_classes is None:
        if labels.size == 0:
            raise ValueError("to_categorical: `num_classes` is required when `x` is empty")
        num_classes = int(labels.max()) + 1
    elif isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"to_categorical: `num_classes` must be an int, got {num_classes!r}")
    elif num_classes < 1:
        raise ValueError(f"to_categorical: `num_classes` must be >= 1, got {num_classes}")
    elif labels.size and labels.max() >= num_classes:
        raise ValueError(
            f"to_categorical: class label {labels.max()} is out of range for "
            f"num_classes={num_classes} "
            f"(labels must be in [0, {num_classes - 1}])"
        )
    categorical = np.zeros((labels.size, int(num_classes)))
    categorical[np.arange(labels.size), labels] = 1
    return categorical.reshape(tuple(input_shape) + (int(num_classes),))


def normalize(x, axis=-1, order=2):
    """``x`` divided by its ``order``-norm along ``axis`` (zero norms left as 1), as
    ``keras.utils.normalize`` does for NumPy input."""
    x = np.asarray(x)
    if isinstance(order, bool) or not isinstance(order, (int, float, np.integer, np.floating)):
        raise ValueError(f"normalize: `order` must be a number, got {order!r}")
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    # Keras writes `axis or -1`, which turns axis=0 into -1; the norm belongs on `axis`.
    return x / np.expand_dims(norm, -1 if axis is None else axis)
