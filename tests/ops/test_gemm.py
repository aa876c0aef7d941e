"""Matrix products: the packed SGEMM against its NumPy twin, on every ISA variant and thread count."""

import numpy as np
import pytest
from shendu import ops, reference


def operands(rng, m, k, n, trans_a, trans_b):
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
    return a, b


def check(a, b, trans_a, trans_b):
    got = ops.matmul(a, b, trans_a, trans_b)
    want = reference.matmul(a.astype(np.float64), b.astype(np.float64), trans_a, trans_b)
    k = a.shape[0] if trans_a else a.shape[1]
    assert got.shape == want.shape and got.dtype == np.float32
    # float32 accumulation of k products: error grows like sqrt(k).
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.sqrt(max(k, 1)))


# Awkward sizes around every micro-tile (mr 6 / 14, nr 8 / 16 / 32), the in-place B limit (96
# rows) and in-place A^T limit (4 B panels), and the k blocking (kc 256: 300, 600 and 288 take two
# or three blocks, the later ones accumulating into C), plus layer shapes. The transposing pack of
# B^T works in 8 x 8 (4 x 4 portable) register blocks: (23, 45, 203) packs panels of 32 and 11
# columns, neither a multiple of 8, with k ragged too; (23, 600, 700) packs A^T in micro-panels of
# 14 and 9 rows, over two B panels (nc 512) and two k blocks. (784, 20, 600) splits into row
# blocks that share one packed copy of B, of two column panels.
SHAPES = [
    (1, 1, 1),
    (7, 33, 5),
    (33, 7, 257),
    (64, 257, 130),
    (97, 31, 33),
    (15, 300, 17),
    (20, 600, 70),
    (1568, 288, 64),
    (784, 20, 600),
    (23, 45, 203),
    (23, 600, 700),
    (0, 3, 4),
    (3, 0, 4),
    (3, 4, 0),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_matmul_matches_reference(rng, isa, shape, trans_a, trans_b):
    check(*operands(rng, *shape, trans_a, trans_b), trans_a, trans_b)


def test_matmul_crosses_every_block(rng):
    # m > mc (336 on AVX-512), k > kc, n > nc (512): every blocking loop runs more than once (the
    # mc blocks pack A^T). 1093 x 600 x 1030 takes the shared-B path, whose column panels are
    # 2 nc (1024) wide, over two of them (the second 6 columns) and three k blocks.
    for m, k, n in ((700, 600, 700), (1093, 600, 1030)):
        for trans_a in (False, True):
            check(*operands(rng, m, k, n, trans_a, False), trans_a, False)
    a, b = operands(rng, 20, 3, 4133, False, True)
    check(a, b, False, True)


# A^T packed (N of 5 B panels or more) and in place, B packed and in place;
# (600, 100, 300) splits rows into 16 blocks that share one packed copy of B (at most a kc x nc
# panel's size, 256 x 512: packed by the calling thread), (784, 40, 128) into four (three rounded
# up to an even count), (784, 20, 600) into eight over two column panels (nc 512) of that copy;
# (300, 800, 64) into 14 narrow blocks that read B (it fits in L2) in place. A larger B is
# packed once and shared by threads taking micro-panel rows of C: (400, 300, 400) is just below
# that size (its shared copy has two k blocks), (400, 400, 400) just above; (701, 600, 650) takes
# one ragged column panel (they are 2 nc = 1024 wide there) of three k blocks, with a last
# micro-panel row of 1; (1093, 300, 1030) two column panels (the second 6 columns, under one
# micro-panel) of two k blocks, last row of 1.
@pytest.mark.parametrize(
    "shape",
    [
        (200, 512, 600),
        (200, 300, 500),
        (40, 784, 128),
        (784, 40, 128),
        (784, 20, 600),
        (600, 100, 300),
        (300, 800, 64),
        (400, 300, 400),
        (400, 400, 400),
        (701, 600, 650),
        (1093, 300, 1030),
    ],
)
@pytest.mark.parametrize("trans_a, trans_b", [(False, False), (False, True), (True, False)])
def test_matmul_same_with_one_and_two_threads(rng, isa, set_threads, shape, trans_a, trans_b):
    a, b = operands(rng, *shape, trans_a, trans_b)
    set_threads(1)
    one = ops.matmul(a, b, trans_a, trans_b)
    set_threads(2)
    two = ops.matmul(a, b, trans_a, trans_b)
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize(
    "rows, channels, filters", [(400, 300, 400), (701, 600, 650), (1093, 300, 1030)]
)
def test_matmul_accumulating_into_c(rng, isa, set_threads, rows, channels, filters):
    # sgemm with beta = 1 over several k blocks: a 1x1 convolution writes the bias into y, then
    # adds its product (rows x channels times channels x filters) to it. Both sides of the shared-B
    # panel size (see above), on 1 and 2 threads.
    x = rng.standard_normal((1, 1, rows, channels)).astype(np.float32)
    w = rng.standard_normal((1, 1, channels, filters)).astype(np.float32)
    b = rng.standard_normal(filters).astype(np.float32)
    want = reference.conv2d(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64))
    got = []
    for threads in (1, 2):
        set_threads(threads)
        got.append(ops.conv2d(x, w, b))
        np.testing.assert_allclose(got[-1], want, rtol=1e-4, atol=1e-4 * np.sqrt(channels))
    np.testing.assert_array_equal(got[0], got[1])


def test_matmul_accepts_views_and_ints(rng):
    a = rng.standard_normal((8, 10)).astype(np.float32)[:, ::2]  # non-contiguous
    b = np.arange(10, dtype=np.int64).reshape(5, 2)
    np.testing.assert_allclose(ops.matmul(a, b), a @ b.astype(np.float32), rtol=1e-5, atol=1e-5)


def test_matmul_big_output_is_an_ordinary_aligned_array(rng):
    # Products of 2^20 flops or more write C into a 64-byte aligned view of a slightly larger
    # array: it must behave as any other result (contiguous, writable, its own values).
    a, b = operands(rng, 300, 64, 70, False, False)
    c = ops.matmul(a, b)
    assert c.ctypes.data % 64 == 0
    assert c.flags.c_contiguous and c.flags.writeable and c.shape == (300, 70)
    c[0, 0] = 123.0
    np.testing.assert_allclose(c[1:], (a @ b)[1:], rtol=1e-4, atol=1e-3)
    assert c[0, 0] == 123.0


def test_matmul_zero_inner_dimension_gives_zeros():
    # The output starts as uninitialized memory: a product over k = 0 must still write zeros.
    for _ in range(3):
        np.testing.assert_array_equal(
            ops.matmul(np.ones((40, 0)), np.ones((0, 50))), np.zeros((40, 50))
        )


@pytest.mark.parametrize("trans_b", [False, True])
def test_matmul_propagates_nan_and_inf(isa, trans_b):
    a = np.ones((20, 9), np.float32)
    a[3, 4] = np.nan
    a[5, 0] = np.inf
    b = np.ones((40, 9) if trans_b else (9, 40), np.float32)
    got = ops.matmul(a, b, False, trans_b)
    assert np.isnan(got[3]).all() and np.isposinf(got[5]).all()
    assert np.isfinite(np.delete(got, [3, 5], axis=0)).all()


@pytest.mark.parametrize(
    "a, b, err, match",
    [
        (np.ones((2, 3)), np.ones((4, 2)), ValueError, "inner dimensions"),
        (np.ones(3), np.ones((3, 2)), ValueError, "a: expected a 2-D array"),
        (np.ones((3, 2)), np.ones((2, 2, 1)), ValueError, "b: expected a 2-D array"),
        (np.ones((2, 3), complex), np.ones((3, 2)), TypeError, "a: expected real numbers"),
        (np.array([["x"]]), np.ones((1, 1)), TypeError, "a: expected real numbers"),
        (np.ones((2, 3)), np.array([[None]] * 3, dtype=object), TypeError, "b: expected real"),
        (None, np.ones((1, 1)), TypeError, "a: expected an array"),
    ],
)
def test_matmul_bad_input(a, b, err, match):
    with pytest.raises(err, match=match):
        ops.matmul(a, b)
