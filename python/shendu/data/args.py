"""Argument checks shared by the Dataset methods: errors name the method, argument and value."""

import numbers

import numpy as np


def integer(method, name, value, minimum=None):
    """``value`` as an int, a TypeError unless it is an integer, a ValueError below ``minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{method}: `{name}` must be an int, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{method}: `{name}` must be >= {minimum}, got {value}")
    return value


def optional_count(method, name, value):
    """None means -1 (all / forever), as tf.data's take, skip and repeat read it."""
    return -1 if value is None else integer(method, name, value, minimum=-1)


def callable_(method, name, value):
    if not callable(value):
        raise TypeError(f"{method}: `{name}` must be callable, got {value!r}")
    return value


def boolean(method, name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{method}: `{name}` must be a bool, got {value!r}")
    return bool(value)
