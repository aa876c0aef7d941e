"""keras.utils: to_categorical, pad_sequences, set_random_seed, Progbar, PyDataset."""

from .numerical import to_categorical
from .progbar import Progbar
from .py_dataset import PyDataset, Sequence
from .rng import set_random_seed
from .sequence import pad_sequences

__all__ = [
    "Progbar",
    "PyDataset",
    "Sequence",
    "pad_sequences",
    "set_random_seed",
    "to_categorical",
]
