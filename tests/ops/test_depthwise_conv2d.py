"""depthwise_conv2d: native kernels (every ISA) against the NumPy twin, gradients, bad input."""

import numpy as np
import pytest
from shendu import ops, reference

from tests.helpers.gradcheck import check_gradient, random_projection
from tests.helpers.threads import run_with_threads

# (N, H, W, C, M, kernel, strides, padding): channel counts that leave every span width in use
# (spans of 4 vectors, single vectors, single floats), depth multipliers, strides with windows
# hanging over the borders, a window as large as the input.
CASES = [
    (2, 9, 11, 3, 1, (3, 3), (1, 1), "same"),
    (2, 9, 11, 70, 1, (3, 3), (2, 2), "valid"),
    (3, 12, 7, 16, 2, (3, 2), (2, 1), "same"),
    (1, 5, 5, 32, 3, (5, 5), (1, 1), "same"),
    (2, 8, 8, 128, 1, (3, 3), (1, 1), "same"),
    (1, 4, 6, 5, 1, (4, 6), (1, 1), "valid"),
    (5, 6, 6, 1, 4, (2, 2), (3, 3), "same"),
]


# (N, H, W, C, M, kernel, dilation, padding), strides 1.
DILATED = [
    (2, 9, 11, 3, 1, (3, 3), (2, 2), "same"),
    (2, 9, 11, 20, 2, (3, 2), (2, 3), "valid"),
    (1, 2, 3, 5, 1, (3, 3), (3, 3), "same"),
]


def make(rng, case, dtype=np.float32):
    n, h, w, c, m, kernel, strides, padding = case
    x = rng.standard_normal((n, h, w, c)).astype(dtype)
    k = rng.standard_normal((*kernel, c, m)).astype(dtype)
    b = rng.standard_normal(c * m).astype(dtype)
    return x, k, b, strides, padding


def as64(*arrays):
    return [a.astype(np.float64) for a in arrays]


def check_against_reference(rng, case):
    x, k, b, s, padding = make(rng, case)
    y = ops.depthwise_conv2d(x, k, b, s, padding)
    want = reference.depthwise_conv2d(*as64(x, k, b), s, padding)
    assert y.dtype == np.float32 and y.shape == want.shape
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5 * np.sqrt(k.shape[0] * k.shape[1]))
    dy = rng.standard_normal(y.shape).astype(np.float32)
    got = ops.depthwise_conv2d_backward(dy, x, k, s, padding, True)
    ref = reference.depthwise_conv2d_backward(*as64(dy, x, k), s, padding, True)
    cells = dy.shape[0] * dy.shape[1] * dy.shape[2]
    for g, w, name in zip(got, ref, ("dx", "dw", "db")):
        assert g.dtype == np.float32 and g.shape == w.shape, name
        atol = 1e-5 * np.sqrt(k.shape[0] * k.shape[1] * k.shape[3] if name == "dx" else cells)
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=atol, err_msg=name)


@pytest.mark.parametrize("case", CASES)
def test_forward_and_backward_match_reference(rng, case):
    check_against_reference(rng, case)


@pytest.mark.parametrize("case", CASES[:4])
def test_every_isa_matches_reference(rng, isa, case):
    check_against_reference(rng, case)


@pytest.mark.parametrize("case", DILATED)
def test_dilated_matches_reference(rng, case):
    n, h, w, c, m, kernel, d, padding = case
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    k = rng.standard_normal((*kernel, c, m)).astype(np.float32)
    b = rng.standard_normal(c * m).astype(np.float32)
    y = ops.depthwise_conv2d(x, k, b, 1, padding, d)
    want = reference.depthwise_conv2d(*as64(x, k, b), 1, padding, d)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5 * np.sqrt(kernel[0] * kernel[1]))
    dy = rng.standard_normal(y.shape).astype(np.float32)
    got = ops.depthwise_conv2d_backward(dy, x, k, 1, padding, True, d)
    ref = reference.depthwise_conv2d_backward(*as64(dy, x, k), 1, padding, True, d)
    for g, r, name in zip(got, ref, ("dx", "dw", "db")):
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-4, err_msg=name)


def test_reference_dilated_backward_matches_finite_differences():
    rng = np.random.default_rng(3)
    x, k = rng.standard_normal((1, 5, 4, 2)), rng.standard_normal((2, 2, 2, 2))
    proj = random_projection(reference.depthwise_conv2d(x, k, None, 1, "same", 2).shape)

    def loss():
        return float((reference.depthwise_conv2d(x, k, None, 1, "same", 2) * proj).sum())

    dx, dw, _ = reference.depthwise_conv2d_backward(proj, x, k, 1, "same", True, 2)
    check_gradient(loss, x, dx)
    check_gradient(loss, k, dw)


def test_dilation_needs_strides_one():
    x, k = np.zeros((1, 6, 6, 2), np.float32), np.zeros((3, 3, 2, 1), np.float32)
    with pytest.raises(ValueError, match="dilation_rate"):
        ops.depthwise_conv2d(x, k, None, 2, "same", 2)


def test_backward_without_dx_gives_the_same_dw_and_db(rng):
    x, k, _, s, padding = make(rng, CASES[2])
    dy = rng.standard_normal(ops.depthwise_conv2d(x, k, None, s, padding).shape)
    _, dw, db = ops.depthwise_conv2d_backward(dy, x, k, s, padding, True)
    dx, dw2, db2 = ops.depthwise_conv2d_backward(dy, x, k, s, padding, False)
    assert dx is None
    np.testing.assert_array_equal(dw, dw2)
    np.testing.assert_array_equal(db, db2)


def test_known_values():
    # Channel 0 sums its 2x2 windows, channel 1 takes their top-left cell times -1.
    x = np.arange(18, dtype=np.float32).reshape(1, 3, 3, 2)
    k = np.zeros((2, 2, 2, 1), np.float32)
    k[:, :, 0, 0] = 1
    k[0, 0, 1, 0] = -1
    y = ops.depthwise_conv2d(x, k)
    c0 = x[0, :, :, 0]
    np.testing.assert_array_equal(
        y[0, :, :, 0], c0[:-1, :-1] + c0[1:, :-1] + c0[:-1, 1:] + c0[1:, 1:]
    )
    np.testing.assert_array_equal(y[0, :, :, 1], -x[0, :-1, :-1, 1])


@pytest.mark.parametrize("case", [CASES[1], CASES[2]])
def test_one_and_two_threads_agree(rng, case):
    x, k, b, s, padding = make(rng, case)
    dy = rng.standard_normal(ops.depthwise_conv2d(x, k, b, s, padding).shape).astype(np.float32)

    def run():
        return (
            ops.depthwise_conv2d(x, k, b, s, padding),
            *ops.depthwise_conv2d_backward(dy, x, k, s, padding),
        )

    for one, two in zip(run_with_threads(1, run), run_with_threads(2, run)):
        np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize(
    "case", [(1, 4, 3, 2, 2, (3, 2), (2, 1), "same"), (2, 3, 3, 1, 1, (2, 2), 1, "valid")]
)
def test_reference_backward_matches_finite_differences(case):
    x, k, b, s, padding = make(np.random.default_rng(7), case, np.float64)
    proj = random_projection(reference.depthwise_conv2d(x, k, b, s, padding).shape)

    def loss():
        return float((reference.depthwise_conv2d(x, k, b, s, padding) * proj).sum())

    dx, dw, db = reference.depthwise_conv2d_backward(proj, x, k, s, padding)
    check_gradient(loss, x, dx)
    check_gradient(loss, k, dw)
    check_gradient(loss, b, db)


@pytest.mark.parametrize("shape", [(0, 5, 5, 3), (2, 5, 5, 0), (2, 0, 5, 3)])
def test_zero_sized_dims(rng, shape):
    x = np.zeros(shape, np.float32)
    k = rng.standard_normal((3, 3, shape[3], 2)).astype(np.float32)
    y = ops.depthwise_conv2d(x, k, None, 1, "same")
    assert y.shape == (*shape[:3], shape[3] * 2) and not y.any()
    dx, dw, db = ops.depthwise_conv2d_backward(y, x, k, 1, "same")
    assert dx.shape == shape and dw.shape == k.shape and not dw.any() and not db.any()


X = np.zeros((1, 4, 4, 3), np.float32)
W = np.zeros((3, 3, 3, 2), np.float32)


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        (dict(w=np.zeros((3, 3, 2, 2), np.float32)), ValueError, "w: expected 3 input channels"),
        (dict(w=np.zeros((3, 3, 3), np.float32)), ValueError, "w"),
        (dict(b=np.zeros(3, np.float32)), ValueError, "b: expected shape"),
        (dict(w=np.zeros((5, 5, 3, 2), np.float32)), ValueError, "larger than x"),
        (dict(strides=(1, 0), padding="same"), ValueError, "strides"),
        (dict(padding=3), TypeError, "padding"),
        (dict(x=np.zeros((4, 4, 3), np.float32)), ValueError, "x"),
    ],
)
def test_bad_input(kwargs, err, match):
    args = dict(x=X, w=W, b=None, strides=1, padding="valid") | kwargs
    with pytest.raises(err, match=match):
        ops.depthwise_conv2d(**args)


def test_backward_bad_input():
    with pytest.raises(ValueError, match="dy: expected shape"):
        ops.depthwise_conv2d_backward(np.zeros((1, 2, 2, 3), np.float32), X, W)
    with pytest.raises(TypeError, match="need_dx"):
        ops.depthwise_conv2d_backward(np.zeros((1, 2, 2, 6), np.float32), X, W, 1, "valid", 1)
