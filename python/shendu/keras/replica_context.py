"""The replicas that the running training step spans, for layers whose training forward and
backward combine statistics over every replica (``BatchNormalization(synchronized=True)``).

A ``shendu.distribute`` strategy with several replicas enters its collectives around each
training step of ``fit`` / ``train_on_batch``; anywhere else (one replica, evaluation, a call
outside fit) there is none and such layers use their own batch. The context is per thread, so a
model training in another thread never joins another model's collective calls.
"""

from __future__ import annotations

import contextlib
import threading

_local = threading.local()


def current():
    """The collectives of the running training step (see shendu.distribute.collectives: every
    rank makes each call, in the same order), or None outside a multi-replica training step."""
    return getattr(_local, "group", None)


@contextlib.contextmanager
def entered(group):
    """Makes ``group`` the current collectives for the duration of the block."""
    previous = current()
    _local.group = group
    try:
        yield group
    finally:
        _local.group = previous
