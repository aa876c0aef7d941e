"""shendu.keras against frozen TensorFlow-Keras 3 answers (tests/data/keras_fixtures/, written by
scripts/make_keras_fixtures.py from the models in tests/helpers/keras_fixture_cases.py).

Weights copied from TF (get_weights order and shapes) must reproduce TF's predictions, the loss
and its gradients, and the weights after one and two optimizer steps. Tolerances are float32
ones: outputs and losses rtol 1e-4 / atol 2e-5 (TF uses oneDNN, shendu its own kernels, so sums
run in different orders); gradients (recovered as w0 - w1 after one SGD step with learning rate
1, which costs one rounding of w) atol 2e-6 + rtol 1e-3; optimizer steps atol 1e-5.
"""

import glob
import os

import numpy as np
import pytest
from shendu import keras

from tests.helpers.keras_fixture_cases import CASES, FIXTURES, OPTIMIZERS, synthetic_weights

NAMES = sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(FIXTURES, "*.npz")))
OUT_TOL = dict(rtol=1e-4, atol=2e-5)
GRAD_TOL = dict(rtol=1e-3, atol=2e-6)
STEP_TOL = dict(rtol=1e-5, atol=1e-5)


def test_every_case_has_a_fixture():
    assert set(NAMES) == set(CASES)


def _load(name):
    with np.load(os.path.join(FIXTURES, name + ".npz")) as d:
        return {k: d[k] for k in d.files}


def _inputs(d):
    xs = [d[f"x{i}"] for i in range(int(d["n_inputs"]))]
    return xs if len(xs) > 1 else xs[0]


def _model_with_tf_weights(name, d):
    shapes = [tuple(int(s) for s in d[f"shape{i}"]) for i in range(int(d["n_weights"]))]
    model = CASES[name]["build"](keras)
    assert [w.shape for w in model.get_weights()] == shapes, "get_weights() order/shapes"
    assert [v.name for v in model.weights] == list(d["weight_names"])
    weights = CASES[name].get("weights", synthetic_weights)(shapes, int(d["seed"]))
    model.set_weights(weights)
    return model, weights


@pytest.mark.parametrize("name", NAMES)
def test_predict_matches_tf(name):
    d = _load(name)
    model, _ = _model_with_tf_weights(name, d)
    outs = model.predict(_inputs(d), verbose=0)
    outs = outs if isinstance(outs, list) else [outs]
    assert len(outs) == int(d["n_outputs"])
    for i, out in enumerate(outs):
        np.testing.assert_allclose(out, d[f"out{i}"], **OUT_TOL, err_msg=f"output {i}")


TRAINED = [n for n in NAMES if "loss" in CASES[n]]


@pytest.mark.parametrize("name", TRAINED)
def test_loss_and_gradients_match_tf(name):
    d = _load(name)
    model, weights = _model_with_tf_weights(name, d)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0), loss=str(d["loss_name"]))
    loss = model.train_on_batch(_inputs(d), d["y"])
    np.testing.assert_allclose(loss, d["loss"], **OUT_TOL)
    # TF's gradients are of the trainable weights (not moving statistics), in their order.
    trained = [
        (w0, w1) for w0, w1, v in zip(weights, model.get_weights(), model.weights) if v.trainable
    ]
    for i, (w0, w1) in enumerate(trained):
        grad = w0.astype(np.float64) - w1
        if f"grad{i}" in d:
            np.testing.assert_allclose(grad, d[f"grad{i}"], **GRAD_TOL, err_msg=f"grad {i}")
        else:  # a large weight: TF's gradient was kept as a seeded sample of entries and a norm
            index = np.random.default_rng(int(d["seed"]) + i).choice(grad.size, 256, replace=False)
            np.testing.assert_allclose(
                grad.ravel()[index], d[f"grad{i}_sample"], **GRAD_TOL, err_msg=f"grad {i}"
            )
            np.testing.assert_allclose(np.linalg.norm(grad), d[f"grad{i}_norm"], rtol=1e-4)


STEPPED = [(n, opt) for n in TRAINED for opt in CASES[n].get("optimizers", [])]


@pytest.mark.parametrize("name,opt", STEPPED)
def test_optimizer_steps_match_tf(name, opt):
    d = _load(name)
    model, _ = _model_with_tf_weights(name, d)
    model.compile(optimizer=OPTIMIZERS[opt](keras), loss=str(d["loss_name"]))
    for step in (1, 2):
        loss = model.train_on_batch(_inputs(d), d["y"])
        np.testing.assert_allclose(loss, d[f"{opt}_loss{step}"], **OUT_TOL)
        for i, w in enumerate(model.get_weights()):
            np.testing.assert_allclose(
                w, d[f"{opt}_step{step}_w{i}"], **STEP_TOL, err_msg=f"step {step}, weight {i}"
            )


# --- initializers, against their Keras definitions ------------------------------------------


def _built(layer, input_shape):
    layer.build(input_shape)
    return {w.name: w.numpy().astype(np.float64) for w in layer.weights}


def _assert_uniform(w, limit):
    """Uniform(-limit, limit): inside the bounds, reaching near them, variance limit^2 / 3."""
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.98 * limit
    np.testing.assert_allclose(w.var(), limit**2 / 3, rtol=0.05)
    assert abs(w.mean()) < 0.05 * limit


@pytest.mark.parametrize(
    "layer,input_shape,fans",
    [
        (lambda: keras.layers.Dense(300), (None, 200), (200, 300)),
        (lambda: keras.layers.Conv2D(32, (3, 3)), (None, 9, 9, 16), (144, 288)),
        (lambda: keras.layers.LSTM(40), (None, 5, 30), (30, 160)),
    ],
)
def test_glorot_uniform_kernel_limits(layer, input_shape, fans):
    keras.utils.set_random_seed(1)
    w = _built(layer(), input_shape)["kernel"]
    _assert_uniform(w, np.sqrt(6.0 / sum(fans)))


@pytest.mark.parametrize("kind,gates", [("SimpleRNN", 1), ("LSTM", 4), ("GRU", 3)])
def test_recurrent_kernel_is_orthogonal(kind, gates):
    keras.utils.set_random_seed(2)
    r = _built(getattr(keras.layers, kind)(16), (None, 4, 5))["recurrent_kernel"]
    assert r.shape == (16, gates * 16)
    # Keras: QR of a (max, min) normal matrix, transposed when rows < cols -> orthonormal rows.
    np.testing.assert_allclose(r @ r.T, np.eye(16), atol=1e-5)
    assert np.abs(r).max() < 1.0


def test_lstm_unit_forget_bias_and_gru_bias_shape():
    units = 7
    b = _built(keras.layers.LSTM(units), (None, 3, 2))["bias"]
    want = np.zeros(4 * units)
    want[units : 2 * units] = 1.0  # gate order i, f, c, o: only the forget gate starts at one
    np.testing.assert_array_equal(b, want)
    b = _built(keras.layers.LSTM(units, unit_forget_bias=False), (None, 3, 2))["bias"]
    np.testing.assert_array_equal(b, np.zeros(4 * units))
    b = _built(keras.layers.GRU(units), (None, 3, 2))["bias"]
    np.testing.assert_array_equal(b, np.zeros((2, 3 * units)))  # reset_after: input + recurrent


def test_embedding_uniform_005():
    keras.utils.set_random_seed(3)
    _assert_uniform(_built(keras.layers.Embedding(1000, 64), (None, 5))["embeddings"], 0.05)


def test_uniform_and_normal_initializer_names():
    # Keras accepts "uniform" / "normal" as RandomUniform(-0.05, 0.05) / RandomNormal(0, 0.05).
    keras.utils.set_random_seed(4)
    _assert_uniform(keras.initializers.get("uniform")((400, 300)).astype(np.float64), 0.05)
    w = keras.initializers.get("normal")((400, 300)).astype(np.float64)
    np.testing.assert_allclose(w.std(), 0.05, rtol=0.02)
