"""Datasets whose elements are rows of in-memory arrays, cut in batches at once.

``from_tensor_slices`` makes such a dataset, and ``shuffle`` keeps it one: it permutes row
indices (with the same buffer algorithm and draws as for any dataset) instead of the elements.
``batch`` then takes each batch as one slice or one fancy index per array, instead of making
every element and stacking them again, which is what makes the usual
``from_tensor_slices((x, y)).shuffle(n).batch(b)`` about as cheap as slicing the arrays.
"""

import numpy as np

from . import structure


class Rows:
    """The rows of ``leaves`` (arrays with one first dimension) packed like ``element``, in
    the order ``order()`` returns for each pass (None: 0..n-1)."""

    def __init__(self, element, leaves, order=None):
        self.element = element
        self.leaves = leaves
        self.order = order
        self.size = len(leaves[0])
        self._pack = structure.packer(element)

    def indices(self):
        """This pass's row order."""
        return np.arange(self.size) if self.order is None else self.order()

    def reordered(self, positions):
        """These rows taken in the order ``positions(size)`` (an index array per pass) gives
        into this one's order."""
        return Rows(self.element, self.leaves, lambda: self.indices()[positions(self.size)])

    def elements(self):
        order = range(self.size) if self.order is None else self.order()
        for i in order:
            yield self._pack([leaf[i] for leaf in self.leaves])

    def batches(self, batch_size, drop_remainder):
        """What ``batch(batch_size, drop_remainder)`` makes of the elements: new arrays."""
        order = None if self.order is None else self.order()
        stop = self.size - self.size % batch_size if drop_remainder else self.size
        for start in range(0, stop, batch_size):
            if order is None:
                parts = [np.array(leaf[start : start + batch_size]) for leaf in self.leaves]
            else:
                rows = order[start : start + batch_size]
                parts = [leaf[rows] for leaf in self.leaves]
            yield self._pack(parts)
