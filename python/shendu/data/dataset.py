"""shendu.data.Dataset: tf.data's Dataset API over NumPy values, run on the host.

A Dataset is a recipe: each ``iter(ds)`` starts a fresh pass (an epoch) over its elements, which
are nested tuples / dicts of NumPy arrays and scalars. Transformations return new Datasets and
run lazily, element by element, as the pass is consumed; ``prefetch`` and ``map`` with
``num_parallel_calls`` run work on background threads that stop when the pass is closed,
exhausted or garbage-collected.
"""

from . import batching, cardinality, mapping, prefetch, shuffle, sources, transforms


class Dataset:
    """A sequence of elements with tf.data.Dataset's methods. Build one with a ``from_*``
    constructor or ``range`` / ``zip``, not by calling the class."""

    def __init__(self, make_iterator, element_spec, cardinality_, name):
        self._make_iterator = make_iterator  # () -> a fresh iterator over one pass
        # A structure of TensorSpec, or a function giving it where it is only known once an
        # element has been made (after ``map``, whose Python function is not traced).
        self._spec = element_spec
        self._cardinality = cardinality_
        self._name = name
        # A rows.Rows where the elements are rows of in-memory arrays (from_tensor_slices,
        # then shuffle): batch() cuts its batches from those arrays directly.
        self._rows = None

    def _derive(self, make_iterator, spec_fn, cardinality_, name):
        """A dataset made from this one, whose spec is ``spec_fn(self.element_spec)``."""
        spec = spec_fn(self._spec) if self.has_static_spec else lambda: spec_fn(self.element_spec)
        return Dataset(make_iterator, spec, cardinality_, name)

    # -- iteration -------------------------------------------------------------------------

    def __iter__(self):
        return self._make_iterator()

    def as_numpy_iterator(self):
        """An iterator over the elements; they are NumPy values already, as tf's are here."""
        return iter(self)

    def __len__(self):
        n = self._cardinality
        if n == cardinality.INFINITE:
            raise TypeError("The dataset is infinite.")
        if n == cardinality.UNKNOWN:
            raise TypeError("The dataset length is unknown.")
        return n

    def __bool__(self):
        return True  # a Dataset is never falsy, even when __len__ would be 0 or would raise

    def cardinality(self):
        """The number of elements, INFINITE_CARDINALITY (-1) or UNKNOWN_CARDINALITY (-2)."""
        return cardinality.Cardinality(self._cardinality)

    @property
    def element_spec(self):
        if callable(self._spec):
            self._spec = self._spec()
        return self._spec

    @property
    def has_static_spec(self):
        """Whether element_spec is known without making an element (it is not after ``map``)."""
        return not callable(self._spec)

    def __repr__(self):
        spec = self.element_spec if self.has_static_spec else "<from the first element>"
        return f"<{self._name} element_spec={spec}>"

    # -- sources ---------------------------------------------------------------------------

    from_tensor_slices = classmethod(sources.from_tensor_slices)
    from_tensors = classmethod(sources.from_tensors)
    from_generator = classmethod(sources.from_generator)
    range = classmethod(sources.range_)
    zip = classmethod(sources.zip_)

    # -- transformations -------------------------------------------------------------------

    concatenate = transforms.concatenate
    enumerate = transforms.enumerate_
    filter = transforms.filter_
    repeat = transforms.repeat
    take = transforms.take
    skip = transforms.skip
    cache = transforms.cache
    apply = transforms.apply
    map = mapping.map_
    shuffle = shuffle.shuffle
    batch = batching.batch
    padded_batch = batching.padded_batch
    unbatch = batching.unbatch
    rebatch = batching.rebatch
    prefetch = prefetch.prefetch
