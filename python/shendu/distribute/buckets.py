"""Gradients summed over the replicas in buckets, each started as soon as its layers' backward is
done, so the sums overlap the rest of the backward (as PyTorch DDP and Horovod do).

The trainable weights are grouped in reverse order (the backward's order) into buckets of about
``bucket_bytes``; a bucket is one contiguous float32 buffer, on the device the weights live on
(a CuPy array when they are on the GPU, summed there by NCCL). During the backward the model calls
``ready(weight_indices, grads)`` after each layer: a weight's gradient is final once every layer
call that uses it (a shared layer is called more than once) has run, and a bucket starts its
non-blocking sum when all its weights are final. ``finish`` starts what never became final (a
layer the gradient did not reach counts zero), waits for each bucket in the order they started
and returns the summed gradients.

Each replica scales its gradients by its share of the global batch (shard size / global batch
size) before the sum: the losses are means over the shard, so the sum is the gradient of the
mean over the global batch, exact for uneven shards. An Embedding's gradient (a RowGradient) also
sends its lookups' squares, scaled by the square of that share, in a sum of its own: the
second-moment optimizers take them as one process over the global batch would.
"""

from __future__ import annotations

import collections

import numpy as np

from .. import _device
from ..keras import row_gradient


class _Bucket:
    __slots__ = ("indices", "offsets", "buffer", "remaining", "handle", "squares")

    def __init__(self, indices, shapes, xp):
        self.indices = indices
        sizes = [int(np.prod(shape)) for shape in shapes]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int).tolist()
        self.buffer = xp.empty(self.offsets[-1], np.float32)
        self.remaining = 0
        self.handle = None
        self.squares = {}  # weight index -> (buffer, handle) of a RowGradient's squares


class GradientBuckets:
    """The buckets of one model's trainable weights.

    Args:
        weights: the model's weights, aligned with the gradients its backward returns.
        train_idx: the indices of the trainable ones.
        uses: for each weight index, how many layer calls produce a gradient for it.
        collectives: where the sums run (see collectives.py).
        bucket_bytes: the size at which a bucket is closed.
    """

    def __init__(self, weights, train_idx, uses, collectives, bucket_bytes):
        self._collectives = collectives
        self._xp = xp = _device.array_module(weights[train_idx[0]].value) if train_idx else np
        self._shapes = {i: tuple(weights[i].value.shape) for i in train_idx}
        self._uses = {i: max(1, uses.get(i, 1)) for i in train_idx}
        self.buckets = []
        indices, size = [], 0
        for i in reversed(train_idx):
            indices.append(i)
            size += 4 * int(np.prod(self._shapes[i]))
            if size >= bucket_bytes:
                self.buckets.append(_Bucket(indices, [self._shapes[j] for j in indices], xp))
                indices, size = [], 0
        if indices:
            self.buckets.append(_Bucket(indices, [self._shapes[j] for j in indices], xp))
        self._bucket_of = {i: b for b in self.buckets for i in b.indices}
        self._pending = {}
        self._scale = 1.0
        self._started = []

    def begin(self, scale: float) -> None:
        """A new step whose gradients are multiplied by ``scale`` before the sum."""
        self._scale = scale
        self._pending = dict(self._uses)
        self._started = []
        for b in self.buckets:
            b.remaining = len(b.indices)
            b.handle = None
            b.squares = {}

    def ready(self, weight_indices, grads) -> None:
        """One layer call's backward is done: its weights' gradients are in ``grads``."""
        started = False
        for i in weight_indices:
            bucket = self._bucket_of.get(i)
            if bucket is None:
                continue  # not trainable
            self._pending[i] -= 1
            if self._pending[i] == 0:
                bucket.remaining -= 1
                if bucket.remaining == 0:
                    self._start(bucket, grads)
                    started = True
        if not started:
            for b in self._started:  # lets MPI move the data of the sums under way
                b.handle.test()

    def _start(self, bucket, grads) -> None:
        xp = self._xp
        for k, i in enumerate(bucket.indices):
            out = bucket.buffer[bucket.offsets[k] : bucket.offsets[k + 1]].reshape(self._shapes[i])
            grad = grads[i]
            if grad is None:  # the gradient did not reach this weight: it adds zero
                out.fill(0.0)
                continue
            if isinstance(grad, row_gradient.RowGradient):
                squares = xp.multiply(grad.squares(), self._scale * self._scale, dtype=np.float32)
                bucket.squares[i] = (squares, self._collectives.start_allreduce(squares))
            xp.multiply(row_gradient.dense(grad), self._scale, out=out)
        bucket.handle = self._collectives.start_allreduce(bucket.buffer)
        self._started.append(bucket)

    def finish(self, grads) -> list:
        """``grads`` with every trainable weight's gradient replaced by the sum over the
        replicas (views of the buckets' buffers, valid until the next step)."""
        for b in self.buckets:
            if b.handle is None:
                self._start(b, grads)
        out = list(grads)
        for b in self._started:
            b.handle.wait()
            for k, i in enumerate(b.indices):
                out[i] = b.buffer[b.offsets[k] : b.offsets[k + 1]].reshape(self._shapes[i])
            for i, (squares, handle) in b.squares.items():
                handle.wait()
                out[i] = row_gradient.SummedRows(out[i], squares)
        return out


def uses_of(steps) -> dict:
    """For each weight index, how many of the model's layer calls (``steps``) produce a gradient
    for it."""
    return collections.Counter(i for step in steps for i in step.weight_idx)
