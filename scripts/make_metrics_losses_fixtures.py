"""Freezes TensorFlow-Keras's answers for the losses, metrics and ReduceLROnPlateau decisions in
tests/helpers/metrics_losses_cases.py into
tests/data/keras_fixtures/training_options/metrics_losses.npz, which
tests/keras/test_metrics_losses.py holds shendu.keras to.

Needs TensorFlow (not in CI, hence the committed fixture). Run from the repository root:

    PYTHONPATH=python python scripts/make_metrics_losses_fixtures.py

Per loss: the data, the loss (default reduction) and its gradient w.r.t. y_pred, the per-sample
values (reduction None) and the "sum" reduction. Per metric: the data of two updates (the second
with sample weights where the case says so) and the result after each. Per ReduceLROnPlateau
case: the learning rate after each epoch's end. Also the default log names of metric classes.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.helpers.metrics_losses_cases import (  # noqa: E402
    FIXTURE,
    LOSSES,
    METRICS,
    NAMED_METRICS,
    PLATEAU,
    make_data,
    sample_weight,
)

keras = tf.keras


def losses(out):
    for i, (name, (build, kind)) in enumerate(LOSSES.items()):
        y_true, y_pred = make_data(kind, seed=i)
        pred = tf.Variable(y_pred)
        with tf.GradientTape() as tape:
            value = build(keras)(y_true, pred)
        out[f"loss/{name}/y_true"] = y_true
        out[f"loss/{name}/y_pred"] = y_pred
        out[f"loss/{name}/value"] = value.numpy()
        out[f"loss/{name}/grad"] = tape.gradient(value, pred).numpy()
        out[f"loss/{name}/none"] = build(keras, reduction=None)(y_true, y_pred).numpy()
        out[f"loss/{name}/sum"] = build(keras, reduction="sum")(y_true, y_pred).numpy()


def metrics(out):
    for i, (name, (build, kind, weighted)) in enumerate(METRICS.items()):
        metric = build(keras)
        for step in range(2):
            a, b = make_data(kind, seed=100 + 2 * i + step)
            weight = sample_weight(len(a), seed=200 + i) if weighted and step == 1 else None
            args = (a,) if b is None else (a, b)
            metric.update_state(*args, sample_weight=weight)
            out[f"metric/{name}/{step}/a"] = a
            if b is not None:
                out[f"metric/{name}/{step}/b"] = b
            if weight is not None:
                out[f"metric/{name}/{step}/weight"] = weight
            out[f"metric/{name}/{step}/result"] = np.asarray(metric.result())
    out["names/classes"] = np.asarray(NAMED_METRICS)
    names = []
    for cls in NAMED_METRICS:
        keras.backend.clear_session()  # else Keras numbers repeated names: precision_1, ...
        names.append(getattr(keras.metrics, cls)().name)
    out["names/names"] = np.asarray(names)


def plateau(out):
    for name, (kwargs, values) in PLATEAU.items():
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0), loss="mse")
        callback = keras.callbacks.ReduceLROnPlateau(**kwargs)
        callback.set_model(model)
        callback.on_train_begin()
        lrs = []
        for epoch, value in enumerate(values):
            callback.on_epoch_end(epoch, {kwargs["monitor"]: value})
            lrs.append(float(model.optimizer.learning_rate.numpy()))
        out[f"plateau/{name}/lr"] = np.asarray(lrs)


def main():
    out = {}
    losses(out)
    metrics(out)
    plateau(out)
    np.savez_compressed(FIXTURE, **out)
    print(f"wrote {FIXTURE} ({os.path.getsize(FIXTURE)} bytes, {len(out)} arrays)")


if __name__ == "__main__":
    main()
