"""keras.optimizers: the Keras 3 optimizers with their options, and learning-rate schedules
(``keras.optimizers.schedules``). Each update is a fused in-place op (shendu.ops.*_update)."""

from __future__ import annotations

from .. import registry, serialization
from . import schedules
from .adaptive import Adadelta, Adagrad, Adamax, Ftrl, Lion, Nadam
from .base import Optimizer, serialize
from .basic import SGD, Adam, AdamW, RMSprop

__all__ = [
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Ftrl",
    "Lion",
    "Nadam",
    "Optimizer",
    "RMSprop",
    "deserialize",
    "get",
    "schedules",
    "serialize",
]


def _builtin() -> dict:
    """The built-in optimizer classes by lower-case name (Keras matches them in any case)."""
    return {name.lower(): cls for name, cls in registry.builtin_objects("optimizers").items()}


def get(identifier) -> Optimizer:
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _builtin().get(identifier.lower())
        if cls is not None:
            return cls()
    raise ValueError(
        f"Could not interpret optimizer identifier: {identifier!r}. Accepted "
        f"optimizers: {', '.join(repr(a) for a in sorted(_builtin()))}, or a "
        "keras.optimizers.Optimizer instance."
    )


def deserialize(config, custom_objects=None):
    # As Keras: built-in class names are matched in any case ("adam", "Adam", "ADAM").
    builtin = _builtin()
    if isinstance(config, dict) and str(config.get("class_name")).lower() in builtin:
        config = {**config, "class_name": builtin[config["class_name"].lower()].__name__}
    return serialization.deserialize_keras_object(
        config, registry.builtin_objects("optimizers"), custom_objects, what="optimizer"
    )
