"""keras.utils.set_random_seed."""

import random

import numpy as np

from .. import backend


def set_random_seed(seed):
    """Seeds Python's ``random``, NumPy's global RNG and shendu's own RNG (initializers, dropout),
    so that a program calling it first is reproducible, as with ``keras.utils.set_random_seed``."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"set_random_seed: `seed` must be an int, got {seed!r}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"set_random_seed: `seed` must be in [0, 2**32), got {seed}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    backend.set_random_seed(seed)
