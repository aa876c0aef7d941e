"""Each example program is written once, in examples/: the bench, the demo and the tests load it
by path through shendu.bench.examples, on shendu.keras or with its imports pointed at another
Keras (TF-Keras in the bench's workers)."""

import importlib
import pathlib
import sys
import types

import numpy as np
import pytest
from shendu import __main__ as cli
from shendu import keras
from shendu.bench import examples, programs, workloads

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()


def _imported(name):
    """examples/<name>.py imported the ordinary way, as `python examples/<name>.py` runs it."""
    sys.path.insert(0, str(EXAMPLES))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(EXAMPLES))


def _layers(model):
    """Every layer's config without its names, a wrapped layer's too (names count up within a
    session)."""
    return [_unnamed(layer.get_config()) for layer in model.layers]


def _unnamed(config):
    if isinstance(config, dict):
        return {k: _unnamed(v) for k, v in config.items() if k != "name"}
    return config


def test_the_loader_finds_the_checkout_examples():
    # From a checkout it reads examples/; installed, the copy in the package: the same files.
    found = pathlib.Path(examples.folder())
    for program in EXAMPLES.glob("*.py"):
        assert (found / program.name).read_bytes() == program.read_bytes(), program.name
    assert examples.names() == sorted(p.stem for p in EXAMPLES.glob("[!_]*.py"))
    assert set(workloads.PROGRAMS) <= set(examples.names())


@pytest.fixture
def built(monkeypatch):
    """The models built by whatever loads an example through shendu.bench.examples.load."""
    models = []
    load = examples.load

    def recording(name, keras_module=None, tf_module=None):
        program = load(name, keras_module, tf_module)
        build = program.build_model
        program.build_model = lambda: models.append((name, build())) or models[-1][1]
        return program

    monkeypatch.setattr(examples, "load", recording)
    return models


def _small(name, n=32):
    (x, y), (xt, yt) = examples.sample_data(examples.load(name))
    return {"x_train": x[:n], "y_train": y[:n], "x_test": xt[:n], "y_test": yt[:n]}


@pytest.mark.parametrize("name", workloads.PROGRAMS)
def test_the_bench_trains_the_example_model(name, built):
    data = _small(name)
    result = programs.run_keras(keras, name, data, 1)
    assert result["fit_s"] > 0 and 0.0 <= result["accuracy"] <= 1.0
    ((loaded, model),) = built
    assert loaded == name
    assert _layers(model) == _layers(_imported(name).build_model())
    assert programs.epochs(name) == _imported(name).EPOCHS


def test_a_custom_loop_is_timed_against_fit_of_the_same_model(built):
    import shendu

    data = _small("custom_training_loop")
    result = programs.RUNNERS["shendu"](shendu, "custom_training_loop", data, 1)
    assert result["fit_s"] > 0 and result["variants"]["fit"] > 0
    assert 0.0 <= result["accuracy"] <= 1.0
    (_, loop), (_, fitted) = built
    assert _layers(loop) == _layers(fitted) == _layers(_imported("custom_training_loop").MyModel())
    assert loop.optimizer is None and fitted.optimizer is not None  # only the second is compiled


def test_a_custom_loop_on_tensorflow_imports_the_tensorflow_package():
    # tf.keras is the module keras._tf_keras.keras: the bench names the tf package itself.
    text = examples.source("custom_training_loop", "keras._tf_keras.keras", "tensorflow")
    assert "import tensorflow as tf\n" in text
    assert "import keras._tf_keras.keras as keras\n" in text


def test_the_demo_trains_the_example_cnn(built, monkeypatch, tmp_path, capsys):
    sample = examples.sample_data
    monkeypatch.setattr(
        examples,
        "sample_data",
        lambda program: tuple((x[:64], y[:64]) for x, y in sample(program)),
    )
    cli.demo(["--epochs", "1", "--plot", str(tmp_path / "curves.png")])
    ((loaded, model),) = built
    assert loaded == "mnist_cnn"
    assert _layers(model) == _layers(_imported("mnist_cnn").build_model())
    assert "test accuracy:" in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.py")))
def test_on_another_keras_no_shendu_import_is_left(name):
    text = examples.source(name, "tensorflow.keras")
    imports = [ln for ln in text.splitlines() if ln.startswith(("import ", "from "))]
    assert imports and not any("shendu" in ln for ln in imports), imports


def test_an_example_loads_on_another_keras_module(monkeypatch):
    # shendu.keras under another name stands in for tf.keras: the program and its helper import
    # it, and the helper is gone from sys.modules again afterwards.
    other = types.ModuleType("other_keras")
    for sub in ("", ".layers", ".models", ".optimizers", ".datasets"):
        target = importlib.import_module("shendu.keras" + sub)
        monkeypatch.setitem(sys.modules, "other_keras" + sub, target)
    monkeypatch.delitem(sys.modules, "_mnist", raising=False)
    program = examples.load("mnist_mlp_flatten", other)
    assert program.keras is keras and program.load.__module__ == "shendu_example__mnist"
    assert "_mnist" not in sys.modules
    x = np.zeros((2, 28, 28), np.float32)
    assert program.build_model().predict(x, verbose=0).shape == (2, 10)
