"""Keras semantics that were checked against a real TensorFlow 2.21 / Keras 3.15.1 run: every
literal expectation here (summary tables, names, key orders, progress-line shapes) was printed by
tf.keras on the same program text, then frozen (TensorFlow is not available in CI)."""

import re

import numpy as np
import pytest
from shendu import keras
from shendu.bench import examples

L = keras.layers


@pytest.fixture(autouse=True)
def _wide_fresh(monkeypatch):
    # Keras (and shendu) fit the summary to the terminal; TF's run had none, so shutil's
    # fallback of 80 columns applied.
    monkeypatch.setenv("COLUMNS", "80")
    keras.backend.clear_session()


def _mlp():
    return keras.Sequential(
        [
            keras.Input(shape=(20,)),
            L.Dense(64, activation="relu"),
            L.Dropout(0.5),
            L.Dense(10, activation="softmax"),
        ]
    )


def _cnn():
    # examples/mnist_cnn.py's model (input_shape= on the first layer; TF printed this table for
    # the same layers after a keras.Input, which gives the same summary).
    return examples.load("mnist_cnn").build_model()


def _functional():
    a, b = keras.Input(shape=(8,), name="a"), keras.Input(shape=(8,), name="b")
    h1, h2 = L.Dense(16, activation="relu")(a), L.Dense(16)(b)
    out = L.Dense(3, activation="softmax")(
        L.Concatenate()([L.Concatenate()([h1, h2]), L.Add()([h1, h2])])
    )
    return keras.Model(inputs=[a, b], outputs=out)


# Printed by tf.keras's model.summary() for the three builders above (after clear_session).
TF_SUMMARY_MLP = """\
Model: "sequential"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ dense (Dense)                   │ (None, 64)             │         1,344 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dropout (Dropout)               │ (None, 64)             │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_1 (Dense)                 │ (None, 10)             │           650 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 1,994 (7.79 KB)
 Trainable params: 1,994 (7.79 KB)
 Non-trainable params: 0 (0.00 B)
"""

TF_SUMMARY_CNN = """\
Model: "sequential"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ conv2d (Conv2D)                 │ (None, 26, 26, 32)     │           320 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ max_pooling2d (MaxPooling2D)    │ (None, 13, 13, 32)     │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ conv2d_1 (Conv2D)               │ (None, 11, 11, 64)     │        18,496 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ max_pooling2d_1 (MaxPooling2D)  │ (None, 5, 5, 64)       │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ conv2d_2 (Conv2D)               │ (None, 3, 3, 64)       │        36,928 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ flatten (Flatten)               │ (None, 576)            │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense (Dense)                   │ (None, 64)             │        36,928 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_1 (Dense)                 │ (None, 10)             │           650 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 93,322 (364.54 KB)
 Trainable params: 93,322 (364.54 KB)
 Non-trainable params: 0 (0.00 B)
"""

TF_SUMMARY_FUNCTIONAL = """\
Model: "functional"
┏━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┓
┃ Layer (type)        ┃ Output Shape      ┃    Param # ┃ Connected to      ┃
┡━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━┩
│ a (InputLayer)      │ (None, 8)         │          0 │ -                 │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ b (InputLayer)      │ (None, 8)         │          0 │ -                 │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ dense (Dense)       │ (None, 16)        │        144 │ a[0][0]           │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ dense_1 (Dense)     │ (None, 16)        │        144 │ b[0][0]           │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ concatenate_1       │ (None, 32)        │          0 │ dense[0][0],      │
│ (Concatenate)       │                   │            │ dense_1[0][0]     │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ add (Add)           │ (None, 16)        │          0 │ dense[0][0],      │
│                     │                   │            │ dense_1[0][0]     │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ concatenate         │ (None, 48)        │          0 │ concatenate_1[0]… │
│ (Concatenate)       │                   │            │ add[0][0]         │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ dense_2 (Dense)     │ (None, 3)         │        147 │ concatenate[0][0] │
└─────────────────────┴───────────────────┴────────────┴───────────────────┘
 Total params: 435 (1.70 KB)
 Trainable params: 435 (1.70 KB)
 Non-trainable params: 0 (0.00 B)
"""


@pytest.mark.parametrize(
    "build,expected",
    [(_mlp, TF_SUMMARY_MLP), (_cnn, TF_SUMMARY_CNN), (_functional, TF_SUMMARY_FUNCTIONAL)],
)
def test_summary_text_matches_tf(build, expected):
    lines = []
    build().summary(print_fn=lines.append)
    assert "\n".join(lines) + "\n" == expected


def test_functional_layer_and_weight_order_and_name_counters_match_tf():
    # TF: Sequential's build takes the name "functional", so the next Model is "functional_1";
    # layers (and so get_weights) run inputs first, then by depth.
    m, f = _mlp(), _functional()
    assert (m.name, f.name) == ("sequential", "functional_1")
    assert [layer.name for layer in f.layers] == [
        "a",
        "b",
        "dense_2",
        "dense_3",
        "concatenate_1",
        "add",
        "concatenate",
        "dense_4",
    ]
    assert [w.shape for w in f.weights] == [(8, 16), (16,), (8, 16), (16,), (48, 3), (3,)]


def test_default_layer_names_match_tf():
    names = [
        L.Dense(3).name,
        L.Dense(3).name,
        L.Conv2D(2, 3).name,
        L.MaxPooling2D().name,
        L.LSTM(2).name,
        L.SimpleRNN(2).name,
        L.GRU(2).name,
        L.Embedding(3, 2).name,
        L.Flatten().name,
        L.Dropout(0.1).name,
        L.Reshape((2,)).name,
        L.Concatenate().name,
        L.Add().name,
        L.Activation("relu").name,
        L.AveragePooling2D(2).name,
        L.Softmax().name,
        keras.Sequential().name,
        keras.Sequential().name,
    ]
    assert names == [
        "dense",
        "dense_1",
        "conv2d",
        "max_pooling2d",
        "lstm",
        "simple_rnn",
        "gru",
        "embedding",
        "flatten",
        "dropout",
        "reshape",
        "concatenate",
        "add",
        "activation",
        "average_pooling2d",
        "softmax",
        "sequential",
        "sequential_1",
    ]


def test_input_shape_and_dtype_match_tf():
    x = keras.Input(shape=(3,))
    assert (x.shape, x.dtype) == ((None, 3), "float32")
    x = keras.Input(shape=(None, 4), dtype="int32")
    assert (x.shape, x.dtype) == ((None, None, 4), "int32")
    assert keras.Input(shape=(3,), batch_size=5).shape == (5, 3)


def _fitted(metrics, loss="sparse_categorical_crossentropy", units=10):
    model = keras.Sequential([keras.Input(shape=(20,)), L.Dense(units, activation="softmax")])
    model.compile(optimizer="adam", loss=loss, metrics=metrics)
    rng = np.random.default_rng(0)
    return model, rng.standard_normal((100, 20)), rng.integers(0, units, 100)


def test_logs_are_sorted_but_list_returns_keep_compile_order(capsys):
    # TF: history keys / progress lines / return_dict sorted (accuracy before loss); the list
    # returned by evaluate / train_on_batch is [loss, metrics in compile order].
    model, x, y = _fitted(["mse", "accuracy"], loss="mse", units=1)
    y = y.astype(np.float32)[:, None] / 10
    history = model.fit(x, y, epochs=2, batch_size=32, verbose=2, validation_split=0.2)
    assert list(history.history) == [
        "accuracy",
        "loss",
        "mse",
        "val_accuracy",
        "val_loss",
        "val_mse",
    ]
    assert history.params == {"verbose": 2, "epochs": 2, "steps": 3}
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2"
    assert re.fullmatch(
        r"3/3 - \d+s - \d+[mu]?s/step - accuracy: [0-9.e+-]+ - loss: [0-9.e+-]+ - "
        r"mse: [0-9.e+-]+ - val_accuracy: [0-9.e+-]+ - val_loss: [0-9.e+-]+ - "
        r"val_mse: [0-9.e+-]+",
        lines[1],
    ), lines[1]
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(logs) == ["accuracy", "loss", "mse"]
    values = model.evaluate(x, y, verbose=0)
    assert values == [logs["loss"], logs["mse"], logs["accuracy"]]
    assert isinstance(model.train_on_batch(x, y), list)


def test_train_on_batch_reports_that_batch_only():
    # TF: train_on_batch resets the metrics first, so two calls do not average.
    model, x, y = _fitted(None)
    model.train_on_batch(x, y)
    after_first = model.get_weights()
    second = model.train_on_batch(x, y)
    probe, _, _ = _fitted(None)
    probe.set_weights(after_first)
    assert second == pytest.approx(probe.evaluate(x, y, verbose=0), rel=1e-5)
