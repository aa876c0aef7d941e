"""keras.utils: to_categorical, pad_sequences, set_random_seed, Progbar."""

from .numerical import to_categorical
from .progbar import Progbar
from .rng import set_random_seed
from .sequence import pad_sequences

__all__ = ["Progbar", "pad_sequences", "set_random_seed", "to_categorical"]
