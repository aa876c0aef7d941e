"""Freezes model files in both directions between Keras 3 and shendu into tests/data/keras3_files/,
which tests/keras/test_keras3_files.py holds shendu to. The models are those of
tests/helpers/keras3_cases.py, one per layer family.

Per case ``<name>``:

- ``keras_<name>.keras`` / ``keras_<name>.weights.h5``: written by Keras 3 after one training
  step (so the archive holds the compile config and the optimizer's variables);
- ``shendu_<name>.keras`` / ``shendu_<name>.weights.h5``: written by shendu from the same
  seeded weights (and checked here: after one step of shendu's training, Keras restores the
  loss, the metrics, the optimizer and all its variables from shendu's file);
- ``<name>.npz``: the input (x0, x1, ...), Keras's predictions of its own file
  (``keras_pred``), the optimizer's step count, and Keras's predictions after loading
  shendu's files (``keras_pred_of_shendu_file``, ``keras_pred_of_shendu_weights``).

Needs TensorFlow (Keras 3) and shendu importable. Run from the repository root:

    PYTHONPATH=python python scripts/make_keras3_files.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from shendu import keras as shendu_keras  # noqa: E402
from shendu.keras import optimizer_state  # noqa: E402

from tests.helpers.keras3_cases import CASES, FILES, inputs, targets, weights  # noqa: E402


def listify(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def fresh(k, name):
    case = CASES[name]
    model = case["build"](k)
    model.set_weights(weights(model.weights, sorted(CASES).index(name)))
    if case["compile"]:
        model.compile(**case["compile"](k))
    return model


def make(name):
    case = CASES[name]
    x = inputs(name)
    data = {f"x{i}": xi for i, xi in enumerate(listify(x))}

    model = fresh(keras, name)
    if case["compile"]:
        model.train_on_batch(x, targets(name))
        data["iterations"] = np.int64(model.optimizer.iterations.numpy())
    keras_path = os.path.join(FILES, f"keras_{name}.keras")
    model.save(keras_path)
    model.save_weights(os.path.join(FILES, f"keras_{name}.weights.h5"))
    # Predicted by the model as the file holds it: Keras's Normalization reads its statistics
    # into its computation on adapt or load (finalize_state), not on set_weights.
    data["keras_pred"] = keras.saving.load_model(keras_path).predict(x, verbose=0)

    shendu_path = os.path.join(FILES, f"shendu_{name}.keras")
    shendu_weights = os.path.join(FILES, f"shendu_{name}.weights.h5")
    fresh(shendu_keras, name).save(shendu_path)
    fresh(shendu_keras, name).save_weights(shendu_weights)
    loaded = keras.saving.load_model(shendu_path)
    data["keras_pred_of_shendu_file"] = loaded.predict(x, verbose=0)
    into_keras = fresh(keras, name)
    if case["compile"]:  # built, so that Keras loads the optimizer's variables too
        into_keras.optimizer.build(into_keras.trainable_variables)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as when Keras skips the optimizer's variables
        into_keras.load_weights(shendu_weights)
    data["keras_pred_of_shendu_weights"] = into_keras.predict(x, verbose=0)
    np.savez_compressed(os.path.join(FILES, f"{name}.npz"), **data)
    if case["compile"]:
        check_compile_state_carries(name, x)


def unnamed(value):
    """Compile config records without their objects' names (Keras numbers some in each session:
    "precision_2")."""
    if isinstance(value, list):
        return [unnamed(v) for v in value]
    if isinstance(value, dict) and isinstance(value.get("config"), dict):
        config = {k: v for k, v in value["config"].items() if k != "name"}
        return {**value, "config": config}
    return value


def check_compile_state_carries(name, x):
    """After one step of shendu's training, Keras restores from shendu's file the loss and
    metrics Keras makes of the case's arguments, and shendu's optimizer (its class and
    options) with every one of its variables."""
    model = fresh(shendu_keras, name)
    model.train_on_batch(x, targets(name))
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "trained.keras")
        model.save(path)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loaded = keras.saving.load_model(path)
    skipped = [str(w.message) for w in caught if "Skipping" in str(w.message)]
    assert not skipped, f"{name}: Keras skipped part of shendu's file: {skipped}"
    want = fresh(keras, name).get_compile_config()
    got = loaded.get_compile_config()
    for key in ("loss", "metrics"):
        assert unnamed(got[key]) == unnamed(want[key]), (name, key, got[key], want[key])
    theirs = loaded.optimizer
    assert type(theirs).__name__ == type(model.optimizer).__name__, name
    assert sorted(theirs.get_config()) == sorted(model.optimizer.get_config()), name
    values = [np.asarray(v) for v in theirs.variables]
    ours = optimizer_state.variables_of(model)
    assert len(values) == len(ours), (name, len(values), len(ours))
    for i, (a, b) in enumerate(zip(values, ours)):
        np.testing.assert_allclose(a, b, rtol=1e-6, err_msg=f"{name}: optimizer variable {i}")


def main(names):
    os.makedirs(FILES, exist_ok=True)
    for name in names or sorted(CASES):
        make(name)
        print(f"{name}: written")


if __name__ == "__main__":
    main(sys.argv[1:])
