"""keras.saving: .keras archives and .weights.h5 files, against fake models that implement the
model side of the interface (layers with get/set_weights and .weights, get_config,
get_compile_config/compile_from_config, a from_config to rebuild them, found by name)."""

import json
import os
import stat
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from shendu.keras import saving

h5py = pytest.importorskip("h5py")


class Var:
    def __init__(self, name, shape):
        self.name, self.shape = name, shape


class Layer:
    def __init__(self, name, shapes=(), seed=0):
        self.name = name
        rng = np.random.default_rng(seed)
        self._w = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        self.set_calls = 0

    @property
    def weights(self):
        names = ["kernel", "bias", "extra"]
        return [Var(f"{self.name}/{names[i]}", w.shape) for i, w in enumerate(self._w)]

    def get_weights(self):
        return [w.copy() for w in self._w]

    def set_weights(self, weights):
        self.set_calls += 1
        self._w = [np.array(w, np.float32) for w in weights]

    def get_config(self):
        return {"name": self.name, "shapes": [list(w.shape) for w in self._w]}


class Dense(Layer):
    pass


class Dropout(Layer):
    pass


class Conv2D(Layer):
    pass


class Sequential:
    """A fake model: holds layers (possibly a nested Sequential), as the interface says."""

    def __init__(self, layers, name="sequential"):
        self.layers = layers
        self.name = name
        self.built = True
        self.compiled_with = None

    def get_weights(self):
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights):
        weights = list(weights)
        for layer in self.layers:
            n = len(layer.get_weights())
            layer.set_weights(weights[:n])
            weights = weights[n:]

    def get_config(self):
        return {
            "name": self.name,
            "layers": [
                {"class_name": type(layer).__name__, "config": layer.get_config()}
                for layer in self.layers
            ],
        }

    def get_compile_config(self):
        return {"optimizer": "adam", "loss": "mse", "metrics": ["mae"]}

    def compile_from_config(self, config):
        self.compiled_with = config

    @classmethod
    def from_config(cls, config):
        """Rebuilds the fake models (fresh random weights, auto names unlike the saved ones)."""
        layers = []
        for i, spec in enumerate(config["layers"]):
            layer_cls = {"Dense": Dense, "Dropout": Dropout, "Conv2D": Conv2D}[spec["class_name"]]
            shapes = [tuple(s) for s in spec["config"]["shapes"]]
            layers.append(layer_cls(f"fresh_{i}", shapes, seed=100 + i))
        return cls(layers, name=config["name"])


@pytest.fixture
def fake_models():
    # The scope's names come first: "Sequential" finds the fake, not keras's.
    with saving.custom_object_scope({"Sequential": Sequential}):
        yield


def make_model(seed=0):
    return Sequential(
        [
            Conv2D("conv", [(3, 3, 1, 4), (4,)], seed),
            Dropout("drop"),
            Dense("d1", [(4, 5), (5,)], seed + 1),
            Dense("d2", [(5, 2), (2,)], seed + 2),
        ]
    )


def assert_same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb)
    for x, y in zip(wa, wb):
        np.testing.assert_array_equal(x, y)


def test_weights_h5_roundtrip_and_keras_layout(tmp_path):
    model = make_model()
    path = tmp_path / "m.weights.h5"
    saving.save_weights(model, path)
    with h5py.File(path, "r") as f:
        entries = []
        f.visit(entries.append)
        np.testing.assert_array_equal(
            f["layers/dense_1/vars/0"][()], model.layers[3].get_weights()[0]
        )
    # Keras 3's layout: entries by class name in snake_case, numbered when repeated.
    assert set(entries) == {
        "vars",
        "layers",
        "layers/conv2d",
        "layers/conv2d/vars",
        "layers/conv2d/vars/0",
        "layers/conv2d/vars/1",
        "layers/dropout",
        "layers/dropout/vars",
        "layers/dense",
        "layers/dense/vars",
        "layers/dense/vars/0",
        "layers/dense/vars/1",
        "layers/dense_1",
        "layers/dense_1/vars",
        "layers/dense_1/vars/0",
        "layers/dense_1/vars/1",
    }
    fresh = make_model(seed=50)  # same architecture, other weights and other names
    fresh.layers[2].name = "renamed"
    saving.load_weights(fresh, path)
    assert_same_weights(fresh, model)


def test_nested_model_weights(tmp_path):
    inner = Sequential([Dense("a", [(2, 2)], 1), Dense("b", [(2, 3)], 2)], name="inner")
    model = Sequential([Dense("in", [(4, 2)], 3), inner, Dense("out", [(3, 1)], 4)])
    saving.save_weights(model, tmp_path / "n.weights.h5")
    with h5py.File(tmp_path / "n.weights.h5", "r") as f:
        assert f["layers/sequential/layers/dense_1/vars/0"].shape == (2, 3)
        assert f["layers/dense_1/vars/0"].shape == (3, 1)
    fresh = Sequential(
        [
            Dense("x", [(4, 2)]),
            Sequential([Dense("y", [(2, 2)]), Dense("z", [(2, 3)])]),
            Dense("w", [(3, 1)]),
        ]
    )
    saving.load_weights(fresh, tmp_path / "n.weights.h5")
    assert_same_weights(fresh, model)


def test_keras_archive_roundtrip(tmp_path, fake_models):
    model = make_model()
    path = tmp_path / "model.keras"
    saving.save_model(model, path)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        config = json.loads(zf.read("config.json"))
        metadata = json.loads(zf.read("metadata.json"))
    assert config["class_name"] == "Sequential"
    assert config["module"] == "keras"
    assert config["config"] == model.get_config()
    assert config["compile_config"] == model.get_compile_config()
    assert {"keras_version", "date_saved"} <= set(metadata)
    loaded = saving.load_model(path)
    assert isinstance(loaded, Sequential)
    assert loaded.layers[0].name == "fresh_0"  # rebuilt by model_from_config, not a copy
    assert_same_weights(loaded, model)
    assert loaded.compiled_with == model.get_compile_config()
    assert saving.load_model(path, compile=False).compiled_with is None
    # load_weights reads the weights inside a .keras archive too.
    fresh = make_model(seed=9)
    saving.load_weights(fresh, path)
    assert_same_weights(fresh, model)


def test_saved_files_get_normal_permissions(tmp_path):
    path = tmp_path / "m.weights.h5"
    saving.save_weights(make_model(), path)
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~mask


class Boom(Exception):
    pass


class FailingLayer(Dense):
    def get_weights(self):
        raise Boom("disk full, say")


def test_interrupted_weights_save_keeps_old_file(tmp_path):
    path = tmp_path / "m.weights.h5"
    model = make_model()
    saving.save_weights(model, path)
    before = path.read_bytes()
    broken = make_model(seed=3)
    broken.layers.append(FailingLayer("late", [(1,)]))  # fails after three layers were written
    with pytest.raises(Boom):
        saving.save_weights(broken, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.weights.h5"]  # no temporary file left behind
    fresh = make_model(seed=8)
    saving.load_weights(fresh, path)
    assert_same_weights(fresh, model)


def test_interrupted_archive_save_keeps_old_file(tmp_path, monkeypatch, fake_models):
    path = tmp_path / "m.keras"
    saving.save_model(make_model(), path)
    before = path.read_bytes()
    real_writestr = zipfile.ZipFile.writestr

    def writestr(self, name, data, *args, **kwargs):
        if name == "model.weights.h5":  # the config is written already: a half-written archive
            raise KeyboardInterrupt
        return real_writestr(self, name, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", writestr)
    with pytest.raises(KeyboardInterrupt):
        saving.save_model(make_model(seed=4), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.keras"]


def test_overwrite_false_and_missing_folder(tmp_path):
    path = tmp_path / "m.weights.h5"
    saving.save_weights(make_model(), path)
    with pytest.raises(FileExistsError, match="overwrite=False"):
        saving.save_weights(make_model(), path, overwrite=False)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        saving.save_weights(make_model(), tmp_path / "nope" / "m.weights.h5")


@pytest.mark.parametrize(
    "call, name, match",
    [
        (saving.save_weights, "w.h5", r"must end in '.weights.h5', got '.*w.h5'"),
        (saving.save_model, "m.h5", "must end in '.keras'.*legacy HDF5"),
        (saving.save_model, "m.tf", "must end in '.keras'"),
        (saving.load_weights, "w.npz", "must end in '.weights.h5' or '.keras'"),
    ],
)
def test_wrong_extensions(tmp_path, call, name, match):
    with pytest.raises(ValueError, match=match):
        call(make_model(), tmp_path / name)
    with pytest.raises(TypeError, match="filepath must be a str or os.PathLike, got int"):
        call(make_model(), 3)


def test_missing_and_corrupt_files(tmp_path, fake_models):
    with pytest.raises(ValueError, match="File not found"):
        saving.load_model(tmp_path / "none.keras")
    with pytest.raises(ValueError, match="File not found"):
        saving.load_weights(make_model(), tmp_path / "none.weights.h5")
    garbage = tmp_path / "garbage.keras"
    garbage.write_bytes(b"this is not a zip file" * 10)
    with pytest.raises(ValueError, match="not a valid .keras file"):
        saving.load_model(garbage)
    good = tmp_path / "good.keras"
    saving.save_model(make_model(), good)
    truncated = tmp_path / "cut.keras"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(ValueError, match="not a valid .keras file"):
        saving.load_model(truncated)
    no_config = tmp_path / "other.keras"
    with zipfile.ZipFile(no_config, "w") as zf:
        zf.writestr("readme.txt", "hi")
    with pytest.raises(ValueError, match="has no config.json or model.weights.h5"):
        saving.load_model(no_config)
    bad_json = tmp_path / "badjson.keras"
    with zipfile.ZipFile(bad_json, "w") as zf:
        zf.writestr("config.json", "{not json")
        zf.writestr("model.weights.h5", b"")
    with pytest.raises(ValueError, match="corrupt config.json"):
        saving.load_model(bad_json)
    bad_h5 = tmp_path / "bad.weights.h5"
    bad_h5.write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="not a valid HDF5 weights file"):
        saving.load_weights(make_model(), bad_h5)


def test_architecture_mismatch_names_layer_and_shapes(tmp_path):
    path = tmp_path / "m.weights.h5"
    saving.save_weights(make_model(), path)

    wider = make_model(seed=1)
    wider.layers[2] = Dense("d1", [(4, 6), (6,)], 5)
    before = wider.get_weights()
    with pytest.raises(
        ValueError,
        match=r"Layer 'd1' \(Dense\): weight 0 \(d1/kernel\) has shape "
        r"\(4, 6\) in the model but \(4, 5\) in",
    ):
        saving.load_weights(wider, path)
    # Nothing was loaded: the earlier conv layer matched but must stay untouched.
    assert wider.layers[0].set_calls == 0
    for x, y in zip(wider.get_weights(), before):
        np.testing.assert_array_equal(x, y)

    no_bias = make_model()
    no_bias.layers[3] = Dense("d2", [(5, 2)], 5)
    with pytest.raises(ValueError, match=r"Layer 'd2' \(Dense\) expects 1 weights but .* holds 2"):
        saving.load_weights(no_bias, path)

    longer = make_model()
    longer.layers.append(Dense("d3", [(2, 2)]))
    with pytest.raises(
        ValueError,
        match=r"Layer 'd3' \(Dense\) has 1 weights but .* no entry "
        r"'layers/dense_2'",
    ):
        saving.load_weights(longer, path)

    shorter = make_model()
    del shorter.layers[3]
    with pytest.raises(
        ValueError, match="weights for layers the model does not have: layers/dense_1"
    ):
        saving.load_weights(shorter, path)


def test_unserializable_config_is_refused(tmp_path):
    model = make_model()
    model.get_config = lambda: {"name": "x", "fn": object()}
    with pytest.raises(ValueError, match="not JSON-serializable"):
        saving.save_model(model, tmp_path / "m.keras")
    assert os.listdir(tmp_path) == []


def real_sequential(seed):
    """A real shendu Sequential model."""
    from shendu import keras

    keras.utils.set_random_seed(seed)
    layers = keras.layers
    model = keras.Sequential(
        [
            layers.Dense(6, activation="relu", input_shape=(4,)),
            layers.Dropout(0.5),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_real_sequential_keras_roundtrip(tmp_path):
    from shendu import keras

    model = real_sequential(seed=3)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.get_compile_config() == model.get_compile_config()


def test_real_sequential_weights_into_fresh_model(tmp_path):
    model = real_sequential(seed=3)
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    model.save_weights(tmp_path / "m.weights.h5")
    fresh = real_sequential(seed=11)
    assert not np.array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))
    fresh.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))


def test_interrupt_after_the_rename_is_the_interrupt(tmp_path, monkeypatch):
    """Ctrl-C landing once os.replace has moved the temporary: the new file stands, nothing is
    left behind, and the caller sees KeyboardInterrupt (not a failed cleanup's error)."""
    path = tmp_path / "m.weights.h5"
    saving.save_weights(make_model(), path)
    real_replace = os.replace

    def replace_then_interrupt(src, dst):
        real_replace(src, dst)
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", replace_then_interrupt)
    newer = make_model(seed=7)
    with pytest.raises(KeyboardInterrupt):
        saving.save_weights(newer, path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["m.weights.h5"]
    fresh = make_model(seed=8)
    saving.load_weights(fresh, path)
    assert_same_weights(fresh, newer)


def test_interrupt_before_the_rename_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.weights.h5"
    model = make_model()
    saving.save_weights(model, path)
    before = path.read_bytes()

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        saving.save_weights(make_model(seed=7), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.weights.h5"]


def test_save_syncs_the_file_before_and_the_folder_after_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append("fsync folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(src, dst):
        events.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    saving.save_weights(make_model(), tmp_path / "m.weights.h5")
    expected = ["fsync file", "replace"] + (["fsync folder"] if hasattr(os, "O_DIRECTORY") else [])
    assert events == expected


def dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_next_save_removes_stale_temporaries(tmp_path):
    path = tmp_path / "m.weights.h5"
    saving.save_weights(make_model(), path)
    old = os.path.getmtime(path) - 3600
    stale_dead = tmp_path / f".m.weights.h5.{dead_pid()}.k2j4x_9a.tmp"
    stale_old = tmp_path / f".m.weights.h5.{os.getpid()}.abcdefgh.tmp"
    in_progress = tmp_path / f".m.weights.h5.{os.getpid()}.zyxwvuts.tmp"  # a concurrent save
    other_target = tmp_path / f".other.weights.h5.{dead_pid()}.abcdefgh.tmp"
    for p in (stale_dead, stale_old, in_progress, other_target):
        p.write_bytes(b"partial")
    os.utime(stale_old, (old, old))
    model = make_model(seed=5)
    saving.save_weights(model, path)
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["m.weights.h5", in_progress.name, other_target.name]
    )
    fresh = make_model(seed=8)
    saving.load_weights(fresh, path)
    assert_same_weights(fresh, model)
