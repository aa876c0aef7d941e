"""Noise layers, ActivityRegularization in fit, activations by name, and bad arguments of the
smaller layers."""

import numpy as np
import pytest
import shendu.keras as keras
from shendu import reference

L = keras.layers


def test_spatial_dropout_drops_whole_channels():
    x = np.ones((8, 6, 5, 40), np.float32)
    layer = L.SpatialDropout2D(0.5, seed=1)
    y, mask = layer.forward(x, training=True)
    per_channel = y.reshape(8, 30, 40)
    assert np.all(per_channel == per_channel[:, :1])  # one value per (sample, channel)
    assert set(np.unique(y)) == {0.0, 2.0}
    dx, _ = layer.backward(mask, np.ones_like(x))
    np.testing.assert_array_equal(dx, y)
    np.testing.assert_array_equal(layer.forward(x)[0], x)  # identity at inference


@pytest.mark.parametrize(
    "layer, mean, std",
    [
        (L.GaussianNoise(0.5, seed=2), 1.0, 0.5),
        (L.GaussianDropout(0.2, seed=3), 1.0, 0.5),
        (L.AlphaDropout(0.2, seed=4), 0.0, 1.0),
    ],
)
def test_noise_statistics(layer, mean, std):
    rng = np.random.default_rng(0)
    x = np.ones((200, 500), np.float32) if mean else rng.standard_normal((200, 500))
    x = x.astype(np.float32)
    y, ctx = layer.forward(x, training=True)
    assert abs(y.mean() - mean) < 0.02 and abs(y.std() - std) < 0.02
    np.testing.assert_array_equal(layer.forward(x)[0], x)


def test_activity_regularization_joins_the_loss_and_its_gradient():
    x = np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32)
    y = np.zeros((16, 1), np.float32)
    model = keras.Sequential(
        [keras.Input((4,)), L.Dense(3), L.ActivityRegularization(l1=0.1, l2=0.3), L.Dense(1)]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    h = model.predict(x, verbose=0)
    hidden = x @ model.layers[0].kernel.numpy() + model.layers[0].bias.numpy()
    penalty = (0.1 * np.abs(hidden).sum() + 0.3 * (hidden**2).sum()) / 16
    loss = model.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(loss, np.mean(h**2) + penalty, rtol=1e-5)


@pytest.mark.parametrize("name", ["gelu", "silu", "swish", "mish", "elu", "hard_silu"])
def test_activation_names_reach_every_layer(name):
    canonical = keras.activations.get(name)
    assert L.Dense(2, activation=name).get_config()["activation"] == canonical
    assert L.Conv2D(2, 3, activation=name).activation == canonical
    op = {"swish": "silu"}.get(name, name)
    x = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_allclose(
        np.asarray(getattr(keras.activations, name)(x)),
        reference.activation(x.astype(np.float64), op),
        rtol=1e-5,
        atol=1e-6,
    )


def test_activation_functions_with_options():
    x = np.array([-2.0, -0.5, 0.5, 3.0], np.float32)
    np.testing.assert_allclose(
        np.asarray(keras.activations.relu(x, negative_slope=0.5, max_value=2.0)),
        [-1.0, -0.25, 0.5, 2.0],
    )
    np.testing.assert_allclose(
        np.asarray(keras.activations.leaky_relu(x)), [-0.4, -0.1, 0.5, 3.0], rtol=1e-6
    )
    gelu_tanh = reference.activation(x.astype(np.float64), "gelu_approximate")
    np.testing.assert_allclose(np.asarray(keras.activations.gelu(x, True)), gelu_tanh, 1e-5, 1e-6)


def test_a_dense_gelu_model_trains():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    model = keras.Sequential([keras.Input((5,)), L.Dense(8, activation="gelu"), L.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    first = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=20, verbose=0)
    assert model.evaluate(x, y, verbose=0) < first


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: L.Activation("swishy"), "Unknown activation"),
        (lambda: L.LeakyReLU(negative_slope=-1), "negative_slope"),
        (lambda: L.ReLU(max_value=-1), "max_value"),
        (lambda: L.ELU(alpha="a"), "alpha"),
        (lambda: L.PReLU(shared_axes=[0]), "shared_axes"),
        (lambda: L.Softmax(axis=(1, 2)), "axis"),
        (lambda: L.MaxPooling1D(0), "pool_size"),
        (lambda: L.AveragePooling1D(2, padding="full"), "padding"),
        (lambda: L.GlobalAveragePooling2D(data_format="channels_first"), "data_format"),
        (lambda: L.UpSampling1D(0), "size"),
        (lambda: L.UpSampling2D(interpolation="bicubic"), "interpolation"),
        (lambda: L.ZeroPadding1D((1, -1)), "padding"),
        (lambda: L.ZeroPadding2D("a"), "padding"),
        (lambda: L.Cropping2D(((1, 2, 3), (0, 0))), "cropping"),
        (lambda: L.RepeatVector(0), "n"),
        (lambda: L.Permute((1, 3)), "dims"),
        (lambda: L.SpatialDropout1D(1.0), "rate"),
        (lambda: L.GaussianNoise(-1), "stddev"),
        (lambda: L.GaussianDropout(1.5), "rate"),
        (lambda: L.ActivityRegularization(l1=-1), "l1"),
        (lambda: L.Dot(axes="x"), "axes"),
    ],
)
def test_bad_arguments(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


@pytest.mark.parametrize(
    "layer, shapes, match",
    [
        (L.GlobalMaxPooling1D(), [(None, 4, 5, 6)], "ndim=3"),
        (L.MaxPooling1D(), [(None, 4)], "ndim=3"),
        (L.Cropping1D((2, 2)), [(None, 4, 3)], "cropping"),
        (L.Dot(axes=1), [(None, 4), (None, 5)], "incompatib"),
        (L.Dot(axes=0), [(None, 4), (None, 4)], "batch"),
        (L.Maximum(), [(None, 4), (None, 5)], "same shape"),
        (L.Permute((2, 1)), [(None, 4)], "ndim=2"),
    ],
)
def test_bad_input_shapes(layer, shapes, match):
    with pytest.raises(ValueError, match=match):
        layer(
            [keras.Input(s[1:]) for s in shapes] if len(shapes) > 1 else keras.Input(shapes[0][1:])
        )


def test_global_pooling_feeds_a_trained_conv1d_free_text_model():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 10, 4)).astype(np.float32)
    y = (x.max(axis=(1, 2)) > 2).astype(np.float32)[:, None]
    inp = keras.Input((10, 4))
    h = L.Dense(6, activation="relu")(inp)
    pooled = L.Concatenate()([L.GlobalMaxPooling1D()(h), L.GlobalAveragePooling1D()(h)])
    model = keras.Model(inp, L.Dense(1, activation="sigmoid")(pooled))
    model.compile(optimizer="adam", loss="binary_crossentropy")
    first = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=10, verbose=0)
    assert model.evaluate(x, y, verbose=0) < first
