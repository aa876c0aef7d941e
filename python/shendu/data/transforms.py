"""Element-wise Dataset transformations: concatenate, enumerate, filter, repeat, take, skip,
cache and apply."""

import itertools

import numpy as np

from . import args as checks
from . import cardinality as card
from . import structure
from .iteration import reading


def call(fn, element):
    """``fn`` applied as tf.data applies it: a tuple element is spread over the arguments."""
    return fn(*element) if type(element) is tuple else fn(element)


def concatenate(self, dataset, name=None):
    """This dataset's elements, then those of ``dataset`` (whose elements must match)."""
    if not isinstance(dataset, type(self)):
        raise TypeError(f"concatenate: `dataset` must be a Dataset, got {dataset!r}")
    if self.has_static_spec and dataset.has_static_spec:
        _check_compatible(self.element_spec, dataset.element_spec)

    def make_iterator():
        for part in (self, dataset):
            with reading(part) as iterator:
                yield from iterator

    return self._derive(
        make_iterator,
        lambda spec: spec,
        card.concatenated(self._cardinality, dataset._cardinality),
        "ConcatenateDataset",
    )


def _check_compatible(a, b):
    if not structure.same_structure(a, b):
        raise TypeError(f"concatenate: `dataset` has elements structured as {b}, expected {a}")
    for x, y in zip(structure.flatten(a), structure.flatten(b)):
        if x.dtype != y.dtype:
            raise TypeError(
                f"concatenate: `dataset` has elements of dtype {y.dtype} where this dataset has "
                f"{x.dtype}"
            )


def enumerate_(self, start=0, name=None):
    """``(index, element)`` pairs, the index an int64 counting from ``start``."""
    start = checks.integer("enumerate", "start", start)

    def make_iterator():
        with reading(self) as iterator:
            for i, element in zip(itertools.count(start), iterator):
                yield np.int64(i), element

    return self._derive(
        make_iterator,
        lambda spec: (structure.TensorSpec((), np.int64), spec),
        self._cardinality,
        "EnumerateDataset",
    )


def filter_(self, predicate, name=None):
    """The elements for which ``predicate`` returns True (a bool scalar)."""
    checks.callable_("filter", "predicate", predicate)

    def make_iterator():
        with reading(self) as iterator:
            for element in iterator:
                if _truth(call(predicate, element)):
                    yield element

    return self._derive(make_iterator, lambda spec: spec, card.UNKNOWN, "FilterDataset")


def _truth(value):
    if isinstance(value, (bool, np.bool_)) or (
        isinstance(value, np.ndarray) and value.shape == () and value.dtype == np.bool_
    ):
        return bool(value)
    raise TypeError(f"filter: `predicate` must return a scalar bool, got {value!r}")


def repeat(self, count=None, name=None):
    """This dataset ``count`` times over (forever when None or -1); each repetition is a new
    pass, so a shuffle upstream reshuffles. An empty dataset repeated forever stays empty."""
    count = checks.optional_count("repeat", "count", count)

    def make_iterator():
        passes = itertools.count() if count < 0 else range(count)
        for _ in passes:
            empty = True
            with reading(self) as iterator:
                for element in iterator:
                    empty = False
                    yield element
            if empty:
                return

    return self._derive(
        make_iterator, lambda spec: spec, card.repeated(self._cardinality, count), "RepeatDataset"
    )


def take(self, count, name=None):
    """The first ``count`` elements (all of them when -1)."""
    count = checks.integer("take", "count", count, minimum=-1)

    def make_iterator():
        if count == 0:
            return
        with reading(self) as iterator:
            for i, element in enumerate(iterator, 1):
                yield element
                if i == count:
                    return

    return self._derive(
        make_iterator, lambda spec: spec, card.taken(self._cardinality, count), "TakeDataset"
    )


def skip(self, count, name=None):
    """All but the first ``count`` elements (none of them when -1)."""
    count = checks.integer("skip", "count", count, minimum=-1)

    def make_iterator():
        with reading(self) as iterator:
            if count < 0:
                for _ in iterator:
                    pass
                return
            for _ in itertools.islice(iterator, count):
                pass
            yield from iterator

    return self._derive(
        make_iterator, lambda spec: spec, card.skipped(self._cardinality, count), "SkipDataset"
    )


def cache(self, filename="", name=None):
    """Keeps the elements in memory after the first complete pass; later passes replay them
    without running the transformations above. A pass stopped early caches nothing, as in tf.
    Caching to a file (``filename``) is not supported."""
    if filename != "":
        raise NotImplementedError(
            f"cache: `filename` {filename!r}: shendu caches in memory only; call cache() "
            "without a filename"
        )
    if self._rows is not None and self._rows.order is None:
        return self  # its elements are rows of arrays in memory already
    cached = []  # one list, set once a pass has run to the end

    def make_iterator():
        if cached:
            yield from cached[0]
            return
        elements = []
        with reading(self) as iterator:
            for element in iterator:
                elements.append(element)
                yield element
        if not cached:
            cached.append(tuple(elements))

    return self._derive(make_iterator, lambda spec: spec, self._cardinality, "CacheDataset")


def apply(self, transformation_func):
    """``transformation_func(self)``, which must return a Dataset."""
    checks.callable_("apply", "transformation_func", transformation_func)
    result = transformation_func(self)
    if not isinstance(result, type(self)):
        raise TypeError(
            f"apply: `transformation_func` must return a Dataset, got {type(result).__name__}"
        )
    return result
