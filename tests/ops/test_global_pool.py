"""Global average / max pooling over (N, L, C): native vs NumPy twin on every ISA, threads,
finite differences, ties, NaN, empty dimensions, bad input."""

import numpy as np
import pytest
from shendu import ops, reference

from tests.helpers.gradcheck import check_gradient, random_projection

# Channel counts around the vector widths and the 512-channel block; no steps; no samples.
SHAPES = [(2, 5, 3), (1, 1, 1), (3, 17, 16), (2, 9, 33), (1, 6, 513), (4, 70, 1030), (2, 0, 3)]
SHAPES += [(0, 4, 3), (2, 4, 0)]


@pytest.mark.parametrize("shape", SHAPES)
def test_avg_matches_reference(rng, isa, shape):
    x = rng.standard_normal(shape).astype(np.float32)
    y = ops.global_avg_pool(x)
    assert y.shape == (shape[0], shape[2]) and y.dtype == np.float32
    np.testing.assert_allclose(y, reference.global_avg_pool(x.astype(np.float64)), 1e-5, 1e-6)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx = ops.global_avg_pool_backward(dy, shape)
    assert dx.shape == shape
    want = reference.global_avg_pool_backward(dy.astype(np.float64), shape)
    np.testing.assert_allclose(dx, want, rtol=1e-6)


@pytest.mark.parametrize("shape", SHAPES)
def test_max_matches_reference(rng, isa, shape):
    x = rng.standard_normal(shape).astype(np.float32)
    y = ops.global_max_pool(x)
    np.testing.assert_array_equal(y, reference.global_max_pool(x))
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx = ops.global_max_pool_backward(dy, x, y)
    np.testing.assert_allclose(dx, reference.global_max_pool_backward(dy, x, y), rtol=1e-6)


def test_known_values(isa):
    x = np.array([[[1, -2], [4, -5], [-3, 7]]], np.float32)
    np.testing.assert_allclose(ops.global_avg_pool(x), [[2 / 3, 0]], atol=1e-7)
    np.testing.assert_array_equal(ops.global_max_pool(x), [[4, 7]])


def test_tied_maxima_share_the_gradient(isa):
    x = np.array([[[2.0], [1.0], [2.0], [2.0]]], np.float32)
    y = ops.global_max_pool(x)
    dx = ops.global_max_pool_backward(np.array([[3.0]], np.float32), x, y)
    np.testing.assert_allclose(dx.ravel(), [1, 0, 1, 1])


def test_nan_propagates(isa):
    x = np.zeros((1, 5, 20), np.float32)
    x[0, 3, 7] = np.nan
    assert np.isnan(ops.global_max_pool(x)[0, 7]) and np.isnan(ops.global_avg_pool(x)[0, 7])
    assert not np.isnan(np.delete(ops.global_max_pool(x), 7)).any()


def test_same_with_one_and_two_threads(rng, set_threads):
    x = rng.standard_normal((6, 300, 700)).astype(np.float32)
    dy = rng.standard_normal((6, 700)).astype(np.float32)

    def run():
        y = ops.global_max_pool(x)
        return (
            ops.global_avg_pool(x),
            y,
            ops.global_avg_pool_backward(dy, x.shape),
            ops.global_max_pool_backward(dy, x, y),
        )

    set_threads(1)
    one = run()
    set_threads(2)
    for a, b in zip(one, run()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ["avg", "max"])
def test_gradient(kind):
    x = np.random.default_rng(3).permutation(24).reshape(2, 4, 3) / 24.0  # distinct: no ties
    r = random_projection((2, 3))
    fwd = getattr(reference, f"global_{kind}_pool")
    if kind == "avg":
        analytic = reference.global_avg_pool_backward(r, x.shape)
    else:
        analytic = reference.global_max_pool_backward(r, x, fwd(x))
    check_gradient(lambda: np.sum(fwd(x) * r), x, analytic)


@pytest.mark.parametrize(
    "call, err, match",
    [
        (lambda: ops.global_avg_pool(np.ones((2, 3))), ValueError, "x"),
        (lambda: ops.global_max_pool(np.ones((2, 3, 4, 5))), ValueError, "x"),
        (lambda: ops.global_avg_pool_backward(np.ones((2, 4)), (2, 5, 3)), ValueError, "dy"),
        (lambda: ops.global_avg_pool_backward(np.ones((2, 3)), (2, 5)), TypeError, "x_shape"),
        (lambda: ops.global_avg_pool_backward(np.ones((2, 3)), (2, -1, 3)), ValueError, "x_shape"),
        (
            lambda: ops.global_max_pool_backward(
                np.ones((2, 3)), np.ones((2, 5, 4)), np.ones((2, 3))
            ),
            ValueError,
            "dy",
        ),
        (
            lambda: ops.global_max_pool_backward(
                np.ones((2, 3)), np.ones((2, 5, 3)), np.ones((2, 4))
            ),
            ValueError,
            "y",
        ),
    ],
)
def test_bad_input(call, err, match):
    with pytest.raises(err, match=match):
        call()
