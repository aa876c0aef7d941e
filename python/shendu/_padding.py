"""TensorFlow's output-size rule for a window sliding along one axis, written once for the NumPy
twins, the CUDA backend and the Keras layers' shape inference (cpp/window2d.h is its C++ twin)."""

from __future__ import annotations


def window_axis(size: int, window: int, stride: int, padding: str) -> tuple[int, int]:
    """(output size, padding cells before the input) along one axis.

    'valid': only windows that fit inside the input, (size - window) // stride + 1 of them (less
    than 1 when the window is larger than the input). 'same': ceil(size / stride) outputs; the
    padding they need is split with the odd cell after the input, as TensorFlow does."""
    if padding == "valid":
        return (size - window) // stride + 1, 0
    out = -(-size // stride)
    return out, max((out - 1) * stride + window - size, 0) // 2


def transpose_size(size: int, window: int, stride: int, output_padding, padding: str) -> int:
    """Keras's output size of a transposed convolution along one axis (TensorFlow backend).

    'valid': (size - 1) * stride + window + output_padding, output_padding max(window - stride, 0)
    when None. 'same': size * stride, or (size - 1) * stride + window % 2 + output_padding."""
    if padding == "valid":
        extra = max(window, stride) - window if output_padding is None else output_padding
        return (size - 1) * stride + window + extra
    if output_padding is None:
        return size * stride
    return (size - 1) * stride + window % 2 + output_padding
