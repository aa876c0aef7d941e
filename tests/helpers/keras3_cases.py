"""The models behind tests/data/keras3_files/: one per layer family shendu supports, each built
from a Keras module (TensorFlow's or shendu's), so scripts/make_keras3_files.py (run with
TensorFlow) and tests/keras/test_keras3_files.py build the same model from the same text.

Each case: ``build(k)`` returns a built model, ``x(rng)`` its input, ``compile`` the compile
arguments (optimizer and loss by name, so both libraries make their own), ``y(rng)`` targets for
the one training step that fills the optimizer's variables before a save.
"""

from __future__ import annotations

import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILES = os.path.join(ROOT, "tests", "data", "keras3_files")


def _mlp(k):
    return k.Sequential(
        [
            k.Input(shape=(2, 3)),
            k.layers.Flatten(),
            k.layers.Dense(5, activation="relu"),
            k.layers.Dropout(0.25),
            k.layers.Reshape((5, 1)),
            k.layers.Flatten(),
            k.layers.Dense(4),
            k.layers.Activation("tanh"),
            k.layers.Dense(3),
            k.layers.Softmax(),
        ]
    )


def _cnn(k):
    return k.Sequential(
        [
            k.Input(shape=(6, 6, 2)),
            k.layers.Conv2D(3, (3, 3), padding="same", activation="relu"),
            k.layers.MaxPooling2D((2, 2)),
            k.layers.Conv2D(2, (2, 2), strides=1, padding="valid", use_bias=False),
            k.layers.AveragePooling2D((2, 2), padding="same"),
            k.layers.Flatten(),
            k.layers.Dense(2, activation="softmax"),
        ]
    )


def _rnn(k):
    return k.Sequential(
        [
            k.Input(shape=(5,), dtype="int32"),
            k.layers.Embedding(7, 3),
            k.layers.LSTM(4, return_sequences=True),
            k.layers.GRU(3, return_sequences=True),
            k.layers.SimpleRNN(2),
            k.layers.Dense(1, activation="sigmoid"),
        ]
    )


def _rnn_wrappers(k):
    # A Sequential: Keras records a functional model's mask computation as extra op nodes
    # (NotEqual) in its config.json.
    return k.Sequential(
        [
            k.Input(shape=(6,), dtype="int32"),
            k.layers.Embedding(9, 3, mask_zero=True),
            k.layers.Bidirectional(k.layers.LSTM(4, return_sequences=True), merge_mode="sum"),
            k.layers.TimeDistributed(k.layers.Dense(3, activation="tanh")),
            k.layers.Bidirectional(k.layers.GRU(2)),
            k.layers.Dense(1, activation="sigmoid"),
        ]
    )


def _variant_cells(k):
    # The classic GRU writes its bias as one (3 * units,) row; other cell activations by name.
    return k.Sequential(
        [
            k.Input(shape=(5, 4)),
            k.layers.GRU(3, reset_after=False, return_sequences=True),
            k.layers.LSTM(3, recurrent_activation="hard_sigmoid", return_sequences=True),
            k.layers.SimpleRNN(2, activation="relu"),
            k.layers.Dense(1),
        ]
    )


def _functional(k):
    a = k.Input(shape=(4,), name="a")
    b = k.Input(shape=(3,), name="b")
    ha = k.layers.Dense(3, activation="relu")(a)
    hb = k.layers.Dense(3)(b)
    joined = k.layers.Concatenate()([k.layers.Add()([ha, hb]), b])
    out = k.layers.Dense(2)(joined)
    return k.Model([a, b], out)


def _nested(k):
    inner = k.Sequential([k.Input(shape=(4,)), k.layers.Dense(3, activation="relu")])
    x = k.Input(shape=(4,))
    h = inner(x)
    out = k.layers.Dense(2, activation="softmax")(k.layers.Concatenate()([h, x]))
    return k.Model(x, out)


def _floats(*shape):
    return lambda rng: rng.uniform(-1, 1, shape).astype(np.float32)


CASES = {
    "mlp": dict(
        build=_mlp,
        x=_floats(4, 2, 3),
        compile=dict(optimizer="adam", loss="sparse_categorical_crossentropy"),
        y=lambda rng: rng.integers(0, 3, 4),
    ),
    "cnn": dict(
        build=_cnn,
        x=_floats(3, 6, 6, 2),
        compile=dict(optimizer="rmsprop", loss="categorical_crossentropy"),
        y=lambda rng: np.eye(2, dtype=np.float32)[rng.integers(0, 2, 3)],
    ),
    "rnn": dict(
        build=_rnn,
        x=lambda rng: rng.integers(0, 7, (3, 5)).astype(np.int32),
        compile=dict(optimizer="sgd", loss="binary_crossentropy"),
        y=lambda rng: rng.integers(0, 2, (3, 1)).astype(np.float32),
    ),
    "rnn_wrappers": dict(
        build=_rnn_wrappers,
        # Padded at the end, the way mask_zero=True expects.
        x=lambda rng: (
            rng.integers(1, 9, (3, 6)).astype(np.int32) * (np.arange(6) < [[6], [4], [2]])
        ),
        compile=dict(optimizer="adam", loss="binary_crossentropy"),
        y=lambda rng: rng.integers(0, 2, (3, 1)).astype(np.float32),
    ),
    "variant_cells": dict(
        build=_variant_cells,
        x=_floats(3, 5, 4),
        compile=dict(optimizer="adam", loss="mse"),
        y=_floats(3, 1),
    ),
    "functional": dict(
        build=_functional,
        x=lambda rng: [_floats(3, 4)(rng), _floats(3, 3)(rng)],
        compile=dict(optimizer="adam", loss="mse"),
        y=_floats(3, 2),
    ),
    "nested": dict(
        build=_nested,
        x=_floats(3, 4),
        compile=None,
        y=None,
    ),
}


def inputs(name):
    """The fixed input of case ``name`` (a list for several inputs)."""
    return CASES[name]["x"](np.random.default_rng(sorted(CASES).index(name)))


def targets(name):
    return CASES[name]["y"](np.random.default_rng(100 + sorted(CASES).index(name)))


def weights(shapes, seed):
    """Seeded weights of these shapes, small enough that activations stay O(1)."""
    rng = np.random.default_rng(seed)
    return [(rng.uniform(-0.6, 0.6, s)).astype(np.float32) for s in shapes]
