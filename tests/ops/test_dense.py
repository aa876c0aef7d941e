"""Dense layers and activations: native vs NumPy twin, every ISA, threads, gradients, bad input."""

import numpy as np
import pytest
from shendu import ops, reference

from tests.helpers.gradcheck import check_gradient, random_projection

ACTIVATIONS = ["linear", "relu", "sigmoid", "tanh", "softmax"]
ELEMENTWISE = ["relu", "sigmoid", "tanh"]
# float32 kernels (polynomial exp, FMA) against the float64 twin.
RTOL, ATOL = 1e-5, 1e-6


def f64(*arrays):
    return [a.astype(np.float64) for a in arrays]


# --- activations -----------------------------------------------------------------------------

ACT_SHAPES = [(1,), (7,), (33,), (257,), (7, 33), (3, 5, 257), (0, 7), (4, 0)]


@pytest.mark.parametrize("name", ELEMENTWISE + ["softmax"])
@pytest.mark.parametrize("shape", ACT_SHAPES)
def test_activation_matches_reference(rng, isa, name, shape):
    x = (4 * rng.standard_normal(shape)).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    y = getattr(ops, name)(x)
    assert y.shape == shape and y.dtype == np.float32
    np.testing.assert_allclose(y, getattr(reference, name)(*f64(x)), rtol=RTOL, atol=ATOL)
    dx = getattr(ops, name + "_backward")(dy, y)
    want = getattr(reference, name + "_backward")(*f64(dy, y))
    np.testing.assert_allclose(dx, want, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_activation_of_a_scalar(name):
    x = np.float32(0.75)
    np.testing.assert_allclose(
        getattr(ops, name)(x), getattr(reference, name)(np.float64(x)), rtol=RTOL
    )


@pytest.mark.parametrize("name", ELEMENTWISE + ["softmax"])
def test_activation_same_with_one_and_two_threads(rng, isa, set_threads, name):
    x = (4 * rng.standard_normal((300, 257))).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    fwd = getattr(ops, name)
    bwd = getattr(ops, name + "_backward")
    set_threads(1)
    one = (fwd(x), bwd(dy, fwd(x)))
    set_threads(2)
    two = (fwd(x), bwd(dy, fwd(x)))
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


def test_sigmoid_and_tanh_saturate_without_overflow(isa):
    x = np.array([-1e30, -1000, -90, -88.5, 88.5, 90, 1000, 1e30, -np.inf, np.inf], np.float32)
    with np.errstate(over="raise", invalid="raise"):  # the twin itself must not overflow
        want_s = reference.sigmoid(x.astype(np.float64))
    np.testing.assert_allclose(ops.sigmoid(x), want_s, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ops.tanh(x), np.tanh(x.astype(np.float64)), rtol=RTOL, atol=ATOL)


def test_sigmoid_is_accurate_down_to_the_smallest_normal_float(isa):
    # Near e^-87 the exp polynomial's correction term alone is subnormal: it must not be flushed.
    x = np.linspace(-87, -60, 1001).astype(np.float32)
    np.testing.assert_allclose(
        ops.sigmoid(x), reference.sigmoid(x.astype(np.float64)), rtol=RTOL, atol=0
    )


def test_tanh_is_accurate_near_zero(isa):
    x = np.array([1e-7, -3e-5, 1e-3, 0.3, -0.6, 0.63, 0.0], np.float32)
    np.testing.assert_allclose(ops.tanh(x), np.tanh(x.astype(np.float64)), rtol=2e-7, atol=0)


def test_softmax_of_huge_logits(isa):
    x = np.array([[1e30, 1e30, -1e30], [3e38, 0.0, 1.0], [-1e4, -1e4 - 1, -1e4 - 2]], np.float32)
    np.testing.assert_allclose(
        ops.softmax(x), reference.softmax(x.astype(np.float64)), rtol=RTOL, atol=ATOL
    )


@pytest.mark.parametrize("name", ELEMENTWISE + ["softmax"])
def test_activation_propagates_nan(isa, name):
    x = np.array([[0.5, np.nan, -2.0], [1.0, 2.0, 3.0]], np.float32)
    y = getattr(ops, name)(x)
    if name == "softmax":  # a NaN logit poisons its whole row, and only it
        assert np.isnan(y[0]).all() and np.isfinite(y[1]).all()
    else:
        assert np.isnan(y[0, 1]) and np.isfinite(np.delete(y.ravel(), 1)).all()


@pytest.mark.parametrize("name", ELEMENTWISE + ["softmax"])
def test_activation_gradient(name):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 5))
    if name == "relu":  # keep away from the kink at 0, where the derivative jumps
        x += np.sign(x) * 0.1
    fwd = getattr(reference, name)
    r = random_projection(x.shape)
    analytic = getattr(reference, name + "_backward")(r, fwd(x))
    assert analytic.dtype == np.float64
    check_gradient(lambda: np.sum(fwd(x) * r), x, analytic)


@pytest.mark.parametrize("name", ELEMENTWISE + ["softmax"])
def test_activation_accepts_views_and_ints(name):
    x = np.arange(24, dtype=np.int64).reshape(4, 6)[:, ::2] - 5
    np.testing.assert_allclose(
        getattr(ops, name)(x), getattr(reference, name)(x.astype(np.float64)), rtol=RTOL, atol=ATOL
    )


@pytest.mark.parametrize(
    "call, err, match",
    [
        (lambda: ops.relu(np.ones(2, complex)), TypeError, "x: expected real numbers"),
        (lambda: ops.sigmoid(None), TypeError, "x: expected an array"),
        (lambda: ops.softmax(np.float32(1)), ValueError, r"x: expected an array of at least 1"),
        (
            lambda: ops.tanh_backward(np.ones((2, 3)), np.ones((3, 2))),
            ValueError,
            r"y: expected the shape of dy \(2, 3\), got shape \(3, 2\)",
        ),
        (
            lambda: ops.softmax_backward(np.ones(3), np.array(["a"] * 3)),
            TypeError,
            "y: expected real numbers",
        ),
        (
            lambda: ops.relu_backward(np.ones(3, object), np.ones(3)),
            TypeError,
            "dy: expected real numbers",
        ),
    ],
)
def test_activation_bad_input(call, err, match):
    with pytest.raises(err, match=match):
        call()


# --- dense ---------------------------------------------------------------------------------------

DENSE_SHAPES = [(1, 1, 1), (7, 33, 5), (33, 7, 257), (32, 257, 10), (0, 7, 3)]


def dense_operands(rng, n, i, o):
    x = rng.standard_normal((n, i)).astype(np.float32)
    w = (rng.standard_normal((i, o)) / np.sqrt(i)).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    return x, w, b


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("shape", DENSE_SHAPES)
@pytest.mark.parametrize("with_bias", [True, False])
def test_dense_matches_reference(rng, isa, activation, shape, with_bias):
    x, w, b = dense_operands(rng, *shape)
    b = b if with_bias else None
    y = ops.dense(x, w, b, activation)
    want = reference.dense(*f64(x, w), None if b is None else b.astype(np.float64), activation)
    assert y.shape == want.shape and y.dtype == np.float32
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-5)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    got = ops.dense_backward(dy, x, w, y, activation)
    want = reference.dense_backward(*f64(dy, x, w, y), activation)
    for g, r in zip(got, want):
        assert g.shape == r.shape and g.dtype == np.float32
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-4)


def test_dense_empty_batch_gives_zero_weight_gradients():
    x, w, b = dense_operands(np.random.default_rng(0), 0, 4, 3)
    dx, dw, db = ops.dense_backward(np.ones((0, 3)), x, w, np.ones((0, 3)), "relu")
    assert dx.shape == (0, 4)
    np.testing.assert_array_equal(dw, np.zeros((4, 3)))
    np.testing.assert_array_equal(db, np.zeros(3))


def test_dense_big_outputs_are_ordinary_aligned_arrays(rng):
    # y, dx and dw of a product of 2^20 flops or more are 64-byte aligned views of slightly larger
    # arrays (as matmul's C): they must behave as any other result.
    x, w, b = dense_operands(rng, 64, 300, 40)
    y = ops.dense(x, w, b, "relu")
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx, dw, db = ops.dense_backward(dy, x, w, y, "relu")
    y_ref = reference.dense(x, w, b, "relu")
    dx_ref, dw_ref, _ = reference.dense_backward(dy, x, w, y_ref, "relu")
    for got, want in ((y, y_ref), (dx, dx_ref), (dw, dw_ref)):
        assert got.ctypes.data % 64 == 0
        assert got.flags.c_contiguous and got.flags.writeable and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)
        got[0, 0] = 123.0
        assert got[0, 0] == 123.0


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_same_with_one_and_two_threads(rng, isa, set_threads, activation):
    x, w, b = dense_operands(rng, 64, 784, 128)
    dy = rng.standard_normal((64, 128)).astype(np.float32)

    def run():
        y = ops.dense(x, w, b, activation)
        return (y, *ops.dense_backward(dy, x, w, y, activation))

    set_threads(1)
    one = run()
    set_threads(2)
    for a, b_ in zip(one, run()):
        np.testing.assert_array_equal(a, b_)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_gradient(activation):
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 5)), rng.standard_normal(5)
    r = random_projection((4, 5))
    dx, dw, db = reference.dense_backward(r, x, w, reference.dense(x, w, b, activation), activation)

    def loss():
        return np.sum(reference.dense(x, w, b, activation) * r)

    check_gradient(loss, x, dx)
    check_gradient(loss, w, dw)
    check_gradient(loss, b, db)


def test_dense_none_activation_is_linear(rng):
    x, w, b = dense_operands(rng, 5, 4, 3)
    np.testing.assert_array_equal(ops.dense(x, w, b, None), ops.dense(x, w, b, "linear"))


def test_dense_propagates_nan(rng):
    x, w, b = dense_operands(rng, 3, 4, 5)
    x[1, 2] = np.nan
    y = ops.dense(x, w, b, "relu")
    assert np.isnan(y[1]).all() and np.isfinite(y[[0, 2]]).all()


@pytest.mark.parametrize(
    "call, err, match",
    [
        (
            lambda x, w, b: ops.dense(x, w, b, "gelu"),
            ValueError,
            "activation: expected 'linear', 'relu', 'sigmoid', 'tanh' or 'softmax', got 'gelu'",
        ),
        (lambda x, w, b: ops.dense(x, w, b, 3), TypeError, "activation: expected"),
        (lambda x, w, b: ops.dense(x[0], w, b), ValueError, r"x: expected a 2-D array"),
        (
            lambda x, w, b: ops.dense(x, w.T, b),
            ValueError,
            r"w: expected \(4, out\) to match x \(3, 4\), got shape \(5, 4\)",
        ),
        (
            lambda x, w, b: ops.dense(x, w, b[:2]),
            ValueError,
            r"b: expected \(5,\) to match w \(4, 5\), got shape \(2,\)",
        ),
        (lambda x, w, b: ops.dense(x, w, np.ones((1, 5))), ValueError, "b: expected a 1-D array"),
        (lambda x, w, b: ops.dense(x, w.astype(complex), b), TypeError, "w: expected real"),
        (
            lambda x, w, b: ops.dense_backward(np.ones((3, 4)), x, w, np.ones((3, 5))),
            ValueError,
            r"dy: expected \(3, 5\)",
        ),
        (
            lambda x, w, b: ops.dense_backward(np.ones((3, 5)), x, w, np.ones((3, 4))),
            ValueError,
            r"y: expected \(3, 5\)",
        ),
        (
            lambda x, w, b: ops.dense_backward(np.ones((3, 5)), x, w[:2], np.ones((3, 5))),
            ValueError,
            r"w: expected \(4, out\)",
        ),
        (
            lambda x, w, b: ops.dense_backward(np.ones((3, 5)), x, w, np.ones((3, 5)), "swish"),
            ValueError,
            "activation: expected",
        ),
    ],
)
def test_dense_bad_input(rng, call, err, match):
    with pytest.raises(err, match=match):
        call(*dense_operands(rng, 3, 4, 5))
