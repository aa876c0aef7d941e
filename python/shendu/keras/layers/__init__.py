"""keras.layers."""

from __future__ import annotations

from .convolutional import AveragePooling2D, AvgPool2D, Conv2D, MaxPool2D, MaxPooling2D
from .core import Activation, Dense, Dropout, Flatten, Input, InputLayer, Reshape, Softmax
from .embedding import Embedding
from .layer import Layer, Variable
from .merging import Add, Average, Concatenate, Subtract
from .recurrent import GRU, LSTM, SimpleRNN

_LAYERS = {cls.__name__: cls for cls in (
    AveragePooling2D, Conv2D, MaxPooling2D, Activation, Dense, Dropout, Flatten, InputLayer,
    Reshape, Softmax, Embedding, Add, Average, Concatenate, Subtract, GRU, LSTM, SimpleRNN)}


def serialize(layer) -> dict:
    """Keras 3's layer record: class name, config, and the input shape it was built for."""
    entry = {"module": "keras.layers", "class_name": type(layer).__name__,
             "config": layer.get_config(), "registered_name": None}
    if type(layer).__name__ in ("Sequential", "Functional"):
        entry["module"] = "keras"
    if layer.built and not isinstance(layer, InputLayer) and layer._build_input_shape is not None:
        shape = layer._build_input_shape
        entry["build_config"] = {"input_shape": [list(s) for s in shape]
                                 if isinstance(shape, list) else list(shape)}
    return entry


def deserialize(config, custom_objects=None):
    from ..models import Functional, Model, Sequential

    name = config.get("class_name")
    classes = {**_LAYERS, "Sequential": Sequential, "Functional": Functional, "Model": Functional,
               **(custom_objects or {})}
    cls = classes.get(name)
    if cls is None:
        raise ValueError(f"Unknown layer class: {name!r}. Accepted: {', '.join(sorted(classes))}")
    if isinstance(cls, type) and issubclass(cls, Model):
        return cls.from_config(config["config"], custom_objects)
    layer = cls.from_config(dict(config["config"]))
    build = config.get("build_config")
    if build and not layer.built:
        shape = build["input_shape"]
        if shape and isinstance(shape[0], list):
            shape = [tuple(s) for s in shape]
        else:
            shape = tuple(shape)
        layer._maybe_build(shape)
    return layer


__all__ = sorted(_LAYERS) + ["Input", "Layer", "MaxPool2D", "AvgPool2D", "Variable",
                             "serialize", "deserialize"]
