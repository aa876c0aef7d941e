"""keras.utils: to_categorical, pad_sequences, set_random_seed — Keras semantics and bad input."""

import random

import numpy as np
import pytest
from shendu.keras import backend, utils
from shendu.keras.preprocessing import sequence
from shendu.keras.utils import pad_sequences, to_categorical


def test_to_categorical_one_hot_rows():
    got = to_categorical([0, 2, 1, 2])
    want = np.eye(3)[[0, 2, 1, 2]]
    assert got.dtype == np.float64  # Keras 3 returns float64 for NumPy input
    np.testing.assert_array_equal(got, want)


def test_to_categorical_shapes_like_keras():
    # A trailing axis of 1 is dropped: (N, 1) label columns give (N, C).
    assert to_categorical(np.array([[1], [0], [3]])).shape == (3, 4)
    got = to_categorical(np.array([[0, 1, 2], [2, 1, 0]]), num_classes=5)
    assert got.shape == (2, 3, 5)
    np.testing.assert_array_equal(got.argmax(-1), [[0, 1, 2], [2, 1, 0]])
    np.testing.assert_array_equal(got.sum(-1), np.ones((2, 3)))
    # num_classes beyond max(label)+1 adds zero columns; uint8 labels (as MNIST's) work.
    got = to_categorical(np.array([1, 0], dtype=np.uint8), num_classes=4)
    np.testing.assert_array_equal(got, [[0, 1, 0, 0], [1, 0, 0, 0]])
    # Integral floats are labels too; an empty batch with num_classes gives (0, C).
    np.testing.assert_array_equal(to_categorical(np.array([2.0, 0.0])), [[0, 0, 1], [1, 0, 0]])
    assert to_categorical(np.zeros(0, np.int64), num_classes=3).shape == (0, 3)


@pytest.mark.parametrize(
    "labels, num_classes, error, match",
    [
        ([0, 3], 3, ValueError, "label 3 is out of range for num_classes=3"),
        ([0, -1], None, ValueError, ">= 0, got -1"),
        ([0.5, 1.0], None, ValueError, "non-integer"),
        ([0.0, np.nan], None, ValueError, "non-integer"),
        (["a", "b"], None, TypeError, "integer class labels"),
        ([0, 1], 0, ValueError, "num_classes` must be >= 1"),
        ([0, 1], 2.5, TypeError, "num_classes` must be an int"),
        ([], None, ValueError, "num_classes` is required"),
    ],
)
def test_to_categorical_bad_input(labels, num_classes, error, match):
    with pytest.raises(error, match=match):
        to_categorical(labels, num_classes=num_classes)


SEQS = [[1], [2, 3], [4, 5, 6]]


@pytest.mark.parametrize(
    "kwargs, want",
    [
        ({}, [[0, 0, 1], [0, 2, 3], [4, 5, 6]]),
        ({"value": -1}, [[-1, -1, 1], [-1, 2, 3], [4, 5, 6]]),
        ({"padding": "post"}, [[1, 0, 0], [2, 3, 0], [4, 5, 6]]),
        ({"maxlen": 2}, [[0, 1], [2, 3], [5, 6]]),
        ({"maxlen": 2, "truncating": "post"}, [[0, 1], [2, 3], [4, 5]]),
        (
            {"maxlen": 4, "padding": "post", "truncating": "post"},
            [[1, 0, 0, 0], [2, 3, 0, 0], [4, 5, 6, 0]],
        ),
    ],
)
def test_pad_sequences_keras_examples(kwargs, want):
    got = pad_sequences(SEQS, **kwargs)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, want)


def test_pad_sequences_dtype_value_and_element_shape():
    got = pad_sequences([[0.25], [1.5, 2.5]], dtype="float32", value=0.5)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, [[0.5, 0.25], [1.5, 2.5]])
    # Sequences of vectors keep the element shape; empty sequences are all padding.
    vecs = [np.ones((2, 3)), [], np.full((1, 3), 7)]
    got = pad_sequences(vecs, maxlen=3)
    assert got.shape == (3, 3, 3)
    np.testing.assert_array_equal(got[0], [[0, 0, 0], [1, 1, 1], [1, 1, 1]])
    np.testing.assert_array_equal(got[1], np.zeros((3, 3)))
    np.testing.assert_array_equal(got[2], [[0, 0, 0], [0, 0, 0], [7, 7, 7]])
    # NumPy rows of a ragged list and tuples work like lists.
    np.testing.assert_array_equal(pad_sequences([np.array([3, 4]), (5,)]), [[3, 4], [0, 5]])
    assert pad_sequences([]).shape == (0, 0)
    assert pad_sequences(SEQS, maxlen=0).shape == (3, 0)
    strings = pad_sequences([["a"], ["b", "c"]], dtype=object, value="<pad>")
    assert strings.tolist() == [["<pad>", "a"], ["b", "c"]]


def test_pad_sequences_is_also_preprocessing_sequence():
    assert sequence.pad_sequences is pad_sequences
    assert utils.pad_sequences is pad_sequences


@pytest.mark.parametrize(
    "seqs, kwargs, match",
    [
        ([[1, 2], ["x"]], {}, "position 1 cannot be converted to dtype int32"),
        ([[1, 2], [[1, 2], [3]]], {}, "position 1"),
        ([np.ones((2, 3)), np.ones((2, 4))], {}, r"position 1 have shape \(4,\), expected \(3,\)"),
        ([[1], 5], {}, "position 1 is not a sequence"),
        (SEQS, {"padding": "middle"}, "`padding` must be 'pre' or 'post', got 'middle'"),
        (SEQS, {"truncating": "both"}, "`truncating` must be 'pre' or 'post', got 'both'"),
        (SEQS, {"maxlen": -1}, "`maxlen` must be None or an int >= 0, got -1"),
        (SEQS, {"maxlen": 2.5}, "`maxlen` must be None or an int >= 0, got 2.5"),
        (SEQS, {"value": "pad"}, "cannot hold the string `value`"),
        (42, {}, "must be a list of sequences"),
    ],
)
def test_pad_sequences_bad_input(seqs, kwargs, match):
    with pytest.raises(ValueError, match=match):
        pad_sequences(seqs, **kwargs)


def test_set_random_seed_seeds_python_numpy_and_backend(monkeypatch):
    seen = []
    monkeypatch.setattr(backend, "set_random_seed", seen.append)
    utils.set_random_seed(1234)
    first = (random.random(), np.random.rand(3))
    utils.set_random_seed(1234)
    second = (random.random(), np.random.rand(3))
    assert first[0] == second[0]
    np.testing.assert_array_equal(first[1], second[1])
    utils.set_random_seed(99)
    assert random.random() != first[0]
    assert seen == [1234, 1234, 99]
    assert all(type(s) is int for s in seen)
    utils.set_random_seed(np.int64(5))
    assert seen[-1] == 5


@pytest.mark.parametrize(
    "seed, error",
    [
        (1.5, TypeError),
        ("1", TypeError),
        (None, TypeError),
        (True, TypeError),
        (-1, ValueError),
        (2**32, ValueError),
    ],
)
def test_set_random_seed_bad_seed(seed, error):
    with pytest.raises(error, match="seed"):
        utils.set_random_seed(seed)
