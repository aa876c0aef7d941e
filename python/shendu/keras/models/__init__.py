"""keras.models: Model (functional), Sequential, and building or loading them from configs/files."""

from __future__ import annotations

from ..layers import deserialize, serialize
from ..saving import load_model
from .functional import Functional, Model
from .sequential import Sequential


def model_from_config(config, custom_objects=None):
    """Rebuilds a model from {"class_name": "Sequential" | "Functional", "config": ...}."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"model_from_config: expected a dict with 'class_name' and 'config', got {config!r}"
        )
    return deserialize(config, custom_objects)


def clone_model(model):
    """A new model with the same architecture and freshly initialized weights."""
    return model_from_config(serialize(model))


__all__ = ["Functional", "Model", "Sequential", "model_from_config", "load_model", "clone_model"]
