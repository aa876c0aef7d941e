"""The house-price tables (Boston, California): an npz of x and y rows, shuffled with
``np.random.RandomState(seed)`` and split as Keras splits them."""

import numpy as np

from . import _safe_pickle


def check_test_split(test_split):
    if not 0 <= test_split < 1:
        raise ValueError(f"test_split must be in [0, 1), got {test_split}")


def read_rows(filename, columns):
    """The x (N, columns) and y (N,) float arrays of the npz file."""
    arrays = _safe_pickle.load_npz(filename)
    for key in ("x", "y"):
        if key not in arrays:
            raise ValueError(
                f"{filename} lacks {key} (it has: {', '.join(sorted(arrays)) or 'nothing'})"
            )
    x, y = arrays["x"], arrays["y"]
    if x.ndim != 2 or x.shape[1] != columns or x.dtype.kind not in "fiu":
        raise ValueError(
            f"{filename}: x must be numbers of shape (N, {columns}), got {x.dtype} {x.shape}"
        )
    if y.shape != (len(x),) or y.dtype.kind not in "fiu":
        raise ValueError(
            f"{filename}: y must be {len(x)} numbers, one per row of x, got {y.dtype} {y.shape}"
        )
    return x, y


def shuffle_split(x, y, test_split, seed):
    indices = np.arange(len(x))
    np.random.RandomState(seed).shuffle(indices)
    x, y = x[indices], y[indices]
    cut = int(len(x) * (1 - test_split))
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])
