"""One data adapter per kind of input fit / evaluate / predict take, as Keras 3's
``trainers/data_adapters``: arrays, ``shendu.data.Dataset``, Python generators and
``keras.utils.PyDataset``. Each gives fresh passes of batches to the ``EpochIterator``, which
counts the steps of an epoch.

Array batches come out converted (the trainer converts whole arrays once); the other kinds give
raw ``(x, y, sample_weight)`` batches that the trainer converts one by one.
"""

from __future__ import annotations

import types

import numpy as np

from ....data import Dataset
from ...utils.py_dataset import PyDataset
from .array_adapter import ArrayDataAdapter
from .dataset_adapter import DatasetAdapter
from .generator_adapter import GeneratorDataAdapter
from .py_dataset_adapter import PyDatasetAdapter
from .unpack import unpack_x_y_sample_weight


def is_array_data(x) -> bool:
    """Whether fit / evaluate / predict take ``x`` as in-memory arrays (NumPy, lists of them,
    anything with ``.numpy()`` or ``__array__``, dicts of them keyed by input name) rather than as
    batches someone else makes."""
    if isinstance(x, (list, tuple)):
        return all(is_array_data(a) for a in x)
    if isinstance(x, dict):
        return bool(x) and all(is_array_data(a) for a in x.values())
    if isinstance(x, (Dataset, PyDataset, types.GeneratorType)):
        return False
    return isinstance(x, np.ndarray) or hasattr(x, "numpy") or hasattr(x, "__array__")


def _refuse(argument, value, kind, what):
    if value is not None:
        raise ValueError(
            f"When providing `x` as a {kind}, `{argument}` should not be passed. Instead, "
            f"{what} should be included as part of the {kind}."
        )


def batch_adapter(x, y=None, sample_weight=None, class_weight=None, shuffle=False):
    """The adapter of ``x`` when it is not arrays: its batches carry their own targets and
    weights, so ``y`` and ``sample_weight`` must be None (a ValueError names them otherwise).
    ``shuffle`` applies to a PyDataset of known length only, as in Keras."""
    if isinstance(x, Dataset):
        kind = "shendu.data.Dataset"
    elif isinstance(x, PyDataset):
        kind = "PyDataset"
    elif isinstance(x, types.GeneratorType):
        kind = "generator"
    else:
        raise ValueError(f"Unrecognized data type: x={x!r} (of type {type(x).__name__})")
    _refuse("y", y, kind, "the targets")
    _refuse("sample_weights", sample_weight, kind, "the sample weights")
    if isinstance(x, Dataset):
        return DatasetAdapter(x, class_weight)
    if isinstance(x, PyDataset):
        return PyDatasetAdapter(x, class_weight, shuffle)
    if class_weight is not None:
        raise ValueError(
            "Argument `class_weight` is not supported for Python generator inputs. "
            f"Received: class_weight={class_weight!r}"
        )
    return GeneratorDataAdapter(x)


__all__ = [
    "ArrayDataAdapter",
    "DatasetAdapter",
    "GeneratorDataAdapter",
    "PyDatasetAdapter",
    "batch_adapter",
    "is_array_data",
    "unpack_x_y_sample_weight",
]
