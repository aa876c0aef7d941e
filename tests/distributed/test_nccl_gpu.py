"""Two MPI replicas on two GPUs, summing through NCCL (mpiexec -n 2), train as one process on
one GPU does at the same global batch. Marked gpu: skipped without CuPy and a GPU, and without
a second GPU or an MPI. test_nccl_standin.py checks the same path on the CPU.

Tolerances: one process sums each batch's gradient in one GEMM, two replicas each sum half and
NCCL adds the halves, so float32 results differ by rounding; after two epochs of Adam the
weights agree to rtol 1e-4 (the CPU test of the MPI path, test_mpi.py, holds 1e-5)."""

import numpy as np
import pytest

from tests.distributed import launch

pytestmark = pytest.mark.gpu

KINDS = ("dense", "conv", "lstm")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The train-cuda scenario: (one process, rank 0 of two, rank 1 of two)."""
    import cupy

    if cupy.cuda.runtime.getDeviceCount() < 2:
        pytest.skip("needs two GPUs (one per replica)")
    launch.mpiexec()
    one, two = tmp_path_factory.mktemp("one"), tmp_path_factory.mktemp("two")
    for out, replicas in ((one, 1), (two, 2)):
        done = launch.run("train-cuda", out, replicas, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
    load = lambda path: dict(np.load(path))
    return load(one / "rank0.npz"), load(two / "rank0.npz"), load(two / "rank1.npz")


def test_each_replica_computes_on_its_own_gpu(runs):
    _, rank0, rank1 = runs
    assert (int(rank0["gpu"]), int(rank1["gpu"])) == (0, 1)


@pytest.mark.parametrize("kind", KINDS)
def test_two_gpus_end_with_the_weights_of_one(runs, kind):
    single, rank0, _ = runs
    keys = [k for k in single if k.startswith(f"{kind}/weight/")]
    assert keys
    for k in keys:
        np.testing.assert_allclose(rank0[k], single[k], rtol=1e-4, atol=1e-5, err_msg=k)


@pytest.mark.parametrize("kind", KINDS)
def test_gpu_replicas_are_bit_identical_and_logs_global(runs, kind):
    single, rank0, rank1 = runs
    for k in rank0:
        if k.startswith(f"{kind}/"):
            assert np.array_equal(rank0[k], rank1[k]), k
    for what in ("history/loss", "history/val_loss", "evaluate", "predict"):
        k = f"{kind}/{what}"
        np.testing.assert_allclose(rank0[k], single[k], rtol=1e-4, atol=1e-5, err_msg=k)
