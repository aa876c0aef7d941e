"""Batches of a ``shendu.data.Dataset``: each pass is one ``iter(dataset)``, whose elements are
batches already (``(x, y)``, ``(x, y, sample_weight)``, or ``x``)."""

from __future__ import annotations

from .. import sample_weights
from .unpack import unpack_x_y_sample_weight


class DatasetAdapter:
    """A Dataset's passes, with ``class_weight`` turned into each batch's sample weights."""

    restarts_each_epoch = False

    def __init__(self, dataset, class_weight=None):
        self.dataset = dataset
        self.class_weight = class_weight
        n = int(dataset.cardinality())
        self.num_batches = n if n >= 0 else None  # infinite or unknown: the pass decides

    def get_iterator(self):
        return self._batches()

    def _batches(self):
        iterator = iter(self.dataset)
        try:
            for element in iterator:
                yield weighted(unpack_x_y_sample_weight(element), self.class_weight)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:  # stops the pipeline's prefetch and map threads now
                close()

    def on_epoch_begin(self):
        pass

    def on_epoch_end(self):
        pass


def weighted(batch, class_weight):
    """``(x, y, sample_weight)`` with the class weights of ``y`` as the sample weights."""
    if class_weight is None:
        return batch
    x, y, sw = batch
    if sw is not None:
        raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
    return x, y, sample_weights.from_class_weight(y, class_weight)
