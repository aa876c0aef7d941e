"""The CUDA backend: every op on CuPy arrays against its NumPy twin (run on the host copies).

All tests need an NVIDIA GPU and CuPy (marked gpu; tests/conftest.py skips them otherwise). CuPy is
imported inside the `cp` fixture so that this file imports and collects anywhere.
"""

from functools import partial

import numpy as np
import pytest
import shendu
from shendu import ops, reference

from tests.helpers import optimizer_cases
from tests.ops import test_rnn_variants as rnn_variants
from tests.ops.test_rnn import upstream
from tests.ops.test_rnn_mask import random_mask

pytestmark = pytest.mark.gpu

ACTIVATIONS = ["relu", "sigmoid", "tanh"]
KERAS_UPDATES = optimizer_cases.EXACT


@pytest.fixture
def cp():
    import cupy

    return cupy


@pytest.fixture
def cuda():
    from shendu import _cuda

    return _cuda


def f64(x):
    return np.asarray(x, dtype=np.float64)


def f64_or_none(x):
    return None if x is None else f64(x)


def gpu_or_none(cp, x):
    return None if x is None else cp.asarray(x)


def assert_gpu_close(got, want, rtol=1e-5, atol=1e-6):
    """got must be a float32 CuPy array (the op stayed on the GPU) close to the host array want."""
    assert type(got).__module__.startswith("cupy"), f"expected a CuPy array, got {type(got)}"
    assert got.dtype == np.float32
    assert got.shape == np.shape(want)
    np.testing.assert_allclose(got.get(), want, rtol=rtol, atol=atol)


# --- plumbing ------------------------------------------------------------------------------------


def test_cuda_module_is_used_and_names_the_device(cp, cuda):
    assert ops._cuda is cuda
    name = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)["name"].decode()
    assert cuda.device_name().startswith(name)
    assert cuda.cupy_version() == cp.__version__


def test_info_names_the_gpu(cp):
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "shendu", "info"], capture_output=True, text=True, check=True
    ).stdout
    assert "CUDA module: built" in out
    assert f"GPU: {shendu._cuda.device_name()}" in out


_SPIN = r"""
extern "C" __global__ void spin(long long cycles) {
  const long long start = clock64();
  while (clock64() - start < cycles) {}
}
"""


def _busy_then_fill(cp, stream, arrays, value):
    """On stream: ~0.2 s of spinning, then arrays filled with value. An op launched on the
    legacy stream meanwhile (which does not wait for a non-blocking stream) would run at once
    and read the old values; on the stream, it runs after the fill."""
    cp.RawKernel(_SPIN, "spin")((1,), (1,), (np.int64(400_000_000),))
    for a in arrays:
        a.fill(value)


def test_runs_on_the_current_stream(cp, rng):
    stream = cp.cuda.Stream(non_blocking=True)
    with stream:
        a = cp.asarray(rng.standard_normal((65, 70)).astype(np.float32))
        b = cp.asarray(rng.standard_normal((70, 130)).astype(np.float32))
        x = cp.asarray(rng.standard_normal((65, 130)).astype(np.float32))
        stream.synchronize()
        _busy_then_fill(cp, stream, [a, b, x], 1.0)
        product = ops.relu(ops.matmul(a, b))
        _, dw, db = ops.dense_backward(a, x, b.T, a, need_dx=False)
        _busy_then_fill(cp, stream, [a], 2.0)
        loss, grad = ops.mean_squared_error(a, cp.zeros_like(a))
    stream.synchronize()
    assert_gpu_close(product, np.full((65, 130), 70.0))
    assert_gpu_close(dw, np.full((130, 70), 65.0))
    assert_gpu_close(db, np.full(70, 65.0))
    assert loss == 4.0
    assert_gpu_close(grad, np.full((65, 70), 4.0 / a.size))


# --- SGEMM: every step of the ladder -------------------------------------------------------------


@pytest.mark.parametrize("kernel", ["naive", "smem", "blocktile", "warptile"])
@pytest.mark.parametrize(
    "shape",
    [
        (1, 1, 1),
        (7, 33, 5),
        (64, 257, 130),
        (257, 129, 131),
        (0, 3, 4),
        (3, 0, 4),
        (5, 7, 0),
        (33, 1, 257),
        # K and N multiples of 4 (M, K, N): the float4 loads and stores, and their edges
        (257, 132, 260),
        (129, 12, 516),
        (300, 4, 4),
    ],
)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_sgemm_ladder_matches_reference(cp, cuda, rng, kernel, shape, trans_a, trans_b):
    m, k, n = shape
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
    got = cuda.matmul_with(kernel, cp.asarray(a), cp.asarray(b), trans_a, trans_b)
    want = reference.matmul(f64(a), f64(b), trans_a, trans_b)
    assert_gpu_close(got, want, rtol=1e-4, atol=1e-4 * np.sqrt(max(k, 1)))


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_matmul_misaligned_rows_take_the_scalar_path(cp, rng, trans_a, trans_b):
    # Rows of 32 floats start 4 bytes past a 16-byte boundary: no float4 access is allowed.
    m, k, n = 40, 32, 36
    a_shape = (k, m) if trans_a else (m, k)
    b_shape = (n, k) if trans_b else (k, n)
    a_buf = cp.asarray(rng.standard_normal(m * k + 1).astype(np.float32))
    b_buf = cp.asarray(rng.standard_normal(k * n + 1).astype(np.float32))
    a = a_buf[1:].reshape(a_shape)
    b = b_buf[1:].reshape(b_shape)
    assert a.data.ptr % 16 and b.data.ptr % 16
    want = reference.matmul(f64(a.get()), f64(b.get()), trans_a, trans_b)
    assert_gpu_close(ops.matmul(a, b, trans_a, trans_b), want, rtol=1e-4, atol=1e-4 * np.sqrt(k))


@pytest.mark.parametrize("kernel", ["naive", "smem", "blocktile", "warptile"])
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_sgemm_output_one_element_past_alignment(cp, cuda, rng, kernel, trans_a, trans_b):
    # Aligned operands with rows of 4k floats, but C starts 4 bytes past a 16-byte boundary: the
    # float4 stores must not be used.
    m, k, n = 129, 12, 516
    a = cp.asarray(rng.standard_normal((k, m) if trans_a else (m, k)).astype(np.float32))
    b = cp.asarray(rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32))
    buf = cp.full(m * n + 1, np.nan, cp.float32)
    out = buf[1:].reshape(m, n)
    assert out.data.ptr % 16 == 4
    cuda._gemm(a, b, trans_a, trans_b, m, n, k, kernel=kernel, out=out)
    want = reference.matmul(f64(a.get()), f64(b.get()), trans_a, trans_b)
    assert_gpu_close(out, want, rtol=1e-4, atol=1e-4 * np.sqrt(k))
    assert bool(cp.isnan(buf[0]))  # nothing written before C


@pytest.mark.parametrize("kernel", ["naive", "smem", "blocktile", "warptile"])
def test_sgemm_wide_product(cp, cuda, kernel):
    # N = 2^23 + 5: more N tiles of 128 than gridDim.y's 65535 (the grid is one-dimensional).
    n = 2**23 + 5  # (M, K, N) = (3, 2, n)
    a = cp.asarray(np.array([[1, 0], [0, 1], [1, 1]], np.float32))
    b = cp.stack([cp.arange(n, dtype=cp.float32) % 7, cp.ones(n, cp.float32)])
    got = cuda.matmul_with(kernel, a, b)
    want = np.stack([np.arange(n) % 7, np.ones(n), np.arange(n) % 7 + 1]).astype(np.float32)
    np.testing.assert_array_equal(got.get(), want)


def test_matmul_large_matches_cublas(cp, rng):
    a = cp.asarray(rng.standard_normal((1031, 517)).astype(np.float32))
    b = cp.asarray(rng.standard_normal((517, 1029)).astype(np.float32))
    want = cp.matmul(a.astype(cp.float64), b.astype(cp.float64)).get()
    assert_gpu_close(ops.matmul(a, b), want, rtol=1e-4, atol=1e-4 * np.sqrt(517))


def test_matmul_accepts_views_and_ints(cp, rng):
    a = cp.asarray(rng.standard_normal((8, 10)).astype(np.float32))[:, ::2]  # non-contiguous
    b = cp.arange(10, dtype=cp.int64).reshape(5, 2)
    assert_gpu_close(ops.matmul(a, b), f64(a.get()) @ f64(b.get()), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("trans_b", [False, True])
def test_matmul_propagates_nan_and_inf(cp, trans_b):
    a = np.ones((20, 9), np.float32)
    a[3, 4] = np.nan
    a[5, 0] = np.inf
    b = np.ones((40, 9) if trans_b else (9, 40), np.float32)
    got = ops.matmul(cp.asarray(a), cp.asarray(b), False, trans_b).get()
    assert np.isnan(got[3]).all() and np.isposinf(got[5]).all()
    assert np.isfinite(np.delete(got, [3, 5], axis=0)).all()


@pytest.mark.parametrize(
    "a, b, err, match",
    [
        (np.ones((2, 3)), np.ones((4, 2)), ValueError, "inner dimensions"),
        (np.ones(3), np.ones((3, 2)), ValueError, "a: expected a 2-D array"),
        (np.ones((2, 3), complex), np.ones((3, 2)), TypeError, "a: expected real numbers"),
        (np.ones((2, 3)), "host", TypeError, "b: expected a CuPy array"),
    ],
)
def test_matmul_bad_input(cp, a, b, err, match):
    b = np.ones((3, 2)) if isinstance(b, str) else cp.asarray(b)
    with pytest.raises(err, match=match):
        ops.matmul(cp.asarray(a), b)


# --- dense ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 1, 1), (7, 33, 5), (257, 7, 33), (0, 4, 3), (32, 784, 128)])
@pytest.mark.parametrize("activation", ["linear", "relu", "sigmoid", "tanh", "softmax"])
@pytest.mark.parametrize("with_bias", [True, False])
def test_dense_forward_and_backward(cp, rng, shape, activation, with_bias):
    n, i, o = shape
    x = rng.standard_normal((n, i)).astype(np.float32)
    w = (rng.standard_normal((i, o)) / np.sqrt(i)).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32) if with_bias else None
    dy = rng.standard_normal((n, o)).astype(np.float32)
    y = ops.dense(cp.asarray(x), cp.asarray(w), None if b is None else cp.asarray(b), activation)
    y_ref = reference.dense(f64(x), f64(w), None if b is None else f64(b), activation)
    tol = dict(rtol=1e-4, atol=1e-4 * np.sqrt(max(i, 1)))
    assert_gpu_close(y, y_ref, **tol)
    grads = ops.dense_backward(cp.asarray(dy), cp.asarray(x), cp.asarray(w), y, activation)
    want = reference.dense_backward(f64(dy), f64(x), f64(w), f64(y.get()), activation)
    for name, got, ref in zip(("dx", "dw", "db"), grads, want):
        assert got.shape == ref.shape, name
        assert_gpu_close(got, ref, rtol=1e-4, atol=1e-4 * np.sqrt(max(n, o, 1)))


def test_dense_propagates_nan(cp, rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    x[1, 2] = np.nan
    w = rng.standard_normal((4, 5)).astype(np.float32)
    y = ops.dense(cp.asarray(x), cp.asarray(w), cp.zeros(5, cp.float32), "relu").get()
    assert np.isnan(y[1]).all() and np.isfinite(y[[0, 2]]).all()


def test_dense_bad_input(cp):
    x, w = cp.ones((4, 3), cp.float32), cp.ones((3, 2), cp.float32)
    with pytest.raises(ValueError, match="w: expected"):
        ops.dense(x, cp.ones((2, 2), cp.float32))
    with pytest.raises(ValueError, match="b: expected"):
        ops.dense(x, w, cp.ones(3, cp.float32))
    with pytest.raises(ValueError, match="activation"):
        ops.dense(x, w, None, "gelu")
    with pytest.raises(TypeError, match="activation"):
        ops.dense(x, w, None, 3)


# --- activations and softmax ---------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1,), (7, 33), (2, 3, 257), (0, 5)])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_forward_and_backward(cp, rng, shape, name):
    x = (3 * rng.standard_normal(shape)).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    y = getattr(ops, name)(cp.asarray(x))
    assert_gpu_close(y, getattr(reference, name)(f64(x)))
    dx = getattr(ops, f"{name}_backward")(cp.asarray(dy), y)
    assert_gpu_close(dx, getattr(reference, f"{name}_backward")(f64(dy), f64(y.get())))


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_propagates_nan(cp, name):
    x = cp.asarray(np.array([np.nan, -1.0, 2.0], np.float32))
    assert bool(cp.isnan(getattr(ops, name)(x)[0]))


@pytest.mark.parametrize("shape", [(1, 1), (7, 33), (3, 257), (2, 3, 1000), (0, 4)])
def test_softmax_forward_and_backward(cp, rng, shape):
    x = (5 * rng.standard_normal(shape)).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    y = ops.softmax(cp.asarray(x))
    assert_gpu_close(y, reference.softmax(f64(x)))
    dx = ops.softmax_backward(cp.asarray(dy), y)
    assert_gpu_close(dx, reference.softmax_backward(f64(dy), f64(y.get())))


def test_softmax_large_logits_do_not_overflow(cp):
    x = np.array([[1e4, 1e4 - 1.0, -1e4]], np.float32)
    assert_gpu_close(ops.softmax(cp.asarray(x)), reference.softmax(f64(x)))


def test_elementwise_shape_mismatch(cp):
    with pytest.raises(ValueError, match="y: expected the shape of dy"):
        ops.relu_backward(cp.ones((2, 3), cp.float32), cp.ones((3, 2), cp.float32))
    with pytest.raises(ValueError, match="x: expected at least a 1-D array"):
        ops.softmax(cp.ones((), cp.float32))


# --- convolution and pooling ---------------------------------------------------------------------

CONV_CASES = [  # x shape, kernel size, strides
    ((1, 1, 1, 1), (1, 1), (1, 1)),
    ((2, 7, 7, 3), (3, 3), (1, 1)),
    ((2, 7, 33, 3), (3, 2), (2, 2)),
    ((1, 9, 8, 5), (4, 3), (3, 2)),
    ((0, 5, 5, 2), (3, 3), (1, 1)),
    ((4, 28, 28, 1), (5, 5), (1, 1)),
]


@pytest.mark.parametrize("x_shape, kernel, strides", CONV_CASES)
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("with_bias", [True, False])
def test_conv2d_forward_and_backward(cp, rng, x_shape, kernel, strides, padding, with_bias):
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(kernel + (x_shape[3], 4)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32) if with_bias else None
    y = ops.conv2d(
        cp.asarray(x), cp.asarray(w), None if b is None else cp.asarray(b), strides, padding
    )
    y_ref = reference.conv2d(f64(x), f64(w), None if b is None else f64(b), strides, padding)
    patch = kernel[0] * kernel[1] * x_shape[3]
    assert_gpu_close(y, y_ref, rtol=1e-4, atol=1e-4 * np.sqrt(patch))
    dy = rng.standard_normal(y_ref.shape).astype(np.float32)
    grads = ops.conv2d_backward(cp.asarray(dy), cp.asarray(x), cp.asarray(w), strides, padding)
    want = reference.conv2d_backward(f64(dy), f64(x), f64(w), strides, padding)
    terms = (kernel[0] * kernel[1] * 4, dy.size // 4, dy.size // 4)  # summed per dx, dw, db entry
    for got, ref, count in zip(grads, want, terms):
        assert_gpu_close(got, ref, rtol=1e-4, atol=1e-4 * np.sqrt(max(count, 1)))


def test_conv2d_propagates_nan_and_inf(cp):
    x = np.ones((1, 5, 5, 1), np.float32)
    x[0, 0, 0, 0] = np.nan
    x[0, 4, 4, 0] = np.inf
    y = ops.conv2d(cp.asarray(x), cp.ones((3, 3, 1, 1), cp.float32)).get()
    assert np.isnan(y[0, 0, 0, 0]) and np.isposinf(y[0, 2, 2, 0])
    assert np.isfinite(y[0, 1, 0, 0])


def test_conv2d_bad_input(cp):
    x = cp.ones((1, 4, 4, 3), cp.float32)
    with pytest.raises(ValueError, match="w: expected"):
        ops.conv2d(x, cp.ones((2, 2, 2, 1), cp.float32))
    with pytest.raises(ValueError, match="strides"):
        ops.conv2d(x, cp.ones((2, 2, 3, 1), cp.float32), None, 0)
    with pytest.raises(ValueError, match="padding"):
        ops.conv2d(x, cp.ones((2, 2, 3, 1), cp.float32), None, 1, "full")
    with pytest.raises(ValueError, match="valid"):
        ops.conv2d(x, cp.ones((5, 5, 3, 1), cp.float32))


POOL_CASES = [  # x shape, pool size, strides
    ((1, 1, 1, 1), (1, 1), None),
    ((2, 7, 7, 3), (2, 2), None),
    ((2, 7, 33, 3), (3, 3), (2, 2)),
    ((1, 9, 8, 5), (2, 3), (1, 1)),
    ((0, 4, 4, 2), (2, 2), None),
    ((1, 20, 19, 2), (17, 17), (2, 2)),  # 289 cells: a uint16 argmax
]


@pytest.mark.parametrize("x_shape, pool, strides", POOL_CASES)
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_max_pool2d_forward_and_backward(cp, rng, x_shape, pool, strides, padding):
    x = rng.standard_normal(x_shape).astype(np.float32)
    y, argmax = ops.max_pool2d(cp.asarray(x), pool, strides, padding)
    y_ref, argmax_ref = reference.max_pool2d(f64(x), pool, strides, padding)
    assert_gpu_close(y, y_ref, rtol=0, atol=0)
    assert argmax.dtype == argmax_ref.dtype
    np.testing.assert_array_equal(argmax.get(), argmax_ref)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    geometry = (pool, strides, padding)
    dx = ops.max_pool2d_backward(cp.asarray(dy), argmax, x_shape, *geometry)
    assert_gpu_close(dx, reference.max_pool2d_backward(f64(dy), argmax_ref, x_shape, *geometry))


def test_max_pool2d_ties_nan_and_inf(cp):
    x = np.zeros((1, 2, 4, 3), np.float32)
    x[0, :, 0:2, 0] = 1.0  # a tie over the whole first window: the first cell wins
    x[0, 1, 0, 1] = np.nan  # a NaN wins over larger numbers...
    x[0, 0, 1, 1] = 5.0
    x[0, 1, 3, 1] = np.nan  # ...and the first of two NaNs wins
    x[0, 0, 3, 1] = np.nan
    x[0, :, 0:2, 2] = -np.inf  # all -inf: still a real cell, the first
    y, argmax = ops.max_pool2d(cp.asarray(x), 2)
    y_ref, argmax_ref = reference.max_pool2d(x, 2)
    np.testing.assert_array_equal(argmax.get(), argmax_ref)
    np.testing.assert_array_equal(y.get(), y_ref)
    # The backward routes NaN and inf in dy to the argmax cell only (these windows tile x).
    dy = np.array([np.nan, np.inf, -np.inf, 1.0, np.nan, 2.0], np.float32).reshape(y.shape)
    np.testing.assert_array_equal(
        ops.max_pool2d_backward(cp.asarray(dy), argmax, x.shape).get(),
        reference.max_pool2d_backward(dy, argmax_ref, x.shape),
    )


@pytest.mark.parametrize("x_shape, pool, strides", POOL_CASES)
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_avg_pool2d_forward_and_backward(cp, rng, x_shape, pool, strides, padding):
    x = rng.standard_normal(x_shape).astype(np.float32)
    y = ops.avg_pool2d(cp.asarray(x), pool, strides, padding)
    assert_gpu_close(y, reference.avg_pool2d(f64(x), pool, strides, padding))
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx = ops.avg_pool2d_backward(cp.asarray(dy), x_shape, pool, strides, padding)
    assert_gpu_close(dx, reference.avg_pool2d_backward(f64(dy), x_shape, pool, strides, padding))


def test_pool_bad_input(cp):
    x = cp.ones((1, 4, 4, 2), cp.float32)
    with pytest.raises(TypeError, match="pool_size"):
        ops.max_pool2d(x, "2")
    with pytest.raises(ValueError, match="valid"):
        ops.avg_pool2d(x, 5)
    dy = cp.ones((1, 2, 2, 2), cp.float32)
    with pytest.raises(ValueError, match=r"argmax: value 4 at \(0, 0, 0, 0\) names no real cell"):
        ops.max_pool2d_backward(dy, cp.full((1, 2, 2, 2), 4, cp.uint8), (1, 4, 4, 2))
    with pytest.raises(ValueError, match="argmax: expected the uint8 array"):
        ops.max_pool2d_backward(dy, cp.zeros((1, 2, 2, 2), cp.int64), (1, 4, 4, 2))
    # 3x3 windows, stride 2, "same" over 3x3: tap 0 of window (0, 0) is a padded cell.
    dy, taps = cp.ones((1, 2, 2, 1), cp.float32), cp.zeros((1, 2, 2, 1), cp.uint8)
    with pytest.raises(ValueError, match=r"argmax: value 0 at \(0, 0, 0, 0\)"):
        ops.max_pool2d_backward(dy, taps, (1, 3, 3, 1), 3, 2, "same")


# --- recurrent layers ----------------------------------------------------------------------------

RNN_SHAPES = [(1, 1, 1, 1), (2, 7, 3, 5), (3, 5, 33, 7), (0, 3, 2, 2), (2, 0, 3, 4), (4, 12, 8, 33)]


def _rnn_weights(rng, i, u, gates):
    kernel = (rng.standard_normal((i, gates * u)) / np.sqrt(i)).astype(np.float32)
    recurrent = (rng.standard_normal((u, gates * u)) / np.sqrt(u)).astype(np.float32)
    return kernel, recurrent


def _assert_all_close(got, want, rtol=1e-4, atol=1e-5):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert_gpu_close(g, w, rtol=rtol, atol=atol)


@pytest.mark.parametrize("n, t, i, u", RNN_SHAPES)
@pytest.mark.parametrize("with_state", [True, False])
def test_lstm_forward_and_backward(cp, rng, n, t, i, u, with_state):
    x = rng.standard_normal((n, t, i)).astype(np.float32)
    kernel, recurrent = _rnn_weights(rng, i, u, 4)
    bias = rng.standard_normal(4 * u).astype(np.float32)
    h0, c0 = (rng.standard_normal((n, u)).astype(np.float32) for _ in range(2))
    if not with_state:
        h0 = c0 = None
    g, d = partial(gpu_or_none, cp), f64_or_none
    *out, cache = ops.lstm(g(x), g(kernel), g(recurrent), g(bias), g(h0), g(c0))
    *out_ref, cache_ref = reference.lstm(d(x), d(kernel), d(recurrent), d(bias), d(h0), d(c0))
    _assert_all_close(out, out_ref)
    dhs = rng.standard_normal((n, t, u)).astype(np.float32)
    dh_t, dc_t = (rng.standard_normal((n, u)).astype(np.float32) for _ in range(2))
    grads = ops.lstm_backward(
        g(dhs), g(dh_t), g(dc_t), g(x), g(kernel), g(recurrent), cache, g(h0), g(c0)
    )
    want = reference.lstm_backward(
        d(dhs), d(dh_t), d(dc_t), d(x), d(kernel), d(recurrent), cache_ref, d(h0), d(c0)
    )
    _assert_all_close(grads, want)


@pytest.mark.parametrize("n, t, i, u", RNN_SHAPES)
@pytest.mark.parametrize("with_bias", [True, False])
def test_gru_forward_and_backward(cp, rng, n, t, i, u, with_bias):
    x = rng.standard_normal((n, t, i)).astype(np.float32)
    kernel, recurrent = _rnn_weights(rng, i, u, 3)
    bias = rng.standard_normal((2, 3 * u)).astype(np.float32) if with_bias else None
    h0 = rng.standard_normal((n, u)).astype(np.float32)
    g, d = partial(gpu_or_none, cp), f64_or_none
    *out, cache = ops.gru(g(x), g(kernel), g(recurrent), g(bias), g(h0))
    *out_ref, cache_ref = reference.gru(d(x), d(kernel), d(recurrent), d(bias), d(h0))
    _assert_all_close(out, out_ref)
    dhs = rng.standard_normal((n, t, u)).astype(np.float32)
    dh_t = rng.standard_normal((n, u)).astype(np.float32)
    grads = ops.gru_backward(g(dhs), g(dh_t), g(x), g(kernel), g(recurrent), cache, g(h0))
    want = reference.gru_backward(d(dhs), d(dh_t), d(x), d(kernel), d(recurrent), cache_ref, d(h0))
    _assert_all_close(grads, want)


@pytest.mark.parametrize("n, t, i, u", RNN_SHAPES)
def test_simple_rnn_forward_and_backward(cp, rng, n, t, i, u):
    x = rng.standard_normal((n, t, i)).astype(np.float32)
    kernel, recurrent = _rnn_weights(rng, i, u, 1)
    bias = rng.standard_normal(u).astype(np.float32)
    *out, cache = ops.simple_rnn(
        cp.asarray(x), cp.asarray(kernel), cp.asarray(recurrent), cp.asarray(bias)
    )
    *out_ref, cache_ref = reference.simple_rnn(f64(x), f64(kernel), f64(recurrent), f64(bias))
    _assert_all_close(out, out_ref)
    dhs = rng.standard_normal((n, t, u)).astype(np.float32)
    grads = ops.simple_rnn_backward(
        cp.asarray(dhs), None, cp.asarray(x), cp.asarray(kernel), cp.asarray(recurrent), cache
    )
    want = reference.simple_rnn_backward(
        f64(dhs), None, f64(x), f64(kernel), f64(recurrent), cache_ref
    )
    _assert_all_close(grads, want)


@pytest.mark.parametrize("variant", rnn_variants.VARIANTS, ids=rnn_variants.IDS)
@pytest.mark.parametrize("masked", [False, True], ids=["", "masked"])
def test_rnn_options_match_reference(cp, rng, variant, masked):
    """GRU reset_after=False and the cell activations (see tests/ops/test_rnn_variants.py)."""
    n, t, i, u = 3, 7, 5, 6
    a = rnn_variants.make_args(rng, variant[0], variant[1], n, t, i, u)
    mask = random_mask(rng, n, t) if masked else None
    on_gpu = {k: cp.asarray(v) for k, v in a.items()}
    as64 = {k: f64(v) for k, v in a.items()}
    gpu_mask = None if mask is None else cp.asarray(mask)
    got, cache = rnn_variants.forward(ops, variant, on_gpu, gpu_mask)
    want, ref_cache = rnn_variants.forward(reference, variant, as64, mask)
    _assert_all_close(got, want)
    grads = upstream(rng, variant[0], n, t, u)
    got = rnn_variants.backward(
        ops, variant, [cp.asarray(g) for g in grads], on_gpu, cache, gpu_mask
    )
    want = rnn_variants.backward(reference, variant, [f64(g) for g in grads], as64, ref_cache, mask)
    _assert_all_close(got, want)


def test_rnn_bad_input(cp):
    x = cp.ones((2, 3, 4), cp.float32)
    kernel, recurrent = cp.ones((4, 8), cp.float32), cp.ones((2, 8), cp.float32)
    with pytest.raises(ValueError, match="kernel: expected"):
        ops.lstm(x, cp.ones((3, 8), cp.float32), recurrent, None)
    with pytest.raises(ValueError, match="recurrent_kernel: expected"):
        ops.lstm(x, kernel, cp.ones((2, 6), cp.float32), None)
    with pytest.raises(ValueError, match="h0: expected"):
        ops.lstm(x, kernel, recurrent, None, cp.ones((3, 2), cp.float32))
    *_, cache = ops.lstm(x, kernel, recurrent, None)
    with pytest.raises(TypeError, match="cache"):
        ops.lstm_backward(
            cp.ones((2, 3, 2), cp.float32), None, None, x, kernel, recurrent, cache[:2]
        )


# --- losses ---------------------------------------------------------------------------------------


def assert_loss_close(got, want):
    loss, grad = got
    assert isinstance(loss, float)
    np.testing.assert_allclose(loss, want[0], rtol=1e-5, atol=1e-6)
    assert_gpu_close(grad, want[1], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("n, c", [(1, 1), (7, 33), (33, 7), (257, 10), (4, 1000), (3000, 10)])
def test_sparse_softmax_cross_entropy(cp, rng, n, c):
    logits = (4 * rng.standard_normal((n, c))).astype(np.float32)
    labels = rng.integers(0, c, n)
    got = ops.sparse_softmax_cross_entropy(cp.asarray(logits), cp.asarray(labels))
    assert_loss_close(got, reference.sparse_softmax_cross_entropy(f64(logits), labels))


@pytest.mark.parametrize("n, c", [(1, 1), (7, 33), (257, 10)])
def test_softmax_cross_entropy(cp, rng, n, c):
    logits = (4 * rng.standard_normal((n, c))).astype(np.float32)
    targets = rng.random((n, c))
    targets = (targets / targets.sum(axis=1, keepdims=True)).astype(np.float32)
    got = ops.softmax_cross_entropy(cp.asarray(logits), cp.asarray(targets))
    assert_loss_close(got, reference.softmax_cross_entropy(f64(logits), f64(targets)))


@pytest.mark.parametrize("shape", [(1,), (7, 33), (257, 3)])
def test_binary_cross_entropy(cp, rng, shape):
    probs = rng.uniform(0.01, 0.99, shape).astype(np.float32)
    probs.flat[0] = 0.0  # clipped: no gradient there
    targets = rng.integers(0, 2, shape).astype(np.float32)
    got = ops.binary_cross_entropy(cp.asarray(probs), cp.asarray(targets))
    assert_loss_close(got, reference.binary_cross_entropy(f64(probs), f64(targets)))
    assert float(got[1].ravel()[0]) == 0.0


@pytest.mark.parametrize("shape", [(1,), (7, 33), (257, 3)])
def test_sigmoid_binary_cross_entropy(cp, rng, shape):
    logits = (10 * rng.standard_normal(shape)).astype(np.float32)
    logits.flat[0] = 200.0  # exp would overflow in a naive formula
    targets = rng.random(shape).astype(np.float32)
    got = ops.sigmoid_binary_cross_entropy(cp.asarray(logits), cp.asarray(targets))
    assert_loss_close(got, reference.sigmoid_binary_cross_entropy(f64(logits), f64(targets)))


@pytest.mark.parametrize("shape", [(1,), (7, 33), (257, 3), (5000, 7)])
def test_mean_squared_error(cp, rng, shape):
    pred = rng.standard_normal(shape).astype(np.float32)
    targets = rng.standard_normal(shape).astype(np.float32)
    got = ops.mean_squared_error(cp.asarray(pred), cp.asarray(targets))
    assert_loss_close(got, reference.mean_squared_error(f64(pred), f64(targets)))


@pytest.mark.parametrize("name", ["sparse_softmax_cross_entropy", "softmax_cross_entropy"])
def test_softmax_losses_of_large_logits(cp, name):
    # lse = 1e4 + log(1 + e^-1): rounding lse before subtracting the logit loses 7e-4 relative.
    logits = np.array([[1e4, 1e4 - 1.0, -1e4]], np.float32)
    labels = np.array([0])
    targets = labels if name.startswith("sparse") else np.eye(3, dtype=np.float32)[labels]
    loss, grad = getattr(ops, name)(cp.asarray(logits), cp.asarray(targets))
    want_loss, want_grad = getattr(reference, name)(f64(logits), targets)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-5)
    assert_gpu_close(grad, want_grad, rtol=1e-5, atol=1e-7)


def test_sigmoid_cross_entropy_of_large_logits(cp):
    # max(z, 0) - z t cancels for large z and t near 1: the CPU sums the terms in double.
    logits = np.array([1e4, -1e4, 3e3, 20.0], np.float32)
    targets = np.array([0.9999, 0.0001, 1.0, 0.5], np.float32)
    loss, grad = ops.sigmoid_binary_cross_entropy(cp.asarray(logits), cp.asarray(targets))
    want_loss, want_grad = reference.sigmoid_binary_cross_entropy(f64(logits), f64(targets))
    np.testing.assert_allclose(loss, want_loss, rtol=1e-5)
    assert_gpu_close(grad, want_grad, rtol=1e-5, atol=1e-7)


LOSSES = [
    "sparse_softmax_cross_entropy",
    "softmax_cross_entropy",
    "binary_cross_entropy",
    "sigmoid_binary_cross_entropy",
    "mean_squared_error",
]


def _loss_inputs(name, shape, rng):
    if name == "sparse_softmax_cross_entropy":
        return rng.standard_normal(shape).astype(np.float32), rng.integers(0, shape[1], shape[0])
    if name == "softmax_cross_entropy":
        return rng.standard_normal(shape).astype(np.float32), rng.dirichlet(
            np.ones(shape[1]), shape[0]
        ).astype(np.float32)
    if name == "binary_cross_entropy":
        return rng.uniform(0.05, 0.95, shape).astype(np.float32), rng.random(shape).astype(
            np.float32
        )
    return rng.standard_normal(shape).astype(np.float32), rng.random(shape).astype(np.float32)


@pytest.mark.parametrize("name", LOSSES)
def test_loss_propagates_nan(cp, rng, name):
    a, t = _loss_inputs(name, (3, 4), rng)
    a[1, 2] = np.nan
    loss, grad = getattr(ops, name)(cp.asarray(a), cp.asarray(t))
    grad = grad.get()
    assert np.isnan(loss)
    assert np.isnan(grad[1, 2])
    assert np.isfinite(grad[0]).all() and np.isfinite(grad[2]).all()


@pytest.mark.parametrize("name", LOSSES)
def test_loss_matches_over_a_grid_stride_of_terms(cp, rng, name):
    # 2^24 + 3 terms: past one grid-stride pass of the loss kernels and a multi-block total.
    shape = (2**22 + 1, 4) if "softmax" in name else (2**24 + 3,)
    a, t = _loss_inputs(name, shape, rng)
    loss, grad = getattr(ops, name)(cp.asarray(a), cp.asarray(t))
    want_loss, want_grad = getattr(reference, name)(f64(a), t if t.dtype.kind == "i" else f64(t))
    np.testing.assert_allclose(loss, want_loss, rtol=1e-5)
    assert_gpu_close(grad, want_grad, rtol=1e-4, atol=1e-11)


@pytest.mark.parametrize(
    "name",
    [
        "softmax_cross_entropy",
        "binary_cross_entropy",
        "sigmoid_binary_cross_entropy",
        "mean_squared_error",
    ],
)
def test_loss_of_an_empty_batch(cp, name):
    empty = cp.zeros((0, 3), cp.float32)
    loss, grad = getattr(ops, name)(empty, empty)
    assert loss == getattr(reference, name)(np.zeros((0, 3)), np.zeros((0, 3)))[0]
    assert grad.shape == (0, 3)


def test_loss_bad_input(cp):
    logits = cp.zeros((3, 4), cp.float32)
    with pytest.raises(ValueError, match=r"labels: value 4 out of range \[0, 4\)"):
        ops.sparse_softmax_cross_entropy(logits, cp.asarray([0, 1, 4]))
    with pytest.raises(ValueError, match="labels: value -1"):
        ops.sparse_softmax_cross_entropy(logits, cp.asarray([0, -1, 2]))
    with pytest.raises(ValueError, match="labels: expected whole numbers"):
        ops.sparse_softmax_cross_entropy(logits, cp.asarray([0.0, 1.5, 2.0]))
    with pytest.raises(ValueError, match="labels: expected"):
        ops.sparse_softmax_cross_entropy(logits, cp.asarray([0, 1]))
    with pytest.raises(ValueError, match="targets: expected the shape of pred"):
        ops.mean_squared_error(cp.zeros(3, cp.float32), cp.zeros(4, cp.float32))
    no_classes = cp.zeros((3, 0), cp.float32)
    with pytest.raises(ValueError, match=r"logits: expected \(N, C\) with C >= 1"):
        ops.softmax_cross_entropy(no_classes, no_classes)


# --- optimizers -----------------------------------------------------------------------------------


def _state(rng, shape, positive=False):
    x = rng.standard_normal(shape).astype(np.float32)
    return np.abs(x) if positive else x


@pytest.mark.parametrize("shape", [(1,), (7, 33), (257,)])
@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_sgd_update(cp, rng, shape, momentum, nesterov):
    param, grad, vel = _state(rng, shape), _state(rng, shape), _state(rng, shape)
    p_gpu, v_gpu = cp.asarray(param), cp.asarray(vel)
    assert ops.sgd_update(p_gpu, cp.asarray(grad), v_gpu, 0.1, momentum, nesterov) is None
    p_ref, v_ref = f64(param), f64(vel)
    reference.sgd_update(p_ref, f64(grad), v_ref, 0.1, momentum, nesterov)
    assert_gpu_close(p_gpu, p_ref)
    assert_gpu_close(v_gpu, v_ref)


def test_sgd_without_velocity(cp, rng):
    param, grad = _state(rng, (7, 3)), _state(rng, (7, 3))
    p_gpu = cp.asarray(param)
    ops.sgd_update(p_gpu, cp.asarray(grad), None, 0.05)
    assert_gpu_close(p_gpu, f64(param) - 0.05 * f64(grad))
    with pytest.raises(ValueError, match="velocity"):
        ops.sgd_update(p_gpu, cp.asarray(grad), None, 0.05, momentum=0.9)


@pytest.mark.parametrize("shape", [(1,), (7, 33), (257,)])
@pytest.mark.parametrize("step", [1, 10])
def test_adam_update(cp, rng, shape, step):
    param, grad, m = _state(rng, shape), _state(rng, shape), _state(rng, shape)
    v = _state(rng, shape, positive=True)
    gpu = [cp.asarray(a) for a in (param, m, v)]
    ops.adam_update(gpu[0], cp.asarray(grad), gpu[1], gpu[2], step, 0.01)
    ref = [f64(a) for a in (param, m, v)]
    reference.adam_update(ref[0], f64(grad), ref[1], ref[2], step, 0.01)
    for got, want in zip(gpu, ref):
        assert_gpu_close(got, want)


@pytest.mark.parametrize("shape", [(1,), (7, 33), (257,)])
def test_rmsprop_update(cp, rng, shape):
    param, grad = _state(rng, shape), _state(rng, shape)
    avg = _state(rng, shape, positive=True)
    p_gpu, a_gpu = cp.asarray(param), cp.asarray(avg)
    ops.rmsprop_update(p_gpu, cp.asarray(grad), a_gpu, 0.01, 0.9)
    p_ref, a_ref = f64(param), f64(avg)
    reference.rmsprop_update(p_ref, f64(grad), a_ref, 0.01, 0.9)
    assert_gpu_close(p_gpu, p_ref)
    assert_gpu_close(a_gpu, a_ref)


@pytest.mark.parametrize("case", KERAS_UPDATES)
@pytest.mark.parametrize("shape", [(1,), (7, 33), (0,)])
def test_keras_updates_match_the_reference(cp, rng, case, shape):
    """The CuPy compositions of the other Keras optimizers (and weight decay, averages) against
    the NumPy twins over a step sequence."""
    update, slots = optimizer_cases.CASES[case]
    state = optimizer_cases.make_state(rng, shape, slots)
    grads = [rng.standard_normal(shape).astype(np.float32) for _ in range(3)]
    want = optimizer_cases.run_steps(reference, update, state, grads)
    gpu = {k: cp.asarray(v) for k, v in state.items()}
    for step, grad in enumerate(grads, start=1):
        assert update(ops, gpu, cp.asarray(grad), step) is None
    for key in state:
        assert_gpu_close(gpu[key], want[key])


def test_optimizer_state_must_be_float32_contiguous(cp):
    grad = cp.ones(4, cp.float32)
    with pytest.raises(TypeError, match="param: expected float32"):
        ops.sgd_update(cp.ones(4, cp.float64), grad)
    with pytest.raises(ValueError, match="param: expected a C-contiguous"):
        ops.sgd_update(cp.ones(8, cp.float32)[::2], grad)
    with pytest.raises(ValueError, match="grad: expected the shape of param"):
        ops.sgd_update(cp.ones(5, cp.float32), grad)
    with pytest.raises(ValueError, match="step"):
        ops.adam_update(
            cp.ones(4, cp.float32), grad, cp.zeros(4, cp.float32), cp.zeros(4, cp.float32), 0
        )


# --- embedding, dropout ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ids_shape, vocab, dim", [((1,), 1, 1), ((7,), 5, 33), ((4, 33), 7, 257), ((0, 3), 4, 2)]
)
def test_embedding_forward_and_backward(cp, rng, ids_shape, vocab, dim):
    ids = rng.integers(0, vocab, ids_shape)  # repeated ids: the backward must accumulate
    table = rng.standard_normal((vocab, dim)).astype(np.float32)
    dy = rng.standard_normal(ids_shape + (dim,)).astype(np.float32)
    out = ops.embedding(cp.asarray(ids), cp.asarray(table))
    assert_gpu_close(out, reference.embedding(ids, f64(table)), rtol=0, atol=0)
    dtable = ops.embedding_backward(cp.asarray(dy), cp.asarray(ids), vocab)
    assert_gpu_close(dtable, reference.embedding_backward(f64(dy), ids, vocab))


def test_embedding_backward_of_repeated_ids_is_deterministic(cp, rng):
    # Few ids, many repeats: every dtable row sums hundreds of dy rows. The rows are added in
    # position order, as the CPU kernel adds them, so the bits match it, run after run.
    ids = rng.integers(0, 7, (64, 50))
    dy = rng.standard_normal((64, 50, 33)).astype(np.float32)
    first = ops.embedding_backward(cp.asarray(dy), cp.asarray(ids), 9).get()
    second = ops.embedding_backward(cp.asarray(dy), cp.asarray(ids), 9).get()
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, ops.embedding_backward(dy, ids, 9))
    assert not first[7:].any()  # ids 7 and 8 never occur


def test_embedding_bad_ids(cp):
    table = cp.zeros((4, 2), cp.float32)
    with pytest.raises(ValueError, match=r"ids: value 4 out of range \[0, 4\)"):
        ops.embedding(cp.asarray([[0, 4]]), table)
    with pytest.raises(ValueError, match="ids: expected whole numbers"):
        ops.embedding(cp.asarray([0.5]), table)
    with pytest.raises(TypeError, match="ids: expected real numbers"):
        ops.embedding(cp.asarray([1j]), table)
    with pytest.raises(ValueError, match="dy: expected"):
        ops.embedding_backward(cp.zeros((3, 2), cp.float32), cp.asarray([0, 1]), 4)


@pytest.mark.parametrize("shape", [(1,), (7, 33), (4, 257, 3)])
@pytest.mark.parametrize("rate", [0.0, 0.3, 0.7])
@pytest.mark.parametrize("seed", [0, 12345, 2**40 + 7])
def test_dropout_mask_is_the_references_bit_for_bit(cp, rng, shape, rate, seed):
    x = rng.standard_normal(shape).astype(np.float32)
    y, mask = ops.dropout(cp.asarray(x), rate, seed)
    y_ref, mask_ref = reference.dropout(x, rate, seed)
    np.testing.assert_array_equal(mask.get() == 0, np.asarray(mask_ref) == 0)
    assert_gpu_close(mask, mask_ref, rtol=1e-6, atol=0)
    assert_gpu_close(y, y_ref, rtol=1e-6, atol=0)
    _, mask_cpu = ops.dropout(x, rate, seed)  # the C++ kernel draws the same mask
    np.testing.assert_array_equal(mask.get() == 0, mask_cpu == 0)


def test_dropout_bad_rate(cp):
    with pytest.raises(ValueError, match="rate"):
        ops.dropout(cp.ones(3, cp.float32), 1.0, 0)
    with pytest.raises(TypeError, match="seed"):
        ops.dropout(cp.ones(3, cp.float32), 0.5, 1.5)
    with pytest.raises(ValueError, match="seed: expected an int >= 0"):
        ops.dropout(cp.ones(3, cp.float32), 0.5, -1)


# --- sizes past one grid-stride pass, past one block's reduction, past 2^31 elements --------------

GRID_STRIDE = 2**24 + 3  # grid_for caps a launch at 65536 blocks of 256 threads: 2^24


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_past_one_grid_stride(cp, name):
    x = np.linspace(-4, 4, GRID_STRIDE, dtype=np.float32)
    y = getattr(ops, name)(cp.asarray(x))
    assert_gpu_close(y, getattr(reference, name)(f64(x)))
    dx = getattr(ops, f"{name}_backward")(cp.ones_like(y), y)
    assert_gpu_close(dx, getattr(reference, f"{name}_backward")(np.ones(GRID_STRIDE), f64(y.get())))


def test_optimizer_and_dropout_past_one_grid_stride(cp, rng):
    param = rng.standard_normal(GRID_STRIDE).astype(np.float32)
    grad = rng.standard_normal(GRID_STRIDE).astype(np.float32)
    p_gpu = cp.asarray(param)
    ops.sgd_update(p_gpu, cp.asarray(grad), None, 0.5)
    assert_gpu_close(p_gpu, f64(param) - 0.5 * f64(grad))
    _, mask = ops.dropout(cp.asarray(param), 0.5, 3)
    np.testing.assert_array_equal(
        mask.get() == 0, np.asarray(reference.dropout(param, 0.5, 3)[1]) == 0
    )


@pytest.mark.parametrize("rows, cols", [(100_003, 33), (GRID_STRIDE, 1), (2**25 + 7, 2)])
def test_bias_gradient_over_many_rows_is_deterministic(cp, rng, rows, cols):
    # Row chunks over the grid, then a second pass over their partial sums (2^25 rows: more
    # chunks of 512 rows than gridDim.y holds, so the chunks grow).
    dy = rng.standard_normal((rows, cols)).astype(np.float32)
    dy_gpu = cp.asarray(dy)
    x = cp.ones((rows, 1), cp.float32)
    w = cp.ones((1, cols), cp.float32)
    _, _, db = ops.dense_backward(dy_gpu, x, w, dy_gpu, need_dx=False)
    _, _, again = ops.dense_backward(dy_gpu, x, w, dy_gpu, need_dx=False)
    np.testing.assert_array_equal(db.get(), again.get())
    assert_gpu_close(db, f64(dy).sum(axis=0), rtol=1e-4, atol=1e-5 * np.sqrt(rows))


def test_embedding_past_one_grid_stride(cp, rng):
    ids = rng.integers(0, 1000, GRID_STRIDE // 4 + 1)
    table = rng.standard_normal((1000, 4)).astype(np.float32)
    out = ops.embedding(cp.asarray(ids), cp.asarray(table))
    np.testing.assert_array_equal(out.get(), table[ids])
    dy = rng.standard_normal(out.shape).astype(np.float32)
    dtable = ops.embedding_backward(cp.asarray(dy), cp.asarray(ids), 1000)
    np.testing.assert_array_equal(dtable.get(), ops.embedding_backward(dy, ids, 1000))


@pytest.mark.slow
def test_relu_past_two_to_the_31_elements(cp):
    n = 2**31 + 5  # 8.6 GB: int32 indices or a capped grid without a stride would miss the end
    x = cp.full(n, -1.0, cp.float32)
    x[-5:] = cp.arange(1, 6, dtype=cp.float32)
    x[:3] = 7.0
    y = ops.relu(x)
    del x
    np.testing.assert_array_equal(y[-5:].get(), np.arange(1, 6, dtype=np.float32))
    np.testing.assert_array_equal(y[:4].get(), [7, 7, 7, 0])
    assert int(cp.count_nonzero(y)) == 8
    loss, _ = ops.mean_squared_error(y, cp.zeros_like(y))
    np.testing.assert_allclose(loss, (3 * 49 + 55) / n, rtol=1e-6)


# --- a Keras-like step: MNIST MLP forward, loss, backward, Adam ------------------------------------


def test_mlp_training_step_matches_reference(cp, rng):
    x = rng.random((32, 784)).astype(np.float32)
    labels = rng.integers(0, 10, 32)
    w1 = (rng.standard_normal((784, 128)) * 0.05).astype(np.float32)
    b1 = np.zeros(128, np.float32)
    w2 = (rng.standard_normal((128, 10)) * 0.1).astype(np.float32)
    b2 = np.zeros(10, np.float32)

    def step(be, x, labels, w1, b1, w2, b2):
        h = be.dense(x, w1, b1, "relu")
        logits = be.dense(h, w2, b2, "linear")
        loss, dlogits = be.sparse_softmax_cross_entropy(logits, labels)
        dh, dw2, db2 = be.dense_backward(dlogits, h, w2, logits, "linear")
        _, dw1, db1 = be.dense_backward(dh, x, w1, h, "relu")
        return loss, [dw1, db1, dw2, db2]

    params = (w1, b1, w2, b2)
    loss, grads = step(ops, cp.asarray(x), cp.asarray(labels), *map(cp.asarray, params))
    loss_ref, grads_ref = step(reference, f64(x), labels, *map(f64, params))
    np.testing.assert_allclose(loss, loss_ref, rtol=1e-5)
    for got, want in zip(grads, grads_ref):
        assert_gpu_close(got, want, rtol=1e-4, atol=1e-5)
