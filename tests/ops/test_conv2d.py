"""conv2d and conv2d_backward: native kernels against the NumPy twins, gradients, bad input."""

import numpy as np
import pytest
from shendu import ops, reference

from tests.helpers.gradcheck import check_gradient, random_projection
from tests.helpers.threads import run_with_threads

# (N, H, W, C, F, kernel (kh, kw), strides, padding): edge sizes, odd channels, both im2col-free
# paths (1x1 stride 1, kernel covering the whole input) and windows hanging over every border.
CASES = [
    (2, 7, 7, 3, 4, (3, 3), (1, 1), "valid"),
    (2, 7, 7, 3, 4, (3, 3), (1, 1), "same"),
    (1, 33, 7, 5, 3, (3, 3), (2, 2), "same"),
    (1, 33, 7, 5, 3, (3, 3), (2, 2), "valid"),
    (3, 7, 33, 1, 5, (2, 3), (2, 1), "same"),
    (3, 7, 33, 1, 5, (2, 3), (2, 1), "valid"),
    (2, 7, 7, 5, 1, (5, 5), (1, 1), "same"),
    (2, 7, 7, 5, 1, (5, 5), (2, 2), "valid"),
    (2, 1, 1, 3, 4, (3, 3), (1, 1), "same"),
    (1, 1, 7, 1, 2, (1, 3), (1, 2), "valid"),
    (2, 7, 7, 5, 3, (1, 1), (1, 1), "valid"),
    (2, 7, 7, 5, 3, (1, 1), (1, 1), "same"),
    (2, 7, 7, 5, 3, (1, 1), (2, 2), "valid"),
    (2, 5, 7, 3, 4, (5, 7), (1, 1), "valid"),
    (1, 2, 2, 1, 1, (3, 3), (3, 3), "same"),
    (1, 3, 257, 2, 3, (1, 3), (1, 2), "same"),
    (1, 4, 4, 3, 257, (3, 3), (1, 1), "valid"),
    (0, 7, 7, 3, 4, (3, 3), (1, 1), "same"),
]

# Big enough that the im2col workspace (256K floats, whole output lines of 40 * 144 floats) splits
# it into chunks, the first ending mid-image.
CHUNKED = (2, 40, 40, 16, 3, (3, 3), (1, 1), "same")


# Few input channels (C <= 4) take the direct kernels: filter counts around the 16-float vector
# (1, 17, 65: a partial vector, 4 + 1 vector blocks), every stride/padding mix, and batches of
# 5 and 9 images, which split into uneven groups of whole images.
DIRECT = [
    (5, 9, 11, 4, 17, (3, 3), (1, 1), "same"),
    (5, 9, 11, 4, 17, (3, 3), (2, 2), "valid"),
    (9, 8, 7, 1, 65, (3, 2), (2, 1), "same"),
    (2, 6, 6, 2, 1, (2, 2), (1, 2), "valid"),
    (1, 5, 33, 3, 16, (5, 3), (3, 2), "same"),
]

# The GEMM path with a batch split into uneven groups of whole images: small enough for the
# whole-batch workspace (GROUPED, like most CASES: w^T transposed once, dw partials summed in
# parallel), and too big for it (324K im2col floats > 256K: the chunked per-group path).
GROUPED = (9, 7, 6, 6, 5, (3, 3), (1, 1), "same")
GROUPED_LARGE = (5, 40, 30, 9, 3, (2, 3), (1, 1), "same")

# 3x3 stride-1 layers with C > 4 whose outputs fill the tiles well take Winograd
# (conv2d_winograd.h), F(2x2, 3x3) or F(4x4, 3x3) by winograd_tile's cost rule, in the forward,
# dx and dw alike (the last two transposed, on the forward's tiles). These take F(2x2) (the fifth:
# F(4x4)): odd sizes leave partial tiles at the bottom/right, F = 1 and 17/33 channels leave
# partial 16-float vectors in the transforms, 5 images split into uneven groups, and
# 3 x 40 x 40 x 8 -> 8 spans two chunks of tiles (1024 per chunk, 400 per image), the first ending
# mid-image: dx's overlapping tiles add across a chunk boundary.
WINOGRAD = [
    (2, 9, 8, 7, 33, (3, 3), (1, 1), "valid"),
    (1, 8, 9, 17, 1, (3, 3), (1, 1), "same"),
    (5, 6, 5, 5, 16, (3, 3), (1, 1), "same"),
    (1, 5, 4, 6, 2, (3, 3), (1, 1), "valid"),
    (2, 20, 20, 64, 64, (3, 3), (1, 1), "valid"),
    (3, 40, 40, 8, 8, (3, 3), (1, 1), "same"),
]

# F(4x4, 3x3): 11 x 10 outputs leave tiles of 3 and 2 cells at the edges, 40/24/33/20 channels
# partial 16-float vectors; the 13 x 13 'valid' layer's dx covers 13 x 13 cells from the tiles of
# its 11 x 11 outputs; 34 x 34 x 64 -> 64 spans two chunks of 6x6 tiles (56 per chunk, 81 per
# image), the first ending mid-image.
WINOGRAD4 = [
    (2, 11, 10, 40, 24, (3, 3), (1, 1), "same"),
    (3, 13, 13, 33, 20, (3, 3), (1, 1), "valid"),
    (1, 34, 34, 64, 64, (3, 3), (1, 1), "same"),
]


def make(rng, case, dtype=np.float32):
    n, h, w, c, f, (kh, kw), strides, padding = case
    x = rng.standard_normal((n, h, w, c)).astype(dtype)
    k = rng.standard_normal((kh, kw, c, f)).astype(dtype)
    b = rng.standard_normal(f).astype(dtype)
    return x, k, b, strides, padding


# F(4x4, 3x3) weighs by up to 8 and 1/24 (conv2d_winograd.h): its float32 errors reach ~3e-5 of
# the output scale (sqrt(kh * kw * C) on unit normals) where a direct sum's stay under 2e-6. Its
# layers get an absolute tolerance of 1e-4 of that scale, the others 2e-5; a wrong transform
# coefficient or sign is off by a sizeable fraction of the scale and fails either.
F4 = WINOGRAD[4:5] + WINOGRAD4


def scale_tol(case):
    return 1e-4 if case in F4 else 2e-5


def tolerance(kernel, case=None):
    # float32 sums of kh * kw * C products of unit normals against a float64 reference.
    return dict(
        rtol=1e-4,
        atol=scale_tol(case) * np.sqrt(kernel.shape[0] * kernel.shape[1] * kernel.shape[2]),
    )


def as64(*arrays):
    return [a.astype(np.float64) for a in arrays]


@pytest.mark.parametrize(
    "case", CASES + DIRECT + WINOGRAD + WINOGRAD4 + [CHUNKED, GROUPED, GROUPED_LARGE]
)
def test_forward_matches_reference(rng, case):
    x, k, b, strides, padding = make(rng, case)
    got = ops.conv2d(x, k, b, strides, padding)
    want = reference.conv2d(*as64(x, k, b), strides, padding)
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, **tolerance(k, case))
    np.testing.assert_allclose(
        ops.conv2d(x, k, None, strides, padding), want - b, **tolerance(k, case)
    )


@pytest.mark.parametrize(
    "case", CASES + DIRECT + WINOGRAD + WINOGRAD4 + [CHUNKED, GROUPED, GROUPED_LARGE]
)
def test_backward_matches_reference(rng, case):
    x, k, _, strides, padding = make(rng, case)
    y_shape = reference.conv2d(x, k, None, strides, padding).shape
    dy = rng.standard_normal(y_shape).astype(np.float32)
    got = ops.conv2d_backward(dy, x, k, strides, padding)
    want = reference.conv2d_backward(*as64(dy, x, k), strides, padding)
    for g, w, name in zip(got, want, ("dx", "dw", "db")):
        assert g.dtype == np.float32 and g.shape == w.shape, name
        # dw and db sum over every output cell: scale the absolute tolerance with their count (dw
        # takes the forward's tile, transposed: F(3x3, 4x4) on the F4 cases).
        cells = max(dy.shape[0] * dy.shape[1] * dy.shape[2], 1)
        if name == "dx":
            atol = scale_tol(case) * np.sqrt(k.shape[3] * k.shape[0] * k.shape[1])
        else:
            atol = 2e-5 * np.sqrt(cells)
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=atol, err_msg=name)


def test_empty_batch_gives_zero_gradients(rng):
    x, k, b, strides, padding = make(rng, (0, 5, 5, 2, 3, (3, 3), (1, 1), "valid"))
    assert ops.conv2d(x, k, b).shape == (0, 3, 3, 3)
    dx, dw, db = ops.conv2d_backward(np.zeros((0, 3, 3, 3), np.float32), x, k)
    assert dx.shape == x.shape and not dw.any() and not db.any()


@pytest.mark.parametrize(
    "case",
    [CASES[2], CASES[4], CHUNKED, GROUPED, GROUPED_LARGE]
    + DIRECT[:3]
    + WINOGRAD[2:3]
    + WINOGRAD[4:]
    + WINOGRAD4,
)
def test_one_and_two_threads_agree(rng, case):
    x, k, b, strides, padding = make(rng, case)
    dy = rng.standard_normal(ops.conv2d(x, k, b, strides, padding).shape).astype(np.float32)

    def run():
        return (
            ops.conv2d(x, k, b, strides, padding),
            *ops.conv2d_backward(dy, x, k, strides, padding),
        )

    for one, two in zip(run_with_threads(1, run), run_with_threads(2, run)):
        np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("case", DIRECT[:3] + [CASES[0]] + WINOGRAD[:3] + WINOGRAD4[:2])
def test_every_isa_matches_reference(rng, isa, case):
    # The direct and Winograd kernels are compiled once per instruction set; the GEMM path picks
    # per-ISA micro-kernels: each variant against the reference, forward and backward.
    x, k, b, strides, padding = make(rng, case)
    np.testing.assert_allclose(
        ops.conv2d(x, k, b, strides, padding),
        reference.conv2d(*as64(x, k, b), strides, padding),
        **tolerance(k, case),
    )
    dy = rng.standard_normal(ops.conv2d(x, k, b, strides, padding).shape).astype(np.float32)
    got = ops.conv2d_backward(dy, x, k, strides, padding)
    want = reference.conv2d_backward(*as64(dy, x, k), strides, padding)
    cells = dy.shape[0] * dy.shape[1] * dy.shape[2]
    dx_atol = scale_tol(case) * np.sqrt(k.shape[0] * k.shape[1] * k.shape[3])
    for g, w, atol in zip(got, want, (dx_atol, 2e-5 * np.sqrt(cells), 2e-5 * np.sqrt(cells))):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=atol)


@pytest.mark.parametrize(
    "case",
    [
        (2, 4, 5, 2, 3, (3, 2), (2, 1), "same"),
        (1, 5, 4, 3, 2, (2, 3), (2, 2), "valid"),
        (1, 3, 3, 1, 2, (1, 1), (1, 1), "valid"),
    ],
)
def test_reference_backward_matches_finite_differences(case):
    x, k, b, strides, padding = make(np.random.default_rng(7), case, np.float64)
    proj = random_projection(reference.conv2d(x, k, b, strides, padding).shape)

    def loss():
        return float((reference.conv2d(x, k, b, strides, padding) * proj).sum())

    dx, dw, db = reference.conv2d_backward(proj, x, k, strides, padding)
    check_gradient(loss, x, dx)
    check_gradient(loss, k, dw)
    check_gradient(loss, b, db)


def test_accepts_views_ints_and_float64(rng):
    x = rng.standard_normal((2, 9, 14, 3))[:, ::2, ::2, :]  # float64, non-contiguous
    k = rng.integers(-2, 3, (3, 3, 3, 4))  # integer data
    want = reference.conv2d(x, k.astype(np.float64), None, 1, "same")
    got = ops.conv2d(x, k, padding="SAME", strides=1)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_nan_and_inf_propagate():
    x = np.ones((1, 5, 5, 1), np.float32)
    x[0, 0, 0, 0] = np.nan
    x[0, 4, 4, 0] = np.inf
    y = ops.conv2d(x, np.ones((3, 3, 1, 1), np.float32))
    assert np.isnan(y[0, 0, 0, 0]) and np.isposinf(y[0, 2, 2, 0])
    assert np.isfinite(y[0, 1, 0, 0])


@pytest.mark.parametrize("case", [WINOGRAD[2], WINOGRAD4[0]])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_winograd_nan_reaches_exactly_the_covering_outputs(rng, case, padding):
    # Winograd mixes a whole input tile into every transformed position: a NaN must still reach
    # only the outputs whose 3x3 windows cover it, in the forward and in dx (dy's NaN) alike. F(2x2)
    # keeps that by construction; F(4x4) would not (an output's inverse transform reads positions
    # that depend on its whole 6-cell tile row), so an input holding a NaN takes F(2x2): the
    # second case, F(4x4) when finite, checks that hand-over. The other outputs stay exact.
    x, k, _, _, _ = make(rng, case)
    x[1, 2, 3, 4] = np.nan
    y = ops.conv2d(x, k, None, 1, padding)
    mask = np.zeros(x.shape[:3] + (1,), np.float32)
    mask[1, 2, 3, 0] = 1
    covered = reference.conv2d(mask, np.ones((3, 3, 1, 1)), None, 1, padding)[..., 0] > 0
    np.testing.assert_array_equal(np.isnan(y).any(axis=3), covered)
    assert np.isnan(y[covered]).all()
    want = reference.conv2d(*as64(x, k), None, 1, padding)
    np.testing.assert_allclose(y[~covered], want[~covered], **tolerance(k))
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dy[1, 2, 2, 3] = np.nan
    dx = ops.conv2d_backward(dy, np.nan_to_num(x), k, 1, padding)[0]
    dmask = np.zeros(dy.shape[:3] + (1,))
    dmask[1, 2, 2, 0] = 1
    reached = reference.conv2d_backward(dmask, x[..., :1], np.ones((3, 3, 1, 1)), 1, padding)[0]
    np.testing.assert_array_equal(np.isnan(dx).any(axis=3), reached[..., 0] > 0)


@pytest.mark.parametrize("case", WINOGRAD4[:2])
@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_winograd4_infinity_takes_f2_in_forward_and_dx(rng, case, value):
    # F(4x4) finds a non-finite input from its outputs (forward) or the dy tiles it transforms
    # (backward) and redoes the layer under F(2x2): an infinity, which F(4x4) would spread over
    # whole tile rows, must reach (as inf or NaN) exactly the outputs and dx cells whose windows
    # cover it, and leave the others as exact as without it.
    x, k, _, _, padding = make(rng, case)
    x[1, 4, 5, 6] = value
    y = ops.conv2d(x, k, None, 1, padding)
    mask = np.zeros(x.shape[:3] + (1,), np.float32)
    mask[1, 4, 5, 0] = 1
    covered = reference.conv2d(mask, np.ones((3, 3, 1, 1)), None, 1, padding)[..., 0] > 0
    np.testing.assert_array_equal(~np.isfinite(y).all(axis=3), covered)
    finite_x = np.where(np.isfinite(x), x, 0)
    want = reference.conv2d(*as64(finite_x, k), None, 1, padding)
    np.testing.assert_allclose(y[~covered], want[~covered], **tolerance(k))
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dy[1, 4, 3, 2] = value
    dx = ops.conv2d_backward(dy, x, k, 1, padding)[0]
    dmask = np.zeros(dy.shape[:3] + (1,))
    dmask[1, 4, 3, 0] = 1
    reached = reference.conv2d_backward(dmask, finite_x[..., :1], np.ones((3, 3, 1, 1)), 1, padding)
    reached = reached[0][..., 0] > 0
    np.testing.assert_array_equal(~np.isfinite(dx).all(axis=3), reached)
    dy[1, 4, 3, 2] = 0
    want = reference.conv2d_backward(*as64(dy, finite_x, k), 1, padding)[0]
    dx_atol = scale_tol(case) * np.sqrt(k.shape[0] * k.shape[1] * k.shape[3])
    np.testing.assert_allclose(dx[~reached], want[~reached], rtol=1e-4, atol=dx_atol)


X = np.zeros((2, 6, 6, 3), np.float32)
W = np.zeros((3, 3, 3, 4), np.float32)


@pytest.mark.parametrize(
    "args, err, match",
    [
        ((X[0], W), ValueError, r"x: expected a 4-D array, got shape \(6, 6, 3\)"),
        ((X, W[0]), ValueError, r"w: expected a 4-D array"),
        ((X, np.zeros((3, 3, 2, 4))), ValueError, r"w: expected 3 input channels .*\(2, 6, 6, 3\)"),
        ((X, W, np.zeros(3)), ValueError, r"b: expected shape \(4,\)"),
        ((X, W, np.zeros((1, 4))), ValueError, r"b: expected a 1-D array"),
        ((X, W, None, 0), ValueError, "strides: expected positive"),
        ((X, W, None, (1, -2)), ValueError, "strides: expected positive"),
        ((X, W, None, (1, 2, 3)), TypeError, "strides"),
        ((X, W, None, 1.5), TypeError, "strides"),
        ((X, W, None, 1, "full"), ValueError, "padding: expected 'valid' or 'same'"),
        ((X, W, None, 1, None), TypeError, "padding"),
        (
            (X, np.zeros((7, 3, 3, 4))),
            ValueError,
            r"w: window \(7, 3\) is larger than x \(2, 6, 6, 3\)",
        ),
        ((X.astype(complex), W), TypeError, "x: expected real numbers"),
        ((np.full((1, 3, 3, 1), "a"), W), TypeError, "x: expected real numbers"),
        ((X, W.astype(object)), TypeError, "w: expected real numbers"),
        ((None, W), TypeError, "x: expected an array"),
    ],
)
def test_bad_input(args, err, match):
    with pytest.raises(err, match=match):
        ops.conv2d(*args)


def test_window_larger_than_input_is_fine_with_same_padding(rng):
    x, k, b, _, _ = make(rng, (1, 2, 2, 1, 1, (5, 5), 1, "same"))
    np.testing.assert_allclose(
        ops.conv2d(x, k, b, 1, "same"),
        reference.conv2d(*as64(x, k, b), 1, "same"),
        rtol=1e-5,
        atol=1e-5,
    )


@pytest.mark.parametrize(
    "dy, match",
    [
        (np.zeros((2, 6, 6, 4)), r"dy: expected shape \(2, 4, 4, 4\) .* got shape \(2, 6, 6, 4\)"),
        (np.zeros((2, 4, 4, 3)), r"dy: expected shape \(2, 4, 4, 4\)"),
        (np.zeros((1, 4, 4, 4)), r"dy: expected shape \(2, 4, 4, 4\)"),
        (np.zeros((4, 4, 4)), r"dy: expected a 4-D array"),
    ],
)
def test_backward_bad_input(dy, match):
    with pytest.raises(ValueError, match=match):
        ops.conv2d_backward(dy, X, W)


@pytest.mark.parametrize(
    "case", CASES + DIRECT + WINOGRAD[:1] + WINOGRAD4[1:2] + [CHUNKED, GROUPED, GROUPED_LARGE]
)
def test_backward_without_dx_gives_the_same_dw_and_db(rng, case):
    # need_dx=False skips the input-gradient pass: dw and db must be exactly those of the full
    # backward (same kernels, same summation order), natively and in the reference.
    x, k, _, strides, padding = make(rng, case)
    dy = rng.standard_normal(reference.conv2d(x, k, None, strides, padding).shape)
    dy = dy.astype(np.float32)
    for backend in (ops, reference):
        full = backend.conv2d_backward(dy, x, k, strides, padding)
        dx, dw, db = backend.conv2d_backward(dy, x, k, strides, padding, need_dx=False)
        assert dx is None
        np.testing.assert_array_equal(dw, full[1])
        np.testing.assert_array_equal(db, full[2])


def test_backward_without_dx_agrees_across_threads_and_isas(rng, isa):
    x, k, _, strides, padding = make(rng, DIRECT[2])
    dy = rng.standard_normal(reference.conv2d(x, k, None, strides, padding).shape)
    dy = dy.astype(np.float32)

    def run():
        return ops.conv2d_backward(dy, x, k, strides, padding, need_dx=False)[1:]

    want = reference.conv2d_backward(*as64(dy, x, k), strides, padding, need_dx=False)
    for one, two, w in zip(run_with_threads(1, run), run_with_threads(2, run), want[1:]):
        np.testing.assert_array_equal(one, two)
        np.testing.assert_allclose(one, w, rtol=1e-4, atol=2e-5 * np.sqrt(dy[..., 0].size))


@pytest.mark.parametrize("need_dx", ["yes", 1, None, 0.0])
def test_backward_need_dx_must_be_a_bool(need_dx):
    with pytest.raises(TypeError, match=r"need_dx: expected True or False, got"):
        ops.conv2d_backward(np.zeros((2, 4, 4, 4)), X, W, need_dx=need_dx)


def test_backward_need_dx_accepts_numpy_bools(rng):
    x, k, _, _, _ = make(rng, CASES[0])
    dy = np.ones((2, 5, 5, 4), np.float32)
    assert ops.conv2d_backward(dy, x, k, need_dx=np.bool_(False))[0] is None
    assert ops.conv2d_backward(dy, x, k, need_dx=np.bool_(True))[0].shape == x.shape


def test_empty_batch_without_dx(rng):
    x, k, _, _, _ = make(rng, (0, 5, 5, 2, 3, (3, 3), (1, 1), "valid"))
    dx, dw, db = ops.conv2d_backward(np.zeros((0, 3, 3, 3)), x, k, need_dx=False)
    assert dx is None and dw.shape == k.shape and not dw.any() and not db.any()
