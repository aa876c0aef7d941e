"""Two MPI replicas train as one process does at the same global batch (mpiexec -n 2)."""

import time

import numpy as np
import pytest
from shendu import keras

from tests.distributed import launch, replica

KINDS = ("dense", "conv", "lstm", "weighted", "syncbn")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The train scenario's results: (one process, rank 0 of two, rank 1 of two, folder of two)."""
    launch.mpiexec()
    one, two = tmp_path_factory.mktemp("one"), tmp_path_factory.mktemp("two")
    for out, replicas in ((one, 1), (two, 2)):
        done = launch.run("train", out, replicas)
        assert done.returncode == 0, done.stdout + done.stderr
    load = lambda path: dict(np.load(path))
    return load(one / "rank0.npz"), load(two / "rank0.npz"), load(two / "rank1.npz"), two


@pytest.mark.parametrize("kind", KINDS)
def test_two_replicas_end_with_the_weights_of_one_process(runs, kind):
    # 101 Dense samples make batches of 64 and 37, sharded 32/32 and 19/18: the gradient of
    # each global batch is the shard gradients weighted by shard size.
    single, rank0, _, _ = runs
    keys = [k for k in single if k.startswith(f"{kind}/weight/")]
    assert keys
    for k in keys:
        np.testing.assert_allclose(rank0[k], single[k], rtol=1e-5, atol=1e-6, err_msg=k)
        assert not np.array_equal(rank0[k], _initial(kind, k)), "fit did not train"


def _initial(kind, key):
    """The weight before training, for the check that training moved it."""
    keras.utils.set_random_seed(1)
    return replica.build(kind).get_weights()[int(key.rsplit("/", 1)[1])]


@pytest.mark.parametrize("kind", (*KINDS, "batchnorm"))
def test_replicas_are_bit_identical_after_fit(runs, kind):
    _, rank0, rank1, _ = runs
    for k in rank0:
        if k.startswith(f"{kind}/"):
            assert np.array_equal(rank0[k], rank1[k]), k


@pytest.mark.parametrize("kind", KINDS)
def test_logs_evaluate_and_predict_are_global(runs, kind):
    single, rank0, _, _ = runs
    histories = [k for k in single if k.startswith(f"{kind}/history/")]
    expected = {"loss", "accuracy", "val_loss", "val_accuracy"}
    if kind == "weighted":
        expected |= {"weighted_accuracy", "val_weighted_accuracy"}
    assert {k.rsplit("/", 1)[1] for k in histories} == expected
    for k in histories + [f"{kind}/evaluate", f"{kind}/predict"]:
        np.testing.assert_allclose(rank0[k], single[k], rtol=1e-5, atol=1e-6, err_msg=k)
    assert rank0[f"{kind}/predict"].shape == (40, 3)


def test_plain_batch_norm_replicas_hold_the_mean_of_their_moving_statistics(runs):
    # TensorFlow's MEAN aggregation: each replica moves towards its own shard's statistics
    # (momentum 0.5, from 0 and 1), then they average; not one process's global statistics.
    _, rank0, rank1, _ = runs
    x, _ = replica.data("batchnorm", 7, seed=6)
    shards = (x[:3], x[3:])
    mean = 0.5 * np.mean([s.mean(axis=0) for s in shards], axis=0)
    var = 0.5 + 0.5 * np.mean([s.var(axis=0) for s in shards], axis=0)
    np.testing.assert_allclose(rank0["batchnorm/step/2"], mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rank0["batchnorm/step/3"], var, rtol=1e-5, atol=1e-6)
    for key in rank0:
        if key.startswith("batchnorm/"):
            np.testing.assert_array_equal(rank0[key], rank1[key], err_msg=key)


def test_one_checkpoint_is_written_and_loads(runs):
    _, rank0, _, folder = runs
    assert sorted(p.name for p in folder.iterdir()) == ["dense.keras", "rank0.npz", "rank1.npz"]
    model = keras.models.load_model(folder / "dense.keras")
    for k, w in enumerate(model.get_weights()):
        np.testing.assert_array_equal(w, rank0[f"dense/weight/{k}"])


def test_an_exception_on_rank_1_ends_the_job_with_its_message(tmp_path):
    start = time.monotonic()
    done = launch.run("raise", tmp_path, 2, timeout=30)  # raises TimeoutExpired on a hang
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "replica 1 failed on purpose" in output, output
    assert time.monotonic() - start < 30


def test_a_model_built_differently_on_rank_1_fails_clearly(tmp_path):
    done = launch.run("mismatch", tmp_path, 2, timeout=30)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "shape (8, 9) on rank 1, but (8, 8) on rank 0" in output
    assert "every rank must build the same model" in output
