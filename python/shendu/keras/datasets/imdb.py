"""IMDB movie-review sentiment: keras.datasets.imdb.load_data() and get_word_index(), from
Keras's imdb.npz and imdb_word_index.json, with Keras's shuffling and word-index options."""

import numpy as np

from . import _download, _safe_pickle
from ._sequences import (
    check_options,
    read_split,
    read_word_index,
    shorter_than,
    shuffled,
)

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz"
SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
WORD_INDEX_ORIGIN = (
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb_word_index.json"
)
WORD_INDEX_MD5 = "bfafd718b763782e994055a2d397834f"


def load_data(
    path="imdb.npz",
    num_words=None,
    skip_top=0,
    maxlen=None,
    seed=113,
    start_char=1,
    oov_char=2,
    index_from=3,
):
    """Returns ``(x_train, y_train), (x_test, y_test)`` for the 25,000 training and 25,000 test
    reviews of Keras's file: x an object array of lists of word indices (a word's index is its
    frequency rank plus ``index_from``), y int labels 1 (positive) or 0.

    Each split is shuffled with ``np.random.RandomState(seed)``, each review led by
    ``start_char`` (None: nothing); reviews of ``maxlen`` words or more are dropped; words ranked
    below ``skip_top`` or at ``num_words`` and beyond become ``oov_char`` (None: dropped).
    ``path`` is the file name under $SHENDU_DATA_DIR and Keras's cache folder."""
    check_options(num_words, skip_top, maxlen, seed, start_char, oov_char, index_from)
    # ORIGIN and SHA256 are read at call time, so tests can point them at a local server.
    filename = _download.get_file(path, ORIGIN, SHA256, "IMDB")
    arrays = _safe_pickle.load_npz(filename)
    x_train, labels_train = read_split(arrays, "x_train", "y_train", filename)
    x_test, labels_test = read_split(arrays, "x_test", "y_test", filename)

    rng = np.random.RandomState(seed)
    x_train, labels_train = shuffled(x_train, labels_train, rng, f"{filename}: x_train")
    x_test, labels_test = shuffled(x_test, labels_test, rng, f"{filename}: x_test")
    x_train, labels_train = shorter_than(
        maxlen, x_train.encode(start_char, index_from), labels_train
    )
    x_test, labels_test = shorter_than(maxlen, x_test.encode(start_char, index_from), labels_test)
    if maxlen and not (len(x_train) and len(x_test)):
        raise ValueError(
            f"No {'training' if not len(x_train) else 'test'} review is shorter than "
            f"maxlen={maxlen}: increase maxlen"
        )
    # The vocabulary bound is taken over both splits together, as Keras does.
    x_train, x_test = (
        x_train.concatenate(x_test)
        .limit_vocabulary(num_words, skip_top, oov_char)
        .split(len(x_train))
    )
    return (x_train.to_keras(), labels_train), (x_test.to_keras(), labels_test)


def get_word_index(path="imdb_word_index.json"):
    """The dict from each word to its frequency rank (1 is the most frequent), as in Keras's
    imdb_word_index.json; a word of load_data's sequences is its rank plus ``index_from``."""
    filename = _download.get_file(path, WORD_INDEX_ORIGIN, WORD_INDEX_MD5, "the IMDB word index")
    return read_word_index(filename)
