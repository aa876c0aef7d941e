"""The models behind tests/data/keras3_files/: one per layer family shendu supports, each built
from a Keras module (TensorFlow's or shendu's), so scripts/make_keras3_files.py (run with
TensorFlow) and tests/keras/test_keras3_files.py build the same model from the same text.

Each case: ``build(k)`` returns a built model, ``x(rng)`` its input, ``compile(k)`` the compile
arguments made with that module (or None), ``y(rng)`` targets for the one training step that
fills the optimizer's variables before a save.
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
            k.layers.GlobalAveragePooling2D(keepdims=True),
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
    # A Sequential: no op nodes for its masks (the functional form is the mask_zero case).
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


def _conv1d(k):
    # Sequences: 1-D convolution (causal, dilated, grouped), normalization, the activation
    # layers, and the 1-D pooling, resampling, padding, cropping and noise layers.
    return k.Sequential(
        [
            k.Input(shape=(12, 4)),
            k.layers.Conv1D(4, 3, padding="causal", dilation_rate=2),
            k.layers.BatchNormalization(momentum=0.9),
            k.layers.LeakyReLU(negative_slope=0.2),
            k.layers.Conv1D(4, 2, padding="same", groups=2, activation="elu"),
            k.layers.MaxPooling1D(2),
            k.layers.UpSampling1D(2),
            k.layers.ZeroPadding1D((1, 2)),
            k.layers.Cropping1D((2, 1)),
            k.layers.SpatialDropout1D(0.3),
            k.layers.GaussianNoise(0.1),
            k.layers.AveragePooling1D(2, padding="same"),
            k.layers.LayerNormalization(),
            k.layers.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.05),
            k.layers.GlobalAveragePooling1D(),
            k.layers.Dense(3),
            k.layers.Softmax(),
        ]
    )


def _conv2d(k):
    # Images: dilated and grouped, depthwise, separable and transposed convolution, and the 2-D
    # resampling, padding, cropping, noise and global pooling layers.
    return k.Sequential(
        [
            k.Input(shape=(6, 6, 4)),
            k.layers.Conv2D(4, 3, padding="same", dilation_rate=2, groups=2),
            k.layers.BatchNormalization(center=False),
            k.layers.PReLU(shared_axes=[1, 2]),
            k.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same"),
            k.layers.SeparableConv2D(3, 3, padding="same", activation="relu"),
            k.layers.MaxPooling2D(2),
            k.layers.Conv2DTranspose(2, 3, strides=2, padding="same"),
            k.layers.ZeroPadding2D(((1, 0), (0, 1))),
            k.layers.Cropping2D(((0, 1), (1, 0))),
            k.layers.UpSampling2D(2, interpolation="bilinear"),
            k.layers.SpatialDropout2D(0.2),
            k.layers.GaussianDropout(0.2),
            k.layers.ELU(alpha=0.5),
            k.layers.GlobalMaxPooling2D(),
            k.layers.Dense(2),
            k.layers.Softmax(axis=-1),
        ]
    )


def _merging(k):
    # Two inputs through the preprocessing layers, every merge, and the reshaping layers.
    a = k.Input(shape=(4,), name="a")
    b = k.Input(shape=(4,), name="b")
    ha = k.layers.Dense(4, activation="tanh")(k.layers.Normalization()(a))
    hb = k.layers.Dense(4, activation="tanh")(
        k.layers.Normalization(mean=[0.5, 0.0, -0.5, 0.1], variance=[2.0, 1.0, 0.5, 0.3])(b)
    )
    rb = k.layers.Rescaling(0.5, offset=-0.25)(b)
    merged = k.layers.Concatenate()(
        [
            k.layers.Multiply()([ha, hb]),
            k.layers.Maximum()([ha, rb]),
            k.layers.Minimum()([hb, rb]),
            k.layers.Subtract()([ha, hb]),
            k.layers.Average()([ha, hb, rb]),
            k.layers.Dot(axes=1, normalize=True)([ha, hb]),
        ]
    )
    seq = k.layers.Permute((2, 1))(k.layers.RepeatVector(3)(merged))
    seq = k.layers.ActivityRegularization(l1=0.01)(k.layers.AlphaDropout(0.1)(seq))
    out = k.layers.Dense(1)(k.layers.GlobalMaxPooling1D()(seq))
    return k.Model([a, b], out)


def _masking(k):
    # A mask from Masking through both Bidirectional forms (a copied and a given backward
    # layer) and TimeDistributed.
    return k.Sequential(
        [
            k.Input(shape=(5, 3)),
            k.layers.Masking(mask_value=0.0),
            k.layers.Bidirectional(
                k.layers.LSTM(3, return_sequences=True),
                backward_layer=k.layers.GRU(3, return_sequences=True, go_backwards=True),
            ),
            k.layers.TimeDistributed(k.layers.Dense(2)),
            k.layers.Bidirectional(k.layers.SimpleRNN(2), merge_mode="ave"),
            k.layers.Dense(1, activation="sigmoid"),
        ]
    )


def _mask_zero(k):
    # A functional model with masks: Keras records their computation as op nodes
    # (Embedding(mask_zero=True): NotEqual; Masking: NotEqual, Any; Concatenate: ExpandDims,
    # ZerosLike, LogicalOr, Concatenate, Any) whose results reach the layers as mask arguments.
    steps = k.Input(shape=(6, 3), name="steps")
    ids = k.Input(shape=(6,), dtype="int32", name="ids")
    h = k.layers.Dense(2)(k.layers.LSTM(3, return_sequences=True)(k.layers.Masking()(steps)))
    e = k.layers.Embedding(9, 2, mask_zero=True)(ids)
    out = k.layers.GRU(3)(k.layers.Concatenate()([h, e]))
    return k.Model([steps, ids], k.layers.Dense(1)(out))


def _floats(*shape):
    return lambda rng: rng.uniform(-1, 1, shape).astype(np.float32)


def _padded_ids(high, lengths):
    # Padded at the end, the way mask_zero=True expects.
    width = max(lengths)
    return lambda rng: (
        rng.integers(1, high, (len(lengths), width)).astype(np.int32)
        * (np.arange(width) < np.array(lengths)[:, None])
    )


def _masked_steps(rng, width=5, lengths=(5, 3, 1)):
    x = _floats(len(lengths), width, 3)(rng)
    x[np.arange(width) >= np.array(lengths)[:, None]] = 0.0  # steps Masking(0.0) masks
    return x


def _binary(n):
    return lambda rng: rng.integers(0, 2, (n, 1)).astype(np.float32)


def _one_hot(n, classes):
    return lambda rng: np.eye(classes, dtype=np.float32)[rng.integers(0, classes, n)]


CASES = {
    "mlp": dict(
        build=_mlp,
        x=_floats(4, 2, 3),
        compile=lambda k: dict(optimizer="adam", loss="sparse_categorical_crossentropy"),
        y=lambda rng: rng.integers(0, 3, 4),
    ),
    "cnn": dict(
        build=_cnn,
        x=_floats(3, 6, 6, 2),
        compile=lambda k: dict(
            optimizer=k.optimizers.RMSprop(rho=0.8, epsilon=1e-6),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
        ),
        y=_one_hot(3, 2),
    ),
    "rnn": dict(
        build=_rnn,
        x=lambda rng: rng.integers(0, 7, (3, 5)).astype(np.int32),
        compile=lambda k: dict(
            optimizer=k.optimizers.Adadelta(learning_rate=1.0, rho=0.9),
            loss="binary_crossentropy",
        ),
        y=_binary(3),
    ),
    "rnn_wrappers": dict(
        build=_rnn_wrappers,
        x=_padded_ids(9, [6, 4, 2]),
        compile=lambda k: dict(
            optimizer=k.optimizers.Ftrl(
                learning_rate=k.optimizers.schedules.InverseTimeDecay(0.1, 5, 0.5),
                l1_regularization_strength=0.01,
                l2_shrinkage_regularization_strength=0.01,
                beta=0.1,
            ),
            loss="binary_crossentropy",
            metrics=["accuracy", "auc"],
        ),
        y=_binary(3),
    ),
    "variant_cells": dict(
        build=_variant_cells,
        x=_floats(3, 5, 4),
        compile=lambda k: dict(optimizer="adam", loss="mse"),
        y=_floats(3, 1),
    ),
    "functional": dict(
        build=_functional,
        x=lambda rng: [_floats(3, 4)(rng), _floats(3, 3)(rng)],
        compile=lambda k: dict(
            optimizer=k.optimizers.Adamax(
                learning_rate=0.01, clipnorm=1.0, weight_decay=0.01, use_ema=True, ema_momentum=0.9
            ),
            loss="mse",
            metrics=["mae", k.metrics.RootMeanSquaredError()],
        ),
        y=_floats(3, 2),
    ),
    "nested": dict(
        build=_nested,
        x=_floats(3, 4),
        compile=None,
        y=None,
    ),
    "conv1d": dict(
        build=_conv1d,
        x=_floats(3, 12, 4),
        compile=lambda k: dict(
            optimizer=k.optimizers.Nadam(
                learning_rate=k.optimizers.schedules.ExponentialDecay(0.01, 10, 0.9)
            ),
            loss=k.losses.CategoricalCrossentropy(label_smoothing=0.1),
            metrics=["categorical_accuracy", k.metrics.TopKCategoricalAccuracy(k=2)],
        ),
        y=_one_hot(3, 3),
    ),
    "conv2d": dict(
        build=_conv2d,
        x=_floats(2, 6, 6, 4),
        compile=lambda k: dict(
            optimizer=k.optimizers.AdamW(
                learning_rate=k.optimizers.schedules.CosineDecay(
                    0.0, 100, warmup_target=0.01, warmup_steps=10
                ),
                weight_decay=0.05,
            ),
            loss=k.losses.KLDivergence(),
            metrics=[k.metrics.MeanAbsoluteError(), "mse"],
        ),
        y=_one_hot(2, 2),
    ),
    "merging": dict(
        build=_merging,
        x=lambda rng: [_floats(3, 4)(rng), _floats(3, 4)(rng)],
        compile=lambda k: dict(
            optimizer=k.optimizers.Adagrad(
                learning_rate=k.optimizers.schedules.PiecewiseConstantDecay(
                    [5, 10], [0.1, 0.05, 0.01]
                )
            ),
            loss=k.losses.LogCosh(),
            metrics=[k.metrics.MeanSquaredError(), k.metrics.CosineSimilarity()],
        ),
        y=_floats(3, 1),
    ),
    "masking": dict(
        build=_masking,
        x=_masked_steps,
        compile=lambda k: dict(
            optimizer=k.optimizers.Lion(
                learning_rate=k.optimizers.schedules.CosineDecayRestarts(0.001, 5),
                beta_1=0.8,
            ),
            loss=k.losses.BinaryCrossentropy(label_smoothing=0.05),
            metrics=[
                k.metrics.BinaryAccuracy(threshold=0.4),
                k.metrics.Precision(),
                k.metrics.Recall(),
                k.metrics.AUC(num_thresholds=50),
            ],
        ),
        y=_binary(3),
    ),
    "mask_zero": dict(
        build=_mask_zero,
        x=lambda rng: [_masked_steps(rng, 6, [6, 5, 2]), _padded_ids(9, [6, 3, 1])(rng)],
        compile=lambda k: dict(
            optimizer=k.optimizers.SGD(
                learning_rate=k.optimizers.schedules.PolynomialDecay(0.1, 20, 0.01, power=2.0),
                momentum=0.9,
                nesterov=True,
            ),
            loss="mean_absolute_error",
            metrics=["mse"],
        ),
        y=_floats(3, 1),
    ),
}


def inputs(name):
    """The fixed input of case ``name`` (a list for several inputs)."""
    return CASES[name]["x"](np.random.default_rng(sorted(CASES).index(name)))


def targets(name):
    return CASES[name]["y"](np.random.default_rng(100 + sorted(CASES).index(name)))


def weights(variables, seed):
    """Seeded values for ``variables`` (a model's weights, in get_weights order), small enough
    that activations stay O(1); variances are positive, counts whole."""
    rng = np.random.default_rng(seed)
    out = []
    for v in variables:
        value = rng.uniform(-0.6, 0.6, tuple(v.shape)).astype(np.float32)
        name = v.name.split("/")[-1]
        if name.endswith("variance"):
            value = np.abs(value) + 0.2
        elif name == "count":
            value = np.round(np.abs(value) * 10)
        out.append(value)
    return out
