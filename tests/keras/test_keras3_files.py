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
    model.set_weights(weights(model.weights, NAMES.index(name)))
    if CASES[name]["compile"]:
        model.compile(**CASES[name]["compile"](keras))
    return model


@pytest.mark.parametrize("name", NAMES)
def test_keras_archive_loads_and_predicts_as_keras(name):
    d = _data(name)
    model = keras.saving.load_model(os.path.join(FILES, f"keras_{name}.keras"))
    np.testing.assert_allclose(model.predict(_x(d), verbose=0), d["keras_pred"], **TOL)


def _approx(value):
    """A config with its floats compared to float32 precision (Keras saves rates it held in
    float32 variables, such as 0.0010000000474974513)."""
    if isinstance(value, dict):
        return {k: _approx(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_approx(v) for v in value]
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-6)
    return value


def _compile_state(model):
    config = model.get_compile_config()
    optimizer = keras.optimizers.serialize(model.optimizer)
    del optimizer["config"]["name"]  # Keras numbers its optimizers' names: "adam_2"
    return {
        "optimizer": optimizer,
        "loss": config["loss"],
        "metrics": config["metrics"],
    }


@pytest.mark.parametrize("name", [n for n in NAMES if CASES[n]["compile"]])
def test_keras_archive_restores_compile_and_optimizer_state(name):
    d = _data(name)
    model = keras.saving.load_model(os.path.join(FILES, f"keras_{name}.keras"))
    # What the case's compile arguments make here: optimizer (with its schedule), loss and
    # metrics with their options.
    assert _compile_state(model) == _approx(_compile_state(_fresh(name)))
    assert model.optimizer.iterations == int(d["iterations"])
    # Every slot of every trainable weight came from the file: after Keras's one step, none is
    # still at its initial value.
    optimizer = model.optimizer
    slots = [
        (s, n)
        for w in model.trainable_weights
        for s, n in zip(optimizer._slots.get(id(w), []), optimizer._active_slots())
    ]
    assert len(slots) == len(optimizer._active_slots()) * len(model.trainable_weights)
    assert all(np.any(s != optimizer._slot_initial(n)) for s, n in slots)
    if optimizer.use_ema:  # the moving averages too, as Keras left them after its step
        averages = [optimizer._averages.get(id(w)) for w in model.trainable_weights]
        assert all(a is not None and np.any(a != 0) for a in averages)
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


@pytest.mark.parametrize("name", NAMES)
def test_shendu_weights_file_was_read_by_keras_with_shendus_predictions(name):
    d = _data(name)
    np.testing.assert_allclose(
        _fresh(name).predict(inputs(name), verbose=0), d["keras_pred_of_shendu_weights"], **TOL
    )
    model = _fresh(name)
    model.load_weights(os.path.join(FILES, f"shendu_{name}.weights.h5"))
    np.testing.assert_allclose(
        model.predict(_x(d), verbose=0), d["keras_pred_of_shendu_weights"], **TOL
    )


def _structure(value):
    """A config's keys, nesting and value types, not its values (names and numbers differ)."""
    if isinstance(value, dict):
        return {k: _structure(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_structure(v) for v in value]
    return type(value).__name__


def _h5_entries(source):
    found = []
    with h5py.File(source, "r") as f:
        f.visititems(lambda n, o: found.append((n, getattr(o, "shape", None), _dtype(o))))
    return sorted(found)


def _dtype(h5_object):
    return str(h5_object.dtype) if hasattr(h5_object, "dtype") else None


def _archive(path):
    with zipfile.ZipFile(path) as zf:
        config = json.loads(zf.read("config.json"))
        entries = _h5_entries(io.BytesIO(zf.read("model.weights.h5")))
    return config, entries


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
    _fresh(name).save_weights(tmp_path / "model.weights.h5")
    assert _h5_entries(tmp_path / "model.weights.h5") == _h5_entries(
        os.path.join(FILES, f"shendu_{name}.weights.h5")
    )


def _edited(name, tmp_path, edit):
    """Keras's file of case ``name`` with ``edit`` applied to its config.json."""
    with zipfile.ZipFile(os.path.join(FILES, f"keras_{name}.keras")) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(members["config.json"])
    edit(config)
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
    path = _edited("mlp", tmp_path, lambda config: edit(config["config"]["layers"][1]["config"]))
    with pytest.raises(ValueError, match=message):
        keras.saving.load_model(path)


def _node(config, name):
    """The first call of the layer (or op) ``name`` in a functional config."""
    entry = next(e for e in config["config"]["layers"] if e["name"] == name)
    return entry["inbound_nodes"][0]


def _tensor_of(node_name):
    return {"class_name": "__keras_tensor__", "config": {"keras_history": [node_name, 0, 0]}}


def _reads(name, source):
    return lambda c: _node(c, name)["args"].__setitem__(0, _tensor_of(source))


def _masked_by(name, source):
    return lambda c: _node(c, name)["kwargs"].update(mask=_tensor_of(source))


@pytest.mark.parametrize(
    "edit, message",
    [
        # An op's result as a layer's input or the model's output: not rebuilt.
        (_reads("lstm", "not_equal"), "Keras op 'NotEqual'.*layer 'lstm' computes with"),
        (lambda c: c["config"].update(output_layers=["any", 0, 0]), "'Any'.*model output"),
        # A mask where no layer upstream makes one, or from a layer: passed explicitly.
        (_reads("lstm", "steps"), "'lstm' is given a mask .* no layer before it makes"),
        (_masked_by("gru", "dense"), "'gru' is given a mask explicitly .*'dense'"),
        (
            lambda c: _node(c, "gru")["kwargs"].update(initial_state=_tensor_of("dense")),
            "'gru' is called with the tensor argument 'initial_state'",
        ),
    ],
)
def test_op_nodes_other_than_keras_masks_are_refused_by_name(edit, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        keras.saving.load_model(_edited("mask_zero", tmp_path, edit))


def test_optimizer_variables_of_another_layout_are_ignored(tmp_path):
    # An Adadelta file (two slots per weight) loaded with its compile config replaced by SGD
    # (none): compile state starts afresh instead of failing.
    path = _edited("rnn", tmp_path, lambda c: c["compile_config"].update(optimizer="sgd"))
    model = keras.saving.load_model(path)
    assert model.optimizer.iterations == 0 and not model.optimizer.built
