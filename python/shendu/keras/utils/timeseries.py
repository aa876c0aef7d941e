"""keras.utils.timeseries_dataset_from_array: sliding windows over a series, as a Dataset."""

from __future__ import annotations

import numpy as np

from ...data import Dataset


def _check(name, value, low, high=None, what="higher than"):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"`{name}` must be an int. Received: {name}={value!r}")
    if value < low or (high is not None and value >= high):
        bound = f"{what} {low - 1 if what == 'higher than' else low}"
        limit = "" if high is None else f" and lower than the length of the data ({high})"
        raise ValueError(f"`{name}` must be {bound}{limit}. Received: {name}={value}")


def timeseries_dataset_from_array(
    data,
    targets,
    sequence_length,
    sequence_stride=1,
    sampling_rate=1,
    batch_size=128,
    shuffle=False,
    seed=None,
    start_index=None,
    end_index=None,
):
    """A Dataset of sliding windows over ``data`` (and their targets), as Keras's.

    Window i holds ``data[s + j * sampling_rate]`` for ``j < sequence_length``, where
    ``s = start_index + i * sequence_stride``; its target is ``targets[s]`` (relative to
    ``start_index`` too). Windows run while they fit before ``end_index`` (and while there are
    targets). Elements are ``(windows, targets)`` batches of ``batch_size`` (single windows when
    None), or windows alone when ``targets`` is None. ``shuffle`` permutes the window starts
    with ``np.random.RandomState(seed)`` as Keras does, then shuffles windows in a buffer of
    8 batches, so shuffled batches hold other windows than tf.data's shuffle would give.
    """
    n = len(data)
    if start_index:
        _check("start_index", start_index, 0, n, what="0 or greater")
    if end_index:
        _check("end_index", end_index, 1, n)
        if start_index and end_index <= start_index:
            raise ValueError(
                "`end_index` must be higher than `start_index`. Received: "
                f"start_index={start_index}, and end_index={end_index}"
            )
    _check("sampling_rate", sampling_rate, 1, n)
    _check("sequence_stride", sequence_stride, 1, n)
    _check("sequence_length", sequence_length, 1)
    if batch_size is not None:
        _check("batch_size", batch_size, 1)
    start_index = start_index or 0
    end_index = end_index or n
    data = np.asarray(data)[start_index:end_index]
    num_seqs = end_index - start_index - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = np.asarray(targets)[start_index:end_index]
        num_seqs = min(num_seqs, len(targets))
    starts = np.arange(0, max(num_seqs, 0), sequence_stride, dtype=np.int64)
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(starts)
    offsets = np.arange(sequence_length, dtype=np.int64) * sampling_rate

    def windows(s):
        index = np.asarray(s)[..., None] + offsets
        return data[index] if targets is None else (data[index], targets[s])

    ds = Dataset.from_tensor_slices(starts)
    if shuffle:
        ds = ds.shuffle(8 * batch_size if batch_size is not None else 1024, seed=seed)
    if batch_size is not None:
        ds = ds.batch(batch_size)  # one gather per batch of window starts
    return ds.map(windows)
