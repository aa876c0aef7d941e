"""shendu.keras finds serializable classes by name in one registry, and its modules import one
way (no circle): layers -> models -> saving, the registry below them all."""

import ast
import pathlib
import random
import subprocess
import sys

import numpy as np
import pytest
import shendu
from shendu import keras
from shendu.keras import layers, registry, saving

KERAS_DIR = pathlib.Path(shendu.__file__).parent / "keras"


def _module_name(path):
    parts = ["shendu", "keras", *path.relative_to(KERAS_DIR).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(KERAS_DIR.rglob("*.py"))}


def _resolve(module, path, node):
    """The shendu modules an import statement in ``module`` names."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.startswith("shendu")]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    base = ".".join(p for p in (package if node.level else "", node.module or "") if p)
    if not base.startswith("shendu"):
        return []
    # `from pkg import name` names the module pkg.name when there is one, else pkg itself.
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]


def _imports(module):
    """(top-level imports, nested imports) of shendu modules in ``module``."""
    path = MODULES[module]
    tree = ast.parse(path.read_text())
    top = {n for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
           for n in _resolve(module, path, node)}  # fmt: skip
    nested = [
        (node.lineno, name)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom)) and node not in tree.body
        for name in _resolve(module, path, node)
    ]
    return top, nested


def _reachable(start):
    seen, todo = set(), [start]
    while todo:
        for name in _imports(todo.pop())[0]:
            if name in MODULES and name not in seen:
                seen.add(name)
                todo.append(name)
    return seen


def test_the_module_list_is_complete():
    assert {"shendu.keras.layers", "shendu.keras.models.trainer", "shendu.keras.saving"} <= set(
        MODULES
    )


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_circle_and_no_import_inside_functions(module):
    top, nested = _imports(module)
    assert nested == [], f"{module} imports inside a function or class: {nested}"
    assert "import_module" not in MODULES[module].read_text(), f"{module} imports at call time"
    assert module not in _reachable(module), f"{module} imports itself through a circle"


def test_imports_run_layers_models_saving():
    assert not any(m.startswith("shendu.keras") for m in _imports("shendu.keras.registry")[0])
    below_saving = _reachable("shendu.keras.saving")
    assert not {
        m for m in below_saving if m.startswith(("shendu.keras.models", "shendu.keras.layers"))
    }
    below_layers = _reachable("shendu.keras.layers")
    assert not {m for m in below_layers if m.startswith("shendu.keras.models")}
    assert "shendu.keras.saving" in _reachable("shendu.keras.models")


@pytest.mark.parametrize("seed", [None, "reversed", 1, 2, 3])
def test_every_submodule_imports_first_in_a_fresh_interpreter(seed):
    order = sorted(MODULES)
    if seed == "reversed":
        order.reverse()
    elif seed is not None:
        random.Random(seed).shuffle(order)
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    subprocess.run([sys.executable, "-c", code, *order], check=True, capture_output=True)


def test_public_names_still_import():
    from shendu.keras.layers import Dense, deserialize, serialize  # noqa: F401
    from shendu.keras.models import Sequential, clone_model, load_model, model_from_config

    assert load_model is saving.load_model
    assert keras.Sequential is Sequential
    assert callable(clone_model) and callable(model_from_config)


@saving.register_keras_serializable(package="RegistryTest")
class Scale(layers.Layer):
    """y = factor * w * x, one weight per feature."""

    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = float(factor)

    def build(self, input_shape):
        self.w = self.add_weight("w", (input_shape[-1],), "ones")

    def forward(self, x, training=False):
        return x * (self.factor * self.w.value), x

    def backward(self, x, dy):
        return dy * (self.factor * self.w.value), [(dy * x).sum(axis=0) * self.factor]

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class Unregistered(Scale):
    pass


def _model(cls):
    model = keras.Sequential([keras.Input((3,)), cls(2.5), layers.Dense(2)])
    w = np.array([0.5, -1.0, 2.0], np.float32)
    kernel = np.arange(6, dtype=np.float32).reshape(3, 2) / 7
    bias = np.array([0.25, -0.5], np.float32)
    model.set_weights([w, kernel, bias])
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    return model, x, (x * 2.5 * w) @ kernel + bias


def test_registered_names():
    assert registry.get_registered_name(Scale) == "RegistryTest>Scale"
    assert saving.get_registered_object("RegistryTest>Scale") is Scale
    assert saving.get_custom_objects()["RegistryTest>Scale"] is Scale
    assert saving.get_registered_name(layers.Dense) == "Dense"
    assert saving.get_registered_object("Unregistered") is None
    assert "Scale" not in registry.builtin_objects("layers")  # users' classes: not built in
    assert registry.builtin_objects("layers")["Dense"] is layers.Dense


def test_register_refuses_bad_arguments():
    with pytest.raises(ValueError, match="package"):
        saving.register_keras_serializable(package="a>b")
    with pytest.raises(ValueError, match="get_config"):
        saving.register_keras_serializable()(type("NoConfig", (), {}))


def test_registered_layer_round_trips_through_keras_archive(tmp_path):
    model, x, expected = _model(Scale)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-6)
    model.compile(optimizer="sgd", loss="mse")
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded.layers[0]) is Scale and loaded.layers[0].factor == 2.5
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-6)


def test_registered_layer_round_trips_through_config():
    model, x, expected = _model(Scale)
    record = layers.serialize(model.layers[0])
    assert record["registered_name"] == "RegistryTest>Scale"
    assert record["module"] == __name__
    assert record["build_config"] == {"input_shape": [None, 3]}
    layer = layers.deserialize(record)
    assert type(layer) is Scale and layer.built and layer.factor == 2.5
    clone = keras.Sequential.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(x, verbose=0), expected, rtol=1e-6)


def test_unregistered_layer_needs_custom_objects(tmp_path):
    model, x, expected = _model(Unregistered)
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="Unknown layer class: 'Unregistered'.*register"):
        saving.load_model(tmp_path / "m.keras")
    loaded = saving.load_model(tmp_path / "m.keras", custom_objects={"Unregistered": Unregistered})
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-6)
    with saving.custom_object_scope({"Unregistered": Unregistered}):
        loaded = saving.load_model(tmp_path / "m.keras")
    assert type(loaded.layers[0]) is Unregistered
    with pytest.raises(ValueError, match="Unknown layer class"):
        keras.models.clone_model(model)


def test_custom_object_scope_nests_and_comes_first():
    class Other(Scale):
        pass

    record = layers.serialize(Scale(1.0))
    with saving.CustomObjectScope({"RegistryTest>Scale": Other}):
        with saving.custom_object_scope({}):
            assert type(layers.deserialize(record)) is Other
    assert type(layers.deserialize(record)) is Scale
    with pytest.raises(TypeError, match="custom_objects"):
        saving.CustomObjectScope(["Scale"])


@saving.register_keras_serializable(package="RegistryTest")
class HalfL2(keras.regularizers.Regularizer):
    def __init__(self, l2=0.5):
        self.l2 = l2

    def __call__(self, x):
        return 0.5 * self.l2 * float(np.sum(np.square(x)))

    def get_config(self):
        return {"l2": self.l2}


def test_registered_objects_of_other_kinds_round_trip():
    reg = keras.regularizers.deserialize(keras.regularizers.serialize(HalfL2(0.25)))
    assert type(reg) is HalfL2 and reg.l2 == 0.25
    dense = layers.Dense(2, kernel_regularizer=HalfL2(0.25))
    again = layers.deserialize(layers.serialize(dense))
    assert type(again.kernel_regularizer) is HalfL2 and again.kernel_regularizer.l2 == 0.25
    assert type(keras.optimizers.deserialize({"class_name": "adam", "config": {}})).__name__ == (
        "Adam"
    )
