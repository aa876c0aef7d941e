"""A multi-GPU MPI job played inside one process, on the host: each replica is a thread.

- ``Group(size)``: the replicas' meeting point. Every collective call waits there for all of
  them (a barrier with a timeout: a replica that fails or calls out of order breaks the others'
  calls instead of hanging the test).
- ``Host(group, rank)``: collectives.MPI's calls over the group (the MPI path).
- ``FakeNccl(group)``: the names of ``cupy.cuda.nccl`` shendu uses. Its communicators read and
  write the memory at the pointers they are given, as NCCL does, sum in rank order, check that
  every rank makes the same call, and record each call in ``calls``.
- ``FakeCuPy``: the CuPy shendu asks for on the "cuda" device. Its arrays are a NumPy subclass
  (the CPU kernels run them, so results equal the CPU's) with CuPy's ``data.ptr``; the current
  GPU is per thread, as CUDA's is.
"""

from __future__ import annotations

import copy
import ctypes
import threading
import types

import numpy as np
from shendu.distribute import collectives


class Group:
    def __init__(self, size: int, timeout: float = 30):
        self.size = size
        self._barrier = threading.Barrier(size, timeout=timeout)
        self._posted = [None] * size

    def exchange(self, rank: int, value, combine):
        """``combine(values)`` of every rank's ``value`` (rank order), computed by each rank
        once all have posted and before any returns (so a caller may then write its buffer)."""
        self._posted[rank] = value
        self._barrier.wait()
        try:
            return combine(list(self._posted))
        finally:
            self._barrier.wait()

    def abort(self) -> None:
        self._barrier.abort()


def _sum(values):
    total = np.array(values[0], copy=True)
    for v in values[1:]:
        total = total + v
    return total


class Host(collectives.Local):
    """The MPI calls of one replica of ``group``; all replicas are on one machine."""

    def __init__(self, group: Group, rank: int):
        self.group, self.rank, self.size, self.local_rank = group, rank, group.size, rank

    def _exchange(self, value, combine):
        return self.group.exchange(self.rank, value, combine)

    def allreduce(self, array):
        return self._exchange(np.asarray(array), _sum)

    def start_allreduce(self, buffer):
        buffer[...] = self._exchange(buffer, _sum)
        return collectives.DONE

    def broadcast(self, array) -> None:
        array[...] = self._exchange(array, lambda vs: np.array(vs[0], copy=True))

    def allgather(self, array):
        return np.concatenate(self._exchange(array, lambda vs: [np.array(v) for v in vs]))

    def broadcast_object(self, obj):
        return self._exchange(obj, lambda vs: copy.deepcopy(vs[0]))

    def allgather_object(self, obj) -> list:
        return self._exchange(obj, copy.deepcopy)

    def abort(self, code: int) -> None:
        self.group.abort()


def _memory(ptr: int, nbytes: int):
    """The bytes at ``ptr``, writable, as NCCL sees a device buffer."""
    return np.ctypeslib.as_array(ctypes.cast(ptr, ctypes.POINTER(ctypes.c_uint8)), (nbytes,))


class FakeNccl:
    """``cupy.cuda.nccl`` over a Group: ``calls`` holds (rank, name, ptr, count, type, stream)."""

    available = True
    NCCL_SUM = 0
    NCCL_UINT8, NCCL_INT32, NCCL_INT64 = 1, 2, 4
    NCCL_FLOAT16, NCCL_FLOAT32, NCCL_FLOAT64 = 6, 7, 8
    DTYPES = {1: np.uint8, 2: np.int32, 4: np.int64, 6: np.float16, 7: np.float32, 8: np.float64}
    UNIQUE_ID = tuple(range(-64, 64))

    def __init__(self, group: Group):
        self.group = group
        self.calls = []
        self.drawn = 0

    def get_unique_id(self):
        self.drawn += 1
        return self.UNIQUE_ID

    def NcclCommunicator(self, ndev, uid, rank):  # noqa: N802 - CuPy's name
        assert ndev == self.group.size and uid == self.UNIQUE_ID
        return _Communicator(self, rank)


class _Communicator:
    def __init__(self, nccl: FakeNccl, rank: int):
        self._nccl, self._rank = nccl, rank

    def _call(self, name, ptr, count, kind, stream, combine):
        self._nccl.calls.append((self._rank, name, ptr, count, kind, stream))
        dtype = np.dtype(FakeNccl.DTYPES[kind])
        data = _memory(ptr, count * dtype.itemsize).view(dtype)

        def checked(posted):
            assert len({call for call, _ in posted}) == 1, f"ranks disagree: {posted}"
            return combine([d for _, d in posted])

        return data, self._nccl.group.exchange(self._rank, ((name, count, kind), data), checked)

    def allReduce(self, send, recv, count, kind, op, stream):  # noqa: N802
        assert op == FakeNccl.NCCL_SUM
        _, total = self._call("allReduce", send, count, kind, stream, _sum)
        dtype = np.dtype(FakeNccl.DTYPES[kind])
        _memory(recv, count * dtype.itemsize).view(dtype)[:] = total

    def bcast(self, ptr, count, kind, root, stream):
        data, value = self._call("bcast", ptr, count, kind, stream, lambda vs: vs[root].copy())
        data[:] = value

    def allGather(self, send, recv, count, kind, stream):  # noqa: N802
        _, parts = self._call("allGather", send, count, kind, stream, np.concatenate)
        _memory(recv, parts.nbytes)[:] = parts.view(np.uint8)


class FakeCuPy:
    """CuPy on the host with ``count`` GPUs; ``uses`` records (thread name, device) of each
    Device(i).use()."""

    float32, float64 = np.float32, np.float64

    class ndarray(np.ndarray):
        @property
        def data(self):
            return types.SimpleNamespace(ptr=self.__array_interface__["data"][0])

    def __init__(self, count: int = 2):
        self.count = count
        self.uses = []
        self._current = threading.local()
        owner = self

        class Device:
            def __init__(self, index=None):
                self.id = getattr(owner._current, "id", 0) if index is None else index
                self.pci_bus_id = f"0000:{self.id + 1:02x}:00.0"

            def use(self):
                owner._current.id = self.id
                owner.uses.append((threading.current_thread().name, self.id))

        self.cuda = types.SimpleNamespace(
            Device=Device,
            runtime=types.SimpleNamespace(getDeviceCount=lambda: self.count),
            get_current_stream=lambda: types.SimpleNamespace(ptr=100 + Device().id),
        )

    def _wrap(self, a):
        return a.view(self.ndarray) if isinstance(a, np.ndarray) else a

    def __getattr__(self, name):  # the rest of NumPy, its arrays wrapped
        f = getattr(np, name)
        if not callable(f) or isinstance(f, type):
            return f
        return lambda *args, **kwargs: self._wrap(f(*args, **kwargs))

    def asarray(self, x, dtype=None):
        if isinstance(x, self.ndarray) and dtype is None:
            return x
        return self._wrap(np.array(x, dtype=dtype))

    def get_array_module(self, x):
        return self if isinstance(x, self.ndarray) else np


def run_replicas(group: Group, work) -> list:
    """``work(rank)`` for each replica of ``group``, each in a thread; their results in rank
    order. A replica's exception breaks the others' calls and is raised here."""
    size = group.size
    results, errors = [None] * size, []

    def run(rank):
        try:
            results[rank] = work(rank)
        except BaseException as e:  # handed to the test's thread
            errors.append(e)
            group.abort()

    threads = [threading.Thread(target=run, args=(r,), name=f"replica{r}") for r in range(size)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results
