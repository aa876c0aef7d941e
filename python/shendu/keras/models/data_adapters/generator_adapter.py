"""Batches of a Python generator, which can be walked once: as Keras 3, its first two batches
are read ahead (to check them), and every pass starts with those two again, then goes on with
what the generator has left."""

from __future__ import annotations

import itertools

from .unpack import unpack_x_y_sample_weight

_PEEKED = 2  # Keras's NUM_BATCHES_FOR_TENSOR_SPEC


class GeneratorDataAdapter:
    restarts_each_epoch = False
    num_batches = None

    def __init__(self, generator):
        self._first = list(itertools.islice(generator, _PEEKED))
        self._generator = generator
        if not self._first:
            raise ValueError(
                "When passing a Python generator to a Keras model, the generator must yield "
                "at least one batch. Received an empty generator."
            )
        if not isinstance(self._first[0], tuple):
            raise ValueError(
                "When passing a Python generator to a Keras model, the generator must return "
                "a tuple, either (input,) or (inputs, targets) or (inputs, targets, "
                f"sample_weights). Received: {type(self._first[0]).__name__}"
            )

    def get_iterator(self):
        return map(unpack_x_y_sample_weight, itertools.chain(self._first, self._generator))

    def on_epoch_begin(self):
        pass

    def on_epoch_end(self):
        pass
