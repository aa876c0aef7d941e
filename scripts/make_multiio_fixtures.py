"""Writes tests/data/keras_fixtures/multiio/*.npz from TensorFlow-Keras, which
tests/keras/test_multi_io.py holds shendu.keras to (models of tests/helpers/multi_io_cases.py,
seeded synthetic weights copied by layer name):

- tickets_dict / tickets_list: the two-input, two-output ticket model compiled with losses,
  loss weights and metrics given as dicts / lists (and weighted metrics with per-output sample
  weights), then fit, evaluate, predict and train_on_batch: every log by name, the weights.
- features: feature-extraction models cut from a CNN's graph, and their outputs.
- fine_tune: a new head on that CNN frozen inside it (BatchNormalization included): one
  train_on_batch, the logs and every weight after it.

Run with a TensorFlow 2.x / Keras 3 environment, from the repository root:
    python scripts/make_multiio_fixtures.py
"""

import os
import sys

sys.path[:0] = [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]

import numpy as np  # noqa: E402
from tensorflow import keras  # noqa: E402

from tests.helpers import multi_io_cases as cases  # noqa: E402


def _logs(prefix, logs) -> dict:
    return {f"{prefix}/{k}": np.asarray(v, np.float64) for k, v in logs.items()}


def _weights(prefix, model) -> dict:
    return {f"{prefix}/{k}": v for k, v in cases.layer_weights(model).items()}


def tickets(name, compile_args, fit_args):
    x, y = cases.ticket_data()
    model = cases.ticket_model(keras)
    initial = cases.seeded_weights(model, 1)
    cases.set_layer_weights(model, initial)
    model.compile(optimizer=keras.optimizers.Adam(0.01), **compile_args)
    xs, ys = fit_args.pop("x"), fit_args.pop("y")
    history = model.fit(xs(x), ys(y), batch_size=16, shuffle=False, verbose=0, **fit_args)
    data = _weights("fit", model)
    data.update({f"initial/{k}": v for k, v in initial.items()})
    for key, values in history.history.items():
        data[f"history/{key}"] = np.asarray(values, np.float64)
    data.update(_logs("evaluate", model.evaluate(xs(x), ys(y), verbose=0, return_dict=True)))
    data["evaluate_list"] = np.asarray(model.evaluate(xs(x), ys(y), verbose=0), np.float64)
    for i, out in enumerate(model.predict(xs(x), verbose=0)):
        data[f"predict/{i}"] = out
    batch = {k: v[:16] for k, v in x.items()}, {k: v[:16] for k, v in y.items()}
    data.update(
        _logs("train_on_batch", model.train_on_batch(xs(batch[0]), ys(batch[1]), return_dict=True))
    )
    data.update(_weights("weights_after_batch", model))
    np.savez_compressed(os.path.join(cases.MULTIIO_FIXTURES, f"{name}.npz"), **data)


def features():
    base = cases.conv_base(keras)
    weights = cases.seeded_weights(base, 2)
    cases.set_layer_weights(base, weights)
    image = np.random.default_rng(3).normal(size=(5, 8, 8, 3)).astype(np.float32)
    conv2 = keras.Model(inputs=base.input, outputs=base.get_layer("conv2").output)
    several = keras.Model(inputs=base.inputs, outputs=[layer.output for layer in base.layers[1:4]])
    data = {f"weights/{k}": v for k, v in weights.items()}
    data["image"] = image
    data["conv2"] = conv2.predict(image, verbose=0)
    for i, out in enumerate(several.predict(image, verbose=0)):
        data[f"several/{i}"] = out
    np.savez_compressed(os.path.join(cases.MULTIIO_FIXTURES, "features.npz"), **data)


def fine_tune():
    base = cases.conv_base(keras)
    model = cases.fine_tune_model(keras, base)
    weights = cases.seeded_weights(model, 4)
    cases.set_layer_weights(model, weights)
    rng = np.random.default_rng(5)
    image = rng.normal(size=(6, 8, 8, 3)).astype(np.float32)
    label = rng.integers(0, 3, 6).astype(np.int32)
    model.compile(
        keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    data = {f"initial/{k}": v for k, v in weights.items()}
    data.update(image=image, label=label, predict=model.predict(image, verbose=0))
    data["n_trainable"] = np.int64(len(model.trainable_weights))
    data.update(_logs("train_on_batch", model.train_on_batch(image, label, return_dict=True)))
    data.update(_weights("after", model))
    np.savez_compressed(os.path.join(cases.MULTIIO_FIXTURES, "fine_tune.npz"), **data)


def _as_list(d):
    return [d["title"], d["tags"]] if "title" in d else [d["priority"], d["department"]]


def main():
    os.makedirs(cases.MULTIIO_FIXTURES, exist_ok=True)
    tickets(
        "tickets_dict",
        {
            "loss": {"priority": "mse", "department": "sparse_categorical_crossentropy"},
            "loss_weights": {"priority": 1.0, "department": 0.2},
            "metrics": {"priority": ["mae"], "department": ["accuracy"]},
        },
        {"x": dict, "y": dict, "epochs": 2},
    )
    sw = np.linspace(0.2, 2.0, 40).astype(np.float32)
    tickets(
        "tickets_list",
        {
            "loss": ["binary_crossentropy", "sparse_categorical_crossentropy"],
            "loss_weights": [0.5, 1.0],
            "metrics": [["mae"], ["accuracy"]],
            "weighted_metrics": {"department": ["accuracy"]},
        },
        {"x": _as_list, "y": _as_list, "epochs": 1, "sample_weight": [sw, sw[::-1].copy()]},
    )
    features()
    fine_tune()


if __name__ == "__main__":
    main()
