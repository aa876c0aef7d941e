"""Every optimizer and option held to TF-Keras by frozen fixtures (scripts/make_optimizer_fixtures.py):
three steps on a small Dense model, plain and with clipnorm / weight_decay (Adam also with
global_clipnorm, clipvalue, a schedule, use_ema, excluded biases and an EMA fit), an Embedding on
repeated ids, and the schedules' values. The optimizers are built from TF-Keras's own configs."""

import json
import os

import numpy as np
import pytest
from shendu import keras
from shendu.keras import optimizer_state

HERE = os.path.join(os.path.dirname(__file__), "..", "data", "keras_fixtures", "updates")
NAMES = [
    "sgd",
    "adam",
    "adamw",
    "rmsprop",
    "nadam",
    "adamax",
    "adagrad",
    "adadelta",
    "lion",
    "ftrl",
]
# Float32 updates in TF's order; reductions (gradients, norms) add in another order.
TOL = dict(rtol=2e-5, atol=2e-6)


def _load(name):
    return np.load(os.path.join(HERE, f"{name}.npz"))


def _variants(d):
    return sorted(k[: -len("_config")] for k in d.files if k.endswith("_config"))


def _optimizer(d, variant):
    return keras.optimizers.deserialize(json.loads(str(d[f"{variant}_config"])))


def _dense_model(d, optimizer):
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, activation="tanh"), keras.layers.Dense(2)]
    )
    model.set_weights([d[f"w{i}"] for i in range(4)])
    model.compile(optimizer=optimizer, loss="mse")
    return model


CASES = [(n, v) for n in NAMES for v in _variants(_load(n)) if v != "fit_ema"]


@pytest.mark.parametrize("name, variant", CASES)
def test_three_steps_match_tf_keras(name, variant):
    d = _load(name)
    optimizer = _optimizer(d, variant)
    if variant == "exclude_bias":
        optimizer.exclude_from_weight_decay(var_names=["bias"])
    model = _dense_model(d, optimizer)
    for step in range(3):
        model.train_on_batch(d["x"][step], d["y"][step])
        for i, w in enumerate(model.get_weights()):
            np.testing.assert_allclose(w, d[f"{variant}_step{step}_w{i}"], **TOL, err_msg=f"{step}")
    # The optimizer's variables in Keras's order (what .keras files hold).
    ours = optimizer_state.variables_of(model)
    theirs = [
        d[f"{variant}_var{i}"] for i in range(len(json.loads(str(d[f"{variant}_var_names"]))))
    ]
    assert [np.shape(v) for v in ours] == [np.shape(v) for v in theirs]
    for i, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(a, b, **TOL, err_msg=f"variable {i}")


def test_fixtures_can_fail():
    # Each option changes the result: a test ignoring it would not pass.
    d = _load("adam")
    plain = d["plain_step2_w0"]
    for variant in ("clipnorm", "weight_decay", "global_clipnorm", "clipvalue", "schedule", "ema"):
        assert np.abs(d[f"{variant}_step2_w0"] - plain).max() > 1e-3, variant
    assert np.abs(d["exclude_bias_step2_w1"] - d["weight_decay_step2_w1"]).max() > 1e-4


def test_fit_writes_the_moving_average_in_at_its_end():
    d = _load("adam")
    model = _dense_model(d, _optimizer(d, "fit_ema"))
    model.fit(
        np.concatenate(d["x"]), np.concatenate(d["y"]), batch_size=5, shuffle=False, verbose=0
    )
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, d[f"fit_ema_final_w{i}"], **TOL)


EMBEDDING = _load("embedding_optimizers")


def _embedding_model(d, optimizer):
    vocab, dim = d["embeddings"].shape
    model = keras.Sequential(
        [
            keras.Input((d["ids"].shape[-1],), dtype="int32"),
            keras.layers.Embedding(vocab, dim),
            keras.layers.Flatten(),
            keras.layers.Dense(1, use_bias=False),
        ]
    )
    model.set_weights([d["embeddings"], d["kernel"]])
    model.compile(optimizer=optimizer, loss="mse")
    return model


@pytest.mark.parametrize("case", _variants(EMBEDDING))
def test_embedding_repeated_ids_match_tf_keras(case):
    d = EMBEDDING
    model = _embedding_model(d, _optimizer(d, case))
    for step, (x, y) in enumerate(zip(d["ids"], d["targets"])):
        model.train_on_batch(x, y)
        for i, w in enumerate(model.get_weights()):
            np.testing.assert_allclose(w, d[f"{case}_step{step}_w{i}"], **TOL, err_msg=f"{step}")


SCHEDULES = _load("schedules")


@pytest.mark.parametrize("name", _variants(SCHEDULES))
def test_schedule_values_match_tf_keras(name):
    d = SCHEDULES
    config = json.loads(str(d[f"{name}_config"]))
    schedule = keras.optimizers.schedules.deserialize(config)
    got = np.array([schedule(int(s)) for s in d["steps"]], np.float32)
    np.testing.assert_allclose(got, d[f"{name}_values"], rtol=1e-5, atol=1e-7)
    assert keras.optimizers.schedules.serialize(schedule) == config


def _fused(d, optimizer) -> bool:
    """Whether a step of the Dense model with this optimizer ran on the native dense stack."""
    model = _dense_model(d, optimizer)
    model.train_on_batch(d["x"][0], d["y"][0])
    return model._fused_step is not None


def test_dense_stack_declines_what_it_does_not_implement():
    d = _load("adam")
    assert _fused(d, keras.optimizers.Adam())
    for kwargs in ({"clipnorm": 1.0}, {"weight_decay": 0.1}, {"use_ema": True}):
        assert not _fused(d, keras.optimizers.Adam(**kwargs)), kwargs
    for opt in (keras.optimizers.AdamW(), keras.optimizers.Nadam(), keras.optimizers.Lion()):
        assert not _fused(d, opt)
    schedule = keras.optimizers.schedules.ExponentialDecay(0.05, 1, 0.5)
    assert _fused(d, keras.optimizers.Adam(schedule))
