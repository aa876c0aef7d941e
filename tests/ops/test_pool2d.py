"""max_pool2d / avg_pool2d and their backward ops: native kernels against the NumPy twins."""

import numpy as np
import pytest
from shendu import ops, reference

from tests.helpers.gradcheck import check_gradient, random_projection
from tests.helpers.threads import run_with_threads

# (x shape, pool_size, strides, padding): edge sizes, odd channels, overlapping windows
# (stride < pool), gaps (stride > pool), windows hanging over the bottom/right border.
CASES = [
    ((2, 7, 7, 3), 2, None, "valid"),
    ((2, 7, 7, 3), 2, None, "same"),
    ((1, 33, 7, 5), 3, 2, "same"),
    ((1, 33, 7, 5), 3, 2, "valid"),
    ((3, 7, 33, 1), (2, 3), (2, 1), "same"),
    ((3, 7, 33, 1), (2, 3), (2, 1), "valid"),
    ((2, 7, 7, 5), 5, 1, "same"),
    ((2, 1, 1, 3), 3, None, "same"),
    ((1, 1, 7, 1), (1, 3), (1, 2), "valid"),
    ((2, 7, 7, 3), 1, 1, "valid"),
    ((2, 8, 9, 2), 2, 3, "same"),
    ((2, 8, 9, 2), (3, 2), 1, "valid"),
    ((1, 3, 257, 2), 3, (1, 2), "same"),
    ((1, 4, 4, 257), 2, 1, "valid"),
    ((0, 7, 7, 3), 2, None, "same"),
    ((1, 20, 19, 3), 17, 2, "same"),  # 289 cells: a uint16 argmax
]


def inputs(rng, shape, dtype=np.float32):
    # Distinct values: a tie would make the argmax (and the finite differences) ambiguous.
    values = rng.permutation(np.prod(shape)).reshape(shape) / max(np.prod(shape), 1) - 0.5
    return values.astype(dtype)


@pytest.mark.parametrize("shape, pool, strides, padding", CASES)
def test_max_pool_matches_reference(rng, shape, pool, strides, padding):
    x = inputs(rng, shape)
    y, argmax = ops.max_pool2d(x, pool, strides, padding)
    y_ref, argmax_ref = reference.max_pool2d(x, pool, strides, padding)
    area = np.prod(np.broadcast_to(pool, 2))
    assert argmax.dtype == (np.uint8 if area <= 256 else np.uint16) == argmax_ref.dtype
    assert y.dtype == np.float32 and y.shape == y_ref.shape
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(argmax, argmax_ref)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    geometry = (pool, strides, padding)
    dx_ref = reference.max_pool2d_backward(dy.astype(np.float64), argmax_ref, shape, *geometry)
    np.testing.assert_allclose(
        ops.max_pool2d_backward(dy, argmax, shape, *geometry), dx_ref, rtol=1e-6, atol=1e-6
    )


# Windows that tile x (stride = pool size, no padding: each cell in at most one window) take
# their own backward path; rows/columns past the last window must come back zero. The last two
# look alike but do not tile: "same" pads 7 to 8, and stride 1 overlaps.
TILED = [
    ((2, 26, 26, 32), 2, None, "valid"),  # the bench layer: whole 16-channel vectors
    ((1, 7, 9, 1), 2, None, "valid"),  # a row and a column past the last window, C = 1
    ((3, 8, 7, 33), (2, 3), None, "valid"),  # not 2x2; 33 channels: a 1-channel tail
    ((2, 9, 9, 17), 3, None, "same"),  # "same" that pads nothing
    ((1, 34, 35, 5), 17, None, "valid"),  # 289 cells: a uint16 argmax
    ((0, 4, 4, 16), 2, None, "valid"),
    ((2, 7, 7, 16), 2, None, "same"),
    ((2, 6, 6, 16), 2, 1, "valid"),
]


@pytest.mark.parametrize("shape, pool, strides, padding", TILED)
def test_max_pool_backward_of_tiling_windows(rng, shape, pool, strides, padding):
    x = inputs(rng, shape)
    y, argmax = ops.max_pool2d(x, pool, strides, padding)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx_ref = reference.max_pool2d_backward(dy, argmax, shape, pool, strides, padding)
    # Freed NaNs for the allocator to hand back as dx: a cell left unwritten shows.
    poison = np.full(np.prod(shape) + 64, np.nan, np.float32)
    del poison
    dx = ops.max_pool2d_backward(dy, argmax, shape, pool, strides, padding)
    np.testing.assert_array_equal(dx, dx_ref)  # each cell is one dy or 0: exact
    # The kernels store whole 16-float vectors; dx (and y) start on a 64-byte cache line.
    assert dx.flags.c_contiguous and dx.flags.writeable and dx.ctypes.data % 64 == 0
    assert y.flags.c_contiguous and y.ctypes.data % 64 == 0


@pytest.mark.parametrize("shape, pool, strides, padding", CASES)
def test_avg_pool_matches_reference(rng, shape, pool, strides, padding):
    x = rng.standard_normal(shape).astype(np.float32)
    y = ops.avg_pool2d(x, pool, strides, padding)
    y_ref = reference.avg_pool2d(x.astype(np.float64), pool, strides, padding)
    assert y.dtype == np.float32 and y.shape == y_ref.shape
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-6)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    np.testing.assert_allclose(
        ops.avg_pool2d_backward(dy, shape, pool, strides, padding),
        reference.avg_pool2d_backward(dy.astype(np.float64), shape, pool, strides, padding),
        rtol=1e-5,
        atol=1e-6,
    )


def test_same_padding_counts_only_real_cells():
    x = np.full((1, 3, 3, 1), -2.0, np.float32)
    y, argmax = ops.max_pool2d(x, 2, 2, "same")  # windows at the border are mostly padding
    assert (y == -2.0).all()
    np.testing.assert_array_equal(argmax[0, :, :, 0], [[0, 0], [0, 0]])
    np.testing.assert_array_equal(ops.avg_pool2d(x, 2, 2, "same"), x[:, :2, :2])
    # 3x3 windows, stride 2: one padded row/column before the image. The argmax counts the
    # padded taps, so the first real cell of the top-left window is tap (1, 1) = 4.
    y, argmax = ops.max_pool2d(x, 3, 2, "same")
    assert (y == -2.0).all()
    np.testing.assert_array_equal(argmax[0, :, :, 0], [[4, 3], [1, 0]])


def test_argmax_ties_nan_and_inf():
    x = np.zeros((1, 2, 4, 3), np.float32)
    x[0, :, 0:2, 0] = 1.0  # a tie over the whole first window: the first cell wins
    x[0, 1, 0, 1] = np.nan  # a NaN wins over larger numbers...
    x[0, 0, 1, 1] = 5.0
    x[0, 1, 3, 1] = np.nan  # ...and the first of two NaNs wins
    x[0, 0, 3, 1] = np.nan
    x[0, :, 0:2, 2] = -np.inf  # all -inf: still a real cell, the first
    y, argmax = ops.max_pool2d(x, 2)
    y_ref, argmax_ref = reference.max_pool2d(x, 2)
    np.testing.assert_array_equal(argmax, argmax_ref)
    np.testing.assert_array_equal(y, y_ref)
    # Taps of a 2x2 window: (0, 0) = 0, (0, 1) = 1, (1, 0) = 2, (1, 1) = 3.
    assert argmax[0, 0, 0, 0] == 0 and argmax[0, 0, 0, 1] == 2 and np.isnan(y[0, 0, 0, 1])
    assert argmax[0, 0, 1, 1] == 1 and argmax[0, 0, 0, 2] == 0 and y[0, 0, 0, 2] == -np.inf
    # The backward routes NaN and inf in dy to the argmax cell only (these windows tile x).
    dy = np.array([np.nan, np.inf, -np.inf, 1.0, np.nan, 2.0], np.float32).reshape(y.shape)
    np.testing.assert_array_equal(
        ops.max_pool2d_backward(dy, argmax, x.shape),
        reference.max_pool2d_backward(dy, argmax_ref, x.shape),
    )


@pytest.mark.parametrize(
    "shape, pool, strides, padding",
    [CASES[2], CASES[4], ((4, 40, 40, 16), 3, 1, "same"), ((8, 27, 26, 33), 2, None, "valid")],
)
def test_one_and_two_threads_agree(rng, shape, pool, strides, padding):
    x = rng.standard_normal(shape).astype(np.float32)

    def run():
        y, argmax = ops.max_pool2d(x, pool, strides, padding)
        avg = ops.avg_pool2d(x, pool, strides, padding)
        dy = np.cos(np.arange(y.size, dtype=np.float32)).reshape(y.shape)
        return (
            y,
            argmax,
            avg,
            ops.max_pool2d_backward(dy, argmax, shape, pool, strides, padding),
            ops.avg_pool2d_backward(dy, shape, pool, strides, padding),
        )

    for one, two in zip(run_with_threads(1, run), run_with_threads(2, run)):
        np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize(
    "shape, pool, strides, padding",
    [
        ((2, 4, 5, 2), 2, 1, "same"),
        ((1, 5, 5, 1), 3, 2, "same"),
        ((1, 4, 5, 2), (2, 3), (1, 2), "valid"),
    ],
)
def test_reference_backward_matches_finite_differences(shape, pool, strides, padding):
    x = inputs(np.random.default_rng(3), shape, np.float64)
    y, argmax = reference.max_pool2d(x, pool, strides, padding)
    proj = random_projection(y.shape)
    check_gradient(
        lambda: float((reference.max_pool2d(x, pool, strides, padding)[0] * proj).sum()),
        x,
        reference.max_pool2d_backward(proj, argmax, shape, pool, strides, padding),
    )
    check_gradient(
        lambda: float((reference.avg_pool2d(x, pool, strides, padding) * proj).sum()),
        x,
        reference.avg_pool2d_backward(proj, shape, pool, strides, padding),
    )


def test_accepts_views_ints_and_float64(rng):
    x = rng.integers(-9, 9, (2, 10, 12, 3))[:, ::2, ::2, :]  # int64, non-contiguous
    y, argmax = ops.max_pool2d(x, 2)
    y_ref, argmax_ref = reference.max_pool2d(x.astype(np.float64), 2)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(argmax, argmax_ref)
    np.testing.assert_allclose(
        ops.avg_pool2d(x.astype(np.float64), [2, 2], padding="SAME"),
        reference.avg_pool2d(x.astype(np.float64), 2, padding="same"),
        rtol=1e-6,
    )


X = np.zeros((2, 6, 6, 3), np.float32)


@pytest.mark.parametrize("op", [ops.max_pool2d, ops.avg_pool2d])
@pytest.mark.parametrize(
    "args, err, match",
    [
        ((X[0],), ValueError, r"x: expected a 4-D array, got shape \(6, 6, 3\)"),
        ((X, 0), ValueError, "pool_size: expected positive"),
        ((X, (2, -1)), ValueError, "pool_size: expected positive"),
        ((X, 2, 0), ValueError, "strides: expected positive"),
        ((X, 2, (1, 1, 1)), TypeError, "strides"),
        ((X, "2"), TypeError, "pool_size"),
        ((X, 2, None, "causal"), ValueError, "padding: expected 'valid' or 'same'"),
        ((X, (7, 2)), ValueError, r"pool_size: window \(7, 2\) is larger than x \(2, 6, 6, 3\)"),
        ((X.astype(complex),), TypeError, "x: expected real numbers"),
        ((np.full((1, 3, 3, 1), "a"),), TypeError, "x: expected real numbers"),
        ((X.astype(object),), TypeError, "x: expected real numbers"),
    ],
)
def test_bad_input(op, args, err, match):
    with pytest.raises(err, match=match):
        op(*args)


DY = np.zeros((2, 3, 3, 3), np.float32)
ARGMAX = np.zeros((2, 3, 3, 3), np.uint8)  # 2x2 windows over (2, 6, 6, 3): taps 0..3
# One bad value among good ones, in the last image (the kernel checks as it routes).
ONE_BAD = ARGMAX.copy()
ONE_BAD[1, 2, 1, 2] = 4
TWO_BAD = ONE_BAD.copy()
TWO_BAD[0, 1, 2, 0] = 9  # ...and an earlier one: the message names the first


@pytest.mark.parametrize(
    "dy, argmax, x_shape, err, match",
    [
        (DY, ARGMAX + 4, (2, 6, 6, 3), ValueError, r"argmax: value 4 at \(0, 0, 0, 0\) names no"),
        (DY, ARGMAX + 255, (2, 6, 6, 3), ValueError, "argmax: value 255 at"),
        (DY, ONE_BAD, (2, 6, 6, 3), ValueError, r"value 4 at \(1, 2, 1, 2\) names no real cell"),
        (DY, TWO_BAD, (2, 6, 6, 3), ValueError, r"argmax: value 9 at \(0, 1, 2, 0\)"),
        (DY, ONE_BAD[..., ::-1], (2, 6, 6, 3), ValueError, r"value 4 at \(1, 2, 1, 0\)"),
        (DY, ARGMAX[:, :2], (2, 6, 6, 3), ValueError, r"argmax: expected shape \(2, 3, 3, 3\)"),
        (DY, ARGMAX.astype(np.int64), (2, 6, 6, 3), ValueError, "argmax: expected the uint8"),
        (DY, ARGMAX.astype(np.uint16), (2, 6, 6, 3), ValueError, "got dtype uint16"),
        (DY, ARGMAX + 0.5, (2, 6, 6, 3), ValueError, "argmax: expected the uint8"),
        (DY, ARGMAX.astype(complex), (2, 6, 6, 3), ValueError, "argmax: expected the uint8"),
        (DY, ARGMAX.tolist(), (2, 6, 6, 3), ValueError, r"argmax: .* got <class 'list'>"),
        (DY, ARGMAX, (2, 6, 6), TypeError, "x_shape: expected a 4-tuple"),
        (DY, ARGMAX, (2, 6, 6, 3.0), TypeError, "x_shape: expected an int, got 3.0"),
        (DY, ARGMAX, "2663", TypeError, "x_shape: expected a 4-tuple"),
        (DY, ARGMAX, (2, -6, 6, 3), ValueError, "x_shape: expected an int >= 0, got -6"),
        (DY, ARGMAX, (3, 6, 6, 3), ValueError, r"dy: expected shape \(3, 3, 3, 3\) \(the pooled"),
        (DY, ARGMAX, (2, 6, 6, 4), ValueError, r"dy: expected shape \(2, 3, 3, 4\)"),
        (DY, ARGMAX, (2, 8, 6, 3), ValueError, r"dy: expected shape \(2, 4, 3, 3\)"),
        (DY, ARGMAX, (2, 1, 6, 3), ValueError, r"pool_size: window \(2, 2\) is larger than x_"),
        (DY[0], ARGMAX, (2, 6, 6, 3), ValueError, "dy: expected a 4-D array"),
    ],
)
def test_max_pool_backward_bad_input(dy, argmax, x_shape, err, match):
    with pytest.raises(err, match=match):
        ops.max_pool2d_backward(dy, argmax, x_shape)


def test_max_pool_backward_rejects_padded_taps_and_bad_geometry():
    # 3x3 windows, stride 2, "same" over 3x3: one padded row and column before the image, so
    # tap 0 of window (0, 0) is padding (the forward never names it). Tap 4, the centre, is the
    # window's corner cell of the image in all four windows.
    dy = np.ones((1, 2, 2, 1), np.float32)
    argmax = np.full(dy.shape, 4, np.uint8)
    dx = ops.max_pool2d_backward(dy, argmax, (1, 3, 3, 1), 3, 2, "same")
    np.testing.assert_array_equal(dx[0, :, :, 0], [[1, 0, 1], [0, 0, 0], [1, 0, 1]])
    argmax[0, 0, 0, 0] = 0
    with pytest.raises(ValueError, match=r"argmax: value 0 at \(0, 0, 0, 0\) names no real cell"):
        ops.max_pool2d_backward(dy, argmax, (1, 3, 3, 1), 3, 2, "same")
    argmax[0, 0, 0, 0] = 4
    argmax[0, 1, 1, 0] = 5  # window (1, 1) covers rows/columns 1..3: tap column 2 is padding
    with pytest.raises(ValueError, match=r"argmax: value 5 at \(0, 1, 1, 0\)"):
        ops.max_pool2d_backward(dy, argmax, (1, 3, 3, 1), 3, 2, "same")
    with pytest.raises(ValueError, match="strides: expected positive"):
        ops.max_pool2d_backward(dy, argmax, (1, 3, 3, 1), 3, 0, "same")
    with pytest.raises(ValueError, match="padding: expected 'valid' or 'same'"):
        ops.max_pool2d_backward(dy, argmax, (1, 3, 3, 1), 3, 2, "full")
    # One window with a huge stride: an x_shape whose cell count overflows 64 bits.
    with pytest.raises(ValueError, match=r"x_shape: \(1, 4611686018427387904, .* too many cells"):
        ops.max_pool2d_backward(dy[:, :1, :1], argmax[:, :1, :1], (1, 2**62, 2**62, 1), 2, 2**62)


def test_first_bad_argmax_is_named_with_any_thread_count(rng):
    shape = (8, 40, 40, 16)
    y, argmax = ops.max_pool2d(rng.standard_normal(shape).astype(np.float32))
    argmax[5, 19, 3, 7] = 200
    argmax[7, 0, 0, 0] = 4
    dy = np.ones(y.shape, np.float32)

    def message():
        with pytest.raises(ValueError) as err:
            ops.max_pool2d_backward(dy, argmax, shape)
        return str(err.value)

    assert "value 200 at (5, 19, 3, 7)" in run_with_threads(1, message)
    assert run_with_threads(2, message) == run_with_threads(1, message)


def test_pool_area_limit():
    x = np.zeros((1, 300, 300, 1), np.float32)
    # The argmax dtype rule is the reference's (the CUDA backend calls it too), with one message.
    for backend in (ops, reference):
        with pytest.raises(ValueError, match=r"pool_size: window \(257, 256\) has 65792 cells"):
            backend.max_pool2d(x, (257, 256))
    with pytest.raises(ValueError, match="has 65792 cells"):
        ops.max_pool2d_backward(np.zeros((1, 1, 1, 1)), ARGMAX, x.shape, (257, 256))
    y, argmax = ops.max_pool2d(x, (256, 256))  # 65536 cells: the largest uint16 window
    assert argmax.dtype == np.uint16 and y.shape == (1, 1, 1, 1)


@pytest.mark.parametrize(
    "dy, x_shape, err, match",
    [
        (DY, (2, 8, 9, 3), ValueError, r"dy: expected shape \(2, 4, 4, 3\)"),
        (DY, (2, 6, 6, 2), ValueError, r"dy: expected shape \(2, 3, 3, 2\)"),
        (DY, (2, 6, 6), TypeError, "x_shape: expected a 4-tuple"),
        (DY, (2, 6, 6, None), TypeError, "x_shape: expected an int, got None"),
        (DY, (2, 1, 6, 3), ValueError, r"pool_size: window \(2, 2\) is larger than x_shape"),
    ],
)
def test_avg_pool_backward_bad_input(dy, x_shape, err, match):
    with pytest.raises(err, match=match):
        ops.avg_pool2d_backward(dy, x_shape, 2, None, "valid")


def test_every_isa_variant_matches_reference(rng, isa):
    x = inputs(rng, (2, 9, 8, 37))  # 37 channels: full vectors and a remainder for every width
    x[0, 1, 1, :5] = np.nan
    # Windows that tile x (2x2 and 3x2, the rows past the last window), then overlapping ones.
    geometries = [
        (2, None, "valid"),
        ((3, 2), None, "same"),
        (3, 2, "same"),
        ((2, 3), 1, "same"),
    ]
    for pool, strides, padding in geometries:
        y, argmax = ops.max_pool2d(x, pool, strides, padding)
        y_ref, argmax_ref = reference.max_pool2d(x, pool, strides, padding)
        np.testing.assert_array_equal(y, y_ref)
        np.testing.assert_array_equal(argmax, argmax_ref)
        dy = rng.standard_normal(y.shape).astype(np.float32)
        geometry = (pool, strides, padding)
        np.testing.assert_allclose(
            ops.max_pool2d_backward(dy, argmax, x.shape, *geometry),
            reference.max_pool2d_backward(dy.astype(np.float64), argmax_ref, x.shape, *geometry),
            rtol=1e-6,
            atol=1e-6,
        )
    with pytest.raises(ValueError, match=r"argmax: value 4 at \(1, 2, 1, 2\)"):
        ops.max_pool2d_backward(DY, ONE_BAD, (2, 6, 6, 3))
    wide = ARGMAX.astype(np.uint16)  # 17x17 windows tiling (2, 51, 52, 3): taps 0..288
    wide[1, 2, 2, 1] = 289
    with pytest.raises(ValueError, match=r"argmax: value 289 at \(1, 2, 2, 1\)"):
        ops.max_pool2d_backward(DY, wide, (2, 51, 52, 3), 17)
