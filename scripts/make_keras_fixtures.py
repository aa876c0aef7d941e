"""Freezes TensorFlow-Keras's answers for the models in tests/helpers/keras_fixture_cases.py into
tests/data/keras_fixtures/<case>.npz, which tests/keras/test_vs_tf.py holds shendu.keras to.

Needs TensorFlow (not in CI, hence the committed fixtures). Run from the repository root, with
the Python of a virtual environment that has TensorFlow installed:

    PYTHONPATH=python python scripts/make_keras_fixtures.py [case ...]

Each fixture holds: the input x (x0, x1... for several inputs), the shapes and variable names of
TF's get_weights() in TF's order, the seed of the synthetic weights set into the model, TF's
predict() output(s); for cases with a loss also the loss and its gradient w.r.t. every trainable
weight (tf.GradientTape over model.compute_loss, so regularization is included) and, per
optimizer, the train_on_batch losses and the weights after one and after two steps. Gradients of
weights with more than SMALL entries are stored as a seeded sample of entries plus the norm, to
keep the fixtures small.
"""

from __future__ import annotations

import os
import sys
import zlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.helpers.keras_fixture_cases import (  # noqa: E402
    CASES,
    FIXTURES,
    OPTIMIZERS,
    synthetic_weights,
)

keras = tf.keras
SMALL = 4096  # gradients up to this many entries are stored whole
SAMPLED = 256  # entries kept of larger gradients


def case_seed(name):
    return zlib.crc32(name.encode())


def sample_index(size, seed):
    """The flat indices kept of a large gradient; the test draws the same ones."""
    return np.random.default_rng(seed).choice(size, SAMPLED, replace=False)


def listify(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def fresh_model(case, weights):
    model = case["build"](keras)
    model.set_weights(weights)
    for got, want in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(got, want)
    return model


def make(name, case):
    seed = case_seed(name)
    rng = np.random.default_rng(seed)
    x = case["x"](rng)
    data = {"seed": np.int64(seed)}
    for i, xi in enumerate(listify(x)):
        data[f"x{i}"] = xi
    data["n_inputs"] = np.int64(len(listify(x)))

    model = case["build"](keras)
    assert model.built, f"{name}: an unbuilt model has no weights to copy"
    shapes = [w.shape for w in model.get_weights()]
    data["weight_names"] = np.array([v.name for v in model.weights])
    for i, shape in enumerate(shapes):
        data[f"shape{i}"] = np.array(shape, np.int64)
    data["n_weights"] = np.int64(len(shapes))
    weights = case.get("weights", synthetic_weights)(shapes, seed)
    model = fresh_model(case, weights)

    outs = listify(model.predict(x, verbose=0))
    data["n_outputs"] = np.int64(len(outs))
    for i, out in enumerate(outs):
        data[f"out{i}"] = out

    if "loss" in case:
        y = np.asarray(case["y"](rng))
        data["y"] = y
        data["loss_name"] = np.array(case["loss"])
        model.compile(optimizer="sgd", loss=case["loss"])
        xt = [tf.constant(a) for a in listify(x)]
        with tf.GradientTape() as tape:
            pred = model(xt if len(xt) > 1 else xt[0], training=True)
            loss = model.compute_loss(x=x, y=tf.constant(y), y_pred=pred)
        grads = tape.gradient(loss, model.trainable_weights)
        data["loss"] = np.float32(loss)
        for i, g in enumerate(grads):
            g = tf.convert_to_tensor(g).numpy()
            if g.size <= SMALL:
                data[f"grad{i}"] = g
            else:
                data[f"grad{i}_sample"] = g.ravel()[sample_index(g.size, seed + i)]
                data[f"grad{i}_norm"] = np.float32(np.linalg.norm(g.astype(np.float64)))
        for opt in case.get("optimizers", []):
            model = fresh_model(case, weights)
            model.compile(optimizer=OPTIMIZERS[opt](keras), loss=case["loss"])
            for step in (1, 2):
                # [0]: an example model compiled with metrics keeps reporting them (as zeros)
                # after this recompile without metrics, a Keras quirk; only the loss is wanted.
                logs = np.ravel(model.train_on_batch(x, y))
                data[f"{opt}_loss{step}"] = np.float32(logs[0])
                for i, w in enumerate(model.get_weights()):
                    data[f"{opt}_step{step}_w{i}"] = w
    np.savez_compressed(os.path.join(FIXTURES, name + ".npz"), **data)


def main(names):
    os.makedirs(FIXTURES, exist_ok=True)
    for name in names or CASES:
        tf.keras.utils.set_random_seed(0)
        make(name, CASES[name])
        print(name, os.path.getsize(os.path.join(FIXTURES, name + ".npz")), "bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
