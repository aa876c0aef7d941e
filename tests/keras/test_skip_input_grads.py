"""need_dx=False: dense_backward without dx, and training that never computes the gradient of a
model's input data (Keras does not either) yet gives bit-identical weights."""

import inspect

import numpy as np
import pytest
from shendu import keras, ops, reference
from shendu.keras import layers
from shendu.keras.models.functional import Model


@pytest.fixture(autouse=True)
def _fresh_state():
    keras.backend.clear_session()
    keras.backend.set_random_seed(0)


@pytest.mark.parametrize("activation", ["linear", "relu", "softmax"])
@pytest.mark.parametrize("n, i, o", [(1, 1, 1), (7, 33, 5), (0, 3, 4)])
def test_dense_backward_without_dx(rng, activation, n, i, o):
    x = rng.standard_normal((n, i)).astype(np.float32)
    w = rng.standard_normal((i, o)).astype(np.float32)
    y = ops.dense(x, w, None, activation)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    for backend in (ops, reference):
        full = backend.dense_backward(dy, x, w, y, activation)
        dx, dw, db = backend.dense_backward(dy, x, w, y, activation, need_dx=False)
        assert dx is None
        np.testing.assert_array_equal(dw, full[1])
        np.testing.assert_array_equal(db, full[2])


@pytest.mark.parametrize("need_dx", ["no", 0, None])
def test_dense_backward_need_dx_must_be_a_bool(need_dx):
    x, w = np.ones((3, 4), np.float32), np.ones((4, 5), np.float32)
    with pytest.raises(TypeError, match=r"need_dx: expected True or False, got"):
        ops.dense_backward(np.ones((3, 5)), x, w, np.ones((3, 5)), need_dx=need_dx)


def _cnn():
    return keras.Sequential(
        [
            layers.Conv2D(4, 3, activation="relu", input_shape=(9, 9, 1)),
            layers.MaxPooling2D(),
            layers.Conv2D(5, 2, activation="relu"),
            layers.Flatten(),
            layers.Dense(6, activation="relu"),
            layers.Dense(3, activation="softmax"),
        ]
    )


def _flatten_mlp():
    # Flatten in front keeps the model off the fused Dense-stack step: the per-layer path runs,
    # Flatten (no weights, reading only the input) needs no backward, and Dense no dx.
    return keras.Sequential(
        [
            layers.Flatten(input_shape=(3, 4)),
            layers.Dense(5, activation="tanh"),
            layers.Dense(3, activation="softmax"),
        ]
    )


def _nested():
    # A model used as a layer, once where its input gradients are needed (after a Dense) and
    # once reading the outer input directly (where it may skip them).
    inner = keras.Sequential(
        [layers.Dense(5, activation="relu", input_shape=(6,)), layers.Dense(4)]
    )
    first = keras.Sequential([layers.Dense(6, activation="tanh", input_shape=(6,))])
    inp = keras.Input((6,))
    mid = inner(layers.Dense(6, activation="relu")(inp))
    out = layers.Dense(3, activation="softmax")(layers.Concatenate()([mid, first(inp)]))
    return keras.Model(inp, out)


MODELS = {
    "cnn": (_cnn, (9, 9, 1)),
    "flatten_mlp": (_flatten_mlp, (3, 4)),
    "nested": (_nested, (6,)),
}


def _train(name, skip, monkeypatch):
    build, shape = MODELS[name]
    keras.backend.set_random_seed(0)
    model = build()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    if not skip:  # every backward computes every input gradient, as before need_dx existed
        monkeypatch.setattr(
            model, "backward", lambda ctxs, d, need_dx=True: Model.backward(model, ctxs, d)
        )
    rng = np.random.default_rng(5)
    for _ in range(3):
        model.train_on_batch(rng.standard_normal((8,) + shape), rng.integers(0, 3, 8))
    return model.get_weights()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_training_is_bit_identical_with_and_without_input_grads(name, monkeypatch):
    with monkeypatch.context() as m:
        want = _train(name, False, m)
    got = _train(name, True, monkeypatch)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def _spy(monkeypatch, op):
    calls = []
    real = getattr(ops, op)
    signature = inspect.signature(real)

    def spy(*args, **kwargs):
        calls.append(signature.bind(*args, **kwargs).arguments.get("need_dx", True))
        return real(*args, **kwargs)

    monkeypatch.setattr(ops, op, spy)
    return calls


def test_first_layers_skip_dx_in_training(monkeypatch, rng):
    conv, dense = _spy(monkeypatch, "conv2d_backward"), _spy(monkeypatch, "dense_backward")
    model = _cnn()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.train_on_batch(rng.standard_normal((4, 9, 9, 1)), rng.integers(0, 3, 4))
    # Backward runs last layer first: the second Conv2D needs dx, the first does not.
    assert conv == [True, False] and dense == [True, True]
    conv.clear()
    model = _flatten_mlp()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.train_on_batch(rng.standard_normal((4, 3, 4)), rng.integers(0, 3, 4))
    assert dense == [True, True, True, False] and conv == []


def test_nested_model_skips_only_where_nothing_reads_its_input_grads(monkeypatch, rng):
    dense = _spy(monkeypatch, "dense_backward")
    model = _nested()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.train_on_batch(rng.standard_normal((4, 6)), rng.integers(0, 3, 4))
    # Output Dense; `first` (its one Dense reads the outer input); `inner` (input grads needed:
    # its two Dense); the Dense that feeds `inner` (reads the outer input).
    assert dense == [True, False, True, True, False]


def test_model_backward_returns_input_grads_unless_told_not_to(rng):
    model = _cnn()
    x = rng.standard_normal((2, 9, 9, 1))
    out, ctxs = model.forward(x, training=True)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    dx, grads = model.backward(ctxs, dout)
    assert dx.shape == x.shape
    none, skipped = model.backward(ctxs, dout, need_dx=False)
    assert none is None
    for g, s in zip(grads, skipped):
        np.testing.assert_array_equal(g, s)


def test_nested_multi_input_model_reading_the_outer_inputs_trains(monkeypatch):
    """A nested model with two inputs, both the outer model's inputs, skips its input gradients
    (it returns None for them, not a list) and trains as if it had computed them."""

    def train(skip):
        keras.backend.set_random_seed(0)
        a, b = keras.Input((3,)), keras.Input((3,))
        inner = keras.Model([a, b], layers.Dense(2)(layers.Concatenate()([a, b])))
        x1, x2 = keras.Input((3,)), keras.Input((3,))
        outer = keras.Model([x1, x2], layers.Dense(2)(inner([x1, x2])))
        outer.compile(optimizer="sgd", loss="mse")
        if not skip:
            monkeypatch.setattr(
                outer, "backward", lambda ctxs, d, need_dx=True: Model.backward(outer, ctxs, d)
            )
        rng = np.random.default_rng(2)
        for _ in range(3):
            x = [rng.standard_normal((4, 3)), rng.standard_normal((4, 3))]
            outer.train_on_batch(x, rng.standard_normal((4, 2)))
        return outer.get_weights()

    want = train(False)  # the patch sits on that run's own model
    for g, w in zip(train(True), want):
        np.testing.assert_array_equal(g, w)
