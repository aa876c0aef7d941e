"""batch_norm / layer_norm ops: native kernels against the NumPy twins, the twins' backward
against float64 finite differences, data far from zero, thread counts and bad input."""

import numpy as np
import pytest
from shendu import ops, reference

from tests.helpers.gradcheck import check_gradient, random_projection
from tests.helpers.threads import run_with_threads

# (x shape, axis): channels last (rows of C), channels first / middle axes (runs of the inner
# size), odd channel counts, one channel, blocks larger than one kernel block, empty batches.
BN_CASES = [
    ((5, 3), -1),
    ((2, 7, 7, 3), -1),
    ((3, 5, 33), -1),
    ((2, 5, 4, 4), 1),
    ((2, 3, 17), 1),
    ((4, 9, 2), 0),
    ((7, 1), -1),
    ((600, 37), -1),  # several row blocks
    ((3, 2, 700), -2),  # long runs
    ((1, 1), 1),
    ((0, 4), -1),
    ((0, 3, 5), 1),
]


def _vectors(rng, c):
    return (rng.standard_normal(c) + 1).astype(np.float32), rng.standard_normal(c).astype(
        np.float32
    )


@pytest.mark.parametrize("shape, axis", BN_CASES)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_training_matches_reference(isa, rng, shape, axis, affine):
    x = (rng.standard_normal(shape) * 3 + 2).astype(np.float32)
    c = shape[axis]
    gamma, beta = _vectors(rng, c) if affine else (None, None)
    y, mean, var = ops.batch_norm_training(x, gamma, beta, 1e-3, axis)
    y_ref, mean_ref, var_ref = reference.batch_norm_training(x, gamma, beta, 1e-3, axis)
    assert y.dtype == mean.dtype == var.dtype == np.float32
    assert y.shape == x.shape and mean.shape == var.shape == (c,)
    np.testing.assert_allclose(mean, mean_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(var, var_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(y, y_ref, rtol=1e-4, atol=1e-4)
    dy = rng.standard_normal(shape).astype(np.float32)
    got = ops.batch_norm_backward(dy, x, gamma, mean, var, 1e-3, axis)
    want = reference.batch_norm_backward(dy, x, gamma, mean_ref, var_ref, 1e-3, axis)
    for g, w in zip(got, want):
        assert g.dtype == np.float32 and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=2e-4)


@pytest.mark.parametrize("shape, axis", BN_CASES)
def test_batch_norm_inference_matches_reference(rng, shape, axis):
    x = rng.standard_normal(shape).astype(np.float32)
    c = shape[axis]
    mean, var = rng.standard_normal(c).astype(np.float32), rng.random(c).astype(np.float32)
    gamma, beta = _vectors(rng, c)
    for g, b in ((gamma, beta), (None, beta), (gamma, None), (None, None)):
        np.testing.assert_allclose(
            ops.batch_norm(x, mean, var, g, b, 0.01, axis),
            reference.batch_norm(x, mean, var, g, b, 0.01, axis),
            rtol=1e-5,
            atol=1e-5,
        )


def test_batch_norm_of_no_values_has_nan_statistics():
    _, mean, var = ops.batch_norm_training(np.zeros((0, 3), np.float32))
    assert np.isnan(mean).all() and np.isnan(var).all()
    dx, dgamma, dbeta = ops.batch_norm_backward(
        np.zeros((0, 3)), np.zeros((0, 3)), None, np.zeros(3), np.ones(3)
    )
    assert dx.shape == (0, 3)
    np.testing.assert_array_equal(dgamma, 0)
    np.testing.assert_array_equal(dbeta, 0)


@pytest.mark.parametrize("shape, axis", [((4096, 8), -1), ((8, 4, 1024), 1)])
def test_batch_norm_statistics_far_from_zero(isa, rng, shape, axis):
    """Mean 1e4, standard deviation 1: E[x^2] - E[x]^2 in float32 would lose every digit of
    the variance (x^2 ~ 1e8 has an ulp of 8); the two-pass blocks keep it to ~1e-6."""
    x = (rng.standard_normal(shape) + 1e4).astype(np.float32)
    y, mean, var = ops.batch_norm_training(x, None, None, 1e-3, axis)
    others = tuple(d for d in range(x.ndim) if d != axis % x.ndim)
    x64 = x.astype(np.float64)
    true_mean, true_var = x64.mean(axis=others), x64.var(axis=others)
    # The mean is rounded to float32 once (its ulp at 1e4 is 1e-3).
    np.testing.assert_allclose(mean, true_mean, rtol=0, atol=1e-3)
    np.testing.assert_allclose(var, true_var, rtol=1e-4)
    # y is computed from the double mean: normalized to float32 precision of values near 1.
    shape_c = [1] * x.ndim
    shape_c[axis] = -1
    y_true = (x64 - true_mean.reshape(shape_c)) / np.sqrt(true_var.reshape(shape_c) + 1e-3)
    np.testing.assert_allclose(y, y_true, rtol=0, atol=1e-4)


def test_layer_norm_far_from_zero(rng):
    x = (rng.standard_normal((16, 777)) + 1e4).astype(np.float32)
    y, mean, rstd = ops.layer_norm(x, None, None, 1e-5)
    x64 = x.astype(np.float64)
    y_true = (x64 - x64.mean(-1, keepdims=True)) / np.sqrt(x64.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(y, y_true, rtol=0, atol=1e-4)
    np.testing.assert_allclose(1 / rstd**2 - 1e-5, x64.var(-1), rtol=1e-4)


@pytest.mark.parametrize("shape, axis", [((2000, 37), -1), ((4, 37, 500), 1)])
def test_batch_norm_does_not_depend_on_thread_count(rng, shape, axis):
    x = rng.standard_normal(shape).astype(np.float32) + 5
    dy = rng.standard_normal(shape).astype(np.float32)

    def run():
        y, mean, var = ops.batch_norm_training(x, None, None, 1e-3, axis)
        return (y, mean, var, *ops.batch_norm_backward(dy, x, None, mean, var, 1e-3, axis))

    one = run_with_threads(1, run)
    for a, b in zip(one, run_with_threads(4, run)):
        np.testing.assert_array_equal(a, b)


def test_layer_norm_does_not_depend_on_thread_count(rng):
    x = rng.standard_normal((3000, 19)).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    gamma = rng.standard_normal(19).astype(np.float32)

    def run():
        y, mean, rstd = ops.layer_norm(x, gamma, None)
        return (y, mean, rstd, *ops.layer_norm_backward(dy, x, gamma, mean, rstd))

    one = run_with_threads(1, run)
    for a, b in zip(one, run_with_threads(4, run)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("shape, axis", [((4, 3), -1), ((3, 2, 3), 1), ((2, 3, 2, 2), -1)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_training_gradients(shape, axis, affine):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape) * 2 + 1
    c = shape[axis]
    gamma = rng.standard_normal(c) + 1 if affine else None
    beta = rng.standard_normal(c) if affine else None
    r = random_projection(shape)

    def loss():
        return float((reference.batch_norm_training(x, gamma, beta, 1e-3, axis)[0] * r).sum())

    _, mean, var = reference.batch_norm_training(x, gamma, beta, 1e-3, axis)
    dx, dgamma, dbeta = reference.batch_norm_backward(r, x, gamma, mean, var, 1e-3, axis)
    check_gradient(loss, x, dx)
    if affine:
        check_gradient(loss, gamma, dgamma)
        check_gradient(loss, beta, dbeta)


LN_SHAPES = [(4, 5), (2, 3, 7), (1, 1), (3, 1), (5, 130), (0, 4), (3, 0), (7,)]


@pytest.mark.parametrize("shape", LN_SHAPES)
@pytest.mark.parametrize("affine", ["both", "scale", "center", "none"])
def test_layer_norm_matches_reference(isa, rng, shape, affine):
    x = (rng.standard_normal(shape) * 2 - 1).astype(np.float32)
    w = shape[-1]
    gamma = rng.standard_normal(w).astype(np.float32) if affine in ("both", "scale") else None
    beta = rng.standard_normal(w).astype(np.float32) if affine in ("both", "center") else None
    y, mean, rstd = ops.layer_norm(x, gamma, beta, 1e-3)
    y_ref, mean_ref, rstd_ref = reference.layer_norm(x, gamma, beta, 1e-3)
    assert mean.shape == rstd.shape == shape[:-1]
    np.testing.assert_allclose(y, y_ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(mean, mean_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(rstd, rstd_ref, rtol=1e-5, atol=1e-5)
    dy = rng.standard_normal(shape).astype(np.float32)
    got = ops.layer_norm_backward(dy, x, gamma, mean, rstd)
    want = reference.layer_norm_backward(dy, x, gamma, mean_ref, rstd_ref)
    for g, wv in zip(got, want):
        assert g.dtype == np.float32 and g.shape == wv.shape
        np.testing.assert_allclose(g, wv, rtol=1e-4, atol=2e-4)


@pytest.mark.parametrize("shape", [(3, 4), (2, 2, 5)])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_gradients(shape, affine):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape)
    gamma = rng.standard_normal(shape[-1]) if affine else None
    beta = rng.standard_normal(shape[-1]) if affine else None
    r = random_projection(shape)

    def loss():
        return float((reference.layer_norm(x, gamma, beta, 1e-3)[0] * r).sum())

    _, mean, rstd = reference.layer_norm(x, gamma, beta, 1e-3)
    dx, dgamma, dbeta = reference.layer_norm_backward(r, x, gamma, mean, rstd)
    check_gradient(loss, x, dx)
    if affine:
        check_gradient(loss, gamma, dgamma)
        check_gradient(loss, beta, dbeta)


X = np.ones((2, 3), np.float32)
V = np.ones(3, np.float32)


@pytest.mark.parametrize(
    "call, err, match",
    [
        (
            lambda: ops.batch_norm_training(X, np.ones(4)),
            ValueError,
            r"gamma: expected shape \(3,\)",
        ),
        (lambda: ops.batch_norm_training(X, None, np.ones((3, 1))), ValueError, "beta"),
        (lambda: ops.batch_norm_training(X, axis=2), ValueError, "axis"),
        (lambda: ops.batch_norm_training(X, axis=-3), ValueError, "axis"),
        (lambda: ops.batch_norm_training(X, axis=1.0), TypeError, "axis"),
        (lambda: ops.batch_norm_training(X, epsilon=-1), ValueError, "epsilon"),
        (lambda: ops.batch_norm_training(X, epsilon=float("nan")), ValueError, "epsilon"),
        (lambda: ops.batch_norm_training(np.float32(1)), ValueError, "x"),
        (lambda: ops.batch_norm_training(X.astype(complex)), TypeError, "x"),
        (lambda: ops.batch_norm(X, V, np.ones(2)), ValueError, "variance"),
        (lambda: ops.batch_norm(X, None, V), TypeError, "mean"),
        (lambda: ops.batch_norm_backward(np.ones((3, 2)), X, None, V, V), ValueError, "dy"),
        (lambda: ops.batch_norm_backward(X, X, None, np.ones(2), V), ValueError, "mean"),
        (lambda: ops.layer_norm(X, np.ones(4)), ValueError, "gamma"),
        (lambda: ops.layer_norm(np.float32(2)), ValueError, "x"),
        (lambda: ops.layer_norm(X, epsilon="1"), TypeError, "epsilon"),
        (lambda: ops.layer_norm_backward(X, X, None, np.ones(3), np.ones(2)), ValueError, "mean"),
        (lambda: ops.layer_norm_backward(X, X, None, np.ones(2), np.ones(3)), ValueError, "rstd"),
        (lambda: ops.layer_norm_backward(X[:1], X, None, V[:2], V[:2]), ValueError, "dy"),
    ],
)
def test_bad_input(call, err, match):
    with pytest.raises(err, match=match):
        call()
