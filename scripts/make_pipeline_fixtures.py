"""Freezes TensorFlow-Keras's answers for the input-pipeline features into
tests/data/keras_fixtures/pipeline/*.npz, which tests/keras/test_sample_weights_vs_tf.py and
tests/data_pipeline/test_keras_utils_vs_tf.py hold shendu to:

- weights.npz: weighted loss values (every loss, from probabilities and from logits,
  2-D and 3-D outputs), one train_on_batch step with sample_weight and one with class_weight,
  an epoch of fit with class_weight, and evaluate with weighted_metrics;
- timeseries.npz: timeseries_dataset_from_array's batches for a few settings;
- directories.npz: text_ and image_dataset_from_directory on the folders that
  tests/helpers/pipeline_cases.py writes (file order, labels, class names, pixels).

Needs TensorFlow. Run from the repository root with the Python of an environment that has it:

    python scripts/make_pipeline_fixtures.py
"""

from __future__ import annotations

import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.helpers import pipeline_cases  # noqa: E402
from tests.helpers.pipeline_cases import LOSSES, TIMESERIES, loss_case, timeseries_data  # noqa: E402

keras = tf.keras
OUT = os.path.join(ROOT, "tests", "data", "keras_fixtures", "pipeline")


def weights_fixture():
    out = {}
    for name, cls, kwargs, shape, kind in LOSSES:
        y_true, y_pred, w = loss_case(name, shape, kind, kwargs.get("from_logits", False))
        loss = getattr(keras.losses, cls)(**kwargs)
        out[f"loss_{name}"] = np.float32(loss(y_true, y_pred, sample_weight=w))
        out[f"loss_{name}_unweighted"] = np.float32(loss(y_true, y_pred))

    rng = np.random.default_rng(5)
    x = rng.standard_normal((10, 4)).astype(np.float32)
    y = rng.integers(0, 3, 10)
    sw = rng.uniform(0, 2, 10).astype(np.float32)
    kernel = rng.standard_normal((4, 3)).astype(np.float32) * 0.5
    bias = np.array([0.1, -0.2, 0.05], np.float32)
    class_weight = {0: 0.5, 1: 2.0, 2: 1.5}
    out.update(
        x=x, y=y, sw=sw, kernel=kernel, bias=bias, cw_keys=[0, 1, 2], cw_values=[0.5, 2, 1.5]
    )

    def model(metrics=None, weighted=None):
        m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
        m.set_weights([kernel, bias])
        m.compile(
            keras.optimizers.SGD(0.1),
            "sparse_categorical_crossentropy",
            metrics=metrics,
            weighted_metrics=weighted,
        )
        return m

    for tag, kwargs in (("sw", {"sample_weight": sw}), ("cw", {"class_weight": class_weight})):
        m = model()
        out[f"step_{tag}_loss"] = np.float32(m.train_on_batch(x, y, **kwargs))
        out[f"step_{tag}_kernel"], out[f"step_{tag}_bias"] = m.get_weights()
    m = model()
    hist = m.fit(x, y, batch_size=4, epochs=2, class_weight=class_weight, shuffle=False, verbose=0)
    out["fit_cw_loss"] = np.float32(hist.history["loss"])
    out["fit_cw_kernel"] = m.get_weights()[0]
    m = model(["accuracy"], ["accuracy"])
    logs = m.evaluate(x, y, sample_weight=sw, batch_size=4, return_dict=True, verbose=0)
    out["eval_names"] = np.array(sorted(logs))
    out["eval_values"] = np.float32([logs[k] for k in sorted(logs)])
    np.savez_compressed(os.path.join(OUT, "weights.npz"), **out)


def timeseries_fixture():
    data, targets = timeseries_data()
    out = {}
    for name, kwargs in TIMESERIES:
        for with_targets in (True, False):
            ds = keras.utils.timeseries_dataset_from_array(
                data, targets if with_targets else None, **kwargs
            )
            tag = f"{name}_{'xy' if with_targets else 'x'}"
            batches = [b if with_targets else (b,) for b in ds.as_numpy_iterator()]
            out[f"{tag}_count"] = len(batches)
            out[f"{tag}_x"] = np.concatenate(
                [np.reshape(b[0], (-1,) + b[0].shape[-2:]) for b in batches]
            )
            out[f"{tag}_sizes"] = [len(b[0]) if kwargs["batch_size"] else 1 for b in batches]
            if with_targets:
                out[f"{tag}_y"] = np.concatenate([np.reshape(b[1], (-1,)) for b in batches])
    np.savez_compressed(os.path.join(OUT, "timeseries.npz"), **out)


def directories_fixture():
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        text = pipeline_cases.write_text_folder(os.path.join(tmp, "text"))
        ds = keras.utils.text_dataset_from_directory(
            text, shuffle=False, batch_size=4, verbose=False
        )
        texts, labels = zip(*[(t, y) for tb, yb in ds.as_numpy_iterator() for t, y in zip(tb, yb)])
        out["text_contents"] = np.array([t.decode() for t in texts])
        out["text_labels"] = np.array(labels)
        out["text_class_names"] = np.array(ds.class_names)
        ds = keras.utils.text_dataset_from_directory(
            text,
            label_mode="categorical",
            shuffle=False,
            max_length=7,
            batch_size=None,
            verbose=False,
        )
        out["text_short"] = np.array([t.decode() for t, _ in ds.as_numpy_iterator()])
        out["text_onehot"] = np.array([y for _, y in ds.as_numpy_iterator()])
        ds = keras.utils.text_dataset_from_directory(
            text, label_mode="binary", class_names=["dogs", "cats"], shuffle=False, verbose=False
        )
        ((tb, yb),) = list(ds.as_numpy_iterator())
        out["text_binary_contents"] = np.array([t.decode() for t in tb])
        out["text_binary_labels"] = yb
        train, val = keras.utils.text_dataset_from_directory(
            text, validation_split=0.3, subset="both", seed=7, verbose=False
        )
        for tag, part in (("train", train), ("val", val)):
            pairs = sorted(
                (t.decode(), int(y)) for tb, yb in part.as_numpy_iterator() for t, y in zip(tb, yb)
            )
            out[f"text_{tag}_contents"] = np.array([p[0] for p in pairs])
            out[f"text_{tag}_labels"] = np.array([p[1] for p in pairs])

        images = pipeline_cases.write_image_folder(os.path.join(tmp, "images"))
        for tag, kwargs in (
            ("same", dict(image_size=(6, 8))),
            ("bilinear", dict(image_size=(4, 5))),
            ("up", dict(image_size=(9, 11))),
            ("nearest", dict(image_size=(4, 5), interpolation="nearest")),
            ("crop", dict(image_size=(4, 4), crop_to_aspect_ratio=True)),
        ):
            ds = keras.utils.image_dataset_from_directory(
                images, shuffle=False, batch_size=5, verbose=False, **kwargs
            )
            batches = list(ds.as_numpy_iterator())
            out[f"image_{tag}_x"] = np.concatenate([b[0] for b in batches])
            out[f"image_{tag}_y"] = np.concatenate([b[1] for b in batches])
        out["image_class_names"] = np.array(ds.class_names)
    np.savez_compressed(os.path.join(OUT, "directories.npz"), **out)


if __name__ == "__main__":
    weights_fixture()
    timeseries_fixture()
    directories_fixture()
    print("wrote weights.npz, timeseries.npz, directories.npz")
