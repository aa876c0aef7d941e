"""Embedding lookup and its scatter-add backward: native vs the NumPy twin, gradients, bad input."""

import numpy as np
import pytest
from shendu import ops, reference

from tests.helpers.gradcheck import check_gradient, random_projection
from tests.helpers.threads import run_with_threads


@pytest.mark.parametrize("ids_shape", [(1,), (7,), (3, 33), (2, 0), (0,), (4, 3, 2)])
@pytest.mark.parametrize("vocab, dim", [(1, 1), (33, 7), (257, 33)])
def test_forward_and_backward_match_reference(rng, ids_shape, vocab, dim):
    ids = rng.integers(0, vocab, size=ids_shape)
    table = rng.standard_normal((vocab, dim)).astype(np.float32)
    out = ops.embedding(ids, table)
    assert out.shape == ids_shape + (dim,) and out.dtype == np.float32
    # A gather copies: exact.
    np.testing.assert_array_equal(out, reference.embedding(ids, table))

    dy = rng.standard_normal(ids_shape + (dim,)).astype(np.float32)
    dtable = ops.embedding_backward(dy, ids, vocab)
    assert dtable.shape == (vocab, dim) and dtable.dtype == np.float32
    # Both add a row's gradients in order of position in float32, so they agree to rounding.
    np.testing.assert_allclose(
        dtable, reference.embedding_backward(dy, ids, vocab), rtol=1e-6, atol=1e-6
    )


def test_backward_accumulates_repeated_ids():
    ids = np.array([[2, 0], [2, 2]])
    dy = np.arange(8, dtype=np.float32).reshape(2, 2, 2)
    dtable = ops.embedding_backward(dy, ids, 4)
    # Row 2 collects positions (0, 0), (1, 0), (1, 1); row 0 position (0, 1); rows 1, 3 nothing.
    want = np.zeros((4, 2), np.float32)
    want[2] = dy[0, 0] + dy[1, 0] + dy[1, 1]
    want[0] = dy[0, 1]
    np.testing.assert_array_equal(dtable, want)


def test_reference_backward_matches_finite_differences(rng):
    ids = np.array([[0, 3, 3], [1, 3, 0]])
    table = rng.standard_normal((5, 3))
    r = random_projection(ids.shape + (3,), seed=1)
    check_gradient(
        lambda: np.sum(reference.embedding(ids, table) * r),
        table,
        reference.embedding_backward(r, ids, 5),
    )


def test_identical_with_one_and_two_threads(rng):
    # Skewed ids (a few very frequent), enough work to split across threads.
    ids = np.minimum(rng.geometric(0.05, size=(400, 50)) - 1, 999)
    table = rng.standard_normal((1000, 64)).astype(np.float32)
    dy = rng.standard_normal((400, 50, 64)).astype(np.float32)
    for f in (lambda: ops.embedding(ids, table), lambda: ops.embedding_backward(dy, ids, 1000)):
        np.testing.assert_array_equal(run_with_threads(1, f), run_with_threads(2, f))
    np.testing.assert_allclose(
        run_with_threads(2, lambda: ops.embedding_backward(dy, ids, 1000)),
        reference.embedding_backward(dy, ids, 1000),
        rtol=1e-5,
        atol=1e-5,
    )


def test_accepts_views_float_ids_and_propagates_nan(rng):
    table = rng.standard_normal((6, 8)).astype(np.float64)[:, ::2]  # non-contiguous float64
    table[4, 1] = np.nan
    ids = np.array([4.0, 1.0, 4.0])  # whole floats, as Keras casts them
    out = ops.embedding(ids, table)
    np.testing.assert_array_equal(out, table.astype(np.float32)[[4, 1, 4]])
    assert np.isnan(out[0, 1]) and np.isnan(out[2, 1])
    dtable = ops.embedding_backward(np.ones((3, 4))[:, ::-1], np.array([0, 0, 5], np.int32), 6)
    np.testing.assert_array_equal(dtable[[0, 5, 1]], [[2] * 4, [1] * 4, [0] * 4])


@pytest.mark.parametrize(
    "ids, table, err, match",
    [
        (np.array([0, 5]), np.ones((5, 2)), ValueError, r"ids: value 5 out of range \[0, 5\)"),
        (np.array([-1]), np.ones((5, 2)), ValueError, r"ids: value -1 out of range \[0, 5\)"),
        (np.array([0.5]), np.ones((5, 2)), ValueError, "ids: expected whole numbers"),
        (np.array([1 + 0j]), np.ones((5, 2)), TypeError, "ids: expected real numbers"),
        (np.array(["a"]), np.ones((5, 2)), TypeError, "ids: expected real numbers"),
        (np.array([0]), np.ones(5), ValueError, "table: expected a 2-D array"),
        (np.array([0]), np.ones((5, 2), complex), TypeError, "table: expected real numbers"),
        (None, np.ones((5, 2)), TypeError, "ids: expected an array"),
    ],
)
def test_forward_bad_input(ids, table, err, match):
    with pytest.raises(err, match=match):
        ops.embedding(ids, table)


@pytest.mark.parametrize(
    "dy, ids, vocab, err, match",
    [
        (np.ones((2, 3)), np.array([0, 4]), 4, ValueError, r"ids: value 4 out of range \[0, 4\)"),
        (np.ones((3, 3)), np.array([0, 1]), 4, ValueError, r"dy: expected ids.shape \+ \(D,\)"),
        (np.ones((2,)), np.array([0, 1]), 4, ValueError, "dy: expected a 2-D array"),
        (np.ones((2, 3), complex), np.array([0, 1]), 4, TypeError, "dy: expected real numbers"),
        (np.ones((2, 3)), np.array([0, 1]), -1, ValueError, "vocab_size: expected an int >= 0"),
        (np.ones((2, 3)), np.array([0, 1]), 4.0, TypeError, "vocab_size: expected an int"),
    ],
)
def test_backward_bad_input(dy, ids, vocab, err, match):
    with pytest.raises(err, match=match):
        ops.embedding_backward(dy, ids, vocab)
