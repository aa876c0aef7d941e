"""conv2d with dilation_rate: native (the phase decomposition) against the NumPy twin (taps
dilation cells apart), gradients, and Keras's refusal of dilation with strides."""

import numpy as np
import pytest
from shendu import ops, reference

from tests.helpers.gradcheck import check_gradient, random_projection
from tests.helpers.threads import run_with_threads

# (N, H, W, C, F, kernel, dilation, padding): phases of unequal sizes (H, W not multiples of the
# dilation), dilated windows as wide as the input, each conv2d path under the phases (direct for
# C <= 4, Winograd 3x3, im2col), one axis dilated, the H = 1 rows of Conv1D.
CASES = [
    (2, 9, 11, 3, 5, (3, 3), (2, 2), "same"),
    (2, 9, 11, 8, 20, (3, 3), (2, 2), "valid"),
    (3, 12, 7, 16, 8, (3, 2), (2, 3), "same"),
    (1, 5, 5, 32, 32, (3, 3), (1, 2), "same"),
    (1, 5, 5, 6, 4, (3, 3), (2, 2), "valid"),
    (2, 1, 20, 64, 64, (1, 5), (1, 3), "same"),
    (2, 1, 17, 5, 7, (1, 4), (1, 4), "valid"),
    (4, 16, 16, 64, 64, (3, 3), (2, 2), "same"),
    (1, 2, 3, 2, 3, (3, 3), (3, 3), "same"),
]


def make(rng, case, dtype=np.float32):
    n, h, w, c, f, kernel, dilation, padding = case
    x = rng.standard_normal((n, h, w, c)).astype(dtype)
    k = rng.standard_normal((*kernel, c, f)).astype(dtype)
    b = rng.standard_normal(f).astype(dtype)
    return x, k, b, dilation, padding


def as64(*arrays):
    return [a.astype(np.float64) for a in arrays]


@pytest.mark.parametrize("case", CASES)
def test_forward_and_backward_match_reference(rng, case):
    x, k, b, d, padding = make(rng, case)
    y = ops.conv2d(x, k, b, 1, padding, d)
    want = reference.conv2d(*as64(x, k, b), 1, padding, d)
    assert y.dtype == np.float32 and y.shape == want.shape
    scale = np.sqrt(k.shape[0] * k.shape[1] * k.shape[2])
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4 * scale)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    got = ops.conv2d_backward(dy, x, k, 1, padding, True, d)
    ref = reference.conv2d_backward(*as64(dy, x, k), 1, padding, True, d)
    cells = max(dy.shape[0] * dy.shape[1] * dy.shape[2], 1)
    for g, w, name in zip(got, ref, ("dx", "dw", "db")):
        assert g.dtype == np.float32 and g.shape == w.shape, name
        atol = 1e-4 * np.sqrt(k.shape[3] * k.shape[0] * k.shape[1]) if name == "dx" else 2e-5
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=atol * np.sqrt(cells), err_msg=name)
    dx, dw, db = ops.conv2d_backward(dy, x, k, 1, padding, False, d)
    assert dx is None
    np.testing.assert_array_equal(dw, got[1])
    np.testing.assert_array_equal(db, got[2])


def test_dilation_one_is_conv2d(rng):
    x, k, b, _, padding = make(rng, CASES[2])
    np.testing.assert_array_equal(
        ops.conv2d(x, k, b, 1, padding, (1, 1)), ops.conv2d(x, k, b, 1, padding)
    )


@pytest.mark.parametrize("case", [CASES[0], CASES[7]])
def test_one_and_two_threads_agree(rng, case):
    x, k, b, d, padding = make(rng, case)
    dy = rng.standard_normal(ops.conv2d(x, k, b, 1, padding, d).shape).astype(np.float32)

    def run():
        return (
            ops.conv2d(x, k, b, 1, padding, d),
            *ops.conv2d_backward(dy, x, k, 1, padding, True, d),
        )

    for one, two in zip(run_with_threads(1, run), run_with_threads(2, run)):
        np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("case", [CASES[0], CASES[4], CASES[8]])
def test_reference_backward_matches_finite_differences(case):
    x, k, b, d, padding = make(np.random.default_rng(7), case, np.float64)
    proj = random_projection(reference.conv2d(x, k, b, 1, padding, d).shape)

    def loss():
        return float((reference.conv2d(x, k, b, 1, padding, d) * proj).sum())

    dx, dw, db = reference.conv2d_backward(proj, x, k, 1, padding, True, d)
    check_gradient(loss, x, dx)
    check_gradient(loss, k, dw)
    check_gradient(loss, b, db)


def test_known_values():
    # One channel, taps two cells apart: y[i] = x[i] + 10 x[i + 2] on a 1 x 5 row.
    x = np.arange(5, dtype=np.float32).reshape(1, 1, 5, 1)
    k = np.array([1, 10], np.float32).reshape(1, 2, 1, 1)
    np.testing.assert_array_equal(ops.conv2d(x, k, None, 1, "valid", 2).ravel(), [20, 31, 42])


def test_empty_batch(rng):
    x, k, b, d, padding = make(rng, (0, 6, 6, 3, 4, (3, 3), (2, 2), "same"))
    assert ops.conv2d(x, k, b, 1, padding, d).shape == (0, 6, 6, 4)
    dx, dw, db = ops.conv2d_backward(np.zeros((0, 6, 6, 4), np.float32), x, k, 1, padding, True, d)
    assert dx.shape == x.shape and not dw.any() and not db.any()


@pytest.mark.parametrize(
    "strides, dilation, padding, err, match",
    [
        (2, 2, "same", ValueError, "dilation_rate.*strides"),
        ((1, 2), (2, 1), "same", ValueError, "dilation_rate.*strides"),
        (1, 0, "same", ValueError, "dilation_rate"),
        (1, "2", "same", TypeError, "dilation_rate"),
        (1, 3, "valid", ValueError, "larger than x"),  # a 7 x 7 dilated window on 6 x 6
    ],
)
def test_bad_input(strides, dilation, padding, err, match):
    x, k = np.zeros((1, 6, 6, 2), np.float32), np.zeros((3, 3, 2, 2), np.float32)
    with pytest.raises(err, match=match):
        ops.conv2d(x, k, None, strides, padding, dilation)
    with pytest.raises(err, match=match):
        ops.conv2d_backward(
            np.zeros((1, 6, 6, 2), np.float32), x, k, strides, padding, True, dilation
        )
