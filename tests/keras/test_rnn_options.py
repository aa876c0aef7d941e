"""The recurrent layers' options beyond the TF fixtures: GRU reset_after=False and the cell
activations in get_config, Bidirectional's copies, the step-by-step path of recurrent dropout,
and the weight layout."""

import numpy as np
import pytest
from shendu import keras
from shendu.keras import layers

OPTIONS = [
    ("GRU", dict(reset_after=False)),
    ("GRU", dict(reset_after=False, activation="relu", recurrent_activation="hard_sigmoid")),
    ("GRU", dict(activation="linear", recurrent_activation="tanh")),
    ("LSTM", dict(activation="relu", recurrent_activation="hard_sigmoid")),
    ("SimpleRNN", dict(activation="relu")),
]
IDS = [f"{kind}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for kind, kw in OPTIONS]


@pytest.mark.parametrize("kind, kw", OPTIONS, ids=IDS)
def test_config_round_trip_keeps_the_options(kind, kw):
    layer = getattr(layers, kind)(3, **kw)
    config = layer.get_config()
    for key, value in kw.items():
        assert config[key] == value
    clone = getattr(layers, kind).from_config(config)
    assert clone.get_config() == config


def test_none_activation_is_linear():
    config = layers.LSTM(2, activation=None, recurrent_activation=None).get_config()
    assert config["activation"] == config["recurrent_activation"] == "linear"


def test_reset_before_bias_is_one_row():
    """Keras's layout: reset_after=False has the input projection's bias only."""
    for reset_after, bias_shape in ((False, (9,)), (True, (2, 9))):
        gru = layers.GRU(3, reset_after=reset_after)
        gru.build((None, 5, 2))
        assert [tuple(w.shape) for w in gru.weights] == [(2, 9), (3, 9), bias_shape]


@pytest.mark.parametrize("kind, kw", OPTIONS, ids=IDS)
def test_bidirectional_copies_the_options(kind, kw):
    wrapped = layers.Bidirectional(getattr(layers, kind)(3, **kw))
    for direction in (wrapped.forward_layer, wrapped.backward_layer):
        config = direction.get_config()
        for key, value in kw.items():
            assert config[key] == value


@pytest.mark.parametrize("kind, kw", OPTIONS, ids=IDS)
def test_step_by_step_path_matches_the_sequence_kernels(rng, kind, kw):
    """Recurrent dropout runs the op one step at a time: with a dropout mask of ones it must give
    the whole-sequence call's outputs and gradients, masked steps included."""
    layer = getattr(layers, kind)(3, return_sequences=True, recurrent_dropout=0.5, **kw)
    x = rng.standard_normal((4, 6, 2)).astype(np.float32)
    mask = np.ones((4, 6), bool)
    mask[1, 3:] = mask[2, 0] = False
    layer.build(x.shape)
    layer._mask = lambda shape, rate, like: np.ones(shape, np.float32)
    dout = rng.standard_normal((4, 6, 3)).astype(np.float32)
    results = []
    for training in (True, False):  # recurrent dropout only while training
        out, ctx = layer.forward(x, training=training, mask=mask)
        dx, grads = layer.backward(ctx, dout)
        results.append([out, dx, *grads])
    for stepwise, whole in zip(*results):
        np.testing.assert_allclose(stepwise, whole, rtol=1e-5, atol=1e-6)


def test_reset_before_gru_trains(rng):
    """fit drives the loss down with the classic GRU and non-default activations."""
    x = rng.standard_normal((64, 5, 3)).astype(np.float32)
    y = x.sum(axis=(1, 2))[:, None] * 0.2
    model = keras.Sequential(
        [
            keras.Input((5, 3)),
            layers.GRU(8, reset_after=False, recurrent_activation="hard_sigmoid"),
            layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, y, epochs=30, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
