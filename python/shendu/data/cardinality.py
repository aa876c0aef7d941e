"""tf.data's cardinality constants and the arithmetic each transformation applies to them."""

import numpy as np

INFINITE_CARDINALITY = -1
UNKNOWN_CARDINALITY = -2
AUTOTUNE = -1  # tf.data.AUTOTUNE: let the pipeline choose a buffer size or a degree of parallelism
INFINITE, UNKNOWN = INFINITE_CARDINALITY, UNKNOWN_CARDINALITY


class Cardinality(int):
    """An int that also answers ``.numpy()``, as code written for tf's scalar tensors calls it."""

    def numpy(self):
        return np.int64(self)


def zipped(counts):
    result = INFINITE
    for n in counts:
        if n == UNKNOWN:
            return UNKNOWN
        if n != INFINITE and (result == INFINITE or n < result):
            result = n
    return result


def concatenated(a, b):
    if UNKNOWN in (a, b):
        return UNKNOWN
    if INFINITE in (a, b):
        return INFINITE
    return a + b


def batched(n, batch_size, drop_remainder):
    if n < 0:
        return n
    return n // batch_size if drop_remainder else -(-n // batch_size)


def repeated(n, count):
    if count < 0:
        return 0 if n == 0 else INFINITE
    if count == 0:
        return 0
    return n if n < 0 else n * count


def taken(n, count):
    if n == UNKNOWN:
        return UNKNOWN
    if n == INFINITE:
        return count
    return n if count < 0 else min(n, count)


def skipped(n, count):
    if n < 0:
        return n
    return 0 if count < 0 else max(0, n - count)
