"""Freezes model files in both directions between Keras 3 and shendu into tests/data/keras3_files/,
which tests/keras/test_keras3_files.py holds shendu to. The models are those of
tests/helpers/keras3_cases.py, one per layer family.

Per case ``<name>``:

- ``keras_<name>.keras`` / ``keras_<name>.weights.h5``: written by Keras 3 after one training
  step (so the archive holds the compile config and the optimizer's variables);
- ``shendu_<name>.keras``: written by shendu from the same seeded weights;
- ``<name>.npz``: the input (x0, x1, ...), Keras's predictions of its own model
  (``keras_pred``), the optimizer's step count, and Keras's predictions after loading
  shendu's file (``keras_pred_of_shendu_file``).

Needs TensorFlow (Keras 3) and shendu importable. Run from the repository root:

    PYTHONPATH=python python scripts/make_keras3_files.py
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from shendu import keras as shendu_keras  # noqa: E402

from tests.helpers.keras3_cases import CASES, FILES, inputs, targets, weights  # noqa: E402


def listify(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def fresh(k, name):
    case = CASES[name]
    model = case["build"](k)
    shapes = [w.shape for w in model.get_weights()]
    model.set_weights(weights(shapes, sorted(CASES).index(name)))
    if case["compile"]:
        model.compile(**case["compile"])
    return model


def make(name):
    case = CASES[name]
    x = inputs(name)
    data = {f"x{i}": xi for i, xi in enumerate(listify(x))}

    model = fresh(keras, name)
    if case["compile"]:
        model.train_on_batch(x, targets(name))
        data["iterations"] = np.int64(model.optimizer.iterations.numpy())
    data["keras_pred"] = model.predict(x, verbose=0)
    model.save(os.path.join(FILES, f"keras_{name}.keras"))
    model.save_weights(os.path.join(FILES, f"keras_{name}.weights.h5"))

    shendu_path = os.path.join(FILES, f"shendu_{name}.keras")
    fresh(shendu_keras, name).save(shendu_path)
    loaded = keras.saving.load_model(shendu_path)
    data["keras_pred_of_shendu_file"] = loaded.predict(x, verbose=0)
    np.savez_compressed(os.path.join(FILES, f"{name}.npz"), **data)


def main(names):
    os.makedirs(FILES, exist_ok=True)
    for name in names or sorted(CASES):
        make(name)
        print(f"{name}: written")


if __name__ == "__main__":
    main(sys.argv[1:])
