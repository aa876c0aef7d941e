"""Every public layer and model class has its own docstring, giving its shapes as Keras's do."""

import inspect

import pytest
from shendu.keras import layers, models

LAYER_CLASSES = sorted(
    {getattr(layers, n) for n in layers.__all__ if inspect.isclass(getattr(layers, n))}
    - {layers.Variable},
    key=lambda c: c.__name__,
)


@pytest.mark.parametrize("cls", LAYER_CLASSES, ids=lambda c: c.__name__)
def test_layer_docstring_gives_shapes(cls):
    doc = cls.__dict__.get("__doc__") or ""
    assert "shape" in doc.lower(), f"{cls.__name__} has no docstring giving its shapes"


@pytest.mark.parametrize("cls", [models.Sequential, models.Model, models.Functional])
def test_model_docstrings(cls):
    assert len(cls.__dict__.get("__doc__") or "") > 80
