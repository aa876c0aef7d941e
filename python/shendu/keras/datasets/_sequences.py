"""The word-index preprocessing of Keras's IMDB and Reuters loaders, on whole arrays: sequences
are held as one flat int64 array of word indices plus each sequence's length, and given back as
Keras gives them, an object array of Python lists of ints."""

import itertools
import json
import numbers

import numpy as np


class Sequences:
    """Ragged sequences of word indices: ``flat`` holds them end to end, ``lengths`` their
    lengths."""

    def __init__(self, flat, lengths):
        self.flat, self.lengths = flat, lengths

    @classmethod
    def from_array(cls, sequences, where):
        try:
            lengths = np.fromiter(map(len, sequences), np.int64, len(sequences))
            flat = np.fromiter(
                itertools.chain.from_iterable(sequences), np.int64, int(lengths.sum())
            )
        except (TypeError, ValueError, OverflowError) as e:
            raise ValueError(f"{where} must hold sequences of integer word indices: {e}") from None
        return cls(flat, lengths)

    def __len__(self):
        return len(self.lengths)

    def select(self, keep):
        """The sequences where the boolean mask ``keep`` is true."""
        return Sequences(self.flat[np.repeat(keep, self.lengths)], self.lengths[keep])

    def concatenate(self, other):
        return Sequences(
            np.concatenate([self.flat, other.flat]), np.concatenate([self.lengths, other.lengths])
        )

    def encode(self, start_char, index_from):
        """Word indices shifted by ``index_from``, each sequence led by ``start_char`` unless it
        is None."""
        flat = self.flat + index_from
        if start_char is None:
            return Sequences(flat, self.lengths)
        starts = np.cumsum(self.lengths) - self.lengths
        return Sequences(np.insert(flat, starts, start_char), self.lengths + 1)

    def limit_vocabulary(self, num_words, skip_top, oov_char):
        """Words outside ``skip_top <= w < num_words`` become ``oov_char``, or are dropped when
        it is None. Without ``num_words`` the bound is the largest index present, which (as in
        Keras) makes that word itself out of vocabulary."""
        if not num_words:
            num_words = int(self.flat.max()) if self.flat.size else 0
        inside = (skip_top <= self.flat) & (self.flat < num_words)
        if oov_char is not None:
            return Sequences(np.where(inside, self.flat, oov_char), self.lengths)
        segments = np.repeat(np.arange(len(self)), self.lengths)
        return Sequences(self.flat[inside], np.bincount(segments[inside], minlength=len(self)))

    def split(self, index):
        """The first ``index`` sequences and the rest."""
        cut = int(self.lengths[:index].sum())
        return (
            Sequences(self.flat[:cut], self.lengths[:index]),
            Sequences(self.flat[cut:], self.lengths[index:]),
        )

    def to_keras(self):
        """An object array of lists of Python ints, built as Keras builds it."""
        words = self.flat.tolist()
        ends = np.cumsum(self.lengths).tolist()
        return np.array(
            [words[end - n : end] for end, n in zip(ends, self.lengths.tolist())], dtype="object"
        )


def shuffled(sequences, labels, rng, where):
    """The object array of sequences, as Sequences, and the labels, both in the order of
    ``rng.shuffle`` over their indices, as Keras shuffles them."""
    indices = np.arange(len(labels))
    rng.shuffle(indices)
    return Sequences.from_array(sequences[indices], where), labels[indices]


def shorter_than(maxlen, sequences, labels):
    """The sequences (and their labels) shorter than ``maxlen``; all of them without one."""
    if not maxlen:
        return sequences, labels
    keep = sequences.lengths < maxlen
    return sequences.select(keep), labels[keep]


def read_split(arrays, x_key, y_key, where):
    """The object array of sequences and the labels of an IMDB or Reuters npz file, checked."""
    for key in (x_key, y_key):
        if key not in arrays:
            raise ValueError(
                f"{where} lacks {key} (it has: {', '.join(sorted(arrays)) or 'nothing'})"
            )
    x, y = arrays[x_key], arrays[y_key]
    if x.ndim == 0:
        raise ValueError(f"{where}: {x_key} must be an array of sequences, got shape {x.shape}")
    if y.ndim != 1 or y.dtype.kind not in "iu" or len(y) != len(x):
        raise ValueError(
            f"{where}: {y_key} must be {len(x)} integer labels, one per sequence, got "
            f"{y.dtype} {y.shape}"
        )
    return x, y


def read_word_index(filename):
    try:
        with open(filename, encoding="utf-8") as f:
            index = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{filename} is not a valid json file: {e}") from None
    if not isinstance(index, dict):
        raise ValueError(f"{filename} must hold a json object of words, got {type(index).__name__}")
    return index


def check_options(num_words, skip_top, maxlen, seed, start_char, oov_char, index_from):
    """The checks of the load_data options shared by IMDB and Reuters."""
    for name, value, optional in (
        ("num_words", num_words, True),
        ("skip_top", skip_top, False),
        ("maxlen", maxlen, True),
        ("seed", seed, True),
        ("start_char", start_char, True),
        ("oov_char", oov_char, True),
        ("index_from", index_from, False),
    ):
        if value is None and optional:
            continue
        if not isinstance(value, numbers.Integral) or isinstance(value, bool):
            raise TypeError(
                f"{name} must be an integer{' or None' if optional else ''}, got {value!r}"
            )
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
