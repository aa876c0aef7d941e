"""Masks, Bidirectional and TimeDistributed beyond the TF fixtures: what padding may not change,
eager masks, a wrapped Conv2D, and bad arguments."""

import numpy as np
import pytest
from shendu import keras
from shendu.keras import layers


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "SimpleRNN"])
def test_padding_does_not_change_a_masked_prediction(rng, kind):
    model = keras.Sequential(
        [
            keras.Input((9,), dtype="int32"),
            layers.Embedding(20, 4, mask_zero=True),
            layers.Bidirectional(getattr(layers, kind)(3)),
            layers.Dense(2),
        ]
    )
    ids = rng.integers(1, 20, (2, 5)).astype(np.int32)
    padded = np.zeros((2, 9), np.int32)
    padded[:, :5] = ids
    unpadded = keras.Sequential(model.layers)  # the same layers, on the 5 real steps only
    np.testing.assert_allclose(
        model.predict(padded, verbose=0), unpadded.predict(ids, verbose=0), rtol=1e-5, atol=1e-6
    )


def test_eager_calls_carry_the_mask(rng):
    embed = layers.Embedding(10, 3, mask_zero=True)
    ids = np.array([[1, 2, 0, 0], [3, 0, 0, 0]])
    out = embed(ids)
    np.testing.assert_array_equal(out._keras_mask, ids != 0)
    lstm = layers.LSTM(2, return_sequences=True)
    seq = lstm(out)
    np.testing.assert_array_equal(seq._keras_mask, ids != 0)
    np.testing.assert_allclose(lstm(out[:1, :2]).numpy()[0, -1], seq.numpy()[0, -1], rtol=1e-6)


def test_masking_zeroes_and_masks_padded_steps(rng):
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    x[0, 2:] = -1.0
    out = layers.Masking(mask_value=-1.0)(x)
    np.testing.assert_array_equal(out._keras_mask, [[1, 1, 0, 0], [1, 1, 1, 1]])
    np.testing.assert_array_equal(out.numpy()[0, 2:], 0)
    np.testing.assert_array_equal(out.numpy()[1], x[1])


def test_time_distributed_conv2d_is_the_layer_on_every_step(rng):
    conv = layers.Conv2D(2, 3, padding="same", activation="relu")
    wrapped = layers.TimeDistributed(conv)
    x = rng.standard_normal((2, 3, 5, 5, 1)).astype(np.float32)
    out = wrapped(x).numpy()
    assert out.shape == (2, 3, 5, 5, 2)
    assert wrapped.compute_output_shape((None, 3, 5, 5, 1)) == (None, 3, 5, 5, 2)
    for t in range(3):
        np.testing.assert_allclose(out[:, t], conv(x[:, t]).numpy(), rtol=1e-6)
    assert [w.path for w in wrapped.weights] == [w.path for w in conv.weights]


@pytest.mark.parametrize(
    "bad, err, match",
    [
        (lambda: layers.Bidirectional(layers.LSTM(2), merge_mode="max"), ValueError, "merge_mode"),
        (
            lambda: layers.Bidirectional(
                layers.LSTM(2), backward_layer=layers.LSTM(2, go_backwards=False)
            ),
            ValueError,
            "go_backwards",
        ),
        (
            lambda: layers.Bidirectional(
                layers.LSTM(2), backward_layer=layers.LSTM(2, go_backwards=True, return_state=True)
            ),
            ValueError,
            "return_state",
        ),
        (lambda: layers.Masking(mask_value="pad"), TypeError, "mask_value"),
        (lambda: layers.TimeDistributed(layers.Dense(2))(np.ones((2, 3))), ValueError, "3 dim"),
    ],
)
def test_bad_wrapper_arguments(bad, err, match):
    with pytest.raises(err, match=match):
        bad()


def test_bidirectional_from_config_round_trip():
    layer = layers.Bidirectional(layers.GRU(3, return_sequences=True), merge_mode="ave")
    layer.build((None, 4, 2))
    clone = layers.Bidirectional.from_config(layer.get_config())
    assert clone.merge_mode == "ave" and clone.return_sequences
    assert clone.backward_layer.go_backwards and not clone.forward_layer.go_backwards
    x = np.ones((1, 4, 2), np.float32)
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(clone(x).numpy(), layer(x).numpy())


def test_merges_combine_masks_as_keras(rng):
    # Keras: Concatenate keeps a step when any input keeps it (an input without a mask keeps
    # every step); the elementwise merges OR the masks, and give none unless all inputs have one.
    a = rng.standard_normal((2, 4, 3)).astype(np.float32)
    b = rng.standard_normal((2, 4, 3)).astype(np.float32)
    a[0, 2:], b[0, 1:] = 0.0, 0.0
    a[1, 3:], b[1, :] = 0.0, 0.0
    ma, mb = layers.Masking()(a), layers.Masking()(b)
    both = [[1, 1, 0, 0], [1, 1, 1, 0]]
    np.testing.assert_array_equal(layers.Concatenate()([ma, mb])._keras_mask, both)
    np.testing.assert_array_equal(layers.Concatenate(axis=1)([ma, mb])._keras_mask.shape, (2, 8))
    np.testing.assert_array_equal(layers.Concatenate()([ma, b])._keras_mask, np.ones((2, 4)))
    for merge in (layers.Add(), layers.Maximum(), layers.Average(), layers.Multiply()):
        np.testing.assert_array_equal(merge([ma, mb])._keras_mask, both)
        assert getattr(merge([ma, b]), "_keras_mask", None) is None
