"""The Keras dataset loaders held to TF-Keras: which generated files each reads, where Keras's
cache keeps them, the calls made, and the flattening of their results into npz fixtures
(tests/data/keras_fixtures/datasets/<case>.npz, written by scripts/make_dataset_fixtures.py)."""

import os

import numpy as np

from tests.helpers import dataset_files as files

FIXTURES = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "data",
    "keras_fixtures",
    "datasets",
)

_FASHION = [
    f"{split}-{kind}-idx{dims}-ubyte.gz"
    for split in ("train", "t10k")
    for kind, dims in (("labels", 1), ("images", 3))
]

# For each dataset: its files as named at their origin, each with its writer (None where one
# writer makes several) and its path in Keras's cache folder ($KERAS_HOME/datasets).
DATASETS = {
    "fashion_mnist": {
        name: (files.write_fashion_mnist if i == 0 else None, f"fashion-mnist/{name}")
        for i, name in enumerate(_FASHION)
    },
    "cifar10": {
        "cifar-10-python.tar.gz": (files.write_cifar10, "cifar-10-batches-py-target_archive")
    },
    "cifar100": {
        "cifar-100-python.tar.gz": (files.write_cifar100, "cifar-100-python-target_archive")
    },
    "imdb": {
        "imdb.npz": (files.write_imdb, "imdb.npz"),
        "imdb_word_index.json": (files.write_word_index, "imdb_word_index.json"),
    },
    "reuters": {
        "reuters.npz": (files.write_reuters, "reuters.npz"),
        "reuters_word_index.json": (files.write_word_index, "reuters_word_index.json"),
    },
    "boston_housing": {"boston_housing.npz": (files.write_boston_housing, "boston_housing.npz")},
    "california_housing": {
        "california_housing.npz": (files.write_california_housing, "california_housing.npz")
    },
}


def write_dataset(dataset, folder, keras_layout=False):
    """Writes the dataset's files into ``folder`` (a pathlib.Path) under their origin names, or
    under their Keras cache paths with ``keras_layout``; returns {origin name: path}."""
    paths = {}
    for name, (_, cache_path) in DATASETS[dataset].items():
        paths[name] = folder / (cache_path if keras_layout else name)
        paths[name].parent.mkdir(parents=True, exist_ok=True)
    for name, (writer, _) in DATASETS[dataset].items():
        if writer is files.write_fashion_mnist:
            writer(paths[name].parent)
        elif writer is not None:
            writer(paths[name])
    return paths


# case: (dataset, function, keyword arguments)
CASES = {
    "fashion_mnist": ("fashion_mnist", "load_data", {}),
    "cifar10": ("cifar10", "load_data", {}),
    "cifar100_fine": ("cifar100", "load_data", {}),
    "cifar100_coarse": ("cifar100", "load_data", {"label_mode": "coarse"}),
    "imdb_defaults": ("imdb", "load_data", {}),
    "imdb_vocabulary": ("imdb", "load_data", {"num_words": 20, "skip_top": 4, "maxlen": 10}),
    "imdb_seed": ("imdb", "load_data", {"seed": 7, "start_char": 3, "oov_char": 1}),
    "imdb_no_markers": (
        "imdb",
        "load_data",
        {"start_char": None, "oov_char": None, "index_from": 0, "num_words": 30},
    ),
    "imdb_offset_only": (
        "imdb",
        "load_data",
        {"start_char": None, "index_from": 5, "oov_char": 9, "skip_top": 8},
    ),
    "imdb_word_index": ("imdb", "get_word_index", {}),
    "reuters_defaults": ("reuters", "load_data", {}),
    "reuters_vocabulary": (
        "reuters",
        "load_data",
        {"num_words": 25, "skip_top": 2, "maxlen": 8, "test_split": 0.3, "seed": 5},
    ),
    "reuters_no_markers": (
        "reuters",
        "load_data",
        {"start_char": None, "oov_char": None, "index_from": 0, "test_split": 0.5},
    ),
    "reuters_offset_only": ("reuters", "load_data", {"start_char": None, "index_from": 2}),
    "reuters_word_index": ("reuters", "get_word_index", {}),
    "reuters_label_names": ("reuters", "get_label_names", {}),
    "boston_housing_defaults": ("boston_housing", "load_data", {}),
    "boston_housing_split": ("boston_housing", "load_data", {"test_split": 0.35, "seed": 3}),
    "boston_housing_no_test": ("boston_housing", "load_data", {"test_split": 0.0}),
    "california_housing_large": ("california_housing", "load_data", {}),
    "california_housing_small": (
        "california_housing",
        "load_data",
        {"version": "small", "test_split": 0.1, "seed": 1},
    ),
}

_SPLITS = ("x_train", "y_train", "x_test", "y_test")


def flatten(result):
    """A loader's result as a dict of plain arrays: the four arrays of load_data (an object
    array of sequences as its shape, lengths and concatenated values), a word index as sorted
    words and their indices, label names as strings."""
    if isinstance(result, dict):
        words = sorted(result)
        return {"words": np.array(words), "indices": np.array([result[w] for w in words])}
    if all(isinstance(name, str) for name in result):
        return {"names": np.array(result)}
    (x_train, y_train), (x_test, y_test) = result
    out = {}
    for key, array in zip(_SPLITS, (x_train, y_train, x_test, y_test)):
        if array.dtype == object:
            sequences = list(array.ravel())
            out[f"{key}.shape"] = np.array(array.shape, np.int64)
            out[f"{key}.lengths"] = np.array([len(s) for s in sequences], np.int64)
            out[f"{key}.values"] = np.array([w for s in sequences for w in s], np.int64)
        else:
            out[key] = array
    return out
