"""keras.regularizers: weight penalties added to the loss; their gradients are added to the weights'.

The penalty and its gradient are a sum and a scaled copy of the weight, computed where the weight
lives (NumPy or CuPy); the penalty stays a device scalar until the loss is read back."""

from __future__ import annotations

import numpy as np

from .. import _device
from . import serialization


class Regularizer:
    def __call__(self, w) -> float:
        raise NotImplementedError

    def gradient(self, w) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _check(name, value):
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name}: expected a finite value >= 0, got {value!r}")
    return value


class L1L2(Regularizer):
    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = _check("l1", l1), _check("l2", l2)

    def __call__(self, w):
        xp = _device.array_module(w)
        total = 0.0
        if self.l1:
            total += self.l1 * xp.abs(w).sum().astype(xp.float64)
        if self.l2:
            total += self.l2 * xp.square(w).sum().astype(xp.float64)
        return total

    def gradient(self, w):
        xp = _device.array_module(w)
        g = xp.zeros_like(w)
        if self.l1:
            g += self.l1 * xp.sign(w)
        if self.l2:
            g += (2.0 * self.l2) * w
        return g

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


def l1(l1=0.01):
    return L1(l1)


def l2(l2=0.01):
    return L2(l2)


def l1_l2(l1=0.01, l2=0.01):
    return L1L2(l1, l2)


_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2}
_ALIASES = {"l1": L1, "l2": L2, "l1_l2": L1L2}


def get(identifier):
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str) and identifier in {**_ALIASES, **_CLASSES}:
        return {**_ALIASES, **_CLASSES}[identifier]()
    raise ValueError(
        f"Unknown regularizer: {identifier!r}. Accepted: 'l1', 'l2', 'l1_l2', "
        "a Regularizer instance, or None."
    )


def serialize(reg):
    if reg is None:
        return None
    return serialization.serialize_keras_object(reg, "keras.regularizers")


def deserialize(config, custom_objects=None):
    return serialization.deserialize_keras_object(
        config, _CLASSES, custom_objects, what="regularizer"
    )
