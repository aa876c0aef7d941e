"""RowGradient: the gradient of a lookup table, kept as the rows each lookup contributed.

TensorFlow hands Keras an Embedding's gradient as ``tf.IndexedSlices`` (one row per looked-up id,
repeated ids not yet summed), and Keras's Adam and RMSprop square those slices before summing
them: a row looked up k times in a batch gets ``sum(g_i ** 2)`` in its second moment, not
``(sum g_i) ** 2``. Everything else (first moments, decay of untouched rows, the weight update,
SGD) sees the summed, dense gradient. Keeping the rows lets the optimizers do the same.
"""

from __future__ import annotations

from .. import _device, ops


class RowGradient:
    """The gradient of a ``(num_rows, D)`` table: ``rows[k]`` added to row ``ids[k]``.

    Adding another RowGradient of the same table (a table used twice) keeps the lookups apart;
    adding a dense array (a regularizer's gradient) gives the dense sum, as TensorFlow adds a
    dense gradient to IndexedSlices.
    """

    def __init__(self, rows, ids, num_rows):
        self.rows = rows.reshape(-1, rows.shape[-1])
        self.ids = ids.reshape(-1)
        self.shape = (int(num_rows), self.rows.shape[1])

    def dense(self):
        """The summed gradient, ``(num_rows, D)``."""
        return ops.embedding_backward(self.rows, self.ids, self.shape[0])

    def squares(self):
        """Each lookup's squared gradient summed per row, ``(num_rows, D)``."""
        return ops.embedding_backward(self.rows * self.rows, self.ids, self.shape[0])

    def abs_sums(self):
        """Each lookup's absolute gradient summed per row, ``(num_rows, D)``."""
        xp = _device.array_module(self.rows)
        return ops.embedding_backward(xp.abs(self.rows), self.ids, self.shape[0])

    def __add__(self, other):
        if isinstance(other, RowGradient):
            if other.shape != self.shape:
                raise ValueError(
                    f"Cannot add row gradients of tables {self.shape} and {other.shape}"
                )
            xp = _device.array_module(self.rows)
            return RowGradient(
                xp.concatenate([self.rows, other.rows]),
                xp.concatenate([self.ids, other.ids]),
                self.shape[0],
            )
        return self.dense() + other

    __radd__ = __add__

    def __array__(self, dtype=None, copy=None):
        value = _device.to_host(self.dense())
        return value if dtype is None else value.astype(dtype)


class SummedRows:
    """A RowGradient already summed, with its lookups' squares summed beside it: what a sum over
    replicas gives (each replica's lookups are squared before the sum, as on one process)."""

    def __init__(self, dense, squares):
        self.dense_value = dense
        self.squares_value = squares

    def __add__(self, other):  # a dense gradient added (a regularizer's): as for a RowGradient
        return self.dense_value + other

    __radd__ = __add__

    def __array__(self, dtype=None, copy=None):
        value = _device.to_host(self.dense_value)
        return value if dtype is None else value.astype(dtype)


def dense(grad):
    """``grad`` as an array (a RowGradient summed)."""
    if isinstance(grad, RowGradient):
        return grad.dense()
    return grad.dense_value if isinstance(grad, SummedRows) else grad


def dense_and_squares(grad):
    """``(dense(grad), squares)``: the squared gradient the second-moment optimizers use, None
    when it is simply ``dense(grad) ** 2``."""
    if isinstance(grad, RowGradient):
        return grad.dense(), grad.squares()
    if isinstance(grad, SummedRows):
        return grad.dense_value, grad.squares_value
    return grad, None


def dense_and_abs(grad):
    """``(dense(grad), absolute)``: the absolute gradient Adamax's norm takes, None when it is
    simply ``abs(dense(grad))``. TensorFlow takes each lookup's absolute value before the sum;
    a gradient already summed over replicas (SummedRows) has only its sum's."""
    if isinstance(grad, RowGradient):
        return grad.dense(), grad.abs_sums()
    return dense(grad), None
