"""Checks of the constructor arguments and input shapes layers share, with Keras's error
messages."""

from __future__ import annotations

import numpy as np

PADDINGS = ("valid", "same")

# The largest size or count a layer takes (units, filters, kernel and pool sizes, strides): the
# native kernels' size arithmetic is 64-bit, and products of two such values and an array extent
# must not overflow it.
MAX_SIZE = 2**31 - 1


def positive_int(name, value) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or not 0 < value <= MAX_SIZE
    ):
        raise ValueError(
            f"Received an invalid value for `{name}`, expected a positive integer "
            f"(at most {MAX_SIZE}). Received: {name}={value!r}"
        )
    return int(value)


def rate(name, value) -> float:
    """A dropout rate in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(
            f"Invalid value received for argument `{name}`. Expected a float value "
            f"between 0 and 1 (1 excluded). Received: {name}={value!r}"
        )
    return float(value)


def refuse(layer, **unsupported) -> None:
    """Fails on each Keras argument that shendu does not implement and that was set."""
    for name, value in unsupported.items():
        if value is not None:
            raise ValueError(f"{layer}: `{name}` is not supported by shendu, got {value!r}")


def shape_tuple(shape, what) -> tuple:
    """A shape (an int or ints and Nones) as a tuple."""
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        shape = tuple(None if d is None else int(d) for d in shape)
    except TypeError:
        raise ValueError(f"{what}: expected a tuple of ints, got {shape!r}") from None
    if any(d is not None and d < 0 for d in shape):
        raise ValueError(f"{what}: dimensions must be >= 0 or None, got {shape!r}")
    return shape


def _ints(value, count) -> tuple:
    """(value, its items as ints): one int is first repeated ``count`` times, as the error
    messages then show it; the ints are () when value is not a sequence (the callers then fail
    with their own message)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value,) * count
    try:
        return value, tuple(int(v) for v in value)
    except TypeError:
        return value, ()


def pair(name, value) -> tuple:
    """Two positive ints, from one int or a pair (kernel sizes, strides, pool sizes)."""
    value, result = _ints(value, 2)
    if len(result) != 2 or min(result) <= 0 or max(result) > MAX_SIZE:
        raise ValueError(
            f"The `{name}` argument must be a tuple of 2 positive integers "
            f"(at most {MAX_SIZE}). Received: {name}={value!r}"
        )
    return result


def padding(value) -> str:
    """'valid' or 'same', in any case."""
    result = value.lower() if isinstance(value, str) else value
    if result not in PADDINGS:
        raise ValueError(
            f"The `padding` argument must be one of {PADDINGS}. Received: padding={value!r}"
        )
    return result


def channels_last(value) -> None:
    """data_format: shendu's layers take NHWC images only."""
    if value not in (None, "channels_last"):
        raise ValueError(f"data_format: only 'channels_last' (NHWC) is supported, got {value!r}")


def integer(name, value) -> int:
    """An int (an axis, say): bools and floats are refused."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an integer. Received: {name}={value!r}")
    return int(value)


def finite_float(name, value, minimum=None) -> float:
    """A finite real number (>= minimum when given)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"`{name}` must be a number. Received: {name}={value!r}")
    value = float(value)
    if not np.isfinite(value) or (minimum is not None and value < minimum):
        bound = "" if minimum is None else f" >= {minimum}"
        raise ValueError(f"`{name}` must be a finite number{bound}. Received: {name}={value!r}")
    return value


def single(name, value) -> int:
    """One positive int, from an int or a 1-tuple (1-D kernel sizes, strides, dilations)."""
    value, result = _ints(value, 1)
    if len(result) != 1 or not 0 < result[0] <= MAX_SIZE:
        raise ValueError(
            f"The `{name}` argument must be a tuple of 1 positive integers "
            f"(at most {MAX_SIZE}). Received: {name}={value!r}"
        )
    return result[0]


def dilation(value, strides) -> tuple:
    """dilation_rate as a pair; Keras refuses it > 1 with strides > 1."""
    result = pair("dilation_rate", value)
    if max(result) > 1 and max(strides) > 1:
        raise ValueError(
            "`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
            f"Received: strides={strides} and dilation_rate={result}"
        )
    return result


def output_padding(value, strides):
    """None, or a pair of ints in [0, stride) (Conv2DTranspose)."""
    if value is None:
        return None
    value, result = _ints(value, 2)
    if len(result) != 2 or any(not 0 <= p < s for p, s in zip(result, strides)):
        raise ValueError(
            "The `output_padding` argument must be None or 2 integers, each non-negative and "
            f"less than its stride. Received: output_padding={value!r}, strides={strides}"
        )
    return result


def input_ndim(layer, input_shape, ndim, axes=None) -> None:
    """Fails unless the input has ``ndim`` dimensions; ``axes`` names them in the message."""
    if len(input_shape) != ndim:
        expected = f"ndim={ndim}" if axes is None else f"ndim={ndim} {axes}"
        raise ValueError(
            f"Input 0 of layer {layer.name!r} is incompatible with the layer: expected "
            f"{expected}, found ndim={len(input_shape)}. Full shape received: "
            f"{tuple(input_shape)}"
        )
