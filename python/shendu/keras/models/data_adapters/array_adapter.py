"""Batches of in-memory arrays: views of the host arrays when not shuffling, one fancy-index copy
per array when shuffling."""

from __future__ import annotations

import math

from ... import backend


def take(arrays, index):
    return [a[index] for a in arrays]


def pick(a, index):
    """Rows ``index`` of an array, or of each array of a list (the targets or sample weights
    of a model with several outputs, None entries kept); None stays None."""
    if a is None:
        return None
    if isinstance(a, list):
        return [pick(part, index) for part in a]
    return a[index]


def rows(a) -> int:
    """The number of samples of an array, or of the first array of a list."""
    if isinstance(a, list):
        return rows(next(part for part in a if part is not None))
    return len(a)


class ArrayDataAdapter:
    """The batches of ``batch_size`` samples of the (converted) inputs ``xs``, targets ``y`` and
    per-sample weights ``sample_weight`` (or None): ``steps`` of them per pass (all, or at most
    ``steps``), in a fresh order each pass when ``shuffle`` (drawn from keras.backend's
    generator when the pass begins, so seeded runs repeat). Every pass starts from the first
    sample, so the epoch iterator starts a new pass each epoch.

    ``shard(index, n)``, when given (a distribute strategy's), cuts each global batch's index
    down to this replica's part: every replica draws the same order (the strategy gave them
    one generator state) and takes its disjoint piece of each batch, weights included."""

    restarts_each_epoch = True

    def __init__(self, xs, y, sample_weight, batch_size, steps=None, shuffle=False, shard=None):
        self.xs, self.y, self.sample_weight = xs, y, sample_weight
        self.batch_size, self.shuffle, self.shard = batch_size, shuffle, shard
        self.num_batches = math.ceil(rows(y) / batch_size)
        if steps is not None:
            self.num_batches = min(self.num_batches, int(steps))

    def get_iterator(self):
        order = backend.random_generator().permutation(rows(self.y)) if self.shuffle else None
        return self._batches(order)

    def _batches(self, order):
        size, n = self.batch_size, rows(self.y)
        for step in range(self.num_batches):
            index = slice(step * size, (step + 1) * size)
            if order is not None:
                index = order[index]
            if self.shard is not None:
                index = self.shard(index, n)
            yield take(self.xs, index), pick(self.y, index), pick(self.sample_weight, index)

    def on_epoch_begin(self):
        pass

    def on_epoch_end(self):
        pass
