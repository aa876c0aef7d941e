"""shendu.keras surface: imports, naming, summary, weights order, functional API, configs."""

import importlib
import subprocess
import sys

import numpy as np
import pytest
import shendu
from shendu import keras
from shendu.keras import layers


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()
    keras.backend.set_random_seed(0)


def test_submodules_are_attributes_and_modules():
    for name in (
        "layers",
        "models",
        "optimizers",
        "losses",
        "metrics",
        "callbacks",
        "datasets",
        "utils",
        "initializers",
        "regularizers",
        "activations",
        "backend",
    ):
        module = importlib.import_module(f"shendu.keras.{name}")
        assert getattr(shendu.keras, name) is module
    from shendu.keras.datasets import mnist  # noqa: F401
    from shendu.keras.layers import Dense  # noqa: F401

    assert shendu.version.VERSION == shendu.__version__
    assert callable(shendu.nn.softmax)


def test_import_shendu_does_not_import_keras():
    code = "import sys, shendu; print('shendu.keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_layer_names_count_up_like_keras():
    names = [
        layers.Dense(1).name,
        layers.Dense(1).name,
        layers.MaxPooling2D().name,
        layers.SimpleRNN(2).name,
        layers.Dense(1, name="out").name,
    ]
    assert names == ["dense", "dense_1", "max_pooling2d", "simple_rnn", "out"]


def test_default_initializers_follow_keras():
    lstm = layers.LSTM(3)
    lstm.build((None, 5, 4))
    kernel, recurrent, bias = lstm.get_weights()
    assert np.allclose(recurrent @ recurrent.T, np.eye(3), atol=1e-5)  # orthonormal rows
    assert np.array_equal(bias, np.r_[np.zeros(3), np.ones(3), np.zeros(6)])  # unit forget bias
    limit = np.sqrt(6 / (4 + 12))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.5 * limit
    emb = layers.Embedding(1000, 8)
    emb.build((None, 3))
    table = emb.get_weights()[0]
    assert np.abs(table).max() <= 0.05 and np.abs(table).max() > 0.04


def test_weights_order_and_shapes_match_keras():
    cases = [
        (layers.Dense(3), (None, 4), [(4, 3), (3,)]),
        (layers.Dense(3, use_bias=False), (None, 4), [(4, 3)]),
        (layers.Conv2D(5, (3, 2)), (None, 8, 8, 2), [(3, 2, 2, 5), (5,)]),
        (layers.Embedding(10, 4), (None, 6), [(10, 4)]),
        (layers.SimpleRNN(3), (None, 5, 2), [(2, 3), (3, 3), (3,)]),
        (layers.LSTM(3), (None, 5, 2), [(2, 12), (3, 12), (12,)]),
        (layers.GRU(3), (None, 5, 2), [(2, 9), (3, 9), (2, 9)]),
    ]
    for layer, shape, want in cases:
        layer.build(shape)
        assert [w.shape for w in layer.get_weights()] == want, layer.name
        assert [w.name for w in layer.weights][0] in ("kernel", "embeddings")


def test_set_weights_checks_count_and_shapes():
    model = keras.Sequential([layers.Dense(3, input_shape=(4,)), layers.Dense(2)])
    weights = [np.full(w.shape, i, np.float32) for i, w in enumerate(model.get_weights())]
    model.set_weights(weights)
    for got, want in zip(model.get_weights(), weights):
        assert np.array_equal(got, want)
    with pytest.raises(ValueError, match="expected 4 weights"):
        model.set_weights(weights[:3])
    with pytest.raises(ValueError, match=r"dense.*\(4, 3\).*\(3, 4\)"):
        model.layers[0].set_weights([np.zeros((3, 4)), np.zeros(3)])


KERAS_MLP_SUMMARY = """\
Model: "sequential"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ dense (Dense)                   │ (None, 128)            │       100,480 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dropout (Dropout)               │ (None, 128)            │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_1 (Dense)                 │ (None, 10)             │         1,290 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 101,770 (397.54 KB)
 Trainable params: 101,770 (397.54 KB)
 Non-trainable params: 0 (0.00 B)"""


def _mlp():
    return keras.Sequential(
        [
            layers.Dense(128, activation="relu", input_shape=(784,)),
            layers.Dropout(0.5),
            layers.Dense(10, activation="softmax"),
        ]
    )


def test_summary_matches_keras_3_table(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")  # Keras's width without a terminal
    lines = []
    _mlp().summary(print_fn=lines.append)
    assert lines[0] == KERAS_MLP_SUMMARY


def test_summary_counts_optimizer_params_after_training(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.train_on_batch(np.zeros((2, 784)), np.zeros(2))
    lines = []
    model.summary(print_fn=lines.append)
    # Keras: Adam keeps m and v per weight, plus its step count and learning rate.
    assert " Total params: 305,312 (1.16 MB)" in lines[0]
    assert " Optimizer params: 203,542 (795.09 KB)" in lines[0]


def test_functional_summary_has_connections(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    inp = keras.Input(shape=(4,))
    a, b = layers.Dense(3)(inp), layers.Dense(2)(inp)
    model = keras.Model(inputs=inp, outputs=layers.Concatenate()([a, b]))
    lines = []
    model.summary(print_fn=lines.append)
    text = lines[0]
    assert "Connected to" in text and "dense[0][0], dense_1[0][0]" in text
    assert "input_layer (InputLayer)" in text and type(model).__name__ == "Functional"


def test_input_shape_and_symbolic_shapes():
    inp = keras.Input(shape=(28, 28, 1))
    assert inp.shape == (None, 28, 28, 1) and inp.dtype == "float32"
    x = layers.Conv2D(8, 3, strides=2, padding="same")(inp)
    assert x.shape == (None, 14, 14, 8)
    x = layers.MaxPooling2D()(layers.Conv2D(4, 3)(x))
    assert x.shape == (None, 6, 6, 4)
    seq, h, c = layers.LSTM(5, return_sequences=True, return_state=True)(layers.Reshape((36, 4))(x))
    assert (seq.shape, h.shape, c.shape) == ((None, 36, 5), (None, 5), (None, 5))


def test_functional_graph_and_nested_model_match_manual_math():
    inp = keras.Input(shape=(4,))
    a = layers.Dense(3, activation="relu")(inp)
    b = layers.Dense(3)(inp)
    merged = layers.Add()([a, b])
    out = layers.Dense(2)(layers.Concatenate()([merged, inp]))
    inner = keras.Model(inp, out, name="inner")
    outer = keras.Sequential([keras.Input((4,)), inner, layers.Softmax()])
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    wa, ba, wb, bb, wo, bo = inner.get_weights()
    hidden = np.maximum(x @ wa + ba, 0) + x @ wb + bb
    logits = np.concatenate([hidden, x], axis=1) @ wo + bo
    want = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    got = outer(x)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)
    assert len(outer.get_weights()) == 6


def test_config_roundtrip_rebuilds_same_functions():
    inp = keras.Input(shape=(6,))
    x = layers.Dense(4, activation="tanh", kernel_regularizer=keras.regularizers.l2(0.01))(inp)
    out = layers.Dense(3, activation="softmax")(layers.Concatenate()([x, inp]))
    model = keras.Model(inp, out)
    seq = keras.Sequential(
        [
            layers.Dense(5, input_shape=(6,), activation="sigmoid"),
            layers.Dropout(0.3),
            layers.Dense(2),
        ]
    )
    x_data = np.random.default_rng(2).standard_normal((4, 6)).astype(np.float32)
    for original, kind in ((model, "Functional"), (seq, "Sequential")):
        clone = keras.models.model_from_config(
            {"class_name": kind, "config": original.get_config()}
        )
        assert type(clone).__name__ == kind and clone.built
        clone.set_weights(original.get_weights())
        np.testing.assert_array_equal(
            clone.predict(x_data, verbose=0), original.predict(x_data, verbose=0)
        )


@pytest.mark.parametrize(
    "bad, match",
    [
        (lambda: layers.Dense(0), "units"),
        (lambda: layers.Dense(3, activation="swishy"), "swishy.*relu"),
        (lambda: layers.Dropout(1.0), "rate"),
        (lambda: layers.Conv2D(4, 3, padding="full"), "padding"),
        (lambda: layers.MaxPooling2D(pool_size=0), "pool_size"),
        (lambda: layers.Bidirectional(layers.LSTM(4), merge_mode="max"), "merge_mode"),
        (lambda: layers.TimeDistributed("dense"), "TimeDistributed"),
        (lambda: layers.LSTM(4, activation="gelu"), "activation='gelu'.*'hard_sigmoid'"),
        (lambda: layers.GRU(4, recurrent_activation="softmax"), "recurrent_activation"),
        (lambda: layers.Dense(3, foo=1), "foo"),
    ],
)
def test_bad_layer_arguments(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()


def test_bad_compile_strings_name_value_and_accepted():
    model = _mlp()
    with pytest.raises(ValueError, match="'lamb'.*'adam', .*'rmsprop', 'sgd'"):
        model.compile(optimizer="lamb", loss="mse")
    with pytest.raises(ValueError, match="'dice'.*'mse'"):
        model.compile(optimizer="adam", loss="dice")
    with pytest.raises(ValueError, match="'f1'.*'accuracy'"):
        model.compile(optimizer="adam", loss="mse", metrics=["f1"])


def test_subclassing_without_graph_is_refused_clearly():
    with pytest.raises(ValueError, match="inputs= and outputs="):
        keras.Model()


@pytest.mark.parametrize("shape", [(256, 64), (7, 3), (5, 5), (100, 1), (1, 1), (96, 96)])
def test_orthogonal_matches_lapack_qr(shape):
    """The orthogonal initializer's Householder QR (no LAPACK: see initializers.py) gives Keras's
    np.linalg.qr(a) with R's diagonal made positive."""
    a = np.random.default_rng(sum(shape)).standard_normal(shape)
    q, r = np.linalg.qr(a)
    np.testing.assert_allclose(
        keras.initializers._orthonormal_columns(a), q * np.sign(np.diag(r)), rtol=0, atol=1e-12
    )
