"""Fused losses: native vs the NumPy twin (computed in float64), every ISA variant of the vectorized
loops, gradients, stability, bad input."""

import numpy as np
import pytest
import shendu
from shendu import ops, reference

from tests.helpers.gradcheck import check_gradient
from tests.helpers.threads import run_with_threads

SOFTMAX_LOSSES = ["sparse_softmax_cross_entropy", "softmax_cross_entropy"]
ELEMENTWISE_LOSSES = [
    "binary_cross_entropy",
    "sigmoid_binary_cross_entropy",
    "mean_squared_error",
    "mean_absolute_error",
    "huber",
]


def _inputs(name, shape, rng):
    """(first argument, targets) for a loss, rounded to float32 so both sides see the same."""
    f32 = lambda a: a.astype(np.float32).astype(np.float64)  # noqa: E731
    if name == "sparse_softmax_cross_entropy":
        return f32(3 * rng.standard_normal(shape)), rng.integers(0, shape[1], size=shape[0])
    if name == "softmax_cross_entropy":
        t = rng.random(shape)
        return f32(3 * rng.standard_normal(shape)), f32(t / t.sum(axis=-1, keepdims=True))
    if name == "binary_cross_entropy":
        return f32(rng.uniform(0.02, 0.98, shape)), f32(rng.random(shape))
    return f32(2 * rng.standard_normal(shape)), f32(rng.random(shape))


def _check_against_reference(name, a, t, rtol=1e-5):
    loss, grad = getattr(ops, name)(a.astype(np.float32), t)
    want_loss, want_grad = getattr(reference, name)(a, t)  # float64 truth
    assert isinstance(loss, float)
    assert grad.shape == np.shape(a) and grad.dtype == np.float32
    np.testing.assert_allclose(loss, want_loss, rtol=rtol, atol=1e-7)
    # Gradients are O(1 / n): scale the absolute tolerance with them.
    scale = np.abs(want_grad).max() if want_grad.size else 0.0
    np.testing.assert_allclose(grad, want_grad, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("name", SOFTMAX_LOSSES)
@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (7, 33), (33, 7), (257, 10), (3, 1000)])
def test_softmax_losses_match_reference(rng, isa, name, shape):
    _check_against_reference(name, *_inputs(name, shape, rng))


@pytest.mark.parametrize("name", ELEMENTWISE_LOSSES)
@pytest.mark.parametrize("shape", [(1,), (7,), (7, 33), (2, 3, 257), ()])
def test_elementwise_losses_match_reference(rng, isa, name, shape):
    _check_against_reference(name, *_inputs(name, shape, rng))


@pytest.mark.parametrize("name", SOFTMAX_LOSSES + ELEMENTWISE_LOSSES)
def test_empty_batch(rng, name):
    a, t = _inputs(name, (0, 5), rng)
    for backend in ("native", "reference"):
        shendu.set_backend(backend)
        loss, grad = getattr(ops, name)(a, t)
        assert loss == 0.0 and grad.shape == (0, 5)


@pytest.mark.parametrize("name", SOFTMAX_LOSSES + ELEMENTWISE_LOSSES)
def test_reference_gradient_matches_finite_differences(rng, name):
    a, t = _inputs(name, (3, 4), rng)
    if name == "binary_cross_entropy":
        # Clipped probabilities (far enough from the clip edges for central differences): the
        # loss is flat there, so the gradient must be 0.
        a[0, :] = [-1e-3, 1 + 1e-3, -0.5, 1.5]
    check_gradient(lambda: getattr(reference, name)(a, t)[0], a, getattr(reference, name)(a, t)[1])


def test_binary_cross_entropy_clips_like_keras():
    p = np.array([0.0, 1.0, 1e-9, 0.5], np.float32)
    t = np.array([1.0, 0.0, 1.0, 1.0], np.float32)
    loss, grad = ops.binary_cross_entropy(p, t)
    # Keras clips to [1e-7, 1 - 1e-7] in float32: -log(lo), -log(1 - hi), -log(lo), then -log(0.5).
    lo, hi = float(np.float32(1e-7)), float(np.float32(1 - 1e-7))
    want = (-2 * np.log(lo) - np.log(1 - hi) + np.log(2)) / 4
    np.testing.assert_allclose(loss, want, rtol=1e-6)
    np.testing.assert_array_equal(grad[:3], 0)
    np.testing.assert_allclose(grad[3], -2 / 4, rtol=1e-6)


@pytest.mark.parametrize("name", SOFTMAX_LOSSES)
def test_softmax_losses_do_not_overflow(isa, name):
    logits = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 5e3]], np.float32)
    labels = np.array([1, 1])
    targets = labels if name == "sparse_softmax_cross_entropy" else np.eye(3)[labels]
    loss, grad = getattr(ops, name)(logits, targets)
    # Row 0: lse = 1e4, so -log p[1] = 1e4; row 1: p[1] = 1 to float precision.
    np.testing.assert_allclose(loss, 1e4 / 2, rtol=1e-6)
    np.testing.assert_allclose(grad, [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]], atol=1e-7)


def test_sigmoid_cross_entropy_does_not_overflow(isa):
    loss, grad = ops.sigmoid_binary_cross_entropy(np.array([1e4, -1e4, 1e4]), np.array([0, 1, 1]))
    np.testing.assert_allclose(loss, 2e4 / 3, rtol=1e-6)
    np.testing.assert_allclose(grad, [1 / 3, -1 / 3, 0.0], atol=1e-7)


def test_softmax_cross_entropy_unnormalized_targets(rng):
    # Gradient (softmax * sum(t) - t) / N: targets that do not sum to 1 (e.g. weighted rows).
    logits = rng.standard_normal((5, 4))
    t = rng.random((5, 4)) * 3
    check_gradient(
        lambda: reference.softmax_cross_entropy(logits, t)[0],
        logits,
        reference.softmax_cross_entropy(logits, t)[1],
    )
    _check_against_reference(
        "softmax_cross_entropy",
        logits.astype(np.float32).astype(float),
        t.astype(np.float32).astype(float),
    )


@pytest.mark.parametrize("name", SOFTMAX_LOSSES + ELEMENTWISE_LOSSES)
def test_identical_with_one_and_two_threads(rng, isa, name):
    a, t = _inputs(name, (2000, 37), rng)
    one = run_with_threads(1, lambda: getattr(ops, name)(a, t))
    two = run_with_threads(2, lambda: getattr(ops, name)(a, t))
    assert one[0] == two[0]
    np.testing.assert_array_equal(one[1], two[1])


@pytest.mark.parametrize("name", SOFTMAX_LOSSES + ELEMENTWISE_LOSSES)
def test_nan_propagates(rng, isa, name):
    a, t = _inputs(name, (3, 4), rng)
    a[1, 2] = np.nan
    loss, grad = getattr(ops, name)(a, t)
    assert np.isnan(loss)
    assert np.isnan(grad[1, 2])
    assert np.isfinite(grad[0]).all() and np.isfinite(grad[2]).all()


def test_views_and_integer_input(rng):
    logits = rng.standard_normal((6, 10))[:, ::2]  # non-contiguous float64
    labels = np.array([0, 4, 2, 2, 1, 3], np.int32)
    logits32 = logits.astype(np.float32).astype(float)
    _check_against_reference("sparse_softmax_cross_entropy", logits32, labels)
    np.testing.assert_allclose(
        ops.sparse_softmax_cross_entropy(logits, labels)[0],
        reference.sparse_softmax_cross_entropy(logits, labels)[0],
        rtol=1e-5,
    )
    loss, grad = ops.mean_squared_error(np.arange(4), np.zeros(4, np.int8))
    np.testing.assert_allclose(loss, 14 / 4)
    np.testing.assert_allclose(grad, np.arange(4) / 2)


@pytest.mark.parametrize(
    "name, a, t, err, match",
    [
        (
            "sparse_softmax_cross_entropy",
            np.ones((2, 3)),
            np.array([0, 3]),
            ValueError,
            r"labels: value 3 out of range \[0, 3\)",
        ),
        (
            "sparse_softmax_cross_entropy",
            np.ones((2, 3)),
            np.array([-1, 0]),
            ValueError,
            r"labels: value -1 out of range",
        ),
        (
            "sparse_softmax_cross_entropy",
            np.ones((2, 3)),
            np.array([0, 1, 2]),
            ValueError,
            r"labels: expected \(N,\) matching logits \(2, 3\), got shape \(3,\)",
        ),
        (
            "sparse_softmax_cross_entropy",
            np.ones((2, 3)),
            np.zeros((2, 1), int),
            ValueError,
            "labels: expected",
        ),
        (
            "sparse_softmax_cross_entropy",
            np.ones(3),
            np.array([0]),
            ValueError,
            "logits: expected a 2-D array",
        ),
        (
            "sparse_softmax_cross_entropy",
            np.ones((2, 0)),
            np.zeros(2, int),
            ValueError,
            "logits: expected .* C >= 1",
        ),
        (
            "sparse_softmax_cross_entropy",
            np.ones((2, 3), complex),
            np.array([0, 1]),
            TypeError,
            "logits: expected real numbers",
        ),
        (
            "sparse_softmax_cross_entropy",
            np.ones((2, 3)),
            np.array(["a", "b"]),
            TypeError,
            "labels: expected real numbers",
        ),
        (
            "softmax_cross_entropy",
            np.ones((2, 3)),
            np.ones((2, 4)),
            ValueError,
            r"onehot: expected the shape of logits \(2, 3\), got shape \(2, 4\)",
        ),
        (
            "softmax_cross_entropy",
            np.ones((2, 3, 1)),
            np.ones((2, 3, 1)),
            ValueError,
            "logits: expected a 2-D array",
        ),
        (
            "binary_cross_entropy",
            np.ones((2, 3)),
            np.ones((3, 2)),
            ValueError,
            r"targets: expected the shape of probs \(2, 3\), got shape \(3, 2\)",
        ),
        (
            "binary_cross_entropy",
            np.ones(2),
            np.array(["a", "b"]),
            TypeError,
            "targets: expected real numbers",
        ),
        (
            "sigmoid_binary_cross_entropy",
            np.ones(2, complex),
            np.ones(2),
            TypeError,
            "logits: expected real numbers",
        ),
        (
            "sigmoid_binary_cross_entropy",
            np.ones(2),
            np.ones(3),
            ValueError,
            "targets: expected the shape of logits",
        ),
        (
            "mean_squared_error",
            np.ones(2),
            np.ones((2, 1)),
            ValueError,
            "targets: expected the shape of pred",
        ),
        ("mean_squared_error", None, np.ones(2), TypeError, "pred: expected an array"),
    ],
)
def test_bad_input(name, a, t, err, match):
    with pytest.raises(err, match=match):
        getattr(ops, name)(a, t)


@pytest.mark.parametrize("delta", [0.1, 1.0, 3.5])
def test_huber_delta_matches_reference(rng, isa, delta):
    pred = rng.normal(0, 2, (37, 5)).astype(np.float32)
    targets = rng.normal(0, 2, (37, 5)).astype(np.float32)
    got_loss, got_grad = ops.huber(pred, targets, delta)
    want_loss, want_grad = reference.huber(pred.astype(np.float64), targets, delta)
    assert got_loss == pytest.approx(want_loss, rel=1e-6)
    np.testing.assert_allclose(got_grad, want_grad, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("delta", [0.3, 2.0])
def test_huber_reference_gradient_matches_finite_differences(rng, delta):
    pred = rng.normal(0, 1, (6, 4))
    targets = rng.normal(0, 1, (6, 4))
    _, grad = reference.huber(pred, targets, delta)
    check_gradient(lambda: reference.huber(pred, targets, delta)[0], pred, grad)


@pytest.mark.parametrize("delta", [0.0, -1.0, float("nan"), float("inf")])
def test_huber_bad_delta_names_it(delta):
    with pytest.raises(ValueError, match="delta"):
        ops.huber(np.ones(3, np.float32), np.zeros(3, np.float32), delta)


def test_mean_absolute_error_gradient_is_zero_where_equal():
    _, grad = ops.mean_absolute_error(np.array([1, 2, 3], np.float32), np.array([0, 2, 4]))
    np.testing.assert_array_equal(grad, np.array([1, 0, -1], np.float32) / 3)
