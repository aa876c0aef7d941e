"""Iterating an input dataset so that stopping early also stops everything upstream.

Each transformation reads its input inside ``reading(ds)``: when the transformation's own
generator is closed or dropped (a ``take`` that has enough, a consumer that breaks out of its
loop), the input iterator is closed at once, which in turn stops a prefetch thread or a map's
thread pool further up instead of leaving it to the garbage collector.
"""

import contextlib


def close(iterator):
    closer = getattr(iterator, "close", None)
    if closer is not None:
        closer()


@contextlib.contextmanager
def reading(dataset):
    iterator = iter(dataset)
    try:
        yield iterator
    finally:
        close(iterator)
