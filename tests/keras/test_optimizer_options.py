"""Optimizer options beyond the fixtures: the learning rate as callbacks set it, schedules in
saved models, the optimizers' configs and argument checks, state carried through .keras files."""

import numpy as np
import pytest
from shendu import keras

OPTIMIZERS = [
    keras.optimizers.SGD,
    keras.optimizers.Adam,
    keras.optimizers.AdamW,
    keras.optimizers.RMSprop,
    keras.optimizers.Nadam,
    keras.optimizers.Adamax,
    keras.optimizers.Adagrad,
    keras.optimizers.Adadelta,
    keras.optimizers.Lion,
    keras.optimizers.Ftrl,
]


def _model(optimizer, seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(2)]
    )
    model.compile(optimizer=optimizer, loss="mse")
    return model


def _data(n=8):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 4)).astype(np.float32), rng.standard_normal((n, 2)).astype(
        np.float32
    )


@pytest.mark.parametrize("cls", OPTIMIZERS)
def test_config_round_trip_and_by_name(cls):
    schedule = keras.optimizers.schedules.CosineDecay(0.1, 10, warmup_target=0.2, warmup_steps=3)
    opt = cls(learning_rate=schedule, clipnorm=0.5, use_ema=True, ema_momentum=0.9)
    config = keras.optimizers.serialize(opt)
    again = keras.optimizers.deserialize(config)
    assert type(again) is cls and keras.optimizers.serialize(again) == config
    assert isinstance(again._learning_rate, keras.optimizers.schedules.CosineDecay)
    assert type(keras.optimizers.get(cls.__name__.lower())) is cls


def test_learning_rate_is_settable_as_callbacks_set_it():
    x, y = _data()
    model = _model(keras.optimizers.SGD(0.1))  # the fused dense-stack step
    model.optimizer.learning_rate = 0.0
    before = model.get_weights()
    model.train_on_batch(x, y)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    model.optimizer.learning_rate = keras.optimizers.schedules.ExponentialDecay(0.1, 1, 0.5)
    assert model.optimizer.learning_rate == pytest.approx(0.1 * 0.5)  # at iterations == 1
    with pytest.raises(TypeError, match="not settable"):
        model.optimizer.learning_rate = 0.01
    with pytest.raises(ValueError, match="learning_rate: expected a finite number"):
        keras.optimizers.Adam(-1.0)


def test_schedule_is_read_at_the_step_count_before_each_update():
    # SGD on one weight with gradient 1 (loss = w): each step subtracts the scheduled rate.
    seen = []

    class Recorded(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            seen.append(step)
            return 0.1 * (step + 1)

        def get_config(self):
            return {}

    opt = keras.optimizers.SGD(Recorded())
    w = keras.layers.Dense(1, use_bias=False)
    w.build((None, 1))
    w.kernel.assign(np.zeros((1, 1)))
    for _ in range(3):
        opt.apply([np.ones((1, 1), np.float32)], [w.kernel])
    assert seen == [0, 1, 2]
    np.testing.assert_allclose(w.kernel.numpy(), [[-0.6]], rtol=1e-6)


@keras.saving.register_keras_serializable(package="tests")
class Halving(keras.optimizers.schedules.LearningRateSchedule):
    def __init__(self, start):
        self.start = start

    def __call__(self, step):
        return self.start / 2**step

    def get_config(self):
        return {"start": self.start}


def test_state_and_schedule_carry_through_a_keras_file(tmp_path):
    x, y = _data()
    opt = keras.optimizers.Nadam(Halving(0.05), use_ema=True, ema_momentum=0.5, clipvalue=0.3)
    straight = _model(opt)
    saved = _model(keras.optimizers.deserialize(keras.optimizers.serialize(opt)))
    for model in (straight, saved):
        model.train_on_batch(x, y)
        model.train_on_batch(x[::-1], y)
    path = str(tmp_path / "m.keras")
    saved.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.optimizer._learning_rate, Halving)
    assert loaded.optimizer.iterations == 2
    for model in (straight, loaded):
        model.train_on_batch(x[:5], y[:5])
    for a, b in zip(straight.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    a, b = straight.optimizer, loaded.optimizer
    assert a._u_product == pytest.approx(b._u_product)
    for w, v in zip(straight.trainable_weights, loaded.trainable_weights):
        np.testing.assert_allclose(a._averages[id(w)], b._averages[id(v)], rtol=1e-6)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: keras.optimizers.Adam(clipnorm=1.0, clipvalue=1.0), "Only one of"),
        (lambda: keras.optimizers.AdamW(weight_decay=None), "weight_decay"),
        (lambda: keras.optimizers.Lion(beta_1=0.0), "beta_1"),
        (lambda: keras.optimizers.Ftrl(learning_rate_power=0.5), "learning_rate_power"),
        (lambda: keras.optimizers.Ftrl(l2_regularization_strength=-1), "l2_regularization"),
        (lambda: keras.optimizers.Adam(use_ema=True, ema_momentum=2.0), "ema_momentum"),
        (lambda: keras.optimizers.SGD(gradient_accumulation_steps=2), "gradient_accumulation"),
        (lambda: keras.optimizers.Adadelta(rho=1.5), "rho"),
        (lambda: keras.optimizers.SGD(clipnorm=-1.0), "clipnorm"),
        (lambda: keras.optimizers.Adam(foo=1), "not recognized"),
    ],
)
def test_bad_arguments_name_themselves(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_exclude_from_weight_decay_by_name_and_before_build():
    x, y = _data()
    model = _model(keras.optimizers.SGD(0.0, weight_decay=0.5))
    model.optimizer.learning_rate = 0.1
    model.optimizer.exclude_from_weight_decay(var_names=["bias"])
    # With a zero gradient only the decay moves the weights: kernels shrink, biases stay.
    weights = model.trainable_weights
    for w in weights:
        w.assign(np.ones(w.shape))
    model.optimizer.apply([np.zeros(w.shape, np.float32) for w in weights], weights)
    for w in weights:
        want = 1.0 if w.name == "bias" else 1 - 0.5 * 0.1
        np.testing.assert_allclose(w.numpy(), np.full(w.shape, want), rtol=1e-6)
    with pytest.raises(ValueError, match="before the optimizer is built"):
        model.optimizer.exclude_from_weight_decay(var_names=["kernel"])
    model.train_on_batch(x, y)
