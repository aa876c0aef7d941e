"""The fused native train step of Dense stacks (shendu._cpu.DenseStack, planned by
keras.models.dense_stack) against the per-layer path it replaces: same weights, losses and metrics
after several steps, on the native backend (bit for bit: it calls the same kernels in the same
order) and the reference backend (float32 tolerance 1e-5 relative / 1e-6 absolute)."""

import numpy as np
import pytest
import shendu
from shendu import _cpu, keras
from shendu.keras import layers, optimizers
from shendu.keras.models import dense_stack

from tests.helpers.threads import run_with_threads

OPTIMIZERS = {
    "sgd": lambda: optimizers.SGD(0.05),
    "momentum": lambda: optimizers.SGD(0.05, momentum=0.9),
    "nesterov": lambda: optimizers.SGD(0.05, momentum=0.8, nesterov=True),
    "adam": lambda: optimizers.Adam(0.01),
    "rmsprop": lambda: optimizers.RMSprop(0.01),
}
# (loss, output activation, metrics, targets(rng, n, units))
LOSSES = {
    "bce_sigmoid": (
        "binary_crossentropy",
        "sigmoid",
        ["accuracy", "mae"],
        lambda r, n, u: r.integers(0, 2, (n, u)).astype(float),
    ),
    "bce_logits": (
        keras.losses.BinaryCrossentropy(from_logits=True),
        "linear",
        ["binary_accuracy"],
        lambda r, n, u: r.integers(0, 2, (n, u)).astype(float),
    ),
    "sparse_softmax": (
        "sparse_categorical_crossentropy",
        "softmax",
        ["accuracy"],
        lambda r, n, u: r.integers(0, u, n),
    ),
    "cce_softmax": (
        "categorical_crossentropy",
        "softmax",
        ["accuracy", "mse"],
        lambda r, n, u: np.eye(u)[r.integers(0, u, n)],
    ),
    "mse_linear": ("mse", "linear", ["mae"], lambda r, n, u: r.standard_normal((n, u))),
    "mse_tanh": ("mse", "tanh", [], lambda r, n, u: r.uniform(-1, 1, (n, u))),
}


@pytest.fixture(autouse=True)
def _fresh_state():
    keras.backend.clear_session()
    keras.backend.set_random_seed(0)


def _model(loss, out_act, metrics, optimizer, units=3, inputs=5, dropout=0.3, regularize=True):
    reg = keras.regularizers.l1_l2(0.01, 0.02) if regularize else None
    model = keras.Sequential(
        [
            layers.Dense(7, activation="relu", input_shape=(inputs,), kernel_regularizer=reg),
            layers.Dropout(dropout),
            layers.Dense(6, activation="tanh", bias_regularizer=reg),
            layers.Dense(5, activation="sigmoid", use_bias=False),
            layers.Dropout(dropout / 2, seed=3),
            layers.Dense(4, activation="softmax"),
            layers.Dense(4),  # linear
            layers.Dense(units, activation=out_act),
        ]
    )
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    return model


def _twin(make):
    """Two models with equal weights, each with its own optimizer."""
    a, b = make(), make()
    b.set_weights(a.get_weights())
    return a, b


def _per_layer(monkeypatch):
    monkeypatch.setattr(dense_stack, "plan", lambda model: None)


def _fit(model, x, y, **kw):
    keras.backend.set_random_seed(7)  # the same shuffling and dropout masks for both runs
    return model.fit(x, y, verbose=0, **kw).history


def _assert_same(fused, plain, hist_f, hist_p, exact):
    close = (
        np.testing.assert_array_equal
        if exact
        else lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    )
    for wf, wp in zip(fused.weights, plain.weights):
        close(wf.value, wp.value)
    assert hist_f.keys() == hist_p.keys()
    for key in hist_f:  # the penalties are summed in double natively, in float32 by NumPy
        np.testing.assert_allclose(hist_f[key], hist_p[key], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("opt", list(OPTIMIZERS))
@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("backend", ["native", "reference"])
def test_fit_matches_per_layer_path(loss, opt, backend, monkeypatch):
    loss_fn, act, metrics, targets = LOSSES[loss]
    fused, plain = _twin(lambda: _model(loss_fn, act, metrics, OPTIMIZERS[opt]()))
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((13, 5)), targets(rng, 13, 3)  # batches 5, 5 and a last 3
    arrays = [w.value for w in fused.weights]
    hist_f = _fit(fused, x, y, batch_size=5, epochs=3)
    assert fused._fused_step is not None
    assert all(w.value is a for w, a in zip(fused.weights, arrays))
    _per_layer(monkeypatch)
    shendu.set_backend(backend)
    hist_p = _fit(plain, x, y, batch_size=5, epochs=3)
    _assert_same(fused, plain, hist_f, hist_p, exact=backend == "native")


@pytest.mark.parametrize("n, inputs, units", [(1, 1, 1), (7, 33, 5), (33, 7, 2)])
def test_train_on_batch_matches_per_layer_path(n, inputs, units, monkeypatch):
    def make():
        return _model(
            "sparse_categorical_crossentropy",
            "softmax",
            ["accuracy"],
            optimizers.Adam(0.01),
            units=units,
            inputs=inputs,
        )

    fused, plain = _twin(make)
    rng = np.random.default_rng(2)
    batches = [(rng.standard_normal((n, inputs)), rng.integers(0, units, n)) for _ in range(3)]

    def run(model):
        keras.backend.set_random_seed(5)
        return [model.train_on_batch(x, y) for x, y in batches]

    out_f = run(fused)
    assert fused._fused_step is not None
    _per_layer(monkeypatch)
    out_p = run(plain)
    np.testing.assert_allclose(out_f, out_p, rtol=1e-6)
    for wf, wp in zip(fused.weights, plain.weights):
        np.testing.assert_array_equal(wf.value, wp.value)


@pytest.mark.parametrize("metrics", [["accuracy"], ["accuracy", "mae"]])
def test_train_on_batch_logs_match_the_general_path(metrics):
    """A fused step whose metrics are all counted natively takes train_on_batch's short path
    (FusedStep.logs_of_batch); return_dict=True takes the general one (reset_metrics, the step,
    the logs). Same logs, tracker states and weights, bit for bit; with "mae" (counted in NumPy)
    both take the general path."""
    lean, general = _twin(lambda: _model("binary_crossentropy", "sigmoid", metrics, "adam"))
    rng = np.random.default_rng(4)
    batches = [(rng.standard_normal((9, 5)), rng.integers(0, 2, (9, 3)).astype(float))]
    batches += [(rng.standard_normal((4, 5)), rng.integers(0, 2, (4, 3)).astype(float))] * 2

    def run(model, **kw):
        keras.backend.set_random_seed(5)
        return [model.train_on_batch(x, y, **kw) for x, y in batches]

    logs = run(lean)
    dicts = run(general, return_dict=True)
    assert lean._fused_step.counts_all_metrics == (metrics == ["accuracy"])
    assert logs == [[d[name] for name in lean.metrics_names] for d in dicts]
    for a, b in zip(lean.metrics, general.metrics):
        assert (a._total, a._count) == (b._total, b._count)
    for wa, wb in zip(lean.weights, general.weights):
        np.testing.assert_array_equal(wa.value, wb.value)


def test_weights_stay_the_layers_arrays():
    model = _model("mse", "linear", [], "adam", regularize=False)
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((10, 5)), rng.standard_normal((10, 3))
    arrays = [w.value for w in model.weights]
    before = model.get_weights()
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert all(w.value is a for w, a in zip(model.weights, arrays))
    after = model.get_weights()
    assert all(not np.array_equal(b, a) for b, a in zip(before, after))
    model.set_weights(before)  # in place: the fused step trains the restored values
    assert all(w.value is a for w, a in zip(model.weights, arrays))
    model.train_on_batch(x, y)
    assert all(w.value is a for w, a in zip(model.weights, arrays))
    assert all(not np.array_equal(b, a) for b, a in zip(before, model.get_weights()))


def _unsupported():
    yield (
        "conv",
        keras.Sequential(
            [
                layers.Conv2D(2, 3, input_shape=(5, 5, 1)),
                layers.Flatten(),
                layers.Dense(2, activation="softmax"),
            ]
        ),
    )
    inp = keras.Input((4,))
    yield "functional", keras.Model(inp, layers.Dense(2, activation="softmax")(inp))
    yield (
        "input_dropout",
        keras.Sequential(
            [layers.Dropout(0.2, input_shape=(4,)), layers.Dense(2, activation="softmax")]
        ),
    )
    yield (
        "rank3",
        keras.Sequential(
            [
                layers.Dense(3, input_shape=(2, 4)),
                layers.Flatten(),
                layers.Dense(2, activation="softmax"),
            ]
        ),
    )
    frozen = keras.Sequential(
        [layers.Dense(3, input_shape=(4,), trainable=False), layers.Dense(2, activation="softmax")]
    )
    yield "frozen", frozen


@pytest.mark.parametrize("case", list(_unsupported()), ids=lambda c: c[0])
def test_unsupported_models_fall_back(case):
    _, model = case
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    shape = (6,) + tuple(model.inputs[0].shape[1:])
    x, y = np.random.default_rng(4).standard_normal(shape), np.array([0, 1, 1, 0, 1, 0])
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert model._fused_step is None
    assert np.isfinite(model.history.history["loss"]).all()


@pytest.mark.parametrize(
    "loss, act",
    [
        ("categorical_crossentropy", "linear"),  # probabilities
        ("sparse_categorical_crossentropy", "relu"),
    ],
)
def test_losses_on_probabilities_fall_back(loss, act):
    model = keras.Sequential(
        [layers.Dense(3, activation="sigmoid", input_shape=(2,)), layers.Dense(3, activation=act)]
    )
    model.compile("sgd", loss)
    y = np.eye(3)[[0, 1]] if loss.startswith("cat") else np.array([0, 2])
    model.train_on_batch(np.ones((2, 2)), y)
    assert model._fused_step is None


def test_reference_backend_falls_back_then_native_plans_again():
    model = _model("mse", "linear", [], "sgd")
    x, y = np.ones((4, 5)), np.zeros((4, 3))
    shendu.set_backend("reference")
    model.train_on_batch(x, y)
    assert model._fused_step is None
    shendu.set_backend("native")
    model.train_on_batch(x, y)
    assert model._fused_step is not None


def test_same_result_with_1_and_2_threads():
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((96, 300)), rng.integers(0, 10, 96)

    def train(threads):
        keras.backend.set_random_seed(0)
        model = keras.Sequential(
            [
                layers.Dense(128, activation="relu", input_shape=(300,)),
                layers.Dropout(0.5),
                layers.Dense(10, activation="softmax"),
            ]
        )
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        hist = run_with_threads(
            threads, lambda: model.fit(x, y, batch_size=64, epochs=2, verbose=0).history
        )
        assert model._fused_step is not None
        return model.get_weights(), hist

    (w1, h1), (w2, h2) = train(1), train(2)
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)
    assert h1 == h2


BAD_INPUTS = [
    ("x features", np.ones((4, 6)), np.array([0, 1, 2, 0])),
    ("x rank", np.ones((4, 5, 1)), np.array([0, 1, 2, 0])),
    ("y length", np.ones((4, 5)), np.array([0, 1, 2])),
    ("label range", np.ones((4, 5)), np.array([0, 1, 3, 0])),
    ("y shape", np.ones((4, 5)), np.ones((4, 2))),
    ("x text", np.array([["a"] * 5] * 4), np.array([0, 1, 2, 0])),
]


@pytest.mark.parametrize("case", BAD_INPUTS, ids=lambda c: c[0])
def test_bad_input_gives_the_per_layer_errors(case, monkeypatch):
    _, x, y = case

    def message():
        keras.backend.clear_session()  # the same layer names in both messages
        model = _model("sparse_categorical_crossentropy", "softmax", ["accuracy"], "adam")
        model.train_on_batch(np.ones((2, 5)), np.array([0, 1]))  # plans the fused step
        with pytest.raises((ValueError, TypeError)) as err:
            model.train_on_batch(x, y)
        return type(err.value), str(err.value)

    fused = message()
    _per_layer(monkeypatch)
    assert fused == message()


def _layer(kernel, bias=None, **kw):
    return {
        "kernel": kernel,
        "kernel_slots": kw.get("slots", []),
        "kernel_penalty": None,
        "bias": bias,
        "bias_slots": [],
        "bias_penalty": None,
        "activation": kw.get("activation", "relu"),
        "dropout": kw.get("dropout", 0.0),
    }


@pytest.mark.parametrize(
    "layers_, loss, opt, message",
    [
        ([], "mean_squared_error", {"name": "sgd"}, "layers"),
        (
            [_layer(np.ones((2, 3), np.float32)), _layer(np.ones((4, 1), np.float32))],
            "mean_squared_error",
            {"name": "sgd"},
            "kernel: expected 3 rows",
        ),
        ([_layer(np.ones((2, 3)))], "mean_squared_error", {"name": "sgd"}, "kernel"),
        (
            [_layer(np.ones((2, 3), np.float32))],
            "mean_squared_error",
            {"name": "adam"},
            "kernel slots: expected 2",
        ),
        (
            [_layer(np.ones((2, 3), np.float32), activation="gelu")],
            "mean_squared_error",
            {"name": "sgd"},
            "activation",
        ),
        (
            [_layer(np.ones((2, 3), np.float32), dropout=1.0)],
            "mean_squared_error",
            {"name": "sgd"},
            "dropout",
        ),
        ([_layer(np.ones((2, 3), np.float32))], "hinge", {"name": "sgd"}, "loss"),
        (
            [_layer(np.ones((2, 3), np.float32))],
            "mean_squared_error",
            {"name": "adamw"},
            "optimizer name",
        ),
        (
            [_layer(np.ones((2, 3), np.float32))],
            "mean_squared_error",
            {"name": "sgd", "momentum": 1.5},
            "momentum",
        ),
    ],
)
def test_dense_stack_rejects_bad_construction(layers_, loss, opt, message):
    with pytest.raises((ValueError, TypeError), match=message):
        _cpu.DenseStack(layers_, loss, opt, [])


def test_dense_stack_step_checks_its_arguments():
    w = np.ones((2, 3), np.float32)
    stack = _cpu.DenseStack(
        [_layer(w, dropout=0.0), _layer(np.ones((3, 2), np.float32))],
        "sparse_softmax_cross_entropy",
        {"name": "sgd"},
        [],
    )
    with pytest.raises(ValueError, match=r"x: expected \(n, 2\)"):
        stack.step(np.ones((4, 3)), np.zeros(4), 0.1, 1)
    with pytest.raises(ValueError, match="y: value 2 out of range"):
        stack.step(np.ones((4, 2)), np.array([0, 1, 2, 0]), 0.1, 1)
    with pytest.raises(ValueError, match=r"y: expected labels of shape \(4,\)"):
        stack.step(np.ones((4, 2)), np.zeros(3), 0.1, 1)
    with pytest.raises(ValueError, match="seeds: expected 0 seeds"):
        stack.step(np.ones((4, 2)), np.zeros(4), 0.1, 1, [5])
    with pytest.raises(ValueError, match="step"):
        stack.step(np.ones((4, 2)), np.zeros(4), 0.1, 0)
    with pytest.raises(ValueError, match="output: no step"):
        stack.output()


def _mse_model():
    return _model("mse", "linear", ["mae"], "adam", regularize=False, dropout=0.0)


def test_repeated_batches_still_check_what_changes():
    """train_on_batch skips its conversions for a batch like the last one (see Trainer._batch);
    a batch that differs in any checked way must still be converted or refused."""
    model = _mse_model()
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 5)).astype(np.float32)
    y = rng.standard_normal((6, 3)).astype(np.float32)
    for _ in range(3):
        model.train_on_batch(x, y)
    with pytest.raises(ValueError, match="expects shape"):
        model.train_on_batch(x[:, :4], y)
    with pytest.raises(ValueError, match="do not match"):
        model.train_on_batch(x, y[:, :2])
    with pytest.raises(ValueError, match="cardinality"):
        model.train_on_batch(x, y[:5])
    with pytest.raises(ValueError, match="numeric"):
        model.train_on_batch(x.astype(str), y)
    # Other dtypes and layouts are converted, not reinterpreted: they give the same step as the
    # C-contiguous float32 arrays.
    twin_a, twin_b = _twin(_mse_model)
    wide = np.repeat(x, 2, axis=1)
    layouts = [
        (x, y),
        (x.astype(np.float64), y.astype(np.float64)),
        (np.asfortranarray(x), np.asfortranarray(y)),
        (wide[:, ::2], y),
    ]
    for batch in layouts:
        a = twin_a.train_on_batch(x, y)
        b = twin_b.train_on_batch(*batch)
        np.testing.assert_array_equal(a, b)


def test_replaced_weights_and_trainable_take_effect_between_batches():
    model = _mse_model()
    rng = np.random.default_rng(6)
    x = rng.standard_normal((6, 5)).astype(np.float32)
    y = rng.standard_normal((6, 3)).astype(np.float32)
    model.train_on_batch(x, y)
    model.train_on_batch(x, y)  # a planned step, batch taken as is
    first = model.layers[0]
    first.kernel.value = first.kernel.value.copy()  # a new array: the step must train this one
    replaced = first.kernel.value.copy()
    model.train_on_batch(x, y)
    assert not np.array_equal(first.kernel.value, replaced)
    first.trainable = False  # as Keras: takes effect at the next train_on_batch
    frozen = first.kernel.value.copy()
    model.train_on_batch(x, y)
    np.testing.assert_array_equal(first.kernel.value, frozen)
