"""Model files built to attack the loaders: they may not read other files, run code, allocate
far more than the model needs, nor fail with anything but a ValueError naming the file."""

import base64
import io
import json
import marshal
import os
import pickle
import zipfile
import zlib

import numpy as np
import pytest
from shendu import keras
from shendu.keras import saving
from shendu.keras.file_checks import read_member

h5py = pytest.importorskip("h5py")

KERNEL = "layers/dense/vars/0"  # the first Dense's kernel, shape (4, 6) float32: 96 bytes


def small_model(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.layers.Dense(6, activation="relu", input_shape=(4,)),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def weights_file(tmp_path, mutate):
    """A .weights.h5 of small_model with ``mutate(h5file, tmp_path)`` applied."""
    path = tmp_path / "hostile.weights.h5"
    small_model().save_weights(path)
    with h5py.File(path, "a") as f:
        mutate(f, tmp_path)
    return path


def archive(tmp_path, config=None, weights=None, extra=(), compression=zipfile.ZIP_DEFLATED):
    """A .keras of small_model with its config.json or model.weights.h5 replaced."""
    good = tmp_path / "good.keras"
    small_model().save(good)
    with zipfile.ZipFile(good) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    if config is not None:
        members["config.json"] = config if isinstance(config, bytes) else json.dumps(config)
    if weights is not None:
        members["model.weights.h5"] = weights
    members.update(extra)
    path = tmp_path / "hostile.keras"
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def secret_file(tmp_path):
    """A local file a hostile weights file would like to read: 96 bytes, one kernel's worth."""
    secret = tmp_path / "secret.txt"
    secret.write_bytes(np.arange(24, dtype=np.float32).tobytes())
    return secret


def external_storage(f, tmp_path):
    secret = secret_file(tmp_path)
    del f[KERNEL]
    f.create_dataset(KERNEL, shape=(4, 6), dtype="f4", external=[(str(secret), 0, 96)])


def external_link(f, tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as g:
        g["data"] = np.arange(24, dtype=np.float32).reshape(4, 6)
    del f[KERNEL]
    f[KERNEL] = h5py.ExternalLink(str(other), "/data")


def external_group_link(f, tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as g:
        g["vars/0"] = np.arange(24, dtype=np.float32).reshape(4, 6)
        g["vars/1"] = np.zeros(6, np.float32)
    del f["layers/dense"]
    f["layers/dense"] = h5py.ExternalLink(str(other), "/")


def virtual_dataset(f, tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as g:
        g["data"] = np.arange(24, dtype=np.float32).reshape(4, 6)
    layout = h5py.VirtualLayout(shape=(4, 6), dtype="f4")
    layout[:] = h5py.VirtualSource(str(other), "data", shape=(4, 6))
    del f[KERNEL]
    f.create_virtual_dataset(KERNEL, layout)


def soft_link(f, tmp_path):
    f["elsewhere"] = np.arange(24, dtype=np.float32).reshape(4, 6)
    del f[KERNEL]
    f[KERNEL] = h5py.SoftLink("/elsewhere")


@pytest.mark.parametrize(
    "mutate, match",
    [
        (external_storage, "dataset 'layers/dense/vars/0' stores its data in external files"),
        (external_link, "'layers/dense/vars/0' is an external link"),
        (external_group_link, "'layers/dense' is an external link"),
        (virtual_dataset, "dataset 'layers/dense/vars/0' is a virtual dataset"),
        (soft_link, "'layers/dense/vars/0' is a soft link"),
    ],
)
def test_weights_may_not_reach_outside_the_file(tmp_path, mutate, match):
    path = weights_file(tmp_path, mutate)
    model = small_model(seed=1)
    before = model.get_weights()
    with pytest.raises(ValueError, match=match) as info:
        model.load_weights(path)
    assert str(path) in str(info.value)
    for got, want in zip(model.get_weights(), before):
        np.testing.assert_array_equal(got, want)
    # The same weights inside a .keras archive, through load_model in both safe modes.
    keras_path = archive(tmp_path, weights=path.read_bytes())
    for safe_mode in (True, False):
        with pytest.raises(ValueError, match=match):
            keras.models.load_model(keras_path, safe_mode=safe_mode)


@pytest.fixture
def no_big_reads(monkeypatch):
    """Fails the test if any dataset of more than a million values is read."""
    real = h5py.Dataset.__getitem__

    def getitem(self, key):
        assert self.size <= 10**6, f"read a dataset of shape {self.shape}"
        return real(self, key)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", getitem)


def test_declared_huge_dataset_is_refused_before_reading(tmp_path, no_big_reads):
    def huge(f, _):
        del f[KERNEL]
        f.create_dataset(KERNEL, shape=(30000, 30000), dtype="f4")  # 3.6 GB, never written

    path = weights_file(tmp_path, huge)
    assert os.path.getsize(path) < 64 << 10
    with pytest.raises(ValueError, match=r"shape \(4, 6\) in the model but \(30000, 30000\)"):
        small_model().load_weights(path)


def test_chunks_larger_than_the_dataset_are_refused(tmp_path):
    def big_chunks(f, _):
        del f[KERNEL]
        f.create_dataset(
            KERNEL,
            shape=(4, 6),
            maxshape=(None, None),
            chunks=(30000, 30000),
            dtype="f4",
        )

    with pytest.raises(ValueError, match=r"declares chunks \(30000, 30000\) larger than itself"):
        small_model().load_weights(weights_file(tmp_path, big_chunks))


def test_compressed_chunks_are_refused_before_inflating(tmp_path, monkeypatch):
    def deflate_bomb(f, _):
        del f[KERNEL]
        dataset = f.create_dataset(KERNEL, shape=(4, 6), dtype="f4", compression="gzip")
        dataset.id.write_direct_chunk((0, 0), zlib.compress(bytes(64 << 20), 9))

    path = weights_file(tmp_path, deflate_bomb)
    assert os.path.getsize(path) < 256 << 10
    reads = []
    monkeypatch.setattr(h5py.Dataset, "__getitem__", lambda self, key: reads.append(self.name))
    with pytest.raises(ValueError, match=r"'layers/dense/vars/0' is compressed \(deflate\)"):
        small_model().load_weights(path)
    assert reads == []


def test_non_numeric_dataset_is_refused(tmp_path):
    def strings(f, _):
        del f[KERNEL]
        f.create_dataset(KERNEL, data=np.full((4, 6), b"abc"))

    path = weights_file(tmp_path, strings)
    with pytest.raises(ValueError, match=r"dataset 'layers/dense/vars/0' has dtype \|S3"):
        small_model().load_weights(path)


def test_inflating_archive_members_are_refused(tmp_path):
    good = small_model()
    weights = io.BytesIO()
    saving._write_weights(good, weights)
    padded = weights.getvalue() + bytes(24 << 20)  # HDF5 ignores bytes past its end
    path = archive(tmp_path, weights=padded)
    assert os.path.getsize(path) < 1 << 20
    with pytest.raises(ValueError, match=r"member model.weights.h5 declares 2\d{7} bytes"):
        keras.models.load_model(path)
    with pytest.raises(ValueError, match="member model.weights.h5 declares"):
        small_model().load_weights(path)
    config = b" " * (9 << 20) + b"{}"
    with pytest.raises(ValueError, match=r"member config.json declares 943\d{4} bytes"):
        keras.models.load_model(archive(tmp_path, config=config))


def test_read_member_stops_at_the_limit(tmp_path):
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("m", bytes(5000))
    with zipfile.ZipFile(path) as zf:
        assert read_member(zf, "m", 5000, "a.zip") == bytes(5000)
        with pytest.raises(ValueError, match="'a.zip': archive member m declares 5000 bytes"):
            read_member(zf, "m", 4999, "a.zip")


def keras_config(tmp_path):
    small_model().save(tmp_path / "c.keras")
    with zipfile.ZipFile(tmp_path / "c.keras") as zf:
        return json.loads(zf.read("config.json"))


def with_layer(config, record):
    config["config"]["layers"].insert(1, record)
    return config


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda c: with_layer(c, "dense"), r"invalid layer record at config.json.config.layers"),
        (lambda c: {**c, "class_name": 5}, "class_name that is not a string at config.json: 5"),
        (lambda c: with_layer(c, {"class_name": "Dense", "config": []}), "invalid layer record"),
        (lambda c: {**c, "config": json.loads("[" * 150 + "]" * 150)}, "nested more than 100"),
        (lambda c: with_layer(c, {"class_name": "Dense", "config": {}}), "cannot rebuild"),
        (lambda c: with_layer(c, {"class_name": "Dense", "config": {"units": "x"}}), "rebuild"),
        (lambda c: {**c, "class_name": "Nope"}, "Unknown model class: 'Nope'"),
        (lambda c: {**c, "compile_config": {"optimizer": 3}}, "from its compile_config"),
        (lambda c: [c], "without 'class_name' and 'config'"),
    ],
)
def test_hostile_configs_are_clear_value_errors(tmp_path, edit, match):
    path = archive(tmp_path, config=edit(keras_config(tmp_path)))
    with pytest.raises(ValueError, match=match) as info:
        keras.models.load_model(path)
    assert str(path) in str(info.value)


def test_deeply_nested_json_is_a_value_error(tmp_path):
    path = archive(tmp_path, config=b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(ValueError, match="corrupt config.json"):
        keras.models.load_model(path)


def code_payloads(tmp_path):
    """Configs that would run code in a loader that imports modules or unmarshals functions."""
    code = compile(f"open({str(tmp_path / 'pwned')!r}, 'w')", "<lambda>", "exec")
    marshalled = marshal.dumps(code)
    pickled = pickle.dumps(os.getcwd)
    lambda_layer = {
        "module": "keras.layers",
        "class_name": "Lambda",
        "config": {
            "name": "lambda",
            "function": {
                "class_name": "__lambda__",
                "config": {
                    "code": base64.b64encode(marshalled).decode(),
                    "defaults": None,
                    "closure": None,
                },
            },
        },
        "registered_name": None,
    }
    os_layer = {"module": "os", "class_name": "system", "config": {"command": "touch pwned"}}
    eval_activation = {
        "module": "builtins",
        "class_name": "function",
        "config": "eval",
        "registered_name": "eval",
    }
    pickled_layer = {
        "module": "keras.layers",
        "class_name": "__bytes__",
        "config": {"value": base64.b64encode(pickled).decode()},
    }
    return (marshalled, pickled), [lambda_layer, os_layer, eval_activation, pickled_layer]


@pytest.mark.parametrize("safe_mode", [True, False])
@pytest.mark.parametrize("which", range(4))
def test_no_code_runs_in_either_safe_mode(tmp_path, monkeypatch, safe_mode, which):
    (marshalled, pickled), records = code_payloads(tmp_path)
    config = keras_config(tmp_path)
    if which == 2:
        config["config"]["layers"][1]["config"]["activation"] = records[2]
    else:
        with_layer(config, records[which])
    path = archive(tmp_path, config=config)
    calls = []
    real_marshal, real_pickle = marshal.loads, pickle.loads

    def marshal_loads(data, *args):
        calls.extend(["marshal"] if data == marshalled else [])
        return real_marshal(data, *args)

    def pickle_loads(data, *args, **kwargs):
        calls.extend(["pickle"] if data == pickled else [])
        return real_pickle(data, *args, **kwargs)

    monkeypatch.setattr(os, "system", lambda *args: calls.append("system"))
    monkeypatch.setattr(marshal, "loads", marshal_loads)
    monkeypatch.setattr(pickle, "loads", pickle_loads)
    with pytest.raises(ValueError, match="cannot rebuild the model from its config.json"):
        keras.models.load_model(path, safe_mode=safe_mode)
    assert calls == []
    assert not (tmp_path / "pwned").exists()


def test_lambda_layer_is_named_in_the_error(tmp_path):
    _, records = code_payloads(tmp_path)
    path = archive(tmp_path, config=with_layer(keras_config(tmp_path), records[0]))
    with pytest.raises(ValueError, match="Unknown layer class: 'Lambda'"):
        keras.models.load_model(path, safe_mode=False)


def test_safe_mode_must_be_a_bool(tmp_path):
    small_model().save(tmp_path / "m.keras")
    with pytest.raises(TypeError, match="safe_mode must be True or False, got 'no'"):
        keras.models.load_model(tmp_path / "m.keras", safe_mode="no")
    x = np.ones((2, 4), np.float32)
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=False)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), small_model().predict(x, verbose=0))
