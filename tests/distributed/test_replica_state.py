"""State that layers update in their forward (BatchNormalization's moving statistics) across
replicas, without MPI: the collectives' stand-in (every replica holds the same data) and replicas
played by threads with uneven and empty shards (tests/helpers/thread_replicas.py)."""

import threading

import numpy as np
import pytest
from shendu import keras
from shendu.distribute import collectives, strategy

from tests.helpers import thread_replicas

layers = keras.layers
_building = threading.Lock()  # a strategy's scope is process-wide: one thread builds at a time


def _model(synchronized=False, frozen=False):
    keras.utils.set_random_seed(0)
    second = layers.BatchNormalization(synchronized=synchronized, trainable=not frozen)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            layers.BatchNormalization(momentum=0.5, synchronized=synchronized),
            layers.Dense(5, activation="relu"),
            second,
            layers.Dense(3),
        ]
    )
    model.compile(
        optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    return model


def _data(n, seed=7):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, 4)) * [1, 2, 3, 4] + [0, 1, -2, 5]).astype(np.float32)
    return x, rng.integers(0, 3, n)


def _on_replicas(size, train, **model_args):
    """Each thread replica's weights after ``train(model)``."""

    def replica(group):
        with _building, strategy.Strategy(group).scope():
            model = _model(**model_args)
        train(model)
        return model.get_weights()

    return thread_replicas.run(replica, size)


def test_stand_in_replicas_average_the_moving_statistics_in_one_small_allreduce():
    # Every stand-in replica holds the batch's first half: the mean over them is its statistics.
    x, y = _data(64)
    alone = _model()
    alone.train_on_batch(x[:32], y[:32])
    stand_in = collectives.StandIn(2)
    with strategy.Strategy(stand_in).scope():
        pair = _model()
    pair.train_on_batch(x, y)
    for k in (2, 3, 8, 9):  # the two layers' moving mean and variance
        np.testing.assert_allclose(pair.get_weights()[k], alone.get_weights()[k], rtol=1e-6)
    # 4 + 4 + 5 + 5 moving values and the flag, in float64: one call after the gradients.
    assert stand_in.calls[-2] == ("allreduce", 8 * 19)
    assert [c for c in stand_in.calls if c[0] == "allreduce"][:-1] == [("allreduce", 8 * 19)]


def test_a_model_without_averaged_state_makes_no_extra_call():
    stand_in = collectives.StandIn(2)
    with strategy.Strategy(stand_in).scope():
        model = keras.Sequential([keras.Input((4,)), layers.Dense(3)])
        model.compile(optimizer="sgd", loss="mse")
    x, y = _data(8)[0], np.zeros((8, 3), np.float32)
    model.train_on_batch(x, y)
    stand_in.calls.clear()
    model.train_on_batch(x, y)
    assert [c[0] for c in stand_in.calls] == ["start_allreduce", "allreduce"]  # grads, logs


@pytest.mark.parametrize("sizes", [(3, 4), (1, 0)])
def test_replicas_hold_the_mean_of_their_moving_statistics(sizes):
    # As TensorFlow's MEAN aggregation: the plain mean over the replicas that held samples of
    # each one's update towards its own shard's statistics; a frozen layer's stay as they were.
    n = sum(sizes)
    x, y = _data(n)
    ranks = _on_replicas(len(sizes), lambda m: m.train_on_batch(x, y), frozen=True)
    for theirs in ranks[1:]:
        for a, b in zip(ranks[0], theirs):
            np.testing.assert_array_equal(a, b)
    shards = [x[lo : lo + size] for lo, size in zip(np.cumsum([0, *sizes]), sizes) if size]
    initial = _model(frozen=True).get_weights()
    mean = 0.5 * initial[2] + 0.5 * np.mean([s.mean(axis=0) for s in shards], axis=0)
    var = 0.5 * initial[3] + 0.5 * np.mean([s.var(axis=0) for s in shards], axis=0)
    np.testing.assert_allclose(ranks[0][2], mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ranks[0][3], var, rtol=1e-5, atol=1e-6)
    for k in (8, 9):
        np.testing.assert_array_equal(ranks[0][k], initial[k])


@pytest.mark.parametrize("sizes", [(3, 4), (1, 0), (2, 1, 0)])
def test_synchronized_replicas_train_as_one_process_over_the_global_batch(sizes):
    x, y = _data(sum(sizes))
    alone = _model(synchronized=True)
    alone.train_on_batch(x, y)
    ranks = _on_replicas(len(sizes), lambda m: m.train_on_batch(x, y), synchronized=True)
    for theirs in ranks:
        for a, b, one in zip(ranks[0], theirs, alone.get_weights()):
            np.testing.assert_array_equal(b, a)
            np.testing.assert_allclose(a, one, rtol=1e-5, atol=1e-6)
    assert not np.array_equal(ranks[0][2], _model().get_weights()[2]), "the step moved nothing"


def test_synchronized_fit_with_a_last_batch_smaller_than_the_replica_count():
    # 9 samples in batches of 4: the last one's single sample leaves one replica empty-handed,
    # which still joins the synchronized layer's collective calls.
    x, y = _data(9)

    def fit(model):
        model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)

    alone = _model(synchronized=True)
    fit(alone)
    ranks = _on_replicas(2, fit, synchronized=True)
    for a, b, one in zip(ranks[0], ranks[1], alone.get_weights()):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, one, rtol=1e-5, atol=1e-6)
