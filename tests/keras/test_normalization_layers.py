"""BatchNormalization, LayerNormalization, Normalization and Rescaling: Keras 3 semantics that the
TF fixtures of test_vs_tf.py do not reach (modes, trainable=False, saving, configs, adapt, bad
arguments)."""

import glob
import os

import numpy as np
import pytest
from shendu import keras
from shendu.keras.models import dense_stack

from tests.helpers.keras_fixture_cases import FIXTURES

layers = keras.layers


def _bn_model(**bn):
    model = keras.Sequential(
        [
            keras.Input((6,)),
            layers.Dense(8, use_bias=False),
            layers.BatchNormalization(**bn),
            layers.Activation("relu"),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def _data(rng, n=16):
    return rng.standard_normal((n, 6)).astype(np.float32) * 2 + 1, rng.integers(0, 3, n)


def test_training_uses_batch_statistics_and_moves_the_moving_ones(rng):
    bn = layers.BatchNormalization(momentum=0.9, epsilon=0.01)
    x = (rng.standard_normal((32, 4)) * 3 + 5).astype(np.float32)
    y = bn(x, training=True).numpy()
    want = (x - x.mean(0)) / np.sqrt(x.var(0) + 0.01)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.1 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.9 + 0.1 * x.var(0), rtol=1e-5)
    # Inference: the moving statistics, and nothing moves.
    before = bn.get_weights()
    y = bn(x).numpy()
    mm, mv = bn.moving_mean.numpy(), bn.moving_variance.numpy()
    np.testing.assert_allclose(y, (x - mm) / np.sqrt(mv + 0.01), rtol=1e-5, atol=1e-5)
    for a, b in zip(before, bn.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_weights_in_keras_order_with_moving_statistics_not_trainable():
    bn = layers.BatchNormalization()
    bn(np.zeros((2, 3), np.float32))
    assert [w.name for w in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.trainable for w in bn.weights] == [True, True, False, False]
    bn.trainable = False
    bn.trainable = True  # moving statistics stay non-trainable
    assert [w.name for w in bn.trainable_weights] == ["gamma", "beta"]
    plain = layers.BatchNormalization(center=False, scale=False)
    plain(np.zeros((2, 3), np.float32))
    assert [w.name for w in plain.weights] == ["moving_mean", "moving_variance"]


def test_frozen_batch_norm_runs_in_inference_mode_during_fit(rng):
    model = _bn_model()
    x, y = _data(rng)
    bn = model.layers[1]
    bn.set_weights([np.full(8, 1.5), np.full(8, 0.2), np.full(8, 0.3), np.full(8, 2.0)])
    bn.trainable = False
    before = bn.get_weights()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    for a, b in zip(before, bn.get_weights()):
        np.testing.assert_array_equal(a, b)
    # Its training-mode output is its inference output.
    h = rng.standard_normal((4, 8)).astype(np.float32)
    np.testing.assert_array_equal(bn(h, training=True), bn(h))


def test_fit_moves_the_statistics_and_the_fused_dense_step_declines(rng):
    model = _bn_model()
    x, y = _data(rng)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert model._fused_step is None
    assert dense_stack.plan(model) is None
    assert not np.allclose(model.layers[1].moving_mean.numpy(), 0)


def test_save_and_load_keep_the_moving_statistics(rng, tmp_path):
    model = _bn_model(momentum=0.5)
    x, y = _data(rng)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    path = str(tmp_path / "bn.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    bn = loaded.layers[1]
    assert bn.momentum == 0.5 and [w.trainable for w in bn.weights] == [True, True, False, False]


@pytest.mark.parametrize(
    "layer",
    [
        layers.BatchNormalization(axis=1, momentum=0.8, epsilon=0.01, center=False),
        layers.LayerNormalization(axis=[1, 2], epsilon=1e-5, scale=False),
        layers.Normalization(axis=None, mean=0.5, variance=2.0, invert=True),
        layers.Rescaling(1 / 255, offset=-0.5),
    ],
)
def test_config_round_trip(layer):
    config = layer.get_config()
    again = type(layer).from_config(config)
    assert again.get_config() == {**config, "name": again.name}
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    np.testing.assert_allclose(again(x), layer(x), rtol=1e-6)


def test_keras_config_keys():
    assert set(layers.BatchNormalization().get_config()) >= {
        "axis", "momentum", "epsilon", "center", "scale", "beta_initializer",
        "gamma_initializer", "moving_mean_initializer", "moving_variance_initializer",
        "beta_regularizer", "gamma_regularizer", "synchronized", "renorm",
    }  # fmt: skip
    assert layers.LayerNormalization().get_config()["rms_scaling"] is False


def test_batch_norm_regularizers_count_in_the_loss():
    bn = layers.BatchNormalization(gamma_regularizer=keras.regularizers.l2(0.5))
    bn(np.zeros((2, 3), np.float32))
    assert bn.losses == [pytest.approx(0.5 * 3)]


def test_layer_norm_over_middle_axes_matches_numpy(rng):
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    ln = layers.LayerNormalization(axis=[1, 3], epsilon=1e-3)
    ln(x)
    gamma = rng.standard_normal((3, 5)).astype(np.float32)
    beta = rng.standard_normal((3, 5)).astype(np.float32)
    ln.set_weights([gamma, beta])
    x64 = x.astype(np.float64)
    mean, var = x64.mean((1, 3), keepdims=True), x64.var((1, 3), keepdims=True)
    want = (x64 - mean) / np.sqrt(var + 1e-3) * gamma[None, :, None, :] + beta[None, :, None, :]
    np.testing.assert_allclose(ln(x), want, rtol=1e-5, atol=1e-5)


ADAPT = sorted(glob.glob(os.path.join(FIXTURES, "adapt", "*.npz")))


@pytest.mark.parametrize("path", ADAPT, ids=[os.path.basename(p)[:-4] for p in ADAPT])
@pytest.mark.parametrize("form", ["array", "batches"])
def test_adapt_matches_tf(path, form):
    with np.load(path) as d:
        d = dict(d)
    axis = None if int(d["axis"].ravel()[0]) == -99 else d["axis"].tolist()
    x, batch = d["x"], int(d["batch"])
    layer = layers.Normalization(axis=axis)
    layer.adapt(x if form == "array" else (x[i : i + batch] for i in range(0, len(x), batch)))
    mean, variance, _ = layer.get_weights()
    np.testing.assert_allclose(mean, d[f"{form}_mean"], rtol=1e-5)
    np.testing.assert_allclose(variance, d[f"{form}_variance"], rtol=1e-4)
    np.testing.assert_allclose(layer(x), d[f"{form}_out"], rtol=1e-4, atol=1e-4)


def test_adapt_takes_the_features_of_x_y_batches(rng):
    x = rng.standard_normal((12, 3)).astype(np.float32)
    layer = layers.Normalization()
    layer.adapt([(x[:6], np.zeros(6)), (x[6:], np.zeros(6))])
    np.testing.assert_allclose(layer.get_weights()[0], x.mean(0), rtol=1e-5, atol=1e-6)


def test_normalization_gradient_flows_through(rng):
    x = rng.standard_normal((8, 2)).astype(np.float32)
    model = keras.Sequential(
        [keras.Input((2,)), layers.Normalization(mean=[1.0, -1.0], variance=[4.0, 9.0]),
         layers.Dense(1)]
    )  # fmt: skip
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.zeros((8, 1), np.float32), verbose=0)
    assert model.layers[0].weights == []


@pytest.mark.parametrize(
    "make, err, match",
    [
        (lambda: layers.BatchNormalization(renorm=True), ValueError, "renorm"),
        (lambda: layers.BatchNormalization(axis=1.5), TypeError, "axis"),
        (lambda: layers.BatchNormalization(momentum="x"), TypeError, "momentum"),
        (lambda: layers.BatchNormalization(epsilon=-1), ValueError, "epsilon"),
        (
            lambda: layers.BatchNormalization(beta_constraint="non_neg"),
            ValueError,
            "beta_constraint",
        ),
        (lambda: layers.BatchNormalization(axis=3)(np.zeros((2, 3))), ValueError, "axis"),
        (lambda: layers.LayerNormalization(rms_scaling=True), ValueError, "rms_scaling"),
        (lambda: layers.LayerNormalization(axis=[1, -1])(np.zeros((2, 3))), ValueError, "twice"),
        (lambda: layers.Normalization(mean=1.0), ValueError, "variance"),
        (lambda: layers.Normalization(mean=[1, 2], variance=[1]), ValueError, "same shape"),
        (lambda: layers.Normalization(axis=2)(np.zeros((2, 3))), ValueError, "axis"),
        (lambda: layers.Normalization().adapt([]), ValueError, "empty"),
        (lambda: layers.Rescaling("a"), TypeError, "scale"),
    ],
)
def test_bad_arguments(make, err, match):
    with pytest.raises(err, match=match):
        make()
