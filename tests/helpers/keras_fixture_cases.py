"""The models behind tests/data/keras_fixtures/: each builder takes a Keras module (TensorFlow's
or shendu's), so scripts/make_keras_fixtures.py (run with TensorFlow) and tests/keras/test_vs_tf.py
build the same model from the same text.

Weights are not TF's random initial values but seeded synthetic ones (``synthetic_weights``), set
into the TF model and read back from it: the fixture then only needs the seed and the shapes TF's
get_weights() reported, which keeps the example models (an Embedding of 10000 x 64) out of git.
"""

from __future__ import annotations

import math
import os

import numpy as np
from shendu.bench import examples

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "data", "keras_fixtures")

# The optimizers for the one-step (and two-step) update fixtures, by a short name.
OPTIMIZERS = {
    "adam": lambda k: k.optimizers.Adam(learning_rate=0.01),
    "sgd_momentum": lambda k: k.optimizers.SGD(learning_rate=0.1, momentum=0.9),
    "sgd_nesterov": lambda k: k.optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True),
    "rmsprop": lambda k: k.optimizers.RMSprop(learning_rate=0.01),
}


def synthetic_weights(shapes, seed):
    """Uniform weights scaled by 1/sqrt(fan_in) (biases by 0.1), so activations stay O(1)."""
    rng = np.random.default_rng(seed)
    out = []
    for shape in shapes:
        scale = 0.1 if len(shape) == 1 else 1.0 / math.sqrt(math.prod(shape[:-1]) or 1)
        out.append((rng.uniform(-1, 1, shape) * math.sqrt(3) * scale).astype(np.float32))
    return out


def _seq(k, input_shape, *layers):
    return k.Sequential([k.Input(shape=input_shape), *layers])


def _dense(activation):
    return lambda k: _seq(k, (6,), k.layers.Dense(5, activation=activation))


def _conv(padding, strides, use_bias=True):
    return lambda k: _seq(
        k,
        (7, 8, 3),
        k.layers.Conv2D(
            4, (3, 3), strides=strides, padding=padding, use_bias=use_bias, activation="relu"
        ),
    )


def _pool(kind, padding, pool, strides):
    return lambda k: _seq(
        k, (7, 8, 3), getattr(k.layers, kind)(pool, strides=strides, padding=padding)
    )


def _rnn(kind, **kw):
    """A functional model so return_state's extra outputs come back as outputs."""

    def build(k):
        inp = k.Input(shape=(5, 3))
        out = getattr(k.layers, kind)(4, **kw)(inp)
        return k.Model(inp, out)

    return build


def _merge(k):
    a, b = k.Input(shape=(4,)), k.Input(shape=(4,))
    ha = k.layers.Dense(3, activation="tanh")(a)
    hb = k.layers.Dense(3, activation="relu")(b)
    both = k.layers.Concatenate()([ha, hb])
    added = k.layers.Add()([ha, hb])
    out = k.layers.Dense(2, activation="softmax")(k.layers.Concatenate()([both, added]))
    return k.Model([a, b], out)


def _example(name, input_shape=None):
    """An example program's build_model(), loaded with its `shendu` imports pointed at k
    (shendu.bench.examples.load); built for input_shape when the program leaves that to the
    first fit."""

    def build(k):
        model = examples.load(name, None if k.__name__ == "shendu.keras" else k).build_model()
        if input_shape is not None:
            model.build((None,) + input_shape)
        return model

    return build


def _ints(high, shape):
    return lambda rng: rng.integers(0, high, shape).astype(np.int32)


def _floats(*shape):
    return lambda rng: rng.standard_normal(shape).astype(np.float32)


def _mnist(*shape):
    return lambda rng: rng.uniform(0, 1, (4,) + shape).astype(np.float32)


# name -> dict(build, x, and for training cases: loss, y (labels maker), optimizers)
CASES = {}
for _act in ("linear", "relu", "sigmoid", "tanh", "softmax"):
    CASES[f"dense_{_act}"] = dict(build=_dense(_act), x=_floats(3, 6))
CASES["dense_no_bias_3d"] = dict(
    build=lambda k: _seq(k, (2, 6), k.layers.Dense(5, use_bias=False)), x=_floats(3, 2, 6)
)
for _pad in ("valid", "same"):
    for _s in (1, 2):
        CASES[f"conv2d_{_pad}_s{_s}"] = dict(build=_conv(_pad, _s), x=_floats(2, 7, 8, 3))
    for _kind in ("MaxPooling2D", "AveragePooling2D"):
        CASES[f"{_kind.lower()}_{_pad}"] = dict(
            build=_pool(_kind, _pad, (2, 2), None), x=_floats(2, 7, 8, 3)
        )
        CASES[f"{_kind.lower()}_{_pad}_3s2"] = dict(
            build=_pool(_kind, _pad, (3, 3), (2, 2)), x=_floats(2, 7, 8, 3)
        )
CASES["conv2d_same_s2_nobias"] = dict(build=_conv("same", 2, use_bias=False), x=_floats(2, 7, 8, 3))
CASES["flatten_reshape"] = dict(
    build=lambda k: _seq(
        k, (3, 4), k.layers.Flatten(), k.layers.Reshape((2, -1)), k.layers.Reshape((6, 2))
    ),
    x=_floats(2, 3, 4),
)
CASES["embedding"] = dict(
    build=lambda k: _seq(k, (5,), k.layers.Embedding(11, 3)), x=_ints(11, (3, 5))
)
CASES["dropout_inference"] = dict(
    build=lambda k: _seq(k, (6,), k.layers.Dropout(0.5), k.layers.Dense(3)), x=_floats(4, 6)
)
for _kind in ("SimpleRNN", "LSTM", "GRU"):
    for _tag, _kw in (
        ("last", {}),
        ("seq", dict(return_sequences=True)),
        ("state", dict(return_state=True)),
        ("seq_state", dict(return_sequences=True, return_state=True)),
        ("backwards", dict(go_backwards=True)),
        ("backwards_seq", dict(go_backwards=True, return_sequences=True)),
    ):
        CASES[f"{_kind.lower()}_{_tag}"] = dict(build=_rnn(_kind, **_kw), x=_floats(2, 5, 3))
CASES["concat_add"] = dict(build=_merge, x=lambda rng: [_floats(3, 4)(rng), _floats(3, 4)(rng)])

# Cases that also carry a loss's gradient and the weights after one and two optimizer steps.
_sparse10 = _ints(10, (4,))
CASES["train_mlp"] = dict(
    build=lambda k: _seq(
        k, (6,), k.layers.Dense(8, activation="relu"), k.layers.Dense(4, activation="softmax")
    ),
    x=_floats(5, 6),
    loss="sparse_categorical_crossentropy",
    y=_ints(4, (5,)),
    optimizers=list(OPTIMIZERS),
)
CASES["train_mlp_l2_mse"] = dict(
    build=lambda k: _seq(
        k,
        (6,),
        k.layers.Dense(8, activation="tanh", kernel_regularizer=k.regularizers.l2(0.01)),
        k.layers.Dense(2),
    ),
    x=_floats(5, 6),
    loss="mse",
    y=_floats(5, 2),
    optimizers=["sgd_momentum"],
)
CASES["train_binary"] = dict(
    build=lambda k: _seq(
        k, (3,), k.layers.Dense(4, activation="relu"), k.layers.Dense(1, activation="sigmoid")
    ),
    x=_floats(6, 3),
    loss="binary_crossentropy",
    y=lambda rng: rng.integers(0, 2, (6, 1)).astype(np.float32),
    optimizers=["adam"],
)
CASES["train_categorical"] = dict(
    build=lambda k: _seq(k, (3,), k.layers.Dense(3, activation="softmax")),
    x=_floats(6, 3),
    loss="categorical_crossentropy",
    y=lambda rng: np.eye(3, dtype=np.float32)[rng.integers(0, 3, 6)],
    optimizers=["rmsprop"],
)
CASES["train_cnn"] = dict(
    build=lambda k: _seq(
        k,
        (8, 8, 2),
        k.layers.Conv2D(3, (3, 3), strides=2, padding="same", activation="relu"),
        k.layers.MaxPooling2D((2, 2)),
        k.layers.Flatten(),
        k.layers.Dense(3, activation="softmax"),
    ),
    x=_floats(3, 8, 8, 2),
    loss="sparse_categorical_crossentropy",
    y=_ints(3, (3,)),
    optimizers=["adam"],
)
for _kind in ("SimpleRNN", "LSTM", "GRU"):
    CASES[f"train_{_kind.lower()}"] = dict(
        build=lambda k, kind=_kind: _seq(
            k,
            (6,),
            k.layers.Embedding(20, 3),
            getattr(k.layers, kind)(4, return_sequences=True),
            getattr(k.layers, kind)(3, go_backwards=True),
            k.layers.Dense(2, activation="softmax"),
        ),
        # Distinct ids: these fixtures check the dense math; repeated ids (whose lookups Adam
        # squares one by one, as TF's IndexedSlices) are held to TF in test_embedding_updates.
        x=lambda rng: rng.permutation(20)[:18].reshape(3, 6).astype(np.int32),
        loss="sparse_categorical_crossentropy",
        y=_ints(2, (3,)),
        optimizers=["adam"],
    )

# The example programs' own models.
CASES["example_mlp_xor_like"] = dict(
    build=_example("mlp_xor_like"),
    x=lambda rng: rng.uniform(size=(8, 2)).astype(np.float32),
    loss="binary_crossentropy",
    y=lambda rng: np.round(rng.uniform(size=(8, 1))),
    optimizers=["adam"],
)
CASES["example_mnist_mlp_dropout"] = dict(build=_example("mnist_mlp_dropout"), x=_mnist(784))
CASES["example_mnist_mlp_flatten"] = dict(build=_example("mnist_mlp_flatten"), x=_mnist(28, 28))
CASES["example_mnist_mlp_l2"] = dict(
    build=_example("mnist_mlp_l2"),
    x=_mnist(784),
    loss="sparse_categorical_crossentropy",
    y=_sparse10,
)
CASES["example_mnist_input_first"] = dict(build=_example("mnist_input_first"), x=_mnist(28, 28))
CASES["example_mnist_cnn"] = dict(
    build=_example("mnist_cnn"),
    x=_mnist(28, 28, 1),
    loss="sparse_categorical_crossentropy",
    y=_sparse10,
)
CASES["example_regression_mse_sgd"] = dict(
    build=_example("regression_mse_sgd"), x=_floats(8, 3), loss="mse", y=_floats(8, 1)
)
for _name in ("lstm_text", "gru_text", "simple_rnn_text"):
    CASES[f"example_{_name}"] = dict(
        build=_example(_name, (40,)),
        x=_ints(10000, (3, 40)),
        loss="sparse_categorical_crossentropy",
        y=_ints(10, (3,)),
    )

# Normalization layers. Their vectors (gamma, beta, moving statistics, biases) are made positive,
# 0.5 + |w|, so a moving variance is a variance.


def _positive_vectors(shapes, seed):
    return [
        np.float32(0.5) + np.abs(w) if w.ndim == 1 else w for w in synthetic_weights(shapes, seed)
    ]


def _bn_mlp(k):
    # No bias before the BatchNormalization: its gradient is zero up to rounding, and Adam
    # turns rounding noise into full-size steps.
    return _seq(
        k,
        (6,),
        k.layers.Dense(8, use_bias=False),
        k.layers.BatchNormalization(),
        k.layers.Activation("relu"),
        k.layers.Dense(3, activation="softmax"),
    )


def _bn_cnn(k):
    return _seq(
        k,
        (6, 6, 2),
        k.layers.Conv2D(3, (3, 3), padding="same", use_bias=False),
        k.layers.BatchNormalization(momentum=0.9),
        k.layers.Activation("relu"),
        k.layers.MaxPooling2D((2, 2)),
        k.layers.Flatten(),
        k.layers.Dense(3, activation="softmax"),
    )


CASES["train_bn_mlp"] = dict(
    build=_bn_mlp,
    weights=_positive_vectors,
    x=_floats(5, 6),
    loss="sparse_categorical_crossentropy",
    y=_ints(3, (5,)),
    optimizers=["sgd_momentum", "adam"],
)
CASES["train_bn_cnn"] = dict(
    build=_bn_cnn,
    weights=_positive_vectors,
    x=_floats(4, 6, 6, 2),
    loss="sparse_categorical_crossentropy",
    y=_ints(3, (4,)),
    optimizers=["sgd_momentum", "adam"],
)
CASES["train_bn_axis1"] = dict(
    build=lambda k: _seq(
        k,
        (3, 4, 5),
        k.layers.BatchNormalization(axis=1, momentum=0.8, epsilon=0.01, center=False),
        k.layers.Flatten(),
        k.layers.Dense(2),
    ),
    weights=_positive_vectors,
    x=lambda rng: (rng.standard_normal((4, 3, 4, 5)) * 2 + 3).astype(np.float32),
    loss="mse",
    y=_floats(4, 2),
    optimizers=["sgd_momentum"],
)
CASES["train_layer_norm"] = dict(
    build=lambda k: _seq(
        k, (5, 6), k.layers.LayerNormalization(), k.layers.Flatten(), k.layers.Dense(3)
    ),
    weights=_positive_vectors,
    x=_floats(3, 5, 6),
    loss="mse",
    y=_floats(3, 3),
    optimizers=["adam"],
)
CASES["train_layer_norm_axes"] = dict(
    build=lambda k: _seq(
        k,
        (3, 4, 5),
        k.layers.LayerNormalization(axis=[1, 2], epsilon=1e-5, scale=False),
        k.layers.Flatten(),
        k.layers.Dense(2),
    ),
    weights=_positive_vectors,
    x=_floats(2, 3, 4, 5),
    loss="mse",
    y=_floats(2, 2),
    optimizers=["sgd_momentum"],
)
CASES["normalization_rescaling"] = dict(
    build=lambda k: _seq(
        k,
        (4,),
        k.layers.Rescaling(0.5, offset=-1.0),
        k.layers.Normalization(mean=[1.0, 2.0, -1.0, 0.0], variance=[4.0, 0.25, 1.0, 9.0]),
        k.layers.Normalization(axis=None, mean=0.5, variance=2.0, invert=True),
        k.layers.Dense(2),
    ),
    x=_floats(3, 4),
    loss="mse",
    y=_floats(3, 2),
)
