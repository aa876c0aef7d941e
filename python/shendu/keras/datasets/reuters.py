"""Reuters newswire topics: keras.datasets.reuters.load_data(), get_word_index() and
get_label_names(), from Keras's reuters.npz and reuters_word_index.json, with Keras's
shuffling, split and word-index options."""

import numpy as np

from . import _download, _safe_pickle
from ._sequences import (
    check_options,
    read_split,
    read_word_index,
    shorter_than,
    shuffled,
)

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/reuters.npz"
SHA256 = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
WORD_INDEX_ORIGIN = (
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/reuters_word_index.json"
)
WORD_INDEX_MD5 = "4d44cc38712099c9e383dc6e5f11a921"
# The topic of each label index, as Keras names them.
_LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply",
    "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas",
    "cpi", "money-fx", "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin",
    "strategic-metal", "livestock", "retail", "ipi", "iron-steel", "rubber", "heat", "jobs",
    "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog", "lead",
)  # fmt: skip


def load_data(
    path="reuters.npz",
    num_words=None,
    skip_top=0,
    maxlen=None,
    test_split=0.2,
    seed=113,
    start_char=1,
    oov_char=2,
    index_from=3,
):
    """Returns ``(x_train, y_train), (x_test, y_test)`` for the 11,228 newswires of Keras's
    file: x an object array of lists of word indices (a word's index is its frequency rank plus
    ``index_from``), y int topics 0..45 (get_label_names() names them).

    The newswires are shuffled with ``np.random.RandomState(seed)``, each led by ``start_char``
    (None: nothing); those of ``maxlen`` words or more are dropped; words ranked below
    ``skip_top`` or at ``num_words`` and beyond become ``oov_char`` (None: dropped); the last
    ``test_split`` of them are the test split. ``path`` is the file name under
    $SHENDU_DATA_DIR and Keras's cache folder."""
    check_options(num_words, skip_top, maxlen, seed, start_char, oov_char, index_from)
    if not 0 <= test_split <= 1:
        raise ValueError(f"test_split must be between 0 and 1, got {test_split}")
    # ORIGIN and SHA256 are read at call time, so tests can point them at a local server.
    filename = _download.get_file(path, ORIGIN, SHA256, "Reuters")
    xs, labels = read_split(_safe_pickle.load_npz(filename), "x", "y", filename)

    xs, labels = shuffled(xs, labels, np.random.RandomState(seed), f"{filename}: x")
    xs, labels = shorter_than(maxlen, xs.encode(start_char, index_from), labels)
    xs = xs.limit_vocabulary(num_words, skip_top, oov_char)
    cut = int(len(xs) * (1 - test_split))
    x_train, x_test = xs.split(cut)
    return (x_train.to_keras(), labels[:cut]), (x_test.to_keras(), labels[cut:])


def get_word_index(path="reuters_word_index.json"):
    """The dict from each word to its frequency rank (1 is the most frequent), as in Keras's
    reuters_word_index.json; a word of load_data's sequences is its rank plus ``index_from``."""
    filename = _download.get_file(path, WORD_INDEX_ORIGIN, WORD_INDEX_MD5, "the Reuters word index")
    return read_word_index(filename)


def get_label_names():
    """The 46 topic names, indexed by load_data's labels."""
    return _LABEL_NAMES
