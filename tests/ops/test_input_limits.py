"""Inputs at the limits of sizes and memory: clear errors naming the argument, never a crash,
a wrapped size or a Python "internal error"."""

import json
import zipfile

import numpy as np
import pytest
import shendu
from shendu import keras, ops, reference
from shendu.keras import layers


def test_an_array_too_large_to_convert_raises_memory_error():
    huge = np.broadcast_to(np.float64(1), (1 << 36, 1))  # 2^36 float32 cells: 256 GiB
    with pytest.raises(
        MemoryError, match=r"x: cannot convert the array of shape \(68719476736, 1\)"
    ):
        ops.relu(huge)
    with pytest.raises(MemoryError, match="ids: cannot convert"):
        ops.embedding(np.broadcast_to(np.int32(0), (1 << 36,)), np.ones((2, 3), np.float32))


BIG = [2**31, 2**32, 2**63 - 1, 2**64]
IMAGE = np.ones((1, 4, 4, 1), np.float32)


@pytest.fixture(params=["native", "reference"])
def backend(request):
    shendu.set_backend(request.param)
    return request.param


@pytest.mark.parametrize("size", BIG)
def test_window_sizes_and_strides_beyond_2_31_are_refused(backend, size):
    # 2^32 x 2^32 used to wrap the max-pool window's cell count to 0 and pass its bound;
    # 2^63 - 1 strides wrapped the output size to 0.
    with pytest.raises(ValueError, match="pool_size: expected positive values up to 2147483647"):
        ops.max_pool2d(IMAGE, (size, size), padding="same")
    with pytest.raises(ValueError, match="strides: expected positive values up to 2147483647"):
        ops.avg_pool2d(IMAGE, 2, size, "same")
    with pytest.raises(ValueError, match="strides: expected positive values up to 2147483647"):
        ops.conv2d(IMAGE, np.ones((1, 1, 1, 2), np.float32), None, (1, size), "same")


def test_the_largest_window_and_stride_give_the_twins_result():
    x = np.arange(16, dtype=np.float32).reshape(IMAGE.shape)
    big = 2**31 - 1
    got = ops.avg_pool2d(x, big, big, "same")
    np.testing.assert_allclose(got, reference.avg_pool2d(x, big, big, "same"))
    np.testing.assert_allclose(got, np.full((1, 1, 1, 1), x.mean()))
    dx = ops.avg_pool2d_backward(np.ones((1, 1, 1, 1), np.float32), x.shape, big, big, "same")
    np.testing.assert_allclose(dx, np.full(x.shape, 1 / 16))
    y, argmax = ops.max_pool2d(x, 3, big, "same")  # one window: rows and columns 0-2
    assert y.shape == (1, 1, 1, 1) and y[0, 0, 0, 0] == 10.0 and argmax[0, 0, 0, 0] == 8


def test_backward_x_shape_must_describe_a_possible_array():
    with pytest.raises(ValueError, match="x_shape: .* has too many cells"):
        ops.avg_pool2d_backward(
            np.ones((1, 1, 1, 1), np.float32), (1, 2**62, 2**62, 1), 2**31 - 1, 2**31 - 1, "same"
        )


@pytest.mark.parametrize(
    "make",
    [
        lambda: layers.MaxPooling2D(pool_size=10**9),
        lambda: layers.MaxPooling2D(pool_size=(257, 256)),
        lambda: layers.AveragePooling2D(pool_size=2, strides=2**31),
        lambda: layers.Conv2D(2, 3, strides=2**63),
        lambda: layers.Conv2D(2, 2**32),
        lambda: layers.Conv2D(2**40, 3),
        lambda: layers.Dense(2**31),
        lambda: layers.LSTM(2**40),
        lambda: layers.Embedding(2**63, 4),
    ],
)
def test_layers_refuse_sizes_the_kernels_cannot_take(make):
    with pytest.raises(ValueError, match="2147483647|65536"):
        make()


def test_a_model_file_with_a_huge_pool_does_not_load(tmp_path):
    model = keras.Sequential([layers.Input((6, 6, 1)), layers.MaxPooling2D(2)])
    path = tmp_path / "pool.keras"
    model.save(path)
    hostile = tmp_path / "hostile.keras"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(hostile, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "config.json":
                config = json.loads(data)
                for layer in config["config"]["layers"]:
                    if layer["class_name"] == "MaxPooling2D":
                        layer["config"]["pool_size"] = [10**9, 10**9]
                data = json.dumps(config).encode()
            dst.writestr(item, data)
    with pytest.raises(ValueError, match="pool_size"):
        keras.saving.load_model(hostile)
