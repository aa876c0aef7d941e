"""keras.utils: to_categorical, normalize, pad_sequences, set_random_seed, Progbar, PyDataset,
and Datasets from arrays and folders (timeseries, text and image datasets, split_dataset)."""

from .dataset_split import split_dataset
from .image_dataset import image_dataset_from_directory
from .numerical import normalize, to_categorical
from .progbar import Progbar
from .py_dataset import PyDataset, Sequence
from .rng import set_random_seed
from .sequence import pad_sequences
from .text_dataset import text_dataset_from_directory
from .timeseries import timeseries_dataset_from_array

__all__ = [
    "Progbar",
    "PyDataset",
    "Sequence",
    "image_dataset_from_directory",
    "normalize",
    "pad_sequences",
    "set_random_seed",
    "split_dataset",
    "text_dataset_from_directory",
    "timeseries_dataset_from_array",
    "to_categorical",
]
