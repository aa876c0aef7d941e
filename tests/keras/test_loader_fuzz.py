"""Seeded fuzzing of the model loaders: byte flips and truncations of a small model's .keras
and .weights.h5 files, and hostile edits of its config.json. Every outcome must be a load or a
ValueError naming the file; any other exception (or a crash) is a bug. The fast run covers a
few dozen cases; ``-m slow`` runs thousands."""

import copy
import io
import json
import zipfile

import numpy as np
import pytest
from shendu import keras

pytest.importorskip("h5py")

HOSTILE_VALUES = [
    None,
    True,
    -1,
    0,
    3.5,
    float("nan"),
    10**30,
    2**63,
    "",
    "x",
    "relu",
    [],
    [None],
    [[[1]]],
    {},
    {"class_name": 1},
    {"class_name": "Dense", "config": {}},
    {"class_name": "Lambda", "config": {"function": "print"}},
    {"module": "os", "class_name": "system", "config": {"command": "true"}},
]


def build_model():
    keras.utils.set_random_seed(0)
    layers = keras.layers
    model = keras.Sequential(
        [
            layers.Conv2D(2, 3, activation="relu", input_shape=(6, 6, 1)),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(5, activation="relu"),
            layers.Dropout(0.2),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    model = build_model()
    model.save(folder / "m.keras")
    model.save_weights(folder / "m.weights.h5")
    with zipfile.ZipFile(folder / "m.keras") as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    return {
        "model": model,
        "keras": (folder / "m.keras").read_bytes(),
        "weights": (folder / "m.weights.h5").read_bytes(),
        "members": members,
    }


def flip(data, rng):
    data = bytearray(data)
    for _ in range(int(rng.integers(1, 9))):
        data[int(rng.integers(len(data)))] = int(rng.integers(256))
    return bytes(data)


def truncate(data, rng):
    return data[: int(rng.integers(len(data)))]


def zipped(members):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def hostile_config(config_bytes, rng):
    """config.json with one to three nodes (dict values or list items) replaced."""
    config = json.loads(config_bytes)
    for _ in range(int(rng.integers(1, 4))):
        nodes, stack = [], [config]
        while stack:
            node = stack.pop()
            for key, value in node.items() if isinstance(node, dict) else enumerate(node):
                nodes.append((node, key))
                if isinstance(value, (dict, list)):
                    stack.append(value)
        parent, key = nodes[int(rng.integers(len(nodes)))]
        parent[key] = copy.deepcopy(HOSTILE_VALUES[int(rng.integers(len(HOSTILE_VALUES)))])
    return json.dumps(config).encode()


def make_case(saved, rng):
    """(file suffix, bytes, description) of one fuzz case."""
    members = saved["members"]
    kind = int(rng.integers(7))
    if kind == 0:
        return ".weights.h5", flip(saved["weights"], rng), "flipped .weights.h5"
    if kind == 1:
        return ".weights.h5", truncate(saved["weights"], rng), "truncated .weights.h5"
    if kind == 2:
        return ".keras", flip(saved["keras"], rng), "flipped .keras"
    if kind == 3:
        return ".keras", truncate(saved["keras"], rng), "truncated .keras"
    if kind == 4:
        weights = flip(members["model.weights.h5"], rng)
        return ".keras", zipped({**members, "model.weights.h5": weights}), "flipped weights"
    if kind == 5:
        config = flip(members["config.json"], rng)
        return ".keras", zipped({**members, "config.json": config}), "flipped config"
    config = hostile_config(members["config.json"], rng)
    return ".keras", zipped({**members, "config.json": config}), f"config {config[:300]!r}"


def run_cases(saved, tmp_path, seed, count):
    rng = np.random.default_rng(seed)
    outcomes = {"loaded": 0, "refused": 0}
    for i in range(count):
        suffix, data, what = make_case(saved, rng)
        path = tmp_path / f"case{i}{suffix}"
        path.write_bytes(data)
        try:
            if suffix == ".keras":
                keras.models.load_model(path)
            else:
                build_model().load_weights(path)
        except ValueError as e:
            assert str(path) in str(e), f"case {i} ({what}): the error does not name the file: {e}"
            outcomes["refused"] += 1
        except Exception as e:  # noqa: BLE001 - any other exception is the bug being hunted
            pytest.fail(f"seed {seed} case {i} ({what}): {type(e).__name__}: {e}")
        else:
            outcomes["loaded"] += 1
        path.unlink()
    return outcomes


def test_loader_fuzz_fast(saved, tmp_path):
    outcomes = run_cases(saved, tmp_path, seed=0, count=60)
    assert outcomes["refused"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(1, 11))
def test_loader_fuzz_long(saved, tmp_path, seed):
    run_cases(saved, tmp_path, seed=seed, count=300)
