"""Writes tests/data/keras_fixtures/rnn_wrappers/<case>.npz from TensorFlow-Keras, which
tests/keras/test_rnn_wrappers_vs_tf.py holds shendu.keras to: for each model of
tests/helpers/rnn_wrapper_cases.py with seeded synthetic weights, the outputs, the gradients of
L = sum_k sum(out_k * R_k) (fixed random R_k) w.r.t. the float inputs and every weight, and the
weights after one Adam step on those gradients.

Run with a TensorFlow 2.x / Keras 3 environment, from the repository root:
    python scripts/make_rnn_wrapper_fixtures.py [case ...]
"""

import os
import sys
import zlib

sys.path[:0] = [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow import keras  # noqa: E402

from tests.helpers.keras_fixture_cases import synthetic_weights  # noqa: E402
from tests.helpers.rnn_wrapper_cases import CASES, WRAPPER_FIXTURES  # noqa: E402


def listify(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def make(name, case, folder=WRAPPER_FIXTURES):
    seed = zlib.crc32(name.encode())
    rng = np.random.default_rng(seed)
    x = case["x"](rng)
    model = case["build"](keras)
    weights = synthetic_weights([w.shape for w in model.get_weights()], seed)
    model.set_weights(weights)
    data = {"seed": np.int64(seed), "x": x, "n_weights": np.int64(len(weights))}
    data["weight_names"] = np.array([v.name for v in model.weights])
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        outs = listify(model(xt, training=True))
        projections = [rng.standard_normal(o.shape).astype(np.float32) for o in outs]
        loss = tf.add_n([tf.reduce_sum(o * r) for o, r in zip(outs, projections)])
    grads = tape.gradient(loss, [xt] + model.trainable_weights)
    data["n_outputs"] = np.int64(len(outs))
    for i, (o, r) in enumerate(zip(outs, projections)):
        data[f"out{i}"], data[f"proj{i}"] = o.numpy(), r
    if x.dtype.kind == "f":
        data["dx"] = tf.convert_to_tensor(grads[0]).numpy()
    for i, g in enumerate(grads[1:]):
        data[f"grad{i}"] = tf.convert_to_tensor(g).numpy()
    optimizer = keras.optimizers.Adam(learning_rate=0.01)
    optimizer.apply_gradients(zip(grads[1:], model.trainable_weights))
    for i, w in enumerate(model.get_weights()):
        data[f"adam_w{i}"] = w
    np.savez_compressed(os.path.join(folder, name + ".npz"), **data)


def main(names, cases=CASES, folder=WRAPPER_FIXTURES):
    os.makedirs(folder, exist_ok=True)
    for name in names or cases:
        tf.keras.utils.set_random_seed(0)
        make(name, cases[name], folder)
        print(name, os.path.getsize(os.path.join(folder, name + ".npz")), "bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
