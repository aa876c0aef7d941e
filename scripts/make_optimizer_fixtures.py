"""Freezes how TF-Keras's optimizers update weights into tests/data/keras_fixtures/updates/,
which tests/keras/test_optimizer_fixtures.py holds shendu.keras.optimizers to:

- ``<optimizer>.npz``: a small Dense model trained 3 train_on_batch steps with each optimizer,
  plain and with clipnorm / weight_decay (Adam also with global_clipnorm, clipvalue, a schedule,
  use_ema, weight decay excluding the biases, and a fit whose end writes the EMA weights in):
  the weights after each step and the optimizer's variables after the last, in Keras's order.
- ``embedding_optimizers.npz``: an Embedding trained on batches with repeated ids by every
  optimizer and by Adam with each clipping, where TensorFlow's sparse gradients matter.
- ``schedules.npz``: each learning-rate schedule's values over its first steps.

Each variant records the optimizer as ``keras.optimizers.serialize`` gives it (JSON), so the
tests also read TF-Keras's configs. Needs TensorFlow; from the repository root, with the Python of
an environment that has it:

    python scripts/make_optimizer_fixtures.py
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

keras = tf.keras
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "keras_fixtures", "updates")

LR = 0.05
OPTIMIZERS = {
    "sgd": lambda **kw: keras.optimizers.SGD(LR, momentum=0.9, **kw),
    "adam": lambda **kw: keras.optimizers.Adam(**{"learning_rate": LR, **kw}),
    "adamw": lambda **kw: keras.optimizers.AdamW(LR, **{"weight_decay": 0.1, **kw}),
    "rmsprop": lambda **kw: keras.optimizers.RMSprop(LR, **kw),
    "nadam": lambda **kw: keras.optimizers.Nadam(LR, **kw),
    "adamax": lambda **kw: keras.optimizers.Adamax(LR, **kw),
    "adagrad": lambda **kw: keras.optimizers.Adagrad(LR, **kw),
    "adadelta": lambda **kw: keras.optimizers.Adadelta(1.0, **kw),
    "lion": lambda **kw: keras.optimizers.Lion(0.01, **kw),
    "ftrl": lambda **kw: keras.optimizers.Ftrl(
        LR, l1_regularization_strength=0.01, l2_regularization_strength=0.02, beta=0.1, **kw
    ),
}
VARIANTS = {"plain": {}, "clipnorm": {"clipnorm": 0.1}, "weight_decay": {"weight_decay": 0.1}}
ADAM_VARIANTS = {
    "global_clipnorm": {"global_clipnorm": 0.1},
    "clipvalue": {"clipvalue": 0.01},
    "schedule": {"learning_rate": keras.optimizers.schedules.ExponentialDecay(LR, 1, 0.5)},
    "ema": {"use_ema": True, "ema_momentum": 0.5, "ema_overwrite_frequency": 2},
    "exclude_bias": {"weight_decay": 0.1},  # with exclude_from_weight_decay(var_names=["bias"])
}
SCHEDULES = {
    "exponential": keras.optimizers.schedules.ExponentialDecay(0.1, 7, 0.5),
    "exponential_staircase": keras.optimizers.schedules.ExponentialDecay(0.1, 7, 0.5, True),
    "piecewise": keras.optimizers.schedules.PiecewiseConstantDecay([5, 12], [0.1, 0.05, 0.01]),
    "polynomial": keras.optimizers.schedules.PolynomialDecay(0.1, 20, 0.001, power=2.0),
    "polynomial_cycle": keras.optimizers.schedules.PolynomialDecay(0.1, 9, 0.001, cycle=True),
    "inverse_time": keras.optimizers.schedules.InverseTimeDecay(0.1, 5, 0.5),
    "inverse_time_staircase": keras.optimizers.schedules.InverseTimeDecay(0.1, 5, 0.5, True),
    "cosine": keras.optimizers.schedules.CosineDecay(0.1, 20, alpha=0.1),
    "cosine_warmup": keras.optimizers.schedules.CosineDecay(
        0.0, 20, alpha=0.1, warmup_target=0.2, warmup_steps=10
    ),
    "cosine_restarts": keras.optimizers.schedules.CosineDecayRestarts(0.1, 6, m_mul=0.8),
    "cosine_restarts_t1": keras.optimizers.schedules.CosineDecayRestarts(0.1, 6, t_mul=1.0),
}


def _dense_model(weights):
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, activation="tanh"), keras.layers.Dense(2)]
    )
    model.set_weights(weights)
    return model


def _record(prefix, model, optimizer, xs, ys, data, exclude=False, fit=False):
    if exclude:
        optimizer.exclude_from_weight_decay(var_names=["bias"])
    data[f"{prefix}_config"] = json.dumps(keras.optimizers.serialize(optimizer))
    model.compile(optimizer=optimizer, loss="mse")
    if fit:
        model.fit(
            np.concatenate(xs), np.concatenate(ys), batch_size=len(xs[0]), shuffle=False, verbose=0
        )
        for i, w in enumerate(model.get_weights()):
            data[f"{prefix}_final_w{i}"] = w
        return
    for step, (x, y) in enumerate(zip(xs, ys)):
        model.train_on_batch(x, y)
        for i, w in enumerate(model.get_weights()):
            data[f"{prefix}_step{step}_w{i}"] = w
    for i, v in enumerate(optimizer.variables):
        data[f"{prefix}_var{i}"] = v.numpy()
    data[f"{prefix}_var_names"] = json.dumps([v.name for v in optimizer.variables])


def dense_fixtures():
    rng = np.random.default_rng(1)
    weights = [
        rng.uniform(-1, 1, (4, 3)).astype(np.float32),
        rng.uniform(-0.5, 0.5, (3,)).astype(np.float32),
        rng.uniform(-1, 1, (3, 2)).astype(np.float32),
        rng.uniform(-0.5, 0.5, (2,)).astype(np.float32),
    ]
    xs = [rng.standard_normal((5, 4)).astype(np.float32) for _ in range(3)]
    ys = [rng.standard_normal((5, 2)).astype(np.float32) for _ in range(3)]
    for name, make in OPTIMIZERS.items():
        data = {"x": np.stack(xs), "y": np.stack(ys)}
        data.update({f"w{i}": w for i, w in enumerate(weights)})
        variants = dict(VARIANTS, **(ADAM_VARIANTS if name == "adam" else {}))
        for variant, kwargs in variants.items():
            _record(
                variant,
                _dense_model(weights),
                make(**kwargs),
                xs,
                ys,
                data,
                exclude=variant == "exclude_bias",
            )
        if name == "adam":
            _record(
                "fit_ema",
                _dense_model(weights),
                make(**ADAM_VARIANTS["ema"]),
                xs,
                ys,
                data,
                fit=True,
            )
        np.savez_compressed(os.path.join(OUT, f"{name}.npz"), **data)
        print(f"wrote updates/{name}.npz ({len(variants)} variants)")


VOCAB, DIM, LENGTH = 5, 2, 3
IDS = np.array([[[1, 1, 2]], [[3, 3, 3]], [[1, 2, 3]]], np.int32)
TARGETS = np.array([[[1.0]], [[-1.0]], [[0.5]]], np.float32)


def embedding_fixtures():
    rng = np.random.default_rng(0)
    weights = [
        rng.uniform(-1, 1, (VOCAB, DIM)).astype(np.float32),
        rng.uniform(-1, 1, (LENGTH * DIM, 1)).astype(np.float32),
    ]
    data = {"embeddings": weights[0], "kernel": weights[1], "ids": IDS, "targets": TARGETS}
    cases = {name: (make, {}) for name, make in OPTIMIZERS.items()}
    for clip in ({"clipnorm": 0.1}, {"global_clipnorm": 0.1}, {"clipvalue": 0.01}):
        cases[f"adam_{next(iter(clip))}"] = (OPTIMIZERS["adam"], clip)
        cases[f"adagrad_{next(iter(clip))}"] = (OPTIMIZERS["adagrad"], clip)
    for name, (make, kwargs) in cases.items():
        model = keras.Sequential(
            [
                keras.Input((LENGTH,), dtype="int32"),
                keras.layers.Embedding(VOCAB, DIM),
                keras.layers.Flatten(),
                keras.layers.Dense(1, use_bias=False),
            ]
        )
        model.set_weights(weights)
        _record(name, model, make(**kwargs), list(IDS), list(TARGETS), data)
    np.savez_compressed(os.path.join(OUT, "embedding_optimizers.npz"), **data)
    print(f"wrote updates/embedding_optimizers.npz ({len(cases)} cases)")


def schedule_fixtures():
    data = {}
    steps = np.arange(41)
    for name, schedule in SCHEDULES.items():
        data[f"{name}_config"] = json.dumps(keras.optimizers.schedules.serialize(schedule))
        data[f"{name}_values"] = np.array([float(schedule(s)) for s in steps], np.float32)
    np.savez_compressed(os.path.join(OUT, "schedules.npz"), steps=steps, **data)
    print(f"wrote updates/schedules.npz ({len(SCHEDULES)} schedules)")


if __name__ == "__main__":
    dense_fixtures()
    embedding_fixtures()
    schedule_fixtures()
