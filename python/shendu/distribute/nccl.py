"""The collective calls on CuPy arrays through NCCL (CuPy's bindings, ``cupy.cuda.nccl``), behind
the interface of collectives.py, so the strategy and the buckets are the same on both devices.

``NCCL(host)`` wraps a host collective (the MPI world): Python objects and NumPy arrays go to it,
CuPy arrays to an NCCL communicator. The communicator is made at the first call on a CuPy array
(every rank makes that call, the calls being collective): rank 0 draws NCCL's unique id and the
host collective broadcasts it, as Horovod and CuPy's examples do. Each NCCL call is enqueued on
the current CUDA stream, the one the kernels that fill a buffer before it and read it after run
on, so its handle has nothing to wait for on the host: later kernels start after the sum. The
buckets' sums thus run between the backward's kernels, not beside them: the host still goes on
enqueuing the backward, but the GPU's communication does not overlap its compute (a second
stream with events between the two would).

Each process computes on one GPU, chosen by its rank among the processes of its machine (MPI's
shared-memory split): ``select_device`` makes it CuPy's current device when shendu's device is
"cuda". The strategy calls it when it is made and when its scope is entered, before the model's
weights are put on the GPU.
"""

from __future__ import annotations

import importlib
import socket

import numpy as np

from .. import _device
from . import collectives


class NCCL:
    """``host``'s calls, with those on CuPy arrays made through NCCL.

    Args:
        host: the host collective (rank, size, local_rank and the calls of collectives.MPI).
        nccl: the NCCL bindings; None imports ``cupy.cuda.nccl`` at the first CuPy array.
    """

    def __init__(self, host, nccl=None):
        self._host = host
        self.rank, self.size, self.local_rank = host.rank, host.size, host.local_rank
        self._nccl = nccl
        self._comm = None
        self._sum_types = None

    # --- the GPU -----------------------------------------------------------------------------

    def select_device(self) -> None:
        """Makes this process's GPU (its local rank, modulo the GPUs it sees: one each when the
        launcher gives each process its own CUDA_VISIBLE_DEVICES) CuPy's current device, when
        shendu's device is "cuda"; nothing on the CPU."""
        if _device.get_device() != "cuda":
            return
        cuda = _device.array_module().cuda
        cuda.Device(self.local_rank % cuda.runtime.getDeviceCount()).use()

    def _communicator(self):
        if self._comm is None:
            self._comm = self._connect()
        return self._comm

    def _connect(self):
        nccl = self._nccl
        if nccl is None:
            nccl = importlib.import_module("cupy.cuda.nccl")
            if not getattr(nccl, "available", True):
                raise RuntimeError(
                    "MultiWorkerMirroredStrategy on the 'cuda' device: CuPy found no NCCL "
                    "library (install NCCL where CuPy looks for it: see 'Additional CUDA "
                    "Libraries' in CuPy's installation guide)"
                )
        device = _device.array_module().cuda.Device()
        _check_one_process_per_gpu(
            self._host.allgather_object((socket.gethostname(), device.pci_bus_id, device.id))
        )
        uid = self._host.broadcast_object(nccl.get_unique_id() if self.rank == 0 else None)
        comm = nccl.NcclCommunicator(self.size, uid, self.rank)
        self._nccl = nccl
        self._sum_types = {
            np.dtype(np.float16): nccl.NCCL_FLOAT16,
            np.dtype(np.float32): nccl.NCCL_FLOAT32,
            np.dtype(np.float64): nccl.NCCL_FLOAT64,
            np.dtype(np.int32): nccl.NCCL_INT32,
            np.dtype(np.int64): nccl.NCCL_INT64,
        }
        return comm

    # --- the calls ---------------------------------------------------------------------------

    @staticmethod
    def _on_host(array) -> bool:
        return _device.array_module(array) is np

    @staticmethod
    def _stream() -> int:
        return _device.array_module().cuda.get_current_stream().ptr

    def _sum_type(self, array) -> int:
        kind = self._sum_types.get(np.dtype(array.dtype))
        if kind is None:
            raise TypeError(
                f"array: NCCL sums float16/32/64 and int32/64 arrays, got dtype {array.dtype}"
            )
        return kind

    def allreduce(self, array):
        """The sum of ``array`` over the ranks, in a new array."""
        if self._on_host(array):
            return self._host.allreduce(array)
        comm = self._communicator()
        array = _device.array_module(array).ascontiguousarray(array)
        out = _device.array_module(array).empty_like(array)
        if array.size:
            kind = self._sum_type(array)
            comm.allReduce(
                array.data.ptr, out.data.ptr, array.size, kind, self._nccl.NCCL_SUM, self._stream()
            )
        return out

    def start_allreduce(self, buffer):
        """Enqueues the sum of the contiguous ``buffer`` over the ranks, in place."""
        if self._on_host(buffer):
            return self._host.start_allreduce(buffer)
        comm = self._communicator()
        _check_contiguous(buffer)
        if buffer.size:
            kind = self._sum_type(buffer)
            ptr = buffer.data.ptr
            comm.allReduce(ptr, ptr, buffer.size, kind, self._nccl.NCCL_SUM, self._stream())
        return collectives.DONE

    def broadcast(self, array) -> None:
        """Rank 0's ``array`` (contiguous) on every rank, in place: its bytes are moved."""
        if self._on_host(array):
            self._host.broadcast(array)
            return
        comm = self._communicator()
        _check_contiguous(array)
        if array.nbytes:
            comm.bcast(array.data.ptr, array.nbytes, self._nccl.NCCL_UINT8, 0, self._stream())

    def allgather(self, array):
        """Every rank's ``array`` concatenated along the first axis, in rank order (the first
        dimension may differ between ranks: NCCL gathers equal pieces, padded to the longest)."""
        if self._on_host(array):
            return self._host.allgather(array)
        comm = self._communicator()
        xp = _device.array_module(array)
        lengths = self._host.allgather_object(len(array))
        padded = xp.zeros((max(lengths),) + array.shape[1:], array.dtype)
        padded[: len(array)] = array
        out = xp.empty((self.size,) + padded.shape, array.dtype)
        if padded.nbytes:
            send, recv = padded.data.ptr, out.data.ptr
            comm.allGather(send, recv, padded.nbytes, self._nccl.NCCL_UINT8, self._stream())
        return xp.concatenate([out[r, :n] for r, n in enumerate(lengths)])

    def broadcast_object(self, obj):
        return self._host.broadcast_object(obj)

    def allgather_object(self, obj) -> list:
        return self._host.allgather_object(obj)

    def abort(self, code: int) -> None:
        self._host.abort(code)


def _check_contiguous(array) -> None:
    if not array.flags.c_contiguous:
        raise ValueError(
            f"array: NCCL moves contiguous buffers in place, got a strided one of shape "
            f"{array.shape}"
        )


def _check_one_process_per_gpu(placements) -> None:
    """Raises on every rank when two ranks compute on the same GPU (NCCL needs one each):
    ``placements`` holds each rank's (host name, GPU bus id, CuPy device index)."""
    first = {}
    for rank, (host, bus, index) in enumerate(placements):
        other = first.setdefault((host, bus), rank)
        if other != rank:
            raise RuntimeError(
                f"MultiWorkerMirroredStrategy: ranks {other} and {rank} both compute on GPU "
                f"{index} ({bus}) of {host}; NCCL needs one GPU per process. Set the device "
                "to 'cuda' (shendu.set_device) before making the strategy or entering its "
                "scope, so that each process takes the GPU of its local rank, and start at "
                "most as many processes per machine as it has GPUs"
            )
