"""Freezes TensorFlow-Keras's answers for the single layers of tests/helpers/layer_fixture_cases.py
into tests/data/keras_fixtures/layers/<case>.npz (see that module for what each holds).

Needs TensorFlow. Run from the repository root with the Python of an environment that has it:

    python scripts/make_layer_fixtures.py [case ...]
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

from tests.helpers.layer_fixture_cases import CASES, FIXTURES  # noqa: E402


def make(name, case):
    build, input_shapes, weight_shapes = case
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    xs = [(2 * rng.standard_normal(s)).astype(np.float32) for s in input_shapes]
    layer = build(tf.keras)
    inputs = [tf.constant(x) for x in xs]
    layer(inputs if len(xs) > 1 else inputs[0])  # builds the weights
    weights = [(0.5 * rng.standard_normal(s)).astype(np.float32) for s in weight_shapes]
    assert [w.shape for w in layer.get_weights()] == [w.shape for w in weights], name
    layer.set_weights(weights)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        y = layer(inputs if len(xs) > 1 else inputs[0], training=True)
        r = rng.standard_normal(y.shape).astype(np.float32)
        loss = tf.reduce_sum(y * r) + tf.add_n([tf.constant(0.0)] + list(layer.losses))
    grads = tape.gradient(loss, inputs + list(layer.trainable_weights))
    data = {"y": y.numpy(), "r": r, "penalty": np.float32(sum(float(v) for v in layer.losses))}
    for i, x in enumerate(xs):
        data[f"x{i}"] = x
        data[f"dx{i}"] = tf.convert_to_tensor(grads[i]).numpy()
    for i, w in enumerate(weights):
        data[f"w{i}"] = w
        data[f"dw{i}"] = tf.convert_to_tensor(grads[len(xs) + i]).numpy()
    data["config_keys"] = np.array(sorted(layer.get_config()))
    np.savez_compressed(os.path.join(FIXTURES, f"{name}.npz"), **data)


def main(names):
    for name in names or CASES:
        make(name, CASES[name])
        print(name)


if __name__ == "__main__":
    main(sys.argv[1:])
