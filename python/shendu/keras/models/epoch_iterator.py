"""Arrays in, batches out: how fit / evaluate walk their data, as Keras's epoch iterator.

Batches are views of the host arrays when not shuffling and one fancy-index copy per array when
shuffling, then one upload per array when computing on the GPU.
"""

from __future__ import annotations

import math

from ... import _device
from .. import backend


def take(arrays, index):
    return [a[index] for a in arrays]


def on_device(xs, y):
    """A batch (host slices) on the current device: one upload per array when computing on the
    GPU, nothing on the CPU."""
    if _device.get_device() == "cpu":  # they are NumPy arrays already
        return xs, y
    return [_device.to_device(a) for a in xs], _device.to_device(y)


def train_validation_split(xs, y, validation_split):
    """(xs, y) of training and (xs, y) of validation: Keras takes the last fraction of the
    arrays, before any shuffling."""
    split = int(math.floor(len(y) * (1.0 - validation_split)))
    return ([a[:split] for a in xs], y[:split]), ([a[split:] for a in xs], y[split:])


class EpochIterator:
    """The batches of ``batch_size`` samples of the inputs ``xs`` and targets ``y``, ``steps``
    of them per epoch (all, or at most ``steps_per_epoch``), in a fresh order each epoch when
    ``shuffle`` (drawn from keras.backend's generator, so seeded runs repeat). ``shard(index,
    n)``, when given, cuts each batch's index down to this replica's part (a distribute
    strategy's)."""

    def __init__(self, xs, y, batch_size, steps_per_epoch=None, shuffle=False, shard=None):
        self.xs, self.y, self.batch_size, self.shuffle = xs, y, batch_size, shuffle
        self.shard = shard
        self.steps = math.ceil(len(y) / batch_size)
        if steps_per_epoch is not None:
            self.steps = min(self.steps, int(steps_per_epoch))

    def epoch(self):
        """One epoch's (step, (inputs, targets)) on the current device. The shuffled order is
        drawn now, when the epoch begins."""
        order = backend.random_generator().permutation(len(self.y)) if self.shuffle else None
        return self._batches(order)

    def _batches(self, order):
        size = self.batch_size
        for step in range(self.steps):
            index = slice(step * size, (step + 1) * size)
            if order is not None:
                index = order[index]
            if self.shard is not None:
                index = self.shard(index, len(self.y))
            yield step, on_device(take(self.xs, index), self.y[index])
