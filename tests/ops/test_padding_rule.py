"""TensorFlow's window output-size rule (shendu._padding.window_axis), and its users agreeing."""

import itertools

import numpy as np
import pytest
from shendu import reference
from shendu._padding import window_axis
from shendu.keras import layers


@pytest.mark.parametrize(
    "size, window, stride, padding, expected",
    [
        (5, 3, 2, "same", (3, 1)),  # 2 padding cells: one before, one after
        (6, 3, 2, "same", (3, 0)),  # 1 padding cell: after the input, as TensorFlow puts it
        (4, 2, 2, "same", (2, 0)),
        (7, 1, 3, "same", (3, 0)),
        (5, 3, 2, "valid", (2, 0)),
        (3, 3, 1, "valid", (1, 0)),
    ],
)
def test_known_sizes(size, window, stride, padding, expected):
    assert window_axis(size, window, stride, padding) == expected


def test_same_padding_is_valid_over_the_padded_input():
    for size, window, stride in itertools.product(range(1, 12), range(1, 6), range(1, 5)):
        out, before = window_axis(size, window, stride, "same")
        assert out == -(-size // stride)
        total = max((out - 1) * stride + window - size, 0)
        assert before == total // 2
        assert window_axis(size + total, window, stride, "valid") == (out, 0)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_layer_shapes_match_the_numpy_twin(padding):
    x = np.zeros((1, 7, 6, 2), np.float32)
    w = np.zeros((3, 2, 2, 4), np.float32)
    conv = layers.Conv2D(4, (3, 2), strides=(2, 3), padding=padding)
    want = reference.conv2d(x, w, None, (2, 3), padding).shape
    assert conv.compute_output_shape((None, 7, 6, 2)) == (None,) + want[1:]
    pool = layers.MaxPooling2D((3, 2), strides=(2, 3), padding=padding)
    want = reference.max_pool2d(x, (3, 2), (2, 3), padding)[0].shape
    assert pool.compute_output_shape((None, 7, 6, 2)) == (None,) + want[1:]
