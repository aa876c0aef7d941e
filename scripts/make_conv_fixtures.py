"""Freezes TensorFlow-Keras's answers for the convolution layers of
tests/helpers/conv_fixture_cases.py into tests/data/keras_fixtures/conv/<case>.npz, which
tests/keras/test_conv_vs_tf.py holds shendu.keras to.

Needs TensorFlow (not in CI, hence the committed fixtures). Run from the repository root, with
the Python of a virtual environment that has TensorFlow installed:

    PYTHONPATH=python python scripts/make_conv_fixtures.py [case ...]

Each fixture holds the input x, the seeded synthetic weights' seed, the names and shapes of TF's
weights, the output, a fixed upstream gradient dy, the gradients of sum(output * dy) w.r.t. x
and every weight (tf.GradientTape), and the weights after one Adam step with those gradients.
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

from tests.helpers.conv_fixture_cases import (  # noqa: E402
    ADAM_LEARNING_RATE,
    BATCH,
    CASES,
    FIXTURES,
)
from tests.helpers.keras_fixture_cases import synthetic_weights  # noqa: E402

keras = tf.keras


def make(name):
    input_shape, build = CASES[name]
    seed = zlib.crc32(name.encode())
    rng = np.random.default_rng(seed)
    layer = build(keras)
    model = keras.Sequential([keras.Input(shape=input_shape), layer])
    shapes = [w.shape for w in model.get_weights()]
    weights = synthetic_weights(shapes, seed)
    model.set_weights(weights)
    x = rng.standard_normal((BATCH, *input_shape)).astype(np.float32)
    out = model.predict(x, verbose=0)
    dy = rng.standard_normal(out.shape).astype(np.float32)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss = tf.reduce_sum(model(xt, training=True) * dy)
    grads = tape.gradient(loss, [xt, *model.trainable_weights])
    data = {
        "seed": np.int64(seed),
        "x": x,
        "out": out,
        "dy": dy,
        "dx": grads[0].numpy(),
        "weight_names": np.array([v.name for v in model.weights]),
        "n_weights": np.int64(len(shapes)),
    }
    for i, (shape, g) in enumerate(zip(shapes, grads[1:])):
        data[f"shape{i}"] = np.array(shape, np.int64)
        data[f"grad{i}"] = g.numpy()
    adam = keras.optimizers.Adam(learning_rate=ADAM_LEARNING_RATE)
    adam.apply_gradients(zip(grads[1:], model.trainable_weights))
    for i, w in enumerate(model.get_weights()):
        data[f"adam_w{i}"] = w
    np.savez_compressed(os.path.join(FIXTURES, name + ".npz"), **data)


def main(names):
    os.makedirs(FIXTURES, exist_ok=True)
    for name in names or CASES:
        tf.keras.utils.set_random_seed(0)
        make(name)
        print(name, os.path.getsize(os.path.join(FIXTURES, name + ".npz")), "bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
