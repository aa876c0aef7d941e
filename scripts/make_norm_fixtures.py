"""Freezes TF-Keras's Normalization.adapt results into tests/data/keras_fixtures/adapt/*.npz, which
tests/keras/test_normalization_layers.py holds shendu's adapt to.

Run from the repository root with a Python that has TensorFlow:

    python scripts/make_norm_fixtures.py

Each fixture: the data, the axis, and the mean, variance and outputs TF's layer gives after
adapt() on the whole array and after adapt() on a list of its batches (Keras merges batch
statistics with its own running formula).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "keras_fixtures", "adapt")

# name -> (data shape, axis, batch size for the iterable form)
CASES = {
    "last_axis": ((10, 3), -1, 4),
    "no_axis": ((9, 2, 3), None, 2),
    "two_axes": ((7, 2, 3), (1, 2), 3),
    "middle_axis": ((6, 4, 3), 1, 5),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for k, (name, (shape, axis, batch)) in enumerate(CASES.items()):
        rng = np.random.default_rng(k)
        x = (rng.standard_normal(shape) * 3 + 50).astype(np.float32)
        data = {"x": x, "axis": np.array(-99 if axis is None else axis), "batch": batch}
        for form, source in (
            ("array", x),
            ("batches", [x[i : i + batch] for i in range(0, len(x), batch)]),
        ):
            layer = tf.keras.layers.Normalization(axis=axis)
            layer.adapt(source)
            mean, variance, _ = layer.get_weights()
            data[f"{form}_mean"], data[f"{form}_variance"] = mean, variance
            data[f"{form}_out"] = layer(x).numpy()
        np.savez_compressed(os.path.join(OUT, name + ".npz"), **data)
        print(name)


if __name__ == "__main__":
    main()
