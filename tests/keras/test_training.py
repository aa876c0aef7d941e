"""Training through shendu.keras: gradients of whole models, native vs reference runs of the
example programs, and Keras's fit/evaluate/predict semantics."""

import importlib
import pathlib
import sys

import numpy as np
import pytest
import shendu
from shendu import keras, ops
from shendu.keras import layers

from tests.helpers.gradcheck import numerical_gradient

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(autouse=True)
def _fresh_state():
    keras.backend.clear_session()
    keras.backend.set_random_seed(0)


# --- gradients of whole models (float64, reference backend) ----------------------------------


def _tiny_models():
    rng = np.random.default_rng(0)
    inp = keras.Input((5,))
    branch = layers.Dense(3, activation="tanh")(inp)
    mixed = layers.Concatenate()([branch, layers.Dense(2, activation="sigmoid")(inp)])
    functional = keras.Model(
        inp,
        layers.Dense(4, activation="softmax")(
            layers.Add()([mixed, layers.Dense(5, activation="relu")(inp)])
        ),
    )
    yield "functional", functional, rng.standard_normal((3, 5)), rng.integers(0, 4, 3)
    cnn = keras.Sequential(
        [
            layers.Conv2D(2, 3, padding="same", activation="relu", input_shape=(6, 6, 1)),
            layers.MaxPooling2D(),
            layers.Conv2D(2, 2, strides=2, activation="tanh"),
            layers.AveragePooling2D((1, 1)),
            layers.Flatten(),
            layers.Dense(3, activation="softmax"),
        ]
    )
    yield "cnn", cnn, rng.standard_normal((2, 6, 6, 1)), rng.integers(0, 3, 2)
    for cell in (layers.LSTM, layers.GRU, layers.SimpleRNN):
        rnn = keras.Sequential(
            [
                layers.Embedding(7, 3),
                cell(3, return_sequences=True),
                cell(2, go_backwards=True),
                layers.Dense(3, activation="softmax"),
            ]
        )
        rnn.build((None, 4))
        yield cell.__name__, rnn, rng.integers(0, 7, (2, 4)), rng.integers(0, 3, 2)


@pytest.mark.parametrize("case", list(_tiny_models()), ids=lambda c: c[0])
def test_model_gradient_matches_finite_differences(case):
    _, model, x, labels = case
    shendu.set_backend("reference")
    for w in model.weights:  # the twins keep float64, so the whole model runs in float64
        w.value = w.value.astype(np.float64) + 0.1 * np.random.default_rng(3).standard_normal(
            w.shape
        )

    def loss():
        logits, _ = model.forward(x, training=False, logits=True)
        return ops.sparse_softmax_cross_entropy(logits, labels)[0]

    logits, ctxs = model.forward(x, training=False, logits=True)
    _, dlogits = ops.sparse_softmax_cross_entropy(logits, labels)
    _, grads = model.backward(ctxs, dlogits)
    for w, g in zip(model.weights, grads):
        np.testing.assert_allclose(
            g, numerical_gradient(loss, w.value), rtol=1e-5, atol=1e-7, err_msg=w.path
        )


# --- the example programs: a few steps native vs reference -----------------------------------


def _example(name):
    sys.path.insert(0, str(EXAMPLES))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(EXAMPLES))


def _example_data(name, rng, n=16):
    if name in ("mnist_mlp_dropout", "mnist_mlp_l2"):
        return rng.uniform(size=(n, 784)), rng.integers(0, 10, n)
    if name == "mnist_mlp_flatten":
        return rng.uniform(size=(n, 28, 28)), rng.integers(0, 10, n)
    if name == "mnist_input_first":
        return rng.uniform(size=(n, 28, 28)), np.eye(10)[rng.integers(0, 10, n)]
    if name == "mnist_cnn":
        return rng.uniform(size=(n, 28, 28, 1)), rng.integers(0, 10, n)
    if name.endswith("_text"):
        return rng.integers(0, 10000, (n, 40)), rng.integers(0, 10, n)
    module = _example(name)
    return module.data(n, 0)


EXAMPLE_NAMES = [
    "gru_text",
    "lstm_text",
    "mlp_xor_like",
    "mnist_cnn",
    "mnist_input_first",
    "mnist_mlp_dropout",
    "mnist_mlp_flatten",
    "mnist_mlp_l2",
    "regression_mse_sgd",
    "simple_rnn_text",
]


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_example_model_native_matches_reference(name):
    x, y = _example_data(name, np.random.default_rng(1))
    runs = []
    for backend in ("native", "reference"):
        shendu.set_backend(backend)
        keras.backend.clear_session()
        keras.backend.set_random_seed(7)  # same weights and dropout seeds in both runs
        model = _example(name).build_model()
        model.build((None,) + np.shape(x)[1:])
        losses = [model.train_on_batch(x, y)[0] for _ in range(3)]
        runs.append((losses, model.predict(x, verbose=0)))
    (native_losses, native_out), (ref_losses, ref_out) = runs
    # float32 kernels vs float32 twins, three Adam/SGD/RMSprop steps: 1e-4 relative on losses.
    np.testing.assert_allclose(native_losses, ref_losses, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(native_out, ref_out, rtol=1e-3, atol=1e-4)


# --- Keras semantics -----------------------------------------------------------------------


def _mlp(loss="sparse_categorical_crossentropy", metrics=("accuracy",), out=3, act="softmax"):
    model = keras.Sequential(
        [layers.Dense(8, activation="relu", input_shape=(4,)), layers.Dense(out, activation=act)]
    )
    model.compile(optimizer="adam", loss=loss, metrics=list(metrics))
    return model


def _data(n=40, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)), rng.integers(0, classes, n)


def test_history_keys_and_evaluate_return_shapes():
    x, y = _data()
    model = _mlp()
    history = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0)
    assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"] or set(
        history.history
    ) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 3 for v in history.history.values()) and history.epoch == [0, 1, 2]
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert isinstance(loss, float) and 0 <= accuracy <= 1
    bare = _mlp(metrics=())
    assert isinstance(bare.evaluate(x, y, verbose=0), float)
    assert set(model.evaluate(x, y, verbose=0, return_dict=True)) == {"loss", "accuracy"}


def test_validation_split_takes_the_last_fraction_before_shuffling():
    x, y = _data(50)
    model = _mlp()
    history = model.fit(x, y, epochs=1, batch_size=8, validation_split=0.2, shuffle=True, verbose=0)
    # The validation loss is computed at the end of the epoch with the final weights.
    want = model.evaluate(x[40:], y[40:], verbose=0)
    np.testing.assert_allclose(history.history["val_loss"][0], want[0], rtol=1e-6)
    np.testing.assert_allclose(history.history["val_accuracy"][0], want[1], rtol=1e-6)


def test_epoch_loss_is_the_sample_weighted_mean_of_batches():
    x, y = _data(10)
    model = _mlp()
    model.optimizer.learning_rate = 0.0  # weights stay put, so batches can be recomputed
    history = model.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    parts = [model.evaluate(x[i : i + 4], y[i : i + 4], verbose=0)[0] for i in (0, 4, 8)]
    want = (4 * parts[0] + 4 * parts[1] + 2 * parts[2]) / 10
    np.testing.assert_allclose(history.history["loss"][0], want, rtol=1e-5)


def test_accuracy_resolves_like_keras():
    x, y = _data()
    cases = [
        (_mlp(), y, "SparseCategoricalAccuracy"),
        (_mlp(loss="categorical_crossentropy"), np.eye(3)[y], "CategoricalAccuracy"),
        (_mlp(loss="binary_crossentropy", out=1, act="sigmoid"), y[:, None] % 2, "BinaryAccuracy"),
    ]
    for model, targets, kind in cases:
        logs = model.evaluate(x, targets, verbose=0, return_dict=True)
        assert type(model._metrics[0]).__name__ == kind and "accuracy" in logs
        probs = model.predict(x, verbose=0)
        if kind == "BinaryAccuracy":
            want = np.mean((probs > 0.5) == (targets > 0.5))
        else:
            want = np.mean(probs.argmax(1) == y)
        np.testing.assert_allclose(logs["accuracy"], want, rtol=1e-6)


def test_fused_softmax_loss_equals_loss_on_probabilities():
    x, y = _data()
    model = _mlp()
    fused = model.evaluate(x, y, verbose=0)[0]
    probs = model.predict(x, verbose=0)
    np.testing.assert_allclose(fused, np.mean(-np.log(probs[np.arange(len(y)), y])), rtol=1e-5)
    direct = keras.losses.SparseCategoricalCrossentropy()(y, probs)
    np.testing.assert_allclose(float(direct), fused, rtol=1e-5)
    logits = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, np.log(probs))
    np.testing.assert_allclose(float(logits), fused, rtol=1e-5)


def test_dropout_only_in_training():
    model = keras.Sequential([layers.Dense(64, input_shape=(4,)), layers.Dropout(0.5)])
    x = np.ones((2, 4), np.float32)
    np.testing.assert_array_equal(model.predict(x, verbose=0), model(x).numpy())
    trained = model(x, training=True).numpy()
    dense = model.layers[0](x).numpy()
    dropped = trained == 0
    assert 0.2 < dropped.mean() < 0.8
    np.testing.assert_allclose(trained[~dropped], 2 * dense[~dropped], rtol=1e-6)


def test_regularization_penalty_is_in_the_reported_loss():
    x, y = _data()
    plain = _mlp()
    reg = keras.Sequential(
        [
            layers.Dense(
                8,
                activation="relu",
                input_shape=(4,),
                kernel_regularizer=keras.regularizers.l2(0.05),
            ),
            layers.Dense(3, activation="softmax", kernel_regularizer=keras.regularizers.l1(0.02)),
        ]
    )
    reg.compile("adam", "sparse_categorical_crossentropy")
    reg.set_weights(plain.get_weights())
    k1, _, k2, _ = plain.get_weights()
    penalty = 0.05 * np.sum(k1.astype(np.float64) ** 2) + 0.02 * np.abs(k2).sum()
    np.testing.assert_allclose(
        reg.evaluate(x, y, verbose=0) - plain.evaluate(x, y, verbose=0)[0], penalty, rtol=1e-4
    )


def test_bad_data_is_refused_with_clear_errors():
    x, y = _data()
    model = _mlp()
    with pytest.raises(ValueError, match=r"expects shape \(None, 4\).*\(40, 5\)"):
        model.fit(np.zeros((40, 5)), y, verbose=0)
    with pytest.raises(ValueError, match="label value of 3.*\\[0, 3\\)"):
        model.fit(x, np.full(40, 3), verbose=0)
    with pytest.raises(ValueError, match="label value of -1"):
        model.evaluate(x, np.full(40, -1), verbose=0)
    with pytest.raises(ValueError, match="'x' sizes: 40.*'y' sizes: 39"):
        model.fit(x, y[:39], verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(x, y, validation_split=1.5, verbose=0)
    with pytest.raises(ValueError, match="compile"):
        keras.Sequential([layers.Dense(1, input_shape=(4,))]).fit(x, y, verbose=0)
    with pytest.raises(ValueError, match="one-hot"):
        _mlp(loss="categorical_crossentropy").fit(x, y, verbose=0)


def test_sample_weight_of_the_wrong_shape_is_refused_not_ignored():
    x, y = _data()
    model = _mlp()
    weights = np.ones((len(y), 2))
    for call in (
        lambda: model.fit(x, y, sample_weight=weights, verbose=0),
        lambda: model.evaluate(x, y, sample_weight=weights, verbose=0),
        lambda: model.train_on_batch(x, y, sample_weight=weights),
        lambda: model.test_on_batch(x, y, sample_weight=weights),
        lambda: model.fit(x, y, sample_weight=weights[:, 0], class_weight={0: 1.0}, verbose=0),
    ):
        with pytest.raises(ValueError, match="sample_weight"):
            call()


def test_sequential_builds_from_data_and_int_inputs_reach_embedding():
    model = keras.Sequential([layers.Dense(3), layers.Dense(1)])
    model.compile("sgd", "mse")
    assert not model.built
    model.fit(np.ones((8, 5)), np.ones(8), verbose=0)
    assert model.built and model.layers[0].get_weights()[0].shape == (5, 3)


def test_model_call_and_predict_agree_and_empty_batches_work():
    x, _ = _data(70)
    model = _mlp()
    out = model(x[:5])
    assert hasattr(out, "numpy") and out.numpy().shape == (5, 3)
    np.testing.assert_allclose(model.predict(x, verbose=0)[:5], out.numpy(), rtol=1e-6)
    assert model.predict(x[:0], verbose=0).shape == (0, 3)


def test_logged_values_round_to_float32_like_numpy():
    """Logs hold float(np.float32(total / count)); the metrics round through struct instead,
    which must agree everywhere, overflow to inf included."""
    from shendu.keras.metrics import _round_to_float32

    big = float(np.finfo(np.float32).max)
    values = [0.1, 1 / 3, -2.5, big, big * (1 + 2**-25), big * (1 + 2**-23), 1e39, -1e39]
    values += [1e-45, 1e-46, -1e-46, 0.0, -0.0, np.inf, -np.inf, np.float64(0.3)]
    for v in values:
        with np.errstate(over="ignore"):
            want = float(np.float32(v))
        got = _round_to_float32(v)
        assert got == want and np.signbit(got) == np.signbit(want), v
    assert np.isnan(_round_to_float32(np.nan))


def _cnn():
    model = keras.Sequential(
        [
            layers.Input((6, 6, 1)),
            layers.Conv2D(2, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _dense_only():
    model = keras.Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.parametrize("make, shape", [(_cnn, (6, 6, 1)), (_dense_only, (4,))])
def test_fit_without_samples_raises_like_keras(make, shape):
    model = make()
    x, y = np.ones((0,) + shape, np.float32), np.zeros(0, np.int64)
    with pytest.raises(ValueError, match=r"Unexpected result of `train_function` \(Empty logs\)"):
        model.fit(x, y, verbose=0)
    one = np.ones((1,) + shape, np.float32)
    with pytest.raises(ValueError, match="Empty logs"):  # the one sample goes to validation
        model.fit(one, np.zeros(1, np.int64), validation_split=0.5, verbose=0)


@pytest.mark.parametrize("make, shape", [(_cnn, (6, 6, 1)), (_dense_only, (4,))])
def test_an_empty_batch_changes_nothing(make, shape):
    model = make()
    rng = np.random.default_rng(0)
    model.train_on_batch(rng.standard_normal((5,) + shape).astype(np.float32), np.arange(5) % 3)
    weights, steps = model.get_weights(), model.optimizer.iterations
    empty = np.ones((0,) + shape, np.float32)
    # Adam's moments are non-zero now: a step on zero gradients would still move the weights.
    assert model.train_on_batch(empty, np.zeros(0, np.int64)) == [0.0, 0.0]
    assert model.optimizer.iterations == steps
    for got, want in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(got, want)
    assert model.predict(empty, verbose=0).shape == (0, 3)
    assert model(empty).numpy().shape == (0, 3)
    assert model.test_on_batch(empty, np.zeros(0, np.int64)) == [0.0, 0.0]
