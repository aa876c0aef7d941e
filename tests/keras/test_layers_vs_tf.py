"""The smaller layers (activations, pooling, reshaping, merges, ActivityRegularization) against
TF-Keras's frozen answers: outputs, input gradients, weight gradients, config keys."""

import os

import numpy as np
import pytest
import shendu.keras as keras

from tests.helpers.layer_fixture_cases import CASES, FIXTURES

# float32 against TF's float32 (different summation orders and exp/erf polynomials).
RTOL, ATOL = 2e-5, 2e-6


def load(name):
    return np.load(os.path.join(FIXTURES, f"{name}.npz"))


def test_every_case_has_a_fixture():
    for name in CASES:
        assert os.path.exists(os.path.join(FIXTURES, f"{name}.npz")), name


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_matches_tf(name):
    build, input_shapes, weight_shapes = CASES[name]
    data = load(name)
    xs = [data[f"x{i}"] for i in range(len(input_shapes))]
    layer = build(keras)
    inputs = xs if len(xs) > 1 else xs[0]
    layer(inputs)  # builds the weights
    layer.set_weights([data[f"w{i}"] for i in range(len(weight_shapes))])
    y, ctx = layer.forward(inputs, training=True)
    np.testing.assert_allclose(y, data["y"], rtol=RTOL, atol=ATOL)
    dx, dw = layer.backward(ctx, data["r"])
    dx = dx if len(xs) > 1 else [dx]
    for i, d in enumerate(dx):
        np.testing.assert_allclose(d, data[f"dx{i}"], rtol=RTOL, atol=ATOL, err_msg=f"dx{i}")
    assert len(dw) == len(weight_shapes)
    for i, d in enumerate(dw):
        np.testing.assert_allclose(d, data[f"dw{i}"], rtol=RTOL, atol=ATOL, err_msg=f"dw{i}")
    if isinstance(layer, keras.layers.ActivityRegularization):
        np.testing.assert_allclose(layer.activity_loss, data["penalty"], rtol=1e-5)


# Dense and Conv2D stand in this table for their activation= only.
OWN = sorted(n for n in CASES if not n.startswith(("dense_", "conv2d_")))


@pytest.mark.parametrize("name", OWN)
def test_config_round_trip_with_keras_keys(name):
    layer = CASES[name][0](keras)
    config = layer.get_config()
    again = type(layer).from_config(config).get_config()
    assert again == config
    assert set(config) >= set(load(name)["config_keys"]) - {"dtype", "activity_regularizer"}


def test_symbolic_shapes_match_eager():
    for name, (build, input_shapes, _) in CASES.items():
        layer = build(keras)
        data = load(name)
        ins = [keras.Input(shape=s[1:]) for s in input_shapes]
        out = layer(ins if len(ins) > 1 else ins[0])
        assert tuple(out.shape[1:]) == data["y"].shape[1:], name
