"""Model files shared with Keras 3, both ways, against frozen files made by
scripts/make_keras3_files.py (TensorFlow 2.21 / Keras 3.15): Keras's .keras and .weights.h5 files
load here and predict as Keras did; shendu's files (committed) were loaded by Keras with the
same predictions, and shendu's writer still writes files of that structure."""

import io
import json
import os
import zipfile

import h5py
import numpy as np
import pytest
from shendu import keras

from tests.helpers.keras3_cases import CASES, FILES, inputs, targets, weights

NAMES = sorted(CASES)
TOL = dict(rtol=1e-5, atol=1e-5)


def _data(name):
    return np.load(os.path.join(FILES, f"{name}.npz"))


def _x(d):
    xs = [d[f"x{i}"] for i in range(len([k for k in d.files if k.startswith("x")]))]
    return xs if len(xs) > 1 else xs[0]


def _fresh(name):
    model = CASES[name]["build"](keras)
    shapes = [w.shape for w in model.get_weights()]
    model.set_weights(weights(shapes, NAMES.index(name)))
    if CASES[name]["compile"]:
        model.compile(**CASES[name]["compile"])
    return model


@pytest.mark.parametrize("name", NAMES)
def test_keras_archive_loads_and_predicts_as_keras(name):
    d = _data(name)
    model = keras.saving.load_model(os.path.join(FILES, f"keras_{name}.keras"))
    np.testing.assert_allclose(model.predict(_x(d), verbose=0), d["keras_pred"], **TOL)


@pytest.mark.parametrize("name", [n for n in NAMES if CASES[n]["compile"]])
def test_keras_archive_restores_compile_and_optimizer_state(name):
    d = _data(name)
    model = keras.saving.load_model(os.path.join(FILES, f"keras_{name}.keras"))
    want = CASES[name]["compile"]
    assert type(model.optimizer).__name__.lower() == want["optimizer"]
    assert model.get_compile_config()["loss"] == want["loss"]
    assert model.optimizer.iterations == int(d["iterations"])
    # Adam and RMSprop keep slots; after Keras's one step they are not zero.
    slots = [s for w in model.trainable_weights for s in model.optimizer._slots.get(id(w), [])]
    assert len(slots) == len(model.optimizer._active_slots()) * len(model.trainable_weights)
    assert all(np.any(s != 0) for s in slots)
    model.train_on_batch(_x(d), targets(name))  # training goes on from there
    assert model.optimizer.iterations == int(d["iterations"]) + 1


@pytest.mark.parametrize("name", NAMES)
def test_keras_weights_file_loads_into_the_same_architecture(name):
    d = _data(name)
    model = _fresh(name)
    model.load_weights(os.path.join(FILES, f"keras_{name}.weights.h5"))
    np.testing.assert_allclose(model.predict(_x(d), verbose=0), d["keras_pred"], **TOL)


@pytest.mark.parametrize("name", NAMES)
def test_shendu_file_was_read_by_keras_with_shendus_predictions(name):
    d = _data(name)
    model = keras.saving.load_model(os.path.join(FILES, f"shendu_{name}.keras"))
    np.testing.assert_allclose(
        model.predict(_x(d), verbose=0), d["keras_pred_of_shendu_file"], **TOL
    )
    np.testing.assert_allclose(
        _fresh(name).predict(inputs(name), verbose=0), d["keras_pred_of_shendu_file"], **TOL
    )


def _structure(value):
    """A config's keys, nesting and value types, not its values (names and numbers differ)."""
    if isinstance(value, dict):
        return {k: _structure(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_structure(v) for v in value]
    return type(value).__name__


def _archive(path_or_bytes):
    with zipfile.ZipFile(path_or_bytes) as zf:
        config = json.loads(zf.read("config.json"))
        found = []
        with h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r") as f:
            f.visititems(lambda n, o: found.append((n, getattr(o, "shape", None))))
    return config, sorted(found)


@pytest.mark.parametrize("name", NAMES)
def test_writer_still_writes_the_structure_keras_read(name, tmp_path):
    # A change of the writer that Keras may not read fails here; regenerate the files with
    # scripts/make_keras3_files.py (which checks that Keras reads them) once it does.
    path = tmp_path / "model.keras"
    _fresh(name).save(path)
    config, entries = _archive(path)
    want_config, want_entries = _archive(os.path.join(FILES, f"shendu_{name}.keras"))
    assert _structure(config) == _structure(want_config)
    assert entries == want_entries


def _keras_config_with(path, tmp_path, edit):
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(members["config.json"])
    edit(config["config"]["layers"][1]["config"])
    members["config.json"] = json.dumps(config).encode()
    out = tmp_path / "edited.keras"
    with zipfile.ZipFile(out, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    return out


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c.update(frobnicate=1), "frobnicate"),
        (lambda c: c.update(quantization_config={"mode": "int8"}), "quantization_config"),
        (lambda c: c.update(lora_rank=4), "lora_rank"),
        (
            lambda c: c["dtype"]["config"].update(name="mixed_float16"),
            "only 'float32' is supported",
        ),
    ],
)
def test_keys_with_an_effect_or_unknown_are_refused_by_name(edit, message, tmp_path):
    path = _keras_config_with(os.path.join(FILES, "keras_mlp.keras"), tmp_path, edit)
    with pytest.raises(ValueError, match=message):
        keras.saving.load_model(path)


def test_optimizer_variables_of_another_layout_are_ignored(tmp_path):
    # An SGD file (no slots) loaded with its compile config replaced by Adam: compile state
    # starts afresh instead of failing.
    path = os.path.join(FILES, "keras_rnn.keras")
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(members["config.json"])
    config["compile_config"]["optimizer"] = "adam"
    members["config.json"] = json.dumps(config).encode()
    out = tmp_path / "adam.keras"
    with zipfile.ZipFile(out, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    model = keras.saving.load_model(out)
    assert model.optimizer.iterations == 0 and not model.optimizer.built
