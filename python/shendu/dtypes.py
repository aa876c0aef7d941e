"""tf.dtypes: shendu's dtypes are NumPy dtypes, so ``shendu.float32 == np.float32 == "float32"``."""

from __future__ import annotations

import numpy as np

float16 = np.dtype("float16")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
double = float64
int8 = np.dtype("int8")
int16 = np.dtype("int16")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
uint8 = np.dtype("uint8")
bool = np.dtype("bool")  # noqa: A001 - TensorFlow's name

DType = np.dtype


def as_dtype(value) -> np.dtype:
    """A dtype from a dtype, a NumPy type or its name ("float32")."""
    try:
        return np.dtype(value)
    except TypeError:
        raise TypeError(f"dtype: expected a dtype or its name, got {value!r}") from None


__all__ = [
    "float16",
    "float32",
    "float64",
    "double",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "bool",
    "DType",
    "as_dtype",
]
