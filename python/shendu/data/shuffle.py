"""Dataset.shuffle: tf.data's buffer shuffle.

The buffer is filled with the first ``buffer_size`` elements; then each step yields the element
at a uniformly drawn position and puts the next input element in its place, and once the input
is exhausted the buffer is drained in random order. A buffer at least as large as the dataset
gives a uniform permutation.

Seeds: without ``seed``, one is drawn when ``shuffle`` is called from shendu's global generator
(``keras.utils.set_random_seed`` / ``shendu.random.set_seed``), so a program that sets the
global seed first gets the same orders on every run. Pass ``p`` of the dataset draws from a
generator seeded with ``(seed, p)`` when ``reshuffle_each_iteration`` (each epoch a new order,
reproducible), and from ``seed`` alone otherwise (the same order every epoch).
"""

import importlib
import itertools
import threading

import numpy as np

from . import args as checks
from .iteration import reading


def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True, name=None):
    """The elements in a random order drawn through a buffer of ``buffer_size`` elements."""
    buffer_size = checks.integer("shuffle", "buffer_size", buffer_size, minimum=1)
    seed = _global_seed() if seed is None else checks.integer("shuffle", "seed", seed, minimum=0)
    reshuffle = reshuffle_each_iteration is None or checks.boolean(
        "shuffle", "reshuffle_each_iteration", reshuffle_each_iteration
    )
    passes = itertools.count()
    lock = threading.Lock()

    def pass_rng():
        if not reshuffle:
            return np.random.default_rng(seed)
        with lock:
            return np.random.default_rng((seed, next(passes)))

    def make_iterator():
        rng = pass_rng()
        with reading(self) as iterator:
            yield from _buffer_shuffle(iterator, buffer_size, rng)

    shuffled = self._derive(make_iterator, lambda spec: spec, self._cardinality, "ShuffleDataset")
    if self._rows is not None:
        # The same algorithm and draws on row indices: the same order, without moving rows.
        def positions(n):
            return np.fromiter(
                _buffer_shuffle(iter(range(n)), buffer_size, pass_rng()), dtype=np.intp, count=n
            )

        shuffled._rows = self._rows.reordered(positions)
        shuffled._make_iterator = shuffled._rows.elements
    return shuffled


def _buffer_shuffle(iterator, buffer_size, rng):
    buffer = []
    uniform = _uniform(rng)
    for element in iterator:
        if len(buffer) < buffer_size:
            buffer.append(element)
            continue
        i = int(next(uniform) * buffer_size)
        yield buffer[i]
        buffer[i] = element
    while buffer:
        i = int(next(uniform) * len(buffer))
        buffer[i], buffer[-1] = buffer[-1], buffer[i]
        yield buffer.pop()


def _uniform(rng, block=1024):
    """Uniform floats in [0, 1), drawn a block at a time: one draw per element costs more than
    the rest of the shuffle."""
    while True:
        yield from rng.random(block).tolist()


def _global_seed():
    # Looked up at call time (as keras.utils.set_random_seed does): importing shendu.data must
    # not import the Keras layer stack, and tests may swap the backend.
    backend = importlib.import_module("shendu.keras.backend")
    return backend.next_seed()
