"""shendu (深度): deep learning with hand-written C++/CUDA kernels under a Keras-compatible API."""

from . import ops, reference
from ._config import get_backend, get_num_threads, set_backend, set_num_threads

__version__ = "0.1.0"

__all__ = [
    "ops",
    "reference",
    "get_backend",
    "set_backend",
    "get_num_threads",
    "set_num_threads",
    "__version__",
]
