"""conv2d_transpose: native (conv2d's backward data pass, then its forward and dw) against the
NumPy twin, Keras's output sizes, gradients, bad input."""

import numpy as np
import pytest
from shendu import ops, reference

from tests.helpers.gradcheck import check_gradient, random_projection
from tests.helpers.threads import run_with_threads

# (N, H, W, C, F, kernel, strides, padding, output_padding): the decoder's stride-2 layers, kernels
# smaller than the stride (gaps of bias only), output_padding, stride 1 (Winograd's layers in
# conv2d), few output channels (the direct kernels), 1x1.
CASES = [
    (2, 5, 6, 3, 4, (3, 3), (2, 2), "same", None),
    (2, 5, 6, 8, 20, (3, 3), (2, 2), "valid", None),
    (2, 4, 4, 16, 8, (4, 4), (2, 2), "same", None),
    (2, 4, 4, 16, 3, (3, 3), (2, 2), "same", 1),
    (2, 4, 4, 16, 3, (3, 3), (2, 2), "valid", (1, 0)),
    (2, 7, 5, 32, 32, (3, 3), (1, 1), "same", None),
    (1, 3, 3, 40, 2, (2, 3), (3, 2), "valid", None),
    (2, 4, 4, 64, 64, (1, 1), (1, 1), "valid", None),
    (3, 8, 8, 32, 16, (3, 3), (2, 2), "same", None),
]


def make(rng, case, dtype=np.float32):
    n, h, w, c, f, kernel, strides, padding, op = case
    x = rng.standard_normal((n, h, w, c)).astype(dtype)
    k = rng.standard_normal((*kernel, f, c)).astype(dtype)
    b = rng.standard_normal(f).astype(dtype)
    return x, k, b, strides, padding, op


def as64(*arrays):
    return [a.astype(np.float64) for a in arrays]


@pytest.mark.parametrize("case", CASES)
def test_forward_and_backward_match_reference(rng, case):
    x, k, b, s, padding, op = make(rng, case)
    y = ops.conv2d_transpose(x, k, b, s, padding, op)
    want = reference.conv2d_transpose(*as64(x, k, b), s, padding, op)
    assert y.dtype == np.float32 and y.shape == want.shape
    scale = np.sqrt(k.shape[0] * k.shape[1] * k.shape[3])
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=2e-5 * scale)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    got = ops.conv2d_transpose_backward(dy, x, k, s, padding, op, True)
    ref = reference.conv2d_transpose_backward(*as64(dy, x, k), s, padding, op, True)
    cells = dy.shape[0] * dy.shape[1] * dy.shape[2]
    dx_atol = 1e-4 * np.sqrt(k.shape[0] * k.shape[1] * k.shape[2])
    sum_atol = 2e-5 * np.sqrt(cells)  # dw and db sum over every output cell
    for g, w, name, atol in zip(got, ref, ("dx", "dw", "db"), (dx_atol, sum_atol, sum_atol)):
        assert g.dtype == np.float32 and g.shape == w.shape, name
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=atol, err_msg=name)
    dx, dw, db = ops.conv2d_transpose_backward(dy, x, k, s, padding, op, False)
    assert dx is None
    np.testing.assert_array_equal(dw, got[1])
    np.testing.assert_array_equal(db, got[2])


@pytest.mark.parametrize(
    "hw, kernel, strides, padding, op, out",
    [
        (5, 3, 2, "same", None, 10),
        (5, 3, 2, "valid", None, 11),
        (5, 1, 2, "valid", None, 10),  # max(k, s) - k of output padding
        (5, 3, 2, "same", 1, 10),
        (5, 3, 2, "same", 0, 9),
        (5, 4, 2, "valid", 1, 13),
    ],
)
def test_output_size_is_keras(hw, kernel, strides, padding, op, out):
    x = np.zeros((1, hw, hw, 2), np.float32)
    k = np.zeros((kernel, kernel, 3, 2), np.float32)
    assert ops.conv2d_transpose(x, k, None, strides, padding, op).shape == (1, out, out, 3)


def test_is_the_adjoint_of_conv2d(rng):
    # <conv2d_transpose(x), z> = <x, conv2d(z)> for the same kernel, strides and padding.
    x, k, _, s, padding, op = make(rng, CASES[0])
    y = ops.conv2d_transpose(x, k, None, s, padding, op)
    z = rng.standard_normal(y.shape).astype(np.float32)
    lhs = float((y.astype(np.float64) * z).sum())
    rhs = float((x.astype(np.float64) * ops.conv2d(z, k, None, s, padding)).sum())
    assert lhs == pytest.approx(rhs, rel=1e-4)


@pytest.mark.parametrize("case", [CASES[0], CASES[2], CASES[8]])
def test_one_and_two_threads_agree(rng, case):
    x, k, b, s, padding, op = make(rng, case)
    dy = rng.standard_normal(ops.conv2d_transpose(x, k, b, s, padding, op).shape)

    def run():
        return (
            ops.conv2d_transpose(x, k, b, s, padding, op),
            *ops.conv2d_transpose_backward(dy.astype(np.float32), x, k, s, padding, op),
        )

    for one, two in zip(run_with_threads(1, run), run_with_threads(2, run)):
        np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("case", [CASES[0], CASES[4], CASES[6]])
def test_reference_backward_matches_finite_differences(case):
    small = (1, 3, 2, 2, 2, *case[5:])
    x, k, b, s, padding, op = make(np.random.default_rng(7), small, np.float64)
    proj = random_projection(reference.conv2d_transpose(x, k, b, s, padding, op).shape)

    def loss():
        return float((reference.conv2d_transpose(x, k, b, s, padding, op) * proj).sum())

    dx, dw, db = reference.conv2d_transpose_backward(proj, x, k, s, padding, op)
    check_gradient(loss, x, dx)
    check_gradient(loss, k, dw)
    check_gradient(loss, b, db)


def test_empty_batch(rng):
    x, k, b, s, padding, op = make(rng, (0, 4, 4, 3, 2, (3, 3), (2, 2), "same", None))
    assert ops.conv2d_transpose(x, k, b, s, padding, op).shape == (0, 8, 8, 2)
    dy = np.zeros((0, 8, 8, 2), np.float32)
    dx, dw, db = ops.conv2d_transpose_backward(dy, x, k, s, padding, op)
    assert dx.shape == x.shape and not dw.any() and not db.any()


X = np.zeros((1, 4, 4, 3), np.float32)
W = np.zeros((3, 3, 2, 3), np.float32)


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        (dict(w=np.zeros((3, 3, 3, 2), np.float32)), ValueError, "w: expected 3 input channels"),
        (dict(output_padding=2, strides=2), ValueError, "output_padding"),
        (dict(output_padding=-1, strides=2), ValueError, "output_padding"),
        (
            dict(output_padding=0, strides=2, w=np.zeros((2, 2, 2, 3), np.float32)),
            ValueError,
            "output_padding",
        ),  # 'same', even kernel: (4 - 1) * 2 + 0 rows convolve to 3, not 4
        (dict(b=np.zeros(3, np.float32)), ValueError, "b: expected shape"),
        (dict(padding="full"), ValueError, "padding"),
        (dict(strides=0), ValueError, "strides"),
        (dict(output_padding="1", strides=2), TypeError, "output_padding"),
    ],
)
def test_bad_input(kwargs, err, match):
    args = dict(x=X, w=W, b=None, strides=1, padding="same", output_padding=None) | kwargs
    with pytest.raises(err, match=match):
        ops.conv2d_transpose(**args)


def test_backward_bad_dy():
    with pytest.raises(ValueError, match="dy: expected shape"):
        ops.conv2d_transpose_backward(np.zeros((1, 5, 4, 2), np.float32), X, W, 1, "same")
