"""shendu (深度): deep learning with hand-written C++/CUDA kernels under a Keras-compatible API."""

import importlib

from . import ops, reference
from ._config import get_backend, get_num_threads, set_backend, set_num_threads
from ._device import device, get_device, set_device
from ._version import __version__

# Imported on first use, so `import shendu` stays fast: `shendu.keras`, `shendu.nn.softmax`,
# `shendu.version.VERSION`, `shendu.random.set_seed`, `shendu.data.Dataset`, `shendu.distribute`
# (TensorFlow's spellings).
_LAZY = ("data", "distribute", "keras", "nn", "random", "version")


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    if name == "TensorSpec":  # tf.TensorSpec, for Dataset.from_generator's output_signature
        return importlib.import_module(".data", __name__).TensorSpec
    raise AttributeError(f"module 'shendu' has no attribute {name!r}")


__all__ = [
    "ops",
    "reference",
    "get_backend",
    "set_backend",
    "get_num_threads",
    "set_num_threads",
    "device",
    "get_device",
    "set_device",
    "__version__",
    "TensorSpec",
    *_LAZY,
]
