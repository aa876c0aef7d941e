"""shendu.keras: a Keras-compatible API on shendu's kernels.

Keras programs run after swapping their imports (``from shendu import keras``,
``import shendu as tf`` then ``tf.keras``, ``from shendu.keras.layers import Dense``).
"""

from .. import __version__
from .._device import device  # keras.device("gpu:0"), as Keras 3
from . import (
    activations,
    backend,
    callbacks,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    preprocessing,
    regularizers,
    saving,
    utils,
)
from .layers import Input, Layer
from .models import Model, Sequential


def version() -> str:
    return __version__


__all__ = [
    "activations",
    "backend",
    "callbacks",
    "datasets",
    "device",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "models",
    "ops",
    "optimizers",
    "preprocessing",
    "regularizers",
    "saving",
    "utils",
    "Input",
    "Layer",
    "Model",
    "Sequential",
    "version",
    "__version__",
]
