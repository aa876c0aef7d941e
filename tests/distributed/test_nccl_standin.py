"""The GPU path of data-parallel training (NCCL through CuPy), on the CPU: two replicas as
threads of this process, on a NumPy-backed CuPy and an NCCL whose communicators sum over the
threads (tests/helpers/fake_gpus.py). They check that the GPU path makes NCCL calls on the GPU
buffers (weights, slots, gradient buckets, an Embedding's squares) on the current stream, and
that it trains to the same bits as the MPI path (the same replicas summing on the host).
test_nccl_gpu.py runs the real thing on two GPUs."""

import sys
import threading
import types

import numpy as np
import pytest
import shendu
from shendu import _device, keras
from shendu.distribute import buckets, collectives, nccl, strategy

from tests.helpers import fake_gpus

_SCOPE = threading.Lock()  # strategy scopes are process-wide: one replica compiles at a time


@pytest.fixture
def gpus(monkeypatch):
    """The "cuda" device on a FakeCuPy with two GPUs, for the test's duration."""
    cupy = fake_gpus.FakeCuPy(2)
    monkeypatch.setattr(_device, "_cuda_module", lambda: cupy)
    shendu.set_device("cuda")
    yield cupy
    shendu.set_device("cpu")


def _build(kind, seed=0):
    keras.utils.set_random_seed(seed)
    if kind == "dense":
        layers = [keras.Input((6,)), keras.layers.Dense(5, activation="tanh")]
    else:  # an Embedding: its gradient is a RowGradient, whose squares are summed too
        layers = [keras.Input((4,), dtype="int32"), keras.layers.Embedding(12, 5)]
        layers.append(keras.layers.GlobalAveragePooling1D())
    return keras.Sequential(layers + [keras.layers.Dense(3)])


def _data(kind, n=37):  # batches of 16, 16 and 5: the last shards are 3 and 2 samples
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, n)
    if kind == "dense":
        return rng.normal(size=(n, 6)).astype(np.float32) + y[:, None], y
    return (rng.integers(0, 4, (n, 4)) + 4 * y[:, None]).astype(np.int32), y


def _compile(model):
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )


def _train(kind, make_collective, group):
    """Each replica of ``group`` fits the model (made before the threads, seeded by its rank:
    fit starts from rank 0's) in a strategy over ``make_collective(rank)``; returns each one's
    (weights, history, predictions, strategy)."""
    x, y = _data(kind)
    models = [_build(kind, seed=rank) for rank in range(group.size)]

    def work(rank):
        s = strategy.Strategy(make_collective(rank), bucket_bytes=64)
        model = models[rank]
        with _SCOPE, s.scope():
            _compile(model)
        # shuffle=False: the replicas share this process's generator, drawn from in parallel
        history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
        predicted = model.predict(x, batch_size=16, verbose=0)
        return model.get_weights(), history, predicted, s

    return fake_gpus.run_replicas(group, work)


def _alone(kind):
    x, y = _data(kind)
    model = _build(kind)
    _compile(model)
    history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    return model.get_weights(), history


@pytest.mark.parametrize("kind", ["dense", "embedding"])
def test_the_gpu_path_trains_to_the_bits_of_the_mpi_path(gpus, kind):
    group = fake_gpus.Group(2)
    fake_nccl = fake_gpus.FakeNccl(group)
    on_gpus = _train(kind, lambda r: nccl.NCCL(fake_gpus.Host(group, r), fake_nccl), group)
    shendu.set_device("cpu")
    on_host = _train(kind, lambda r: fake_gpus.Host(group, r), group)
    alone_weights, alone_history = _alone(kind)

    (w0, h0, p0, _), (w1, h1, p1, _) = on_gpus
    for a, b, c, d in zip(w0, w1, on_host[0][0], on_host[1][0]):
        assert type(a) is np.ndarray
        np.testing.assert_array_equal(a, b)  # the replicas are bit-identical
        np.testing.assert_array_equal(a, c)  # ... and hold the MPI path's bits
        np.testing.assert_array_equal(a, d)
    assert h0 == h1 == on_host[0][1]
    np.testing.assert_array_equal(p0, on_host[0][2])
    np.testing.assert_array_equal(p0, p1)
    # The shards' gradients weighted by their sizes are the global batch's (float32 sums).
    for a, want in zip(w0, alone_weights):
        np.testing.assert_allclose(a, want, rtol=1e-5, atol=1e-6)
    assert h0["loss"] == pytest.approx(alone_history["loss"], rel=1e-5)
    assert fake_nccl.drawn == 1  # rank 0 drew the communicator's id, once


def _step_calls(kind, gpus):
    """Two replicas each take one train_on_batch step on the GPUs; returns the NCCL calls, the
    models and their GradientBuckets."""
    group = fake_gpus.Group(2)
    fake_nccl = fake_gpus.FakeNccl(group)
    x, y = _data(kind)
    models = [_build(kind, seed=rank) for rank in range(2)]

    def work(rank):
        s = strategy.Strategy(nccl.NCCL(fake_gpus.Host(group, rank), fake_nccl), bucket_bytes=64)
        with _SCOPE, s.scope():
            _compile(models[rank])
        models[rank].train_on_batch(x[:16], y[:16])
        return s._plans[models[rank]][1]

    syncs = fake_gpus.run_replicas(group, work)
    return fake_nccl.calls, models, syncs


@pytest.mark.parametrize("kind", ["dense", "embedding"])
def test_weights_slots_and_gradient_buckets_go_through_nccl_on_the_gpu(gpus, kind):
    calls, models, syncs = _step_calls(kind, gpus)
    assert sorted(set(gpus.uses)) == [("replica0", 0), ("replica1", 1)]  # a GPU per replica
    for rank, (model, sync) in enumerate(zip(models, syncs)):
        mine = [c[1:] for c in calls if c[0] == rank]
        stream = 100 + rank  # the current stream of the replica's GPU
        assert {c[-1] for c in mine} == {stream}
        # begin: every weight, then every Adam slot (made at the first step: none yet), in
        # place, as bytes from rank 0
        weights = model._weight_list()
        begin = [("bcast", w.value.data.ptr, w.value.nbytes, 1, stream) for w in weights]
        assert mine[: len(weights)] == begin
        # the step: each bucket summed in place as float32, in reverse layer order; an
        # Embedding's squares summed just before its bucket
        step = mine[len(weights) :]
        want = []
        for b in sync.buckets:
            assert isinstance(b.buffer, gpus.ndarray)
            for squares, _ in b.squares.values():
                assert isinstance(squares, gpus.ndarray) and squares.shape == (12, 5)
                want.append(("allReduce", squares.data.ptr, squares.size, 7, stream))
            want.append(("allReduce", b.buffer.data.ptr, b.buffer.size, 7, stream))
        assert step == want
        assert any(b.squares for b in sync.buckets) == (kind == "embedding")
        assert sum(b.buffer.size for b in sync.buckets) == sum(
            w.value.size for w in model.trainable_weights
        )


def test_the_gpu_is_chosen_by_local_rank_when_the_device_is_cuda(gpus):
    host = collectives.StandIn(4, rank=3)
    nccl.NCCL(host).select_device()
    assert gpus.uses == [(threading.current_thread().name, 1)]  # local rank 3 of 2 GPUs
    shendu.set_device("cpu")
    nccl.NCCL(host).select_device()
    assert len(gpus.uses) == 1  # nothing on the CPU
    with shendu.device("cuda"), strategy.Strategy(nccl.NCCL(host)).scope():
        assert gpus.uses[-1][1] == 1  # made, and scope entered: the GPU chosen each time
    assert len(gpus.uses) == 3


def test_two_replicas_on_one_gpu_fail_clearly(gpus):
    group = fake_gpus.Group(2)
    fake_nccl = fake_gpus.FakeNccl(group)

    def work(rank):  # the device chosen after the strategy: both stay on GPU 0
        shared = nccl.NCCL(fake_gpus.Host(group, rank), fake_nccl)
        shared.broadcast(gpus.zeros(3, np.float32))

    with pytest.raises(RuntimeError, match="ranks 0 and 1 both compute on GPU 0 .0000:01:00.0."):
        fake_gpus.run_replicas(group, work)
    assert fake_nccl.calls == []


def test_allgather_of_uneven_gpu_shards(gpus):
    gpus.count = 3
    group = fake_gpus.Group(3)
    fake_nccl = fake_gpus.FakeNccl(group)

    def work(rank):
        collective = nccl.NCCL(fake_gpus.Host(group, rank), fake_nccl)
        collective.select_device()
        part = gpus.asarray(np.full((rank, 2), rank, np.float32))  # 0, 1 and 2 rows
        return collective.allgather(part), collective.allreduce(gpus.arange(3.0))

    for gathered, summed in fake_gpus.run_replicas(group, work):
        assert isinstance(gathered, gpus.ndarray)
        np.testing.assert_array_equal(gathered, [[1, 1], [2, 2], [2, 2]])
        np.testing.assert_array_equal(summed, [0.0, 3.0, 6.0])
    assert [c[1] for c in fake_nccl.calls if c[0] == 0] == ["allGather", "allReduce"]


def test_host_arrays_and_objects_stay_on_the_host_collective(gpus):
    host = collectives.StandIn(2)
    collective = nccl.NCCL(host, nccl=types.SimpleNamespace())  # any NCCL call would fail
    assert collective.allreduce(np.ones(2)).tolist() == [2.0, 2.0]
    collective.broadcast(np.ones(2))
    assert collective.allgather(np.ones((1, 2))).shape == (2, 2)
    assert collective.broadcast_object({"a": 1}) == {"a": 1}
    assert collective.allgather_object(3) == [3, 3]
    assert [c[0] for c in host.calls] == [
        "allreduce",
        "broadcast",
        "allgather",
        "broadcast_object",
        "allgather_object",
    ]


def test_bad_gpu_buffers_are_refused(gpus):
    collective = nccl.NCCL(collectives.StandIn(1), fake_gpus.FakeNccl(fake_gpus.Group(1)))
    with pytest.raises(TypeError, match="array: NCCL sums .* got dtype bool"):
        collective.start_allreduce(gpus.zeros(3, bool))
    with pytest.raises(ValueError, match="array: NCCL moves contiguous buffers"):
        collective.broadcast(gpus.zeros((4, 4), np.float32)[:, 1])


def test_cupy_without_nccl_says_so(gpus, monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy.cuda.nccl", types.SimpleNamespace(available=False))
    collective = nccl.NCCL(collectives.StandIn(2))
    with pytest.raises(RuntimeError, match="CuPy found no NCCL library"):
        collective.broadcast(gpus.zeros(3, np.float32))


def test_ranks_on_different_devices_fail_clearly():
    with pytest.raises(ValueError, match="rank 1 computes on 'cpu', rank 0 on 'cuda'"):
        strategy._check_same_model([("cuda", []), ("cpu", [])])


def test_gpu_buckets_hold_the_scaled_gradients(gpus):
    weights = [types.SimpleNamespace(value=gpus.ones((2, 3), np.float32)) for _ in range(2)]
    stand_in = collectives.StandIn(2)
    sync = buckets.GradientBuckets(weights, [0, 1], {0: 1, 1: 1}, stand_in, 1 << 20)
    sync.begin(0.25)
    summed = sync.finish([gpus.full((2, 3), 4.0, np.float32), None])
    assert all(isinstance(s, gpus.ndarray) for s in summed)
    np.testing.assert_array_equal(summed[0], np.full((2, 3), 2.0))  # 2 replicas x 0.25 x 4
    np.testing.assert_array_equal(summed[1], np.zeros((2, 3)))
