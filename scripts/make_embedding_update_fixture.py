"""Freezes how TF-Keras trains an Embedding on batches with repeated ids into
tests/data/keras_fixtures/updates/embedding_repeated_ids.npz, which
tests/keras/test_embedding_updates.py holds shendu.keras to.

TensorFlow hands the optimizer an Embedding's gradient as IndexedSlices (one row per lookup), so
Adam's and RMSprop's second moments see each lookup's squared gradient; with ids repeated in a
batch that differs from squaring the summed gradient. Needs TensorFlow; run from the repository
root with the Python of an environment that has it:

    python scripts/make_embedding_update_fixture.py

The fixture holds the model's initial weights, the batches (ids, targets) and, per optimizer,
the weights after each train_on_batch.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

keras = tf.keras
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "keras_fixtures", "updates", "embedding_repeated_ids.npz")

VOCAB, DIM, LENGTH = 5, 2, 3
IDS = np.array([[[1, 1, 2]], [[3, 3, 3]], [[1, 2, 3]]], np.int32)
TARGETS = np.array([[[1.0]], [[-1.0]], [[0.5]]], np.float32)
OPTIMIZERS = {
    "adam": lambda: keras.optimizers.Adam(0.1),
    "rmsprop": lambda: keras.optimizers.RMSprop(0.1),
    "sgd_momentum": lambda: keras.optimizers.SGD(0.1, momentum=0.9),
}


def build(weights):
    model = keras.Sequential(
        [
            keras.Input((LENGTH,), dtype="int32"),
            keras.layers.Embedding(VOCAB, DIM),
            keras.layers.Flatten(),
            keras.layers.Dense(1, use_bias=False),
        ]
    )
    model.set_weights(weights)
    return model


def main():
    rng = np.random.default_rng(0)
    weights = [
        rng.uniform(-1, 1, (VOCAB, DIM)).astype(np.float32),
        rng.uniform(-1, 1, (LENGTH * DIM, 1)).astype(np.float32),
    ]
    data = {"embeddings": weights[0], "kernel": weights[1], "ids": IDS, "targets": TARGETS}
    for name, make in OPTIMIZERS.items():
        model = build(weights)
        model.compile(optimizer=make(), loss="mse")
        for step, (x, y) in enumerate(zip(IDS, TARGETS)):
            model.train_on_batch(x, y)
            embeddings, kernel = model.get_weights()
            data[f"{name}_embeddings_{step}"] = embeddings
            data[f"{name}_kernel_{step}"] = kernel
    np.savez_compressed(OUT, **data)
    print(f"wrote {os.path.relpath(OUT, ROOT)}: adam row 1 = {data['adam_embeddings_2'][1]}")


if __name__ == "__main__":
    main()
