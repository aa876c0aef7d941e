"""keras.preprocessing."""

from . import sequence

__all__ = ["sequence"]
