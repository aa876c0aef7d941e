"""keras.utils.PyDataset (also keras.utils.Sequence): batches made by Python code, by index."""

from __future__ import annotations

import itertools
import warnings


class PyDataset:
    """Base class for a dataset of batches computed in Python, as ``keras.utils.PyDataset``.

    Subclasses implement ``__getitem__(index)`` (a whole batch: ``x``, ``(x, y)`` or
    ``(x, y, sample_weight)``) and ``__len__`` (the number of batches), or the ``num_batches``
    property (None for an endless dataset). ``on_epoch_begin`` / ``on_epoch_end`` run around each
    epoch of ``fit``. The constructor's arguments say how ``fit`` / ``evaluate`` / ``predict``
    read it: ``workers`` threads (or processes, with ``use_multiprocessing=True``; the dataset
    must then pickle) compute up to ``max_queue_size`` batches ahead, in order. Subclasses pass
    them on with ``super().__init__(**kwargs)``.
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        for name, value, low in (("workers", workers, 0), ("max_queue_size", max_queue_size, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"PyDataset: `{name}` must be an int >= {low}, got {value!r}")
        self._workers = workers
        self._use_multiprocessing = bool(use_multiprocessing)
        self._max_queue_size = max_queue_size

    def _warn_if_super_not_called(self):
        if hasattr(self, "_workers"):
            return
        self._workers, self._use_multiprocessing, self._max_queue_size = 1, False, 10
        warnings.warn(
            "Your `PyDataset` class should call `super().__init__(**kwargs)` in its "
            "constructor. `**kwargs` can include `workers`, `use_multiprocessing`, "
            "`max_queue_size`. Do not pass these arguments to `fit()`, as they will be ignored.",
            stacklevel=3,
        )

    @property
    def workers(self):
        self._warn_if_super_not_called()
        return self._workers

    @property
    def use_multiprocessing(self):
        self._warn_if_super_not_called()
        return self._use_multiprocessing

    @property
    def max_queue_size(self):
        self._warn_if_super_not_called()
        return self._max_queue_size

    def __getitem__(self, index):
        """The batch at position ``index``."""
        raise NotImplementedError

    @property
    def num_batches(self):
        """The number of batches, or None for an endless dataset (``__len__`` by default)."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(
            "You need to implement the `num_batches` property:\n\n"
            "@property\ndef num_batches(self):\n  return ..."
        )

    def on_epoch_begin(self):
        """Called at the beginning of every epoch."""

    def on_epoch_end(self):
        """Called at the end of every epoch."""

    def __iter__(self):
        n = self.num_batches
        for index in itertools.count() if n is None else range(n):
            yield self[index]


Sequence = PyDataset
