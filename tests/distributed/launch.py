"""Starting replica.py under ``mpiexec -n 2`` (and alone, for the reference) from the tests."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest
import shendu

REPLICA = pathlib.Path(__file__).with_name("replica.py")
# The replicas import the shendu these tests import (a checkout's python/ or the installed one).
SHENDU_PARENT = pathlib.Path(shendu.__file__).parents[1]


def mpiexec() -> str:
    """The mpiexec beside this Python (the mpich wheel's), else the one on PATH; skips the test
    when there is none or mpi4py does not import."""
    try:
        import mpi4py  # noqa: F401 - only whether it imports
    except ImportError:
        pytest.skip("mpi4py is not installed (pip install 'shendu[mpi]')")
    beside = pathlib.Path(sys.executable).with_name("mpiexec")
    found = str(beside) if beside.exists() else shutil.which("mpiexec")
    if found is None:
        pytest.skip("no mpiexec: install an MPI (pip install mpich)")
    return found


def run(scenario: str, out, replicas: int, timeout: float = 60) -> subprocess.CompletedProcess:
    """replica.py's ``scenario`` as ``replicas`` MPI processes (1: a plain python process)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SHENDU_PARENT), env.get("PYTHONPATH", "")])
    env["SHENDU_NUM_THREADS"] = "1"  # two replicas on a small machine: no oversubscription
    command = [sys.executable, str(REPLICA), scenario, str(out)]
    if replicas > 1:
        command = [mpiexec(), "-n", str(replicas), *command]
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
