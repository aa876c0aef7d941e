"""The CUDA backend's dilated, transposed and depthwise convolutions on CuPy arrays against their
NumPy twins (run on the host copies). Marked gpu: tests/conftest.py skips them without a GPU."""

import numpy as np
import pytest
from shendu import ops, reference

pytestmark = pytest.mark.gpu


@pytest.fixture
def cp():
    import cupy

    return cupy


def f64(*arrays):
    return [None if a is None else np.asarray(a, dtype=np.float64) for a in arrays]


def on_gpu(cp, *arrays):
    return [None if a is None else cp.asarray(a) for a in arrays]


def assert_gpu_close(got, want, terms):
    """got: a float32 CuPy array close to the host array want, each entry a sum of ~terms
    products of unit normals."""
    assert type(got).__module__.startswith("cupy") and got.dtype == np.float32
    assert got.shape == np.shape(want)
    np.testing.assert_allclose(got.get(), want, rtol=1e-4, atol=1e-4 * np.sqrt(max(terms, 1)))


def check_backward(grads, want, terms):
    for got, ref, count in zip(grads, want, terms):
        if ref is None:
            assert got is None
        else:
            assert_gpu_close(got, ref, count)


DILATED = [  # x shape, kernel, dilation, padding
    ((2, 9, 11, 3), (3, 3), (2, 2), "same"),
    ((2, 9, 11, 8), (3, 3), (2, 2), "valid"),
    ((3, 12, 7, 4), (3, 2), (2, 3), "same"),
    ((2, 1, 20, 6), (1, 5), (1, 3), "same"),
    ((0, 6, 6, 2), (3, 3), (2, 2), "same"),
]


@pytest.mark.parametrize("x_shape, kernel, dilation, padding", DILATED)
def test_dilated_conv2d(cp, rng, x_shape, kernel, dilation, padding):
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(kernel + (x_shape[3], 5)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    y = ops.conv2d(*on_gpu(cp, x, w, b), 1, padding, dilation)
    want = reference.conv2d(*f64(x, w, b), 1, padding, dilation)
    assert_gpu_close(y, want, kernel[0] * kernel[1] * x_shape[3])
    dy = rng.standard_normal(want.shape).astype(np.float32)
    for need_dx in (True, False):
        grads = ops.conv2d_backward(*on_gpu(cp, dy, x, w), 1, padding, need_dx, dilation)
        ref = reference.conv2d_backward(*f64(dy, x, w), 1, padding, need_dx, dilation)
        check_backward(grads, ref, (kernel[0] * kernel[1] * 5, dy.size // 5, dy.size // 5))


TRANSPOSED = [  # x shape, kernel, filters, strides, padding, output_padding
    ((2, 5, 6, 3), (3, 3), 4, (2, 2), "same", None),
    ((2, 5, 6, 8), (3, 3), 5, (2, 2), "valid", None),
    ((2, 4, 4, 6), (4, 4), 3, (2, 2), "same", 1),
    ((2, 4, 4, 6), (3, 3), 3, (2, 2), "valid", (1, 0)),
    ((1, 3, 3, 4), (2, 3), 2, (3, 2), "valid", None),
    ((2, 7, 5, 3), (3, 3), 3, (1, 1), "same", None),
]


@pytest.mark.parametrize("x_shape, kernel, filters, strides, padding, op", TRANSPOSED)
def test_conv2d_transpose(cp, rng, x_shape, kernel, filters, strides, padding, op):
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(kernel + (filters, x_shape[3])).astype(np.float32)
    b = rng.standard_normal(filters).astype(np.float32)
    y = ops.conv2d_transpose(*on_gpu(cp, x, w, b), strides, padding, op)
    want = reference.conv2d_transpose(*f64(x, w, b), strides, padding, op)
    assert_gpu_close(y, want, kernel[0] * kernel[1] * x_shape[3])
    dy = rng.standard_normal(want.shape).astype(np.float32)
    grads = ops.conv2d_transpose_backward(*on_gpu(cp, dy, x, w), strides, padding, op, True)
    ref = reference.conv2d_transpose_backward(*f64(dy, x, w), strides, padding, op, True)
    cells = dy.size // filters
    check_backward(grads, ref, (kernel[0] * kernel[1] * filters, cells, cells))


DEPTHWISE = [  # x shape, kernel, depth multiplier, strides, padding
    ((2, 9, 11, 3), (3, 3), 1, 1, "same"),
    ((2, 9, 11, 7), (3, 3), 1, 2, "valid"),
    ((3, 12, 7, 5), (3, 2), 2, (2, 1), "same"),
    ((1, 5, 5, 4), (5, 5), 3, 1, "same"),
]


@pytest.mark.parametrize("x_shape, kernel, m, d, padding", [((2, 9, 11, 3), (3, 3), 2, 2, "same")])
def test_dilated_depthwise_conv2d(cp, rng, x_shape, kernel, m, d, padding):
    c = x_shape[3]
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(kernel + (c, m)).astype(np.float32)
    y = ops.depthwise_conv2d(*on_gpu(cp, x, w), None, 1, padding, d)
    want = reference.depthwise_conv2d(*f64(x, w), None, 1, padding, d)
    assert_gpu_close(y, want, kernel[0] * kernel[1])
    dy = rng.standard_normal(want.shape).astype(np.float32)
    grads = ops.depthwise_conv2d_backward(*on_gpu(cp, dy, x, w), 1, padding, True, d)
    ref = reference.depthwise_conv2d_backward(*f64(dy, x, w), 1, padding, True, d)
    cells = dy.size // (c * m)
    check_backward(grads, ref, (kernel[0] * kernel[1] * m, cells, cells))


@pytest.mark.parametrize("x_shape, kernel, m, strides, padding", DEPTHWISE)
def test_depthwise_conv2d(cp, rng, x_shape, kernel, m, strides, padding):
    c = x_shape[3]
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(kernel + (c, m)).astype(np.float32)
    b = rng.standard_normal(c * m).astype(np.float32)
    y = ops.depthwise_conv2d(*on_gpu(cp, x, w, b), strides, padding)
    want = reference.depthwise_conv2d(*f64(x, w, b), strides, padding)
    assert_gpu_close(y, want, kernel[0] * kernel[1])
    dy = rng.standard_normal(want.shape).astype(np.float32)
    for need_dx in (True, False):
        grads = ops.depthwise_conv2d_backward(*on_gpu(cp, dy, x, w), strides, padding, need_dx)
        ref = reference.depthwise_conv2d_backward(*f64(dy, x, w), strides, padding, need_dx)
        cells = dy.size // (c * m)
        check_backward(grads, ref, (kernel[0] * kernel[1] * m, cells, cells))


def test_bad_input(cp):
    x, w = cp.ones((1, 4, 4, 3), cp.float32), cp.ones((3, 3, 3, 2), cp.float32)
    with pytest.raises(ValueError, match="dilation_rate"):
        ops.conv2d(x, w, None, 2, "same", 2)
    with pytest.raises(ValueError, match="output_padding"):
        ops.conv2d_transpose(x, cp.ones((3, 3, 2, 3), cp.float32), None, 2, "same", 2)
    with pytest.raises(ValueError, match="w: expected"):
        ops.depthwise_conv2d(x, cp.ones((3, 3, 2, 1), cp.float32))
    with pytest.raises(ValueError, match="dy: expected"):
        ops.depthwise_conv2d_backward(cp.ones((1, 2, 2, 3), cp.float32), x, w)
