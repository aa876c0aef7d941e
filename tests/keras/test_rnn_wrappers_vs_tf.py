"""Bidirectional, TimeDistributed, Masking and Embedding(mask_zero=True) against frozen
TensorFlow-Keras 3 answers (tests/data/keras_fixtures/rnn_wrappers/, written by
scripts/make_rnn_wrapper_fixtures.py from the models in tests/helpers/rnn_wrapper_cases.py):
outputs, input and weight gradients of a fixed projection of the outputs, one Adam step."""

import glob
import os

import numpy as np
import pytest
from shendu import keras

from tests.helpers.keras_fixture_cases import synthetic_weights
from tests.helpers.rnn_wrapper_cases import CASES, WRAPPER_FIXTURES

NAMES = sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(WRAPPER_FIXTURES, "*.npz")))
OUT_TOL = dict(rtol=1e-4, atol=2e-5)
GRAD_TOL = dict(rtol=1e-3, atol=2e-5)
STEP_TOL = dict(rtol=1e-5, atol=1e-5)


def test_every_case_has_a_fixture():
    assert set(NAMES) == set(CASES)


def _load(folder, name):
    with np.load(os.path.join(folder, name + ".npz")) as d:
        return {k: d[k] for k in d.files}


def _model(case, d):
    model = case["build"](keras)
    assert [v.name for v in model.weights] == list(d["weight_names"])
    weights = synthetic_weights([w.shape for w in model.get_weights()], int(d["seed"]))
    model.set_weights(weights)
    return model


def _dense(g):
    """A gradient as an array (an Embedding's gradient keeps its lookups' rows)."""
    return g.dense() if hasattr(g, "dense") else np.asarray(g)


def check_case(cases, folder, name):
    """The model of cases[name] against its fixture in folder: outputs, gradients, Adam step."""
    d = _load(folder, name)
    model = _model(cases[name], d)
    outs, ctxs = model.forward(d["x"], training=True)
    outs = outs if isinstance(outs, list) else [outs]
    assert len(outs) == int(d["n_outputs"])
    for i, out in enumerate(outs):
        np.testing.assert_allclose(out, d[f"out{i}"], **OUT_TOL, err_msg=f"output {i}")
    projections = [d[f"proj{i}"] for i in range(len(outs))]
    dx, grads = model.backward(ctxs, projections if len(outs) > 1 else projections[0])
    if "dx" in d:
        np.testing.assert_allclose(dx, d["dx"], **GRAD_TOL, err_msg="input gradient")
    assert len(grads) == int(d["n_weights"])
    for i, g in enumerate(grads):
        np.testing.assert_allclose(_dense(g), d[f"grad{i}"], **GRAD_TOL, err_msg=f"grad {i}")

    optimizer = keras.optimizers.Adam(learning_rate=0.01)
    optimizer.apply_gradients(zip(grads, model.trainable_weights))
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, d[f"adam_w{i}"], **STEP_TOL, err_msg=f"Adam step, weight {i}")


@pytest.mark.parametrize("name", NAMES)
def test_outputs_and_gradients_match_tf(name):
    check_case(CASES, WRAPPER_FIXTURES, name)
