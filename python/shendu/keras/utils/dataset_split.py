"""keras.utils.split_dataset: two Datasets from one, by sizes or fractions."""

from __future__ import annotations

import random

import numpy as np

from ...data import Dataset


def _size(value, name, total):
    """The side's sample count: a fraction in (0, 1) rounded, an int kept, None passed on."""
    if value is None:
        return None
    if isinstance(value, float):
        if not 0 < value < 1:
            raise ValueError(
                f"`{name}` should be either a positive integer smaller than {total}, or a "
                f"float within the range `[0, 1]`. Received: {name}={value}"
            )
        return round(value * total)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"Invalid `{name}` Type. Expected: int or float or None, got {value!r}")
    if not 0 < value <= total:
        raise ValueError(
            f"`{name}` should be either a positive integer smaller than {total}, or a float "
            f"within the range `[0, 1]`. Received: {name}={value}"
        )
    return int(value)


def _samples(dataset):
    """The samples of arrays / a tuple or list of arrays / a Dataset, as a list."""
    if isinstance(dataset, Dataset):
        return list(dataset)
    if isinstance(dataset, (list, tuple)):
        arrays = [np.asarray(a) for a in dataset]
        if len({len(a) for a in arrays}) > 1:
            raise ValueError(
                "split_dataset: the arrays of `dataset` must have the same length, got "
                f"{[len(a) for a in arrays]}"
            )
        return [tuple(a[i] for a in arrays) for i in range(len(arrays[0]))]
    if isinstance(dataset, np.ndarray):
        return list(dataset)
    raise TypeError(
        "The `dataset` argument must be either a shendu.data.Dataset object, or a list/tuple "
        f"of arrays. Received: dataset of type {type(dataset).__name__}"
    )


def _as_dataset(samples):
    if isinstance(samples[0], tuple):
        return Dataset.from_tensor_slices(tuple(np.array(c) for c in zip(*samples)))
    if isinstance(samples[0], dict):
        return Dataset.from_tensor_slices(
            {k: np.array([s[k] for s in samples]) for k in samples[0]}
        )
    return Dataset.from_tensor_slices(np.array(samples))


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None):
    """(left, right) Datasets of the first ``left_size`` and the last ``right_size`` samples
    (ints, or fractions of the total; one of them None means the rest), after shuffling the
    samples with Python's ``random`` seeded with ``seed`` when ``shuffle``, as Keras's."""
    if left_size is None and right_size is None:
        raise ValueError(
            "At least one of the `left_size` or `right_size` must be specified. Received: "
            "left_size=None and right_size=None"
        )
    samples = _samples(dataset)
    if shuffle:
        random.Random(random.randint(0, int(1e6)) if seed is None else seed).shuffle(samples)
    total = len(samples)
    if (
        isinstance(left_size, float)
        and isinstance(right_size, float)
        and left_size + right_size > 1
    ):
        raise ValueError(
            "The sum of `left_size` and `right_size` is greater than 1. It must be less than "
            "or equal to 1."
        )
    left, right = _size(left_size, "left_size", total), _size(right_size, "right_size", total)
    left = total - right if left is None else left
    right = total - left if right is None else right
    if left + right > total:
        raise ValueError(
            f"The sum of `left_size` and `right_size` should be smaller than the {total}. "
            f"Received: left_size + right_size = {left + right} and total_length = {total}"
        )
    for side, count in (("left", left), ("right", right)):
        if count == 0:
            raise ValueError(
                f"With `dataset` of length={total}, `left_size`={left} and "
                f"`right_size`={right}. Resulting {side} side dataset split will be empty. "
                "Adjust any of the aforementioned parameters"
            )
    return _as_dataset(samples[:left]), _as_dataset(samples[total - right :])
