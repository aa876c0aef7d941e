"""Replicas played by threads of one process, each holding its own data (unlike the collectives'
stand-in, whose replicas all hold the same): tests of what differs between replicas (uneven or
empty shards) without MPI.

``run(fn, size)`` calls ``fn(collectives)`` in ``size`` threads, one per rank; the collectives
behave as MPI's: every rank makes each call in the same order, and a sum adds the ranks' arrays in
rank order, so every rank gets the same bits.
"""

from __future__ import annotations

import threading

import numpy as np
from shendu.distribute.collectives import DONE


class _Group:
    def __init__(self, size):
        self.barrier = threading.Barrier(size, timeout=60)
        self.slots = [None] * size

    def exchange(self, rank, value) -> list:
        """Every rank's value, once every rank has given its own."""
        self.slots[rank] = value
        self.barrier.wait()
        everyone = list(self.slots)
        self.barrier.wait()  # nobody overwrites a slot before everyone has read it
        return everyone


class ThreadCollectives:
    """Rank ``rank`` of a group of threads (see the module docstring)."""

    def __init__(self, group, rank, size):
        self._group, self.rank, self.size = group, rank, size
        self.local_rank = rank

    def select_device(self) -> None:
        """The threads share the host: there is no device to pick."""

    def allreduce(self, array):
        parts = self._group.exchange(self.rank, np.array(array, copy=True))
        total = parts[0].copy()
        for part in parts[1:]:
            total += part
        return total

    def start_allreduce(self, buffer):
        buffer[...] = self.allreduce(buffer)
        return DONE

    def broadcast(self, array) -> None:
        array[...] = self._group.exchange(self.rank, np.array(array, copy=True))[0]

    def broadcast_object(self, obj):
        return self._group.exchange(self.rank, obj)[0]

    def allgather(self, array):
        return np.concatenate(self._group.exchange(self.rank, np.array(array, copy=True)))

    def allgather_object(self, obj) -> list:
        return self._group.exchange(self.rank, obj)

    def abort(self, code: int) -> None:
        self._group.barrier.abort()


def run(fn, size: int) -> list:
    """``[fn(collectives of rank r) for r in range(size)]``, the ranks run in parallel threads;
    re-raises the first rank's exception (the others then fail fast on the broken barrier)."""
    group = _Group(size)
    results, errors = [None] * size, [None] * size

    def replica(rank):
        try:
            results[rank] = fn(ThreadCollectives(group, rank, size))
        except BaseException as error:  # noqa: BLE001 - handed to the caller below
            errors[rank] = error
            group.barrier.abort()

    threads = [threading.Thread(target=replica, args=(r,)) for r in range(size)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for error in errors:
        if error is not None and not isinstance(error, threading.BrokenBarrierError):
            raise error
    for error in errors:
        if error is not None:
            raise error
    return results
