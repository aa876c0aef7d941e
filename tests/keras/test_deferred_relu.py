"""A relu whose output only a MaxPooling2D reads runs after the pooling (on the pooled values):
the model's outputs, input gradients, weight gradients and trained weights stay bit-identical to
running it before."""

import numpy as np
import pytest
from shendu import keras
from shendu.keras import activations, layers
from shendu.keras.models.functional import Model


@pytest.fixture(autouse=True)
def _fresh_state():
    keras.backend.clear_session()
    keras.backend.set_random_seed(0)


def _sequential(pool, conv_relu=True):
    act = [] if conv_relu else [layers.Activation("relu")]
    return [
        layers.Conv2D(6, 3, activation="relu" if conv_relu else None, input_shape=(9, 9, 2)),
        *act,
        pool,
        layers.Flatten(),
        layers.Dense(4, activation="softmax"),
    ]


POOLS = {
    "2x2": lambda: layers.MaxPooling2D(2),
    "3x3 stride 2 same": lambda: layers.MaxPooling2D(3, strides=2, padding="same"),
    "2x2 stride 1": lambda: layers.MaxPooling2D(2, strides=1),
}


def _twins(build, monkeypatch):
    """The same model twice, the second built without deferred activations."""
    keras.backend.set_random_seed(0)
    deferred = build()
    keras.backend.set_random_seed(0)
    with monkeypatch.context() as m:
        m.setattr(Model, "_find_deferred_activations", lambda self: None)
        plain = build()
    plain.set_weights(deferred.get_weights())
    return deferred, plain


def _data(rng, n=5):
    # A negative shift leaves windows whose values are all <= 0 after the relu (ties at zero).
    x = rng.standard_normal((n, 9, 9, 2)).astype(np.float32) - 0.7
    return x, rng.integers(0, 4, n)


def _relu_shapes(monkeypatch):
    shapes = []
    relu = activations._FORWARD["relu"]

    def recording(x):
        shapes.append(x.shape)
        return relu(x)

    monkeypatch.setitem(activations._FORWARD, "relu", recording)
    return shapes


@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("conv_relu", [True, False], ids=["Conv2D relu", "Activation layer"])
def test_forward_and_gradients_are_bit_identical(rng, monkeypatch, pool, conv_relu):
    deferred, plain = _twins(
        lambda: keras.Sequential(_sequential(POOLS[pool](), conv_relu)), monkeypatch
    )
    x, _ = _data(rng)
    shapes = _relu_shapes(monkeypatch)
    y, ctxs = deferred.forward(x, training=True)
    (pooling,) = [layer for layer in deferred.layers if isinstance(layer, layers.MaxPooling2D)]
    pooled = pooling.output.shape[1:]
    assert shapes == [(5, *pooled)]  # the relu ran once, on the pooled values
    y_plain, ctxs_plain = plain.forward(x, training=True)
    np.testing.assert_array_equal(y, y_plain)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx, dw = deferred.backward(ctxs, dy)
    dx_plain, dw_plain = plain.backward(ctxs_plain, dy)
    np.testing.assert_array_equal(dx, dx_plain)
    for g, g_plain in zip(dw, dw_plain):
        np.testing.assert_array_equal(g, g_plain)
    # The check can fail: zeroed windows must give zero gradients, and the data has them.
    assert np.count_nonzero(dw[0]) > 0 and np.count_nonzero(dx == 0) > 0


def test_training_is_bit_identical(rng, monkeypatch):
    def build():
        model = keras.Sequential(
            [
                layers.Conv2D(6, 3, activation="relu", input_shape=(9, 9, 2)),
                layers.MaxPooling2D(2, strides=1),
                layers.Conv2D(4, 2, activation="relu"),
                layers.MaxPooling2D(2),
                layers.Flatten(),
                layers.Dense(4, activation="softmax"),
            ]
        )
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return model

    deferred, plain = _twins(build, monkeypatch)
    x, labels = _data(rng, 40)
    for model in (deferred, plain):
        keras.backend.set_random_seed(1)  # the same shuffles
        model.fit(x, labels, batch_size=8, epochs=2, verbose=0)
    for w, w_plain in zip(deferred.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(w, w_plain)
    np.testing.assert_array_equal(deferred.predict(x, verbose=0), plain.predict(x, verbose=0))


def test_not_deferred_when_another_layer_or_the_caller_reads_the_relu(rng, monkeypatch):
    inp = keras.Input((9, 9, 2))
    conv_layer = layers.Conv2D(3, 3, activation="relu")
    conv = conv_layer(inp)
    pooled = layers.Flatten()(layers.MaxPooling2D(2)(conv))
    also = layers.Flatten()(layers.Dense(2)(conv))  # a second reader of the relu's output
    branched = keras.Model(inp, layers.Concatenate()([pooled, also]))
    exposed = keras.Model(inp, [layers.MaxPooling2D(2)(conv), conv])  # the relu is an output
    x, _ = _data(rng)
    for model in (branched, exposed):
        shapes = _relu_shapes(monkeypatch)
        model.forward(x, training=True)
        assert shapes == [(5, 7, 7, 3)]  # on the full conv output, before the pooling
    z = conv_layer.forward_logits(x)[0]
    np.testing.assert_array_equal(exposed.predict(x, verbose=0)[1], np.maximum(z, 0))
