"""The collective calls data-parallel training makes, behind one small interface.

``world()`` gives the MPI world (mpi4py) when mpi4py imports, else ``Local`` (one process, every
call a no-op), so a script written for ``mpiexec -n N`` also runs as a plain ``python``. ``StandIn``
plays N replicas that all hold the same data, inside one process: it lets tests check the bucket
and strategy plumbing without MPI.

Arrays here are NumPy on the host; nccl.py puts the same calls on CuPy arrays over one of these.
Every call is collective: every rank makes it, in the same order.
"""

from __future__ import annotations

import sys

import numpy as np


class _Done:
    """The handle of a reduction that finished when it was started."""

    def test(self) -> bool:
        return True

    def wait(self) -> None:
        pass


DONE = _Done()


class _Request:
    """An MPI request behind the handle interface."""

    __slots__ = ("_request",)

    def __init__(self, request):
        self._request = request

    def test(self) -> bool:
        return self._request.Test()

    def wait(self) -> None:
        self._request.Wait()


class Local:
    """One process: sums over one rank are the values themselves."""

    rank = 0
    size = 1
    local_rank = 0  # the rank among the processes of this machine

    def select_device(self) -> None:
        """The GPU stays CuPy's current one (see nccl.py)."""

    def allreduce(self, array):
        return array

    def start_allreduce(self, buffer):
        return DONE

    def broadcast(self, array) -> None:
        pass

    def allgather(self, array):
        return array

    def broadcast_object(self, obj):
        return obj

    def allgather_object(self, obj) -> list:
        return [obj]

    def abort(self, code: int) -> None:
        sys.exit(code)


class StandIn(Local):
    """``size`` replicas that all contributed what this one did: a sum is ``size`` times the
    value, a broadcast keeps it, a gather repeats it. ``calls`` records (name, nbytes)."""

    def __init__(self, size: int = 2, rank: int = 0):
        self.size, self.rank, self.local_rank = size, rank, rank
        self.calls = []

    def allreduce(self, array):
        self.calls.append(("allreduce", array.nbytes))
        return array * self.size

    def start_allreduce(self, buffer):
        self.calls.append(("start_allreduce", buffer.nbytes))
        buffer *= self.size
        return DONE

    def broadcast(self, array) -> None:
        self.calls.append(("broadcast", array.nbytes))

    def allgather(self, array):
        self.calls.append(("allgather", array.nbytes))
        return np.concatenate([array] * self.size)

    def broadcast_object(self, obj):
        self.calls.append(("broadcast_object", 0))
        return obj

    def allgather_object(self, obj) -> list:
        self.calls.append(("allgather_object", 0))
        return [obj] * self.size


class MPI:
    """An mpi4py communicator. Reductions sum in float64 or float32 buffers in place; MPI's
    reductions over identical inputs give every rank the same bits (commutative IEEE sums)."""

    def __init__(self, comm, mpi):
        self._mpi = mpi  # the mpi4py.MPI module
        self._comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        shared = comm.Split_type(mpi.COMM_TYPE_SHARED)  # the processes of this machine
        self.local_rank = shared.Get_rank()
        shared.Free()

    def allreduce(self, array):
        out = np.empty_like(array)
        self._comm.Allreduce(np.ascontiguousarray(array), out, op=self._mpi.SUM)
        return out

    def start_allreduce(self, buffer):
        """Starts summing the contiguous ``buffer`` over the ranks, in place; the handle's wait()
        returns when it holds the sum. MPICH moves the data only inside MPI calls, so callers
        test() the handles they hold between pieces of work."""
        return _Request(self._comm.Iallreduce(self._mpi.IN_PLACE, buffer, op=self._mpi.SUM))

    def broadcast(self, array) -> None:
        self._comm.Bcast(array, root=0)

    def allgather(self, array):
        """Every rank's ``array`` concatenated along the first axis, in rank order."""
        return np.concatenate(self._comm.allgather(array))

    def broadcast_object(self, obj):
        return self._comm.bcast(obj, root=0)

    def allgather_object(self, obj) -> list:
        return self._comm.allgather(obj)

    def abort(self, code: int) -> None:
        self._comm.Abort(code)


def world():
    """The MPI world when mpi4py is installed (one rank when not started by mpiexec), else
    ``Local``."""
    try:  # imported here: importing mpi4py.MPI initializes MPI, which a plain run never needs
        from mpi4py import MPI as mpi
    except ImportError:
        return Local()
    return MPI(mpi.COMM_WORLD, mpi)
