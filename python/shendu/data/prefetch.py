"""Dataset.prefetch: a background thread that makes elements ahead of the consumer.

Each pass starts one daemon thread that reads the input into a queue of ``buffer_size``
elements, so that making the next elements (reading, mapping, batching) overlaps with the
consumer's work on the current one. An exception raised while making an element is re-raised
in the consumer at that element's place. The thread stops, and closes the input iterator, when
the pass is exhausted, when its iterator is closed (``close()``, or a ``take`` / ``zip``
downstream that has finished) or when the iterator is garbage-collected: the thread holds no
reference to the iterator object, only to the queue and a stop flag.
"""

import queue
import threading

from . import args as checks
from . import cardinality as card
from .iteration import close

AUTOTUNE_BUFFER = 2  # what AUTOTUNE picks: double buffering, without holding many batches
_POLL_S = 0.05  # how often a producer blocked on a full queue looks at the stop flag
_END = object()


class _Failure:
    def __init__(self, error):
        self.error = error


def prefetch(self, buffer_size, name=None):
    """The same elements, made up to ``buffer_size`` ahead on a background thread (AUTOTUNE: a
    small buffer chosen by shendu; 0: no thread)."""
    buffer_size = checks.integer("prefetch", "buffer_size", buffer_size, minimum=card.AUTOTUNE)
    if buffer_size == card.AUTOTUNE:
        buffer_size = AUTOTUNE_BUFFER
    if buffer_size == 0:
        return self
    return self._derive(
        lambda: PrefetchIterator(self, buffer_size),
        lambda spec: spec,
        self._cardinality,
        "PrefetchDataset",
    )


class PrefetchIterator:
    """One pass over a dataset, made on a background thread through a bounded queue."""

    def __init__(self, dataset, buffer_size):
        self._queue = queue.Queue(maxsize=buffer_size)
        self._stop = threading.Event()
        self._done = False
        source = iter(dataset)
        self._thread = threading.Thread(
            target=_produce,
            args=(source, self._queue, self._stop),
            name="shendu-prefetch",
            daemon=True,
        )
        self._thread.start()

    def __iter__(self):
        return self

    def __next__(self):
        if self._done:
            raise StopIteration
        item = self._queue.get()
        if item is _END or isinstance(item, _Failure):
            self._done = True
            self._thread.join()
            if item is _END:
                raise StopIteration
            raise item.error
        return item

    def close(self):
        """Stops the thread (it closes the input) and waits for it to finish."""
        self._shut_down()
        if self._thread is not threading.current_thread():
            self._thread.join()

    def _shut_down(self):
        self._done = True
        self._stop.set()
        # Emptying the queue wakes a producer blocked on put at once.
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break

    def __del__(self):
        # No join here: the collector may run this on any thread, at any point.
        if hasattr(self, "_stop"):
            self._shut_down()


def _produce(source, out, stop):
    try:
        for element in source:
            if not _put(out, element, stop):
                return
        _put(out, _END, stop)
    except BaseException as error:  # handed to the consumer, which re-raises it
        _put(out, _Failure(error), stop)
    finally:
        close(source)


def _put(out, item, stop):
    """Puts ``item`` unless the consumer has stopped; returns whether it was put."""
    while not stop.is_set():
        try:
            out.put(item, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False
