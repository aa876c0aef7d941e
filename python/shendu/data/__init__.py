"""shendu.data: tf.data-style input pipelines over NumPy values (``tf.data`` under
``import shendu as tf``). ``mnist_sample.npz`` beside this file is package data (README.md)."""

from . import experimental
from .cardinality import AUTOTUNE, INFINITE_CARDINALITY, UNKNOWN_CARDINALITY
from .dataset import Dataset
from .structure import TensorSpec

__all__ = [
    "AUTOTUNE",
    "INFINITE_CARDINALITY",
    "UNKNOWN_CARDINALITY",
    "Dataset",
    "TensorSpec",
    "experimental",
]
