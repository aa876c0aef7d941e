"""keras.backend: the random state that initializers, dropout and shuffling draw from, and layer names."""

from __future__ import annotations

import re

import numpy as np

from .. import random as _random

_name_counts: dict[str, int] = {}


def set_random_seed(seed: int) -> None:
    """Reseed the generator behind weight initializers, dropout masks and fit()'s shuffling
    (shendu.random's, so tf.random.set_seed does the same)."""
    _random.set_seed(seed)


def random_generator() -> np.random.Generator:
    return _random.generator()


def next_seed() -> int:
    """A fresh 32-bit seed for ops that take one (dropout)."""
    return int(_random.generator().integers(0, 2**32))


def floatx() -> str:
    return "float32"


def epsilon() -> float:
    return 1e-7


def image_data_format() -> str:
    return "channels_last"


def snake_case(name: str) -> str:
    """Keras's auto-name rule: MaxPooling2D -> max_pooling2d, SimpleRNN -> simple_rnn."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(base: str) -> str:
    """dense, dense_1, dense_2, ... as Keras names layers and models (reset by clear_session)."""
    n = _name_counts.get(base, 0)
    _name_counts[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def clear_session() -> None:
    """Reset the automatic layer names (Keras's clear_session)."""
    _name_counts.clear()
