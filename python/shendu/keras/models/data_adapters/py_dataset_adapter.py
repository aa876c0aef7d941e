"""Batches of a ``keras.utils.PyDataset``: by index, in order (shuffled when asked and the length
is known), computed ahead by the dataset's ``workers`` when it has more than one, or any with
``use_multiprocessing``."""

from __future__ import annotations

import collections
import concurrent.futures
import itertools
import multiprocessing
import random

from .dataset_adapter import weighted
from .unpack import unpack_x_y_sample_weight

_dataset = None  # the PyDataset of a worker process, set once when the process starts


def _set_dataset(dataset):
    global _dataset
    _dataset = dataset


def _item(index):
    return _dataset[index]


class PyDatasetAdapter:
    restarts_each_epoch = False

    def __init__(self, dataset, class_weight=None, shuffle=False):
        self.dataset = dataset
        self.class_weight = class_weight
        self.shuffle = shuffle
        workers, processes = dataset.workers, dataset.use_multiprocessing
        self._ahead = workers > 1 or (workers > 0 and processes)

    @property
    def num_batches(self):
        return self.dataset.num_batches

    def _indices(self):
        n = self.dataset.num_batches
        if n is None:
            return itertools.count()
        indices = list(range(n))
        if self.shuffle:
            random.shuffle(indices)  # Python's generator, as Keras; set_random_seed seeds it
        return indices

    def get_iterator(self):
        items = (
            self._ahead_items() if self._ahead else map(self.dataset.__getitem__, self._indices())
        )
        return (self._standardize(item) for item in items)

    def _standardize(self, batch):
        if not isinstance(batch, (tuple, list, dict)) and not hasattr(batch, "shape"):
            raise ValueError(
                "PyDataset.__getitem__() must return a tuple or a dict. If a tuple, it must be "
                "ordered either (input,) or (inputs, targets) or (inputs, targets, "
                f"sample_weights). Received: {type(batch).__name__}"
            )
        return weighted(unpack_x_y_sample_weight(batch), self.class_weight)

    def _pool(self):
        ds = self.dataset
        if not ds.use_multiprocessing:
            return concurrent.futures.ThreadPoolExecutor(ds.workers), ds.__getitem__
        # spawn: a fork would copy the parent's threads' locks (prefetch, BLAS) mid-use
        pool = concurrent.futures.ProcessPoolExecutor(
            max(ds.workers, 1),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_set_dataset,
            initargs=(ds,),
        )
        return pool, _item

    def _ahead_items(self):
        """The items in index order, with up to max_queue_size of them computed ahead."""
        pool, get = self._pool()
        pending = collections.deque()
        indices = iter(self._indices())
        try:
            for index in itertools.islice(indices, self.dataset.max_queue_size):
                pending.append(pool.submit(get, index))
            while pending:
                item = pending.popleft().result()
                for index in itertools.islice(indices, 1):
                    pending.append(pool.submit(get, index))
                yield item
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def on_epoch_begin(self):
        self.dataset.on_epoch_begin()

    def on_epoch_end(self):
        self.dataset.on_epoch_end()
