"""shendu (深度): deep learning with hand-written C++/CUDA kernels under a Keras-compatible API.

``import shendu as tf`` gives TensorFlow's core spellings for custom training loops:
``tf.GradientTape``, ``tf.Variable``, ``tf.constant``, ``tf.function`` (which runs eagerly), the
tensor operations of ``tf.math`` and ``tf.nn`` (also at the top level, as TensorFlow has them),
``tf.random``, ``tf.keras``. A TensorFlow name that shendu does not provide raises an
AttributeError saying so.
"""

import importlib

from . import dtypes, math, nn, ops, random, reference, tape
from ._config import get_backend, get_num_threads, set_backend, set_num_threads
from ._device import device, get_device, set_device
from ._version import __version__
from .core import (
    clip_by_global_norm,
    clip_by_norm,
    constant,
    convert_to_tensor,
    executing_eagerly,
    fill,
    function,
    global_norm,
    linspace,
    newaxis,
    norm,
    one_hot,
    ones,
    ones_like,
    print,  # noqa: A004 - TensorFlow's name
    range,  # noqa: A004 - TensorFlow's name
    rank,
    shape,
    size,
    zeros,
    zeros_like,
)
from .dtypes import (
    bool,  # noqa: A004 - TensorFlow's name
    double,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    uint8,
)
from .math import (
    abs,  # noqa: A004 - TensorFlow's name
    add,
    add_n,
    argmax,
    argmin,
    cast,
    clip_by_value,
    concat,
    cumsum,
    divide,
    equal,
    exp,
    expand_dims,
    gather,
    greater,
    greater_equal,
    identity,
    less,
    less_equal,
    log,
    logical_and,
    logical_not,
    logical_or,
    matmul,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    pow,  # noqa: A004 - TensorFlow's name
    reduce_all,
    reduce_any,
    reduce_logsumexp,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_prod,
    reduce_std,
    reduce_sum,
    reduce_variance,
    reshape,
    round,  # noqa: A004 - TensorFlow's name
    sigmoid,
    sign,
    sqrt,
    square,
    squeeze,
    stack,
    stop_gradient,
    subtract,
    tanh,
    transpose,
    unstack,
    where,
)
from .tape import GradientTape, NoGradientError
from .tensor import Tensor

# Imported on first use, so `import shendu` stays fast and does not load Keras: `shendu.keras`,
# `shendu.data.Dataset`, `shendu.distribute`, `shendu.version.VERSION`, `shendu.Variable`,
# `shendu.TensorSpec` (for Dataset.from_generator's output_signature).
_LAZY = ("data", "distribute", "keras", "version")
_LAZY_NAMES = {"Variable": "variables", "TensorSpec": "data"}


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(f".{_LAZY_NAMES[name]}", __name__), name)
    if name.startswith("__"):
        raise AttributeError(f"module 'shendu' has no attribute {name!r}")
    raise AttributeError(
        f"shendu does not provide tf.{name} (module 'shendu' has no attribute {name!r})"
    )


__all__ = [
    "dtypes",
    "math",
    "nn",
    "ops",
    "random",
    "reference",
    "tape",
    "get_backend",
    "get_num_threads",
    "set_backend",
    "set_num_threads",
    "device",
    "get_device",
    "set_device",
    "__version__",
    "clip_by_global_norm",
    "clip_by_norm",
    "constant",
    "convert_to_tensor",
    "executing_eagerly",
    "fill",
    "function",
    "global_norm",
    "linspace",
    "newaxis",
    "norm",
    "one_hot",
    "ones",
    "ones_like",
    "print",
    "range",
    "rank",
    "shape",
    "size",
    "zeros",
    "zeros_like",
    "bool",
    "double",
    "float16",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "abs",
    "add",
    "add_n",
    "argmax",
    "argmin",
    "cast",
    "clip_by_value",
    "concat",
    "cumsum",
    "divide",
    "equal",
    "exp",
    "expand_dims",
    "gather",
    "greater",
    "greater_equal",
    "identity",
    "less",
    "less_equal",
    "log",
    "logical_and",
    "logical_not",
    "logical_or",
    "matmul",
    "maximum",
    "minimum",
    "multiply",
    "negative",
    "not_equal",
    "pow",
    "reduce_all",
    "reduce_any",
    "reduce_logsumexp",
    "reduce_max",
    "reduce_mean",
    "reduce_min",
    "reduce_prod",
    "reduce_std",
    "reduce_sum",
    "reduce_variance",
    "reshape",
    "round",
    "sigmoid",
    "sign",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "stop_gradient",
    "subtract",
    "tanh",
    "transpose",
    "unstack",
    "where",
    "GradientTape",
    "NoGradientError",
    "Tensor",
    *_LAZY,
    *_LAZY_NAMES,
]
