"""BatchNormalization(synchronized=True): replicas (threads, tests/helpers/thread_replicas.py)
holding uneven or empty shards of a batch normalize and differentiate as one process over the
whole batch; without replicas it is plain BatchNormalization."""

import numpy as np
import pytest
import shendu
from shendu import keras
from shendu.keras import replica_context

from tests.helpers import gradcheck, thread_replicas

layers = keras.layers


def _layer(weights, synchronized=True):
    bn = layers.BatchNormalization(axis=1, momentum=0.5, synchronized=synchronized)
    bn.build((None, 3, 4))
    bn.set_weights(weights)
    return bn


def _weights(rng):
    return [
        rng.uniform(0.5, 2.0, 3).astype(np.float32),  # gamma
        rng.standard_normal(3).astype(np.float32),  # beta
        rng.standard_normal(3).astype(np.float32),  # moving_mean
        rng.uniform(0.5, 2.0, 3).astype(np.float32),  # moving_variance
    ]


def _replicas(weights, x, g, sizes):
    """Each replica's (y, dx, dgamma, dbeta, weights after), replica r holding sizes[r] rows of x.
    g is the gradient of a loss over the whole batch; the trainer's replicas differentiate the
    mean over their own shard, which weighs each by its share n_r / n: their dy is g_r / share."""
    edges = np.cumsum([0, *sizes])
    n = len(x)

    def replica(group):
        lo, hi = edges[group.rank], edges[group.rank + 1]
        share = (hi - lo) / n
        bn = _layer(weights)
        with replica_context.entered(group):
            y, ctx = bn.forward(x[lo:hi], training=True)
            dy = g[lo:hi] / share if share else g[lo:hi]
            dx, (dgamma, dbeta, _, _) = bn.backward(ctx, dy)
        return y, dx * share, dgamma * share, dbeta * share, bn.get_weights()

    return thread_replicas.run(replica, len(sizes))


@pytest.mark.parametrize("sizes", [(5, 3), (2, 6), (0, 8), (8, 0), (3, 1, 4)])
def test_replicas_normalize_and_differentiate_as_one_process(rng, sizes):
    weights = _weights(rng)
    x = (rng.standard_normal((8, 3, 4)) * 3 + 2).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    alone = _layer(weights)  # no replica context: the batch's own statistics
    y, ctx = alone.forward(x, training=True)
    dx, (dgamma, dbeta, _, _) = alone.backward(ctx, g)
    parts = _replicas(weights, x, g, sizes)
    tol = {"rtol": 1e-5, "atol": 1e-5}
    np.testing.assert_allclose(np.concatenate([p[0] for p in parts]), y, **tol)
    np.testing.assert_allclose(np.concatenate([p[1] for p in parts]), dx, **tol)
    np.testing.assert_allclose(sum(p[2] for p in parts), dgamma, **tol)
    np.testing.assert_allclose(sum(p[3] for p in parts), dbeta, **tol)
    for p in parts:  # the global statistics moved every replica's moving ones alike
        for mine, first, one in zip(p[4], parts[0][4], alone.get_weights()):
            np.testing.assert_array_equal(mine, first)
            np.testing.assert_allclose(mine, one, rtol=1e-5, atol=1e-6)
    expected_mean = 0.5 * weights[2] + 0.5 * x.mean(axis=(0, 2))
    np.testing.assert_allclose(parts[0][4][2], expected_mean, rtol=1e-5, atol=1e-6)


def test_the_gradient_through_the_replicas_statistics_matches_finite_differences(rng):
    # float64 through the NumPy twins: L = sum(R * y) over both replicas' outputs, as a function
    # of the whole batch, against the replicas' input gradients (weighted back by their share).
    shendu.set_backend("reference")
    weights = _weights(rng)
    x = rng.standard_normal((5, 3, 4)) * 2 + 1
    r = gradcheck.random_projection(x.shape)

    def loss():
        parts = _replicas(weights, x, r, (3, 2))
        return float(sum((p[0] * r[k : k + len(p[0])]).sum() for k, p in zip((0, 3), parts)))

    analytic = np.concatenate([p[1] for p in _replicas(weights, x, r, (3, 2))])
    gradcheck.check_gradient(loss, x, analytic, rtol=1e-5, atol=1e-6)


def test_without_replicas_synchronized_is_plain_batch_norm(rng):
    weights = _weights(rng)
    x = rng.standard_normal((6, 3, 4)).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    results = []
    for synchronized in (True, False):
        bn = _layer(weights, synchronized)
        y, ctx = bn.forward(x, training=True)
        dx, grads = bn.backward(ctx, g)
        results.append([y, dx, *grads[:2], *bn.get_weights()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_synchronized_is_kept_in_the_config_and_the_moving_statistics_are_not_averaged():
    bn = layers.BatchNormalization(synchronized=True)
    again = layers.BatchNormalization.from_config(bn.get_config())
    assert again.synchronized is True and again.get_config()["synchronized"] is True
    again.build((None, 2))
    assert [w.aggregation for w in again.weights] == ["none"] * 4
    plain = layers.BatchNormalization()
    plain.build((None, 2))
    assert [w.aggregation for w in plain.weights] == ["none", "none", "mean", "mean"]


def test_add_weight_checks_aggregation():
    layer = layers.Dense(2)
    with pytest.raises(ValueError, match="aggregation"):
        layer.add_weight("w", (2,), aggregation="sum")
    assert layer.add_weight("v", (2,), aggregation=None).aggregation == "none"
