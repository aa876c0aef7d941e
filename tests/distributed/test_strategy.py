"""The strategy's plumbing in one process: the one-replica no-op, and two replicas played by the
collectives' stand-in (every replica holds what this one does), which needs no MPI."""

import types

import numpy as np
import pytest
import shendu
from shendu import keras
from shendu.distribute import buckets, collectives, strategy


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(5, activation="tanh"),
            keras.layers.Dense(4, activation="relu"),
            keras.layers.Dense(3),
        ]
    )
    return model


def _compile(model, optimizer="sgd"):
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def _data(n=64):
    rng = np.random.default_rng(5)
    return rng.normal(size=(n, 6)).astype(np.float32), rng.integers(0, 3, n)


def test_tensorflow_spelling_and_one_replica_without_mpiexec():
    tf = shendu
    s = tf.distribute.MultiWorkerMirroredStrategy()
    assert s.num_replicas_in_sync == 1 and s.is_chief and not s.is_multi_worker
    with s.scope():
        assert tf.distribute.has_strategy() and tf.distribute.get_strategy() is s
        model = _compile(_model())
    assert not tf.distribute.has_strategy()
    assert model._distribution is s


def test_one_replica_trains_as_no_strategy():
    x, y = _data()
    plain = _compile(_model())
    with shendu.distribute.MultiWorkerMirroredStrategy().scope():
        wrapped = _compile(_model())
    for model in (plain, wrapped):
        keras.utils.set_random_seed(3)
        model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    for a, b in zip(plain.get_weights(), wrapped.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_strategy_arguments_are_checked():
    with pytest.raises(ValueError, match="cluster_resolver"):
        shendu.distribute.MultiWorkerMirroredStrategy(cluster_resolver="grpc://a:1")
    with pytest.raises(ValueError, match="bucket_bytes"):
        shendu.distribute.MultiWorkerMirroredStrategy(bucket_bytes=0)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "nadam", "adagrad", "lion"])
def test_two_stand_in_replicas_step_as_one_process_on_the_first_shard(optimizer):
    # Every stand-in replica holds the first half of the batch, so the global gradient is that
    # half's: the step equals a one-process step on it, through shard, buckets and sums.
    x, y = _data()
    alone = _compile(_model(), optimizer)
    with strategy.Strategy(collectives.StandIn(2), bucket_bytes=64).scope():
        pair = _compile(_model(), optimizer)
    logs_alone = alone.train_on_batch(x[:32], y[:32], return_dict=True)
    logs_pair = pair.train_on_batch(x, y, return_dict=True)
    assert logs_pair == pytest.approx(logs_alone, rel=1e-6)
    for a, b in zip(alone.get_weights(), pair.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-7)
    assert not np.array_equal(pair.get_weights()[0], _model().get_weights()[0])


def test_buckets_start_in_reverse_layer_order_during_the_backward():
    x, y = _data()
    stand_in = collectives.StandIn(2)
    with strategy.Strategy(stand_in, bucket_bytes=60).scope():
        model = _compile(_model())
    model.train_on_batch(x, y)  # prepares the model
    sync = model._distribution.gradient_sync(model)
    weights = model._weight_list()
    # 60 bytes, weights taken last first: the last kernel (48 bytes) and bias (12) close the
    # first bucket, the middle bias (16) and kernel (80) the second, then the first layer.
    assert [b.indices for b in sync.buckets] == [[5, 4], [3, 2], [1, 0]]
    started_at = []
    ready = sync.ready

    def counting(indices, grads):
        ready(indices, grads)
        started_at.append(sum(b.handle is not None for b in sync.buckets))

    loss, out, ctxs, dout = model._loss_and_grad([x[:32]], y[:32], True)
    _, grads = model.backward(ctxs, dout, need_dx=False, ready=counting)
    assert started_at == [1, 2, 3]  # each layer's bucket starts when its backward is done
    summed = sync.finish(grads)
    for i in range(len(weights)):
        np.testing.assert_allclose(summed[i], 2 * 0.5 * grads[i], rtol=1e-6)


def test_a_weight_the_gradient_does_not_reach_adds_zero():
    weights = [types.SimpleNamespace(value=np.ones((2, 2), np.float32)) for _ in range(2)]
    sync = buckets.GradientBuckets(weights, [0, 1], {0: 1, 1: 1}, collectives.StandIn(2), 4)
    sync.begin(0.5)
    summed = sync.finish([np.full((2, 2), 3.0, np.float32), None])
    np.testing.assert_array_equal(summed[0], np.full((2, 2), 3.0))
    np.testing.assert_array_equal(summed[1], np.zeros((2, 2)))


@pytest.mark.parametrize("n", [101, 64, 3, 1])
def test_shards_cover_every_sample_once(n):
    for index in (slice(0, 64), np.random.default_rng(0).permutation(n)[:64]):
        parts = []
        for rank in range(3):
            s = strategy.Strategy(collectives.StandIn(3, rank))
            part = s.shard(index, n)
            parts.append(np.arange(n)[part] if isinstance(part, slice) else part)
        whole = np.arange(n)[index]
        np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_two_stand_in_replicas_weigh_their_shards_as_one_process():
    # As above with per-sample weights and a weighted metric: the loss is sum(w * l) / N, so
    # scaling each shard's gradient by its share of the batch keeps the weighted sum exact.
    x, y = _data()
    w = np.random.default_rng(6).uniform(0.0, 2.0, len(y)).astype(np.float32)
    alone = _model()
    with strategy.Strategy(collectives.StandIn(2), bucket_bytes=64).scope():
        pair = _model()
    for model in (alone, pair):
        model.compile(
            optimizer="adam",
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            weighted_metrics=["accuracy"],
        )
    logs_alone = alone.train_on_batch(x[:32], y[:32], sample_weight=w[:32], return_dict=True)
    logs_pair = pair.train_on_batch(x, y, sample_weight=w, return_dict=True)
    assert logs_pair == pytest.approx(logs_alone, rel=1e-6)
    for a, b in zip(alone.get_weights(), pair.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-7)
    unweighted = _compile(_model(), "adam")
    unweighted.train_on_batch(x[:32], y[:32])
    assert not np.allclose(unweighted.get_weights()[0], pair.get_weights()[0])


def test_batches_made_elsewhere_and_step_methods_are_refused_on_several_replicas():
    x, y = _data()
    with strategy.Strategy(collectives.StandIn(2)).scope():
        model = _compile(_model())
    dataset = shendu.data.Dataset.from_tensor_slices((x, y)).batch(16)
    for call in (
        lambda: model.fit(dataset, verbose=0),
        lambda: model.fit(x, y, validation_data=dataset, verbose=0),
        lambda: model.evaluate(((x, y) for _ in range(2)), verbose=0),
        lambda: model.predict(dataset, verbose=0),
    ):
        with pytest.raises(NotImplementedError, match="NumPy arrays"):
            call()

    class Stepped(keras.Model):
        def train_step(self, data):
            return super().train_step(data)

    with strategy.Strategy(collectives.StandIn(2)).scope():
        keras.utils.set_random_seed(0)
        inputs = keras.Input((6,))
        stepped = _compile(Stepped(inputs, keras.layers.Dense(3)(inputs)))
    with pytest.raises(NotImplementedError, match="train_step"):
        stepped.fit(x, y, verbose=0)


def test_begin_shares_moving_averages_and_optimizer_scalars():
    # fit's begin makes each replica's weight averages (use_ema) and broadcasts Nadam's momentum
    # product with the slots; the stand-in hands back what it is given.
    x, y = _data()
    with strategy.Strategy(collectives.StandIn(2)).scope():
        model = _compile(_model(), keras.optimizers.Nadam(use_ema=True))
    model.train_on_batch(x, y)
    product = model.optimizer._u_product
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    opt = model.optimizer
    assert opt.iterations == 3 and opt._u_product < product
    assert set(opt._averages) == {id(w) for w in model.trainable_weights}
    for w in model.trainable_weights:  # fit's end wrote the averages in
        np.testing.assert_array_equal(w.numpy(), opt._averages[id(w)])
