"""Strategies: how ``fit``, ``evaluate`` and ``predict`` spread over replicas, as tf.distribute.

``MultiWorkerMirroredStrategy`` runs one replica per process of an MPI job (``mpiexec -n N``):
rank 0's weights are broadcast when training or inference starts, each step every replica takes
a disjoint shard of the global batch (the same shuffled order everywhere, from rank 0's generator
state), the gradients are summed in buckets weighted by the shards' sizes, and every replica runs
the same optimizer update on the same sums, so the weights stay bit-identical. State that layers
update in their training forward (moving statistics) is averaged after each step (state.py).
Layers whose statistics span every replica (``BatchNormalization(synchronized=True)``) find the
collectives in ``keras.replica_context`` during a training step. Loss and metric totals are
summed over the replicas, so the logs are global; only rank 0 prints and writes files.
On the CUDA device each process computes on the GPU of its local rank and the weights and
gradients are broadcast and summed on the GPUs through NCCL (see nccl.py); the code here is the
same for both devices, the collective dispatching on the arrays' type.

The trainer asks the model's strategy (the one whose ``scope()`` it was made or compiled in, else
the default one-replica strategy, whose hooks change nothing) through the methods under "trainer
hooks". Each hook that communicates is collective: every rank calls it in the same order.
"""

from __future__ import annotations

import contextlib
import sys
import time
import weakref

import numpy as np

from .. import _device
from ..keras import replica_context
from . import buckets, collectives, nccl, state

_stack = []  # the strategies whose scope() is entered, innermost last


def get_strategy():
    """The strategy whose scope is entered, else the default (one replica, no communication)."""
    return _stack[-1] if _stack else _DEFAULT


def has_strategy() -> bool:
    """Whether a strategy's scope (not the default's) is entered."""
    return bool(_stack)


def _optimizer_arrays(optimizer, weight) -> list:
    """The optimizer's arrays for one weight that every replica must hold alike: its slots and,
    with use_ema, its moving average (made here, so that a replica that has not stepped yet holds
    one to receive)."""
    if optimizer is None:
        return []
    arrays = list(optimizer._slots.get(id(weight), []))
    if optimizer.use_ema and weight.trainable:
        arrays.append(optimizer._average_for(weight))
    return arrays


class Strategy:
    """A set of replicas that train one model together (see the module docstring)."""

    def __init__(self, collective, bucket_bytes=4 << 20):
        if isinstance(bucket_bytes, bool) or not isinstance(bucket_bytes, int) or bucket_bytes < 1:
            raise ValueError(f"bucket_bytes: expected a positive integer, got {bucket_bytes!r}")
        self._collective = collective
        collective.select_device()
        self._bucket_bytes = bucket_bytes
        self._scale = 1.0
        # model -> (its prepare key, GradientBuckets, StateAverage, synchronizes statistics)
        self._plans = weakref.WeakKeyDictionary()

    @property
    def num_replicas_in_sync(self) -> int:
        return self._collective.size

    @property
    def rank(self) -> int:
        """This process's replica (its MPI rank); 0 is the chief."""
        return self._collective.rank

    @property
    def cluster_resolver(self):
        """TensorFlow's view of this process in the job: task_type "worker", task_id its rank."""
        return _Task("worker", self._collective.rank)

    @property
    def is_chief(self) -> bool:
        """Whether this replica prints progress and writes files."""
        return self._collective.rank == 0

    @contextlib.contextmanager
    def scope(self):
        """Models made or compiled inside train with this strategy. On the CUDA device, this
        process's GPU becomes the current one (where the models' weights are put)."""
        self._collective.select_device()
        _stack.append(self)
        try:
            yield self
        finally:
            _stack.pop()

    # --- trainer hooks ---------------------------------------------------------------------------

    @property
    def is_multi_worker(self) -> bool:
        return self._collective.size > 1

    def begin(self, model, generator) -> None:
        """At the start of fit / evaluate / predict: every replica takes rank 0's weights,
        optimizer state and random generator state (so shuffles agree)."""
        if not self.is_multi_worker:
            return
        weights = model._weight_list()
        optimizer = getattr(model, "optimizer", None)
        slots = [_optimizer_arrays(optimizer, w) for w in weights]
        mine = [
            (w.path, tuple(w.value.shape), [tuple(s.shape) for s in ws])
            for w, ws in zip(weights, slots)
        ]
        _check_same_model(self._collective.allgather_object((_device.get_device(), mine)))
        for w, ws in zip(weights, slots):
            for array in (w.value, *ws):
                self._collective.broadcast(array)
        if optimizer is not None:
            optimizer.iterations = self._collective.broadcast_object(optimizer.iterations)
            extra = self._collective.broadcast_object(optimizer._extra_state())
            optimizer._set_extra_state(extra)
        bits = generator.bit_generator
        bits.state = self._collective.broadcast_object(bits.state)

    def shard(self, index, n: int):
        """This replica's part of the global batch ``index`` (a slice or an index array) of
        ``n`` samples: the size-balanced contiguous piece of rank ``rank``. Remembers the
        share for the next gradient_sync."""
        if not self.is_multi_worker:
            return index
        size, rank = self._collective.size, self._collective.rank
        if isinstance(index, slice):
            start, stop, _ = index.indices(n)
            total = max(0, stop - start)
            lo, hi = start + total * rank // size, start + total * (rank + 1) // size
            part = slice(lo, hi)
        else:
            total = len(index)
            lo, hi = total * rank // size, total * (rank + 1) // size
            part = index[lo:hi]
        self._scale = (hi - lo) / total if total else 0.0
        return part

    def _plan(self, model):
        """The model's (GradientBuckets, StateAverage, whether a layer synchronizes statistics),
        made again when what the trainer prepared changed."""
        cached = self._plans.get(model)
        if cached is None or cached[0] != model._prepared:
            weights = model._weight_list()
            sync = buckets.GradientBuckets(
                weights,
                model._train_idx,
                buckets.uses_of(model._steps),
                self._collective,
                self._bucket_bytes,
            )
            average = state.StateAverage(weights, self._collective)
            cached = self._plans[model] = (model._prepared, sync, average, _synchronizes(model))
        return cached[1:]

    def gradient_sync(self, model):
        """The model's GradientBuckets, begun for a step on the last shard, or None on one
        replica (the trainer then applies its own gradients)."""
        if not self.is_multi_worker:
            return None
        sync = self._plan(model)[0]
        sync.begin(self._scale)
        return sync

    @contextlib.contextmanager
    def training_step(self, model):
        """Around one training step on the last shard: yields gradient_sync(model). On several
        replicas, the step's layers find the collectives in keras.replica_context, and when the
        step ends without an exception the state its forward updated is averaged."""
        sync = self.gradient_sync(model)
        if sync is None:
            yield None
            return
        with replica_context.entered(self._collective):
            yield sync
        self._plan(model)[1].average(self._scale > 0)

    def skips_empty_shards(self, model) -> bool:
        """Whether a replica whose shard of a batch is empty may skip the step's forward and
        backward: not when a layer synchronizes statistics over the replicas, whose collective
        calls every replica makes (with no values, on an empty shard)."""
        return self.is_multi_worker and not self._plan(model)[2]

    def sum_totals(self, totals, counts):
        """Metric totals and counts summed over the replicas (the logs are global)."""
        if not self.is_multi_worker:
            return totals, counts
        # A total is a number or, for the confusion-count metrics, an array of counts.
        flat = [np.ravel(np.asarray(t, np.float64)) for t in totals]
        both = self._collective.allreduce(np.concatenate([*flat, np.asarray(counts, np.float64)]))
        summed, start = [], 0
        for total, part in zip(totals, flat):
            piece = both[start : start + part.size]
            start += part.size
            summed.append(piece.reshape(np.shape(total)) if np.ndim(total) else float(piece[0]))
        return summed, both[start:].tolist()

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` holds on any replica: decisions that lead to collective calls."""
        if not self.is_multi_worker:
            return flag
        return bool(self._collective.allreduce(np.asarray([float(flag)]))[0])

    def gather(self, parts: list) -> list:
        """Each output's shards from every replica, concatenated in rank order (the order of
        the samples, as shard() cuts them)."""
        if not self.is_multi_worker:
            return parts
        return [self._collective.allgather(part) for part in parts]


def _synchronizes(layer) -> bool:
    """Whether the layer, or one inside it, has ``synchronized`` true (Keras's name for
    statistics taken over every replica)."""
    if getattr(layer, "synchronized", False):
        return True
    inner = [*getattr(layer, "layers", ()), *getattr(layer, "_sublayers", ())]
    return any(_synchronizes(sub) for sub in inner)


class _Task:
    __slots__ = ("task_type", "task_id")

    def __init__(self, task_type, task_id):
        self.task_type, self.task_id = task_type, task_id


def _check_same_model(described) -> None:
    """Raises on every rank when a rank's device differs from rank 0's, or its weights (or
    optimizer slots) in number or shape: ``described`` holds each rank's (device, weights)."""
    device, first = described[0]
    for rank, (their_device, theirs) in enumerate(described[1:], start=1):
        if their_device != device:
            raise ValueError(
                f"MultiWorkerMirroredStrategy: rank {rank} computes on {their_device!r}, rank 0 "
                f"on {device!r}; every rank must use the same device"
            )
        if len(theirs) != len(first):
            raise ValueError(
                f"MultiWorkerMirroredStrategy: the model on rank {rank} has {len(theirs)} "
                f"weights, the model on rank 0 has {len(first)}; every rank must build the "
                "same model"
            )
        for k, (a, b) in enumerate(zip(first, theirs)):
            if a[1:] != b[1:]:
                what, theirs_, ours = (
                    ("shape", b[1], a[1]) if a[1] != b[1] else ("optimizer slot shapes", b[2], a[2])
                )
                raise ValueError(
                    f"MultiWorkerMirroredStrategy: weight {k} ({b[0]!r}) has {what} {theirs_} "
                    f"on rank {rank}, but {ours} on rank 0 ({a[0]!r}); every rank must build "
                    "the same model"
                )


class _DefaultStrategy(Strategy):
    """One replica in this process: every hook leaves the trainer's work as it is."""

    def __init__(self):
        super().__init__(collectives.Local())


class MultiWorkerMirroredStrategy(Strategy):
    """Synchronous data-parallel training over the processes of an MPI job, one replica each.

    Launch the script with ``mpiexec -n N python train.py`` (or ``srun``); without mpi4py or
    with one process, the strategy has one replica and changes nothing. ``batch_size`` in fit
    is the global batch. An uncaught exception on any rank prints its traceback and aborts the
    whole job (MPI_Abort), so no rank waits forever on one that failed.

    On GPUs, call ``shendu.set_device("cuda")`` before making the strategy (or entering its
    scope): each process then takes the GPU of its rank on its machine, and the gradients are
    summed by NCCL on the GPUs (CuPy's ``cupy.cuda.nccl``), one process per GPU.

    Args:
        cluster_resolver: TensorFlow's argument; MPI knows the cluster, so only None is accepted.
        communication_options: TensorFlow's argument; only None is accepted.
        bucket_bytes: gradients are summed in buckets of about this many bytes (shendu's own).
    """

    def __init__(self, cluster_resolver=None, communication_options=None, bucket_bytes=4 << 20):
        for name, value in (
            ("cluster_resolver", cluster_resolver),
            ("communication_options", communication_options),
        ):
            if value is not None:
                raise ValueError(
                    f"MultiWorkerMirroredStrategy: {name} is not supported by shendu (MPI "
                    f"describes the cluster), got {value!r}"
                )
        super().__init__(nccl.NCCL(collectives.world()), bucket_bytes)
        if self.is_multi_worker:
            _abort_on_uncaught_exceptions(self._collective)


_RELAY_SECONDS = 1.0


def _abort_on_uncaught_exceptions(collective) -> None:
    """Makes an uncaught exception print as usual, then abort every rank of the job: the others
    may be waiting in a collective call that this rank will never make."""
    previous = sys.excepthook
    if getattr(previous, "_shendu_aborts", False):
        return

    def hook(kind, value, traceback):
        previous(kind, value, traceback)
        sys.stderr.write(f"shendu.distribute: rank {collective.rank} failed; aborting the job\n")
        sys.stdout.flush()
        sys.stderr.flush()
        # MPI_Abort ends every process of the job at once, the launcher's output forwarders
        # included: a moment first lets them relay this rank's traceback to the console.
        time.sleep(_RELAY_SECONDS)
        collective.abort(1)

    hook._shendu_aborts = True
    sys.excepthook = hook


_DEFAULT = _DefaultStrategy()
