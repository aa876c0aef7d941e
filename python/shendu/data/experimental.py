"""tf.data.experimental's spellings of the constants, and its cardinality()."""

from .cardinality import AUTOTUNE, INFINITE_CARDINALITY, UNKNOWN_CARDINALITY


def cardinality(dataset):
    """``dataset.cardinality()``, as tf.data.experimental.cardinality spells it."""
    return dataset.cardinality()


__all__ = ["AUTOTUNE", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY", "cardinality"]
