"""The convolution layers' arguments (Keras's checks and defaults) and behaviour beyond the TF
fixtures: causality of Conv1D, the first layer's skipped input gradient, training."""

import numpy as np
import pytest
from shendu import keras

L = keras.layers


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: L.Conv2D(4, 3, strides=2, dilation_rate=2), "dilation_rate"),
        (lambda: L.Conv1D(4, 3, strides=2, dilation_rate=2), "dilation_rate"),
        (lambda: L.Conv1D(4, (3, 3)), "kernel_size"),
        (lambda: L.Conv1D(4, 3, padding="full"), "padding"),
        (lambda: L.Conv1D(4, 3, groups=3), "groups"),
        (lambda: L.Conv2D(4, 3, groups=0), "groups"),
        (lambda: L.Conv2D(4, 3, padding="causal"), "padding"),
        (lambda: L.Conv2DTranspose(4, 3, strides=2, output_padding=2), "output_padding"),
        (lambda: L.Conv2DTranspose(4, 3, output_padding=(0, 1)), "output_padding"),
        (lambda: L.Conv2DTranspose(4, 3, dilation_rate=2), "dilation_rate"),
        (lambda: L.DepthwiseConv2D(3, depth_multiplier=0), "depth_multiplier"),
        (lambda: L.DepthwiseConv2D(3, strides=2, dilation_rate=2), "dilation_rate"),
        (lambda: L.SeparableConv2D(0, 3), "filters"),
        (lambda: L.SeparableConv2D(4, 3, data_format="channels_first"), "data_format"),
    ],
)
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_input_channels_must_divide_into_the_groups():
    with pytest.raises(ValueError, match="groups"):
        keras.Sequential([keras.Input(shape=(6, 6, 3)), L.Conv2D(4, 3, groups=2)])


def test_defaults_are_keras():
    c = L.Conv1D(4, 3).get_config()
    assert (c["strides"], c["padding"], c["dilation_rate"], c["groups"]) == ([1], "valid", [1], 1)
    t = L.Conv2DTranspose(4, 3).get_config()
    assert (t["strides"], t["padding"], t["output_padding"]) == ([1, 1], "valid", None)
    d = L.DepthwiseConv2D(3).get_config()
    assert (d["depth_multiplier"], d["padding"], d["use_bias"]) == (1, "valid", True)
    s = L.SeparableConv2D(4, 3).get_config()
    assert (s["depth_multiplier"], s["pointwise_initializer"]["class_name"]) == (1, "GlorotUniform")


def test_causal_conv1d_output_sees_only_the_past():
    layer = L.Conv1D(3, 4, padding="causal", dilation_rate=2)
    model = keras.Sequential([keras.Input(shape=(12, 2)), layer])
    x = np.random.default_rng(0).standard_normal((1, 12, 2)).astype(np.float32)
    later = x.copy()
    later[:, 7:] += 1.0  # changes from step 7 on
    y, y_later = model.predict(x, verbose=0), model.predict(later, verbose=0)
    np.testing.assert_array_equal(y[:, :7], y_later[:, :7])
    assert not np.allclose(y[:, 7:], y_later[:, 7:])


@pytest.mark.parametrize(
    "layer, shape",
    [
        (lambda: L.Conv1D(4, 3, padding="causal"), (6, 3)),
        (lambda: L.Conv2DTranspose(4, 3, strides=2), (4, 4, 3)),
        (lambda: L.DepthwiseConv2D(3), (6, 6, 3)),
        (lambda: L.SeparableConv2D(4, 3), (6, 6, 3)),
    ],
)
def test_skipping_dx_keeps_the_weight_gradients(layer, shape):
    first = layer()
    keras.Sequential([keras.Input(shape=shape), first])
    x = np.random.default_rng(1).standard_normal((2, *shape)).astype(np.float32)
    y, ctx = first.forward(x, training=True)
    dy = np.ones_like(y)
    dx, grads = first.backward(ctx, dy)
    none, same = first.backward(ctx, dy, need_dx=False)
    assert dx.shape == x.shape and none is None
    for a, b in zip(grads, same):
        np.testing.assert_array_equal(a, b)


def test_a_conv1d_model_trains():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 20, 4)).astype(np.float32)
    y = (x[:, :, 0].max(axis=1) > 1.5).astype(np.float32)
    model = keras.Sequential(
        [
            keras.Input(shape=(20, 4)),
            L.Conv1D(8, 3, padding="same", activation="relu"),
            L.Conv1D(8, 3, padding="causal", dilation_rate=2, activation="relu"),
            L.Flatten(),
            L.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy")
    losses = model.fit(x, y, epochs=40, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < 0.6 * losses[0]
