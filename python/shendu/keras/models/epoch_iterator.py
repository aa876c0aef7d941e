"""Batches in, steps out: how fit / evaluate walk their data, as Keras 3's EpochIterator.

A data adapter (``data_adapters``) gives passes over the data; the iterator counts the steps
of each epoch. In-memory arrays start a new pass each epoch. Other inputs, as in Keras, start a
new pass each epoch unless ``steps_per_epoch`` is given: then an epoch takes that many batches
and the next epoch goes on where it stopped, starting a new pass only once the data ran out.
"""

from __future__ import annotations

import math
import warnings

from ... import _device
from .data_adapters.array_adapter import pick, rows


def _upload(a):
    if a is None:
        return None
    return [_upload(part) for part in a] if isinstance(a, list) else _device.to_device(a)


def on_device(xs, y, sample_weight=None):
    """A batch (host arrays) on the current device: one upload per array when computing on the
    GPU, nothing on the CPU. The targets and weights of a model with several outputs are lists
    (one entry per output)."""
    if _device.get_device() == "cpu":  # they are NumPy arrays already
        return xs, y, sample_weight
    return [_device.to_device(a) for a in xs], _upload(y), _upload(sample_weight)


def train_validation_split(arrays, validation_split):
    """The training and the validation parts of each array (or None): Keras takes the last
    fraction of the arrays, before any shuffling."""
    n = rows(next(a for a in arrays if a is not None))
    split = int(math.floor(n * (1.0 - validation_split)))
    return (
        [pick(a, slice(None, split)) for a in arrays],
        [pick(a, slice(split, None)) for a in arrays],
    )


def _ran_out_warning():
    warnings.warn(
        "Your input ran out of data; interrupting training. Make sure that your dataset or "
        "generator can generate at least `steps_per_epoch * epochs` batches. You may need to "
        "use the `.repeat()` function when building your dataset.",
        stacklevel=3,
    )


class EpochIterator:
    """The steps of each epoch over ``adapter``'s batches: ``steps_per_epoch`` of them, or one
    pass. ``convert`` (if given) turns each raw batch into the model's (inputs, targets,
    sample weights) on the host; the batch then goes to the current device."""

    def __init__(self, adapter, steps_per_epoch=None, convert=None):
        self.adapter = adapter
        self.steps_per_epoch = None if steps_per_epoch is None else int(steps_per_epoch)
        if adapter.restarts_each_epoch:  # arrays: the adapter caps its passes itself
            self.steps_per_epoch = None
        self._convert = convert
        self._num_batches = adapter.num_batches  # None until a pass of unknown length ends
        self._current = None
        self._seen = 0

    @property
    def steps(self):
        """Steps per epoch, or None while unknown (until the first pass ends)."""
        return self.steps_per_epoch or self._num_batches

    def epoch(self):
        """One epoch's (step, (inputs, targets, sample_weight)) on the current device."""
        self.adapter.on_epoch_begin()
        try:
            yield from self._steps()
        finally:
            self.adapter.on_epoch_end()

    def _steps(self):
        steps = self.steps
        if self._current is None or self.steps_per_epoch is None:
            self._start_pass()
        step = 0
        while steps is None or step < steps:
            if self._num_batches is not None and self._seen >= self._num_batches:
                if self.steps_per_epoch:
                    _ran_out_warning()
                break
            try:
                batch = next(self._current)
            except StopIteration:
                if self._num_batches is None:  # a pass of unknown length: now it is known
                    self._num_batches = self._seen
                if self.steps_per_epoch:
                    _ran_out_warning()
                self.close()
                return
            self._seen += 1
            if self._convert is not None:
                batch = self._convert(*batch)
            yield step, on_device(*batch)
            step += 1
        if self._num_batches is not None and self._seen >= self._num_batches:
            self.close()  # the pass is over: the next epoch starts a new one

    def _start_pass(self):
        self.close()
        self._current = iter(self.adapter.get_iterator())
        self._seen = 0

    def reset(self):
        """Forgets the pass under way: the next epoch starts a new one (evaluate starts each
        run at the first batch, as Keras's evaluate does)."""
        self.close()
        self._num_batches = self.adapter.num_batches

    def close(self):
        """Stops the pass under way (a Dataset's prefetch threads, a PyDataset's workers)."""
        current, self._current = self._current, None
        closer = getattr(current, "close", None)
        if closer is not None:
            closer()
