"""keras.layers."""

from __future__ import annotations

from .. import registry, serialization
from .activation_layers import ELU, LeakyReLU, PReLU, ReLU
from .conv1d import Conv1D
from .conv_transpose import Conv2DTranspose
from .convolutional import AveragePooling2D, AvgPool2D, Conv2D, MaxPool2D, MaxPooling2D
from .core import Activation, Dense, Dropout, Flatten, Input, InputLayer, Reshape, Softmax
from .depthwise import DepthwiseConv2D, SeparableConv2D
from .embedding import Embedding
from .layer import Layer, Variable
from .masking import Masking
from .merging import Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract
from .noise import (
    ActivityRegularization,
    AlphaDropout,
    GaussianDropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
)
from .normalization import BatchNormalization, LayerNormalization
from .pooling import (
    AveragePooling1D,
    AvgPool1D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAvgPool1D,
    GlobalAvgPool2D,
    GlobalMaxPool1D,
    GlobalMaxPool2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPool1D,
    MaxPooling1D,
)
from .preprocessing import Normalization, Rescaling
from .recurrent import GRU, LSTM, SimpleRNN
from .reshaping import (
    Cropping1D,
    Cropping2D,
    Permute,
    RepeatVector,
    UpSampling1D,
    UpSampling2D,
    ZeroPadding1D,
    ZeroPadding2D,
)
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
    "BatchNormalization",
    "LayerNormalization",
    "Normalization",
    "Rescaling",
    "deserialize",
    "Conv1D",
    "Conv2DTranspose",
    "DepthwiseConv2D",
    "SeparableConv2D",
    "serialize",
    "Bidirectional",
    "Masking",
    "TimeDistributed",
]
__all__ += [
    "ELU",
    "ActivityRegularization",
    "AlphaDropout",
    "AveragePooling1D",
    "AvgPool1D",
    "Cropping1D",
    "Cropping2D",
    "Dot",
    "GaussianDropout",
    "GaussianNoise",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "LeakyReLU",
    "MaxPool1D",
    "MaxPooling1D",
    "Maximum",
    "Minimum",
    "Multiply",
    "PReLU",
    "Permute",
    "ReLU",
    "RepeatVector",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "UpSampling1D",
    "UpSampling2D",
    "ZeroPadding1D",
    "ZeroPadding2D",
]

# Text and category preprocessing (host-side, NumPy).
from .categorical import CategoryEncoding, Hashing  # noqa: E402
from .lookup import IntegerLookup, StringLookup  # noqa: E402
from .text import TextVectorization  # noqa: E402

__all__ += ["CategoryEncoding", "Hashing", "IntegerLookup", "StringLookup", "TextVectorization"]
