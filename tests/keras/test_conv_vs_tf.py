"""shendu's convolution layers (Conv1D, dilated Conv2D, Conv2DTranspose, DepthwiseConv2D,
SeparableConv2D) against frozen TensorFlow-Keras 3 answers (tests/data/keras_fixtures/conv/,
written by scripts/make_conv_fixtures.py from tests/helpers/conv_fixture_cases.py).

With TF's weights, each layer must reproduce TF's output, the gradients of sum(output * dy)
w.r.t. its input and weights, and the weights after one Adam step; also Keras's weight names and
order, output shape and a config that rebuilds the layer. Tolerances are float32 ones (TF sums in
oneDNN's order, shendu in its own).
"""

import glob
import os

import numpy as np
import pytest
from shendu import keras

from tests.helpers.conv_fixture_cases import ADAM_LEARNING_RATE, CASES, FIXTURES
from tests.helpers.keras_fixture_cases import synthetic_weights

NAMES = sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(FIXTURES, "*.npz")))
TOL = dict(rtol=1e-4, atol=2e-5)
STEP_TOL = dict(rtol=1e-5, atol=1e-5)


def test_every_case_has_a_fixture():
    assert set(NAMES) == set(CASES)


def _load(name):
    with np.load(os.path.join(FIXTURES, name + ".npz")) as d:
        return {k: d[k] for k in d.files}


def _layer_with_tf_weights(name, d):
    input_shape, build = CASES[name]
    layer = build(keras)
    model = keras.Sequential([keras.Input(shape=input_shape), layer])
    shapes = [tuple(int(s) for s in d[f"shape{i}"]) for i in range(int(d["n_weights"]))]
    assert [w.shape for w in model.get_weights()] == shapes, "get_weights() order/shapes"
    assert [v.name for v in model.weights] == list(d["weight_names"])
    model.set_weights(synthetic_weights(shapes, int(d["seed"])))
    return model, layer


@pytest.mark.parametrize("name", NAMES)
def test_output_matches_tf(name):
    d = _load(name)
    model, layer = _layer_with_tf_weights(name, d)
    out = model.predict(d["x"], verbose=0)
    np.testing.assert_allclose(out, d["out"], **TOL)
    assert layer.compute_output_shape((None, *d["x"].shape[1:])) == (None, *out.shape[1:])


@pytest.mark.parametrize("name", NAMES)
def test_gradients_and_adam_step_match_tf(name):
    d = _load(name)
    _, layer = _layer_with_tf_weights(name, d)
    y, ctx = layer.forward(d["x"], training=True)
    dx, grads = layer.backward(ctx, d["dy"])
    np.testing.assert_allclose(dx, d["dx"], **TOL, err_msg="dx")
    for i, g in enumerate(grads):
        # A weight gradient sums over every output cell: a looser atol than the outputs'.
        np.testing.assert_allclose(g, d[f"grad{i}"], rtol=1e-4, atol=1e-4, err_msg=f"grad{i}")
    keras.optimizers.Adam(learning_rate=ADAM_LEARNING_RATE).apply_gradients(
        zip(grads, layer.trainable_weights)
    )
    for i, w in enumerate(layer.get_weights()):
        np.testing.assert_allclose(w, d[f"adam_w{i}"], **STEP_TOL, err_msg=f"weight {i}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_config_round_trip(name):
    input_shape, build = CASES[name]
    layer = build(keras)
    config = layer.get_config()
    again = type(layer).from_config(config)
    assert again.get_config() == config
    assert keras.layers.deserialize(keras.layers.serialize(layer)).get_config() == config
    model = keras.Sequential([keras.Input(shape=input_shape), again])
    x = np.zeros((1, *input_shape), np.float32)
    assert (
        model.predict(x, verbose=0).shape[1:]
        == again.compute_output_shape((None, *input_shape))[1:]
    )
