"""Process-wide settings: which backend runs the ops, and how many threads the kernels use."""

from __future__ import annotations

import os

from . import _cpu

_BACKENDS = ("native", "reference")
_backend = "native"


def set_backend(name: str) -> None:
    """Route every op to the C++/CUDA kernels ("native") or to the NumPy twins ("reference")."""
    global _backend
    if name not in _BACKENDS:
        raise ValueError(f"backend: expected one of {_BACKENDS}, got {name!r}")
    _backend = name


def get_backend() -> str:
    return _backend


def physical_cores() -> int:
    """Physical cores this process may run on (hyper-threads share one core's FMA units)."""
    try:
        cpus = os.sched_getaffinity(0)
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
    cores = set()
    for cpu in cpus:
        topo = f"/sys/devices/system/cpu/cpu{cpu}/topology"
        try:
            with open(f"{topo}/physical_package_id") as f:
                package = f.read().strip()
            with open(f"{topo}/core_id") as f:
                core = f.read().strip()
        except OSError:
            return len(cpus)
        cores.add((package, core))
    return max(1, len(cores))


def set_num_threads(n: int) -> None:
    """Threads the CPU kernels use (default: physical cores, or $SHENDU_NUM_THREADS)."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n: expected an int, got {n!r}")
    _cpu.set_num_threads(n)


def get_num_threads() -> int:
    return _cpu.get_num_threads()


def _initial_threads() -> int:
    env = os.environ.get("SHENDU_NUM_THREADS")
    if env:
        try:
            n = int(env)
        except ValueError:
            raise ValueError(
                f"SHENDU_NUM_THREADS: expected a positive integer, got {env!r}"
            ) from None
        if n < 1:
            raise ValueError(f"SHENDU_NUM_THREADS: expected a positive integer, got {env!r}")
        return n
    return physical_cores()


_cpu.set_num_threads(_initial_threads())
