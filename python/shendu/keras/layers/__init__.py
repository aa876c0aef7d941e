"""keras.layers."""

from __future__ import annotations

from .. import registry, serialization
from .convolutional import AveragePooling2D, AvgPool2D, Conv2D, MaxPool2D, MaxPooling2D
from .core import Activation, Dense, Dropout, Flatten, Input, InputLayer, Reshape, Softmax
from .embedding import Embedding
from .layer import Layer, Variable
from .masking import Masking
from .merging import Add, Average, Concatenate, Subtract
from .recurrent import GRU, LSTM, SimpleRNN
from .wrappers import Bidirectional, TimeDistributed


def serialize(layer) -> dict:
    """Keras 3's layer record: class name, config, and the input shape it was built for."""
    return serialization.serialize_keras_object(layer, type(layer)._public_module)


def deserialize(config, custom_objects=None):
    """The layer (or model) a record describes. Classes are found by name among shendu's
    layers and models, the registered classes (``keras.saving.register_keras_serializable``),
    and ``custom_objects``."""
    return serialization.deserialize_keras_object(
        config, registry.builtin_objects("layers"), custom_objects, what="layer"
    )


__all__ = [
    "GRU",
    "LSTM",
    "Activation",
    "Add",
    "Average",
    "AveragePooling2D",
    "AvgPool2D",
    "Concatenate",
    "Conv2D",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "Input",
    "InputLayer",
    "Layer",
    "MaxPool2D",
    "MaxPooling2D",
    "Reshape",
    "SimpleRNN",
    "Softmax",
    "Subtract",
    "Variable",
    "deserialize",
    "serialize",
    "Bidirectional",
    "Masking",
    "TimeDistributed",
]
