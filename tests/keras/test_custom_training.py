"""Custom training loops (GradientTape), subclassed models and layers, train_step overrides."""

import numpy as np
import pytest
import shendu as tf
from shendu import keras


@pytest.fixture(autouse=True)
def _fresh():
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)


def _images(n=48, seed=1):
    """A small MNIST-like set: class k has a bright k-th row band (learnable in a few steps)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = rng.uniform(0, 0.3, (n, 8, 8)).astype(np.float32)
    for i, k in enumerate(y):
        x[i, 2 * k : 2 * k + 2] += 0.7
    return x, y


def _cnn(seed):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(16, activation="relu", kernel_regularizer="l2")(h)
    return keras.Model(inputs, keras.layers.Dense(4)(h))


def test_a_tape_step_equals_train_on_batch_bit_for_bit():
    x, y = _images()
    x = x[..., None]
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    fitted = _cnn(3)
    fitted.compile(optimizer=keras.optimizers.Adam(0.01), loss=loss)
    taped = _cnn(3)
    optimizer = keras.optimizers.Adam(0.01)
    for step in range(3):
        batch = slice(16 * step, 16 * step + 16)
        fitted.train_on_batch(x[batch], y[batch])
        with tf.GradientTape() as tape:
            logits = taped(x[batch], training=True)
            value = loss(y[batch], logits) + tf.add_n(taped.losses)
        grads = tape.gradient(value, taped.trainable_variables)
        optimizer.apply_gradients(zip(grads, taped.trainable_variables))
    for a, b in zip(fitted.get_weights(), taped.get_weights()):
        np.testing.assert_array_equal(a, b)


class _IssueModel(keras.Model):
    def __init__(self):
        super().__init__()
        self.conv1 = keras.layers.Conv2D(8, 3, activation="relu")
        self.flatten = keras.layers.Flatten()
        self.d1 = keras.layers.Dense(32, activation="relu")
        self.d2 = keras.layers.Dense(4)

    def call(self, x, training=False):
        x = self.conv1(x)
        x = self.flatten(x)
        x = self.d1(x)
        return self.d2(x)


def test_the_quickstart_for_experts_program_learns():
    x_train, y_train = _images(96)
    model = _IssueModel()
    loss_object = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = keras.optimizers.Adam()
    train_loss = keras.metrics.Mean(name="train_loss")
    train_accuracy = keras.metrics.SparseCategoricalAccuracy(name="train_accuracy")

    @tf.function
    def train_step(images, labels):
        with tf.GradientTape() as tape:
            predictions = model(images, training=True)
            loss = loss_object(labels, predictions)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        train_loss(loss)
        train_accuracy(labels, predictions)

    images = x_train[..., tf.newaxis]
    losses = []
    for _ in range(6):
        train_loss.reset_state()
        train_accuracy.reset_state()
        for i in range(0, len(images), 16):
            train_step(images[i : i + 16], y_train[i : i + 16])
        losses.append(float(train_loss.result()))
    assert len(model.trainable_variables) == 6
    assert losses[-1] < 0.5 * losses[0]
    assert float(train_accuracy.result()) > 0.9


def test_gan_style_loop_with_two_optimizers_updates_each_its_own_model():
    generator = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh")])
    discriminator = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    g_opt, d_opt = keras.optimizers.Adam(0.01), keras.optimizers.SGD(0.1)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    real = np.random.default_rng(0).normal(1.0, 0.1, (16, 4)).astype(np.float32)
    before_g, before_d = generator.get_weights(), discriminator.get_weights()
    noise = tf.random.normal((16, 3))
    with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
        fake = generator(noise, training=True)
        real_out = discriminator(real, training=True)
        fake_out = discriminator(fake, training=True)
        g_loss = bce(tf.ones_like(fake_out), fake_out)
        d_loss = bce(tf.ones_like(real_out), real_out) + bce(tf.zeros_like(fake_out), fake_out)
    g_grads = g_tape.gradient(g_loss, generator.trainable_variables)
    d_grads = d_tape.gradient(d_loss, discriminator.trainable_variables)
    clipped, norm = tf.clip_by_global_norm(g_grads, 1.0)
    assert float(norm) > 0 and all(g is not None for g in clipped + d_grads)
    g_opt.apply_gradients(zip(clipped, generator.trainable_variables))
    d_opt.apply_gradients(zip(d_grads, discriminator.trainable_variables))
    for a, b in zip(before_g + before_d, generator.get_weights() + discriminator.get_weights()):
        assert not np.array_equal(a, b)
    # d_loss's gradient w.r.t. the discriminator's kernel, by hand: the BCE-with-logits rule.
    z_real, z_fake = np.asarray(real_out), np.asarray(fake_out)
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    dz_real, dz_fake = (sig(z_real) - 1) / 16, sig(z_fake) / 16
    expected = real.T @ dz_real + np.asarray(fake).T @ dz_fake
    np.testing.assert_allclose(d_grads[0], expected, rtol=1e-5, atol=1e-7)


class _StepModel(keras.Model):
    """Keras's 'customizing fit' pattern: train_step with a tape, metrics by hand."""

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


class _SuperStep(keras.Model):
    def train_step(self, data):
        return super().train_step(data)


def _regression(n=64):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((n, 5)).astype(np.float32)
    return x, (x @ rng.standard_normal((5, 1))).astype(np.float32)


def _mlp(cls, seed):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((5,))
    h = keras.layers.Dense(8, activation="tanh")(inputs)
    model = cls(inputs, keras.layers.Dense(1)(h))
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


def test_train_step_override_runs_under_fit():
    x, y = _regression()
    model = _mlp(_StepModel, 0)
    history = model.fit(x, y, batch_size=16, epochs=4, verbose=0, validation_split=0.25)
    assert set(history.history) == {"loss", "mae", "val_loss", "val_mae"}
    assert history.history["loss"][-1] < history.history["loss"][0]
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "mae"}


def test_the_default_train_step_equals_the_graph_step_bit_for_bit():
    x, y = _regression()
    plain, stepped = _mlp(keras.Model, 1), _mlp(_SuperStep, 1)
    h1 = plain.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    h2 = stepped.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    for a, b in zip(plain.get_weights(), stepped.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-6)


class _Sub(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = [keras.layers.Dense(8, activation="relu"), keras.layers.Dropout(0.1)]
        self.out = keras.layers.Dense(3)

    def call(self, x, training=False):
        for layer in self.hidden:
            x = layer(x, training=training)
        return self.out(x)


def test_subclassed_model_fit_evaluate_predict_summary_and_weights(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0)
    model = _Sub()
    model.compile(
        optimizer=keras.optimizers.Adam(0.02),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = model.fit(x, y, batch_size=12, epochs=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert [w.path for w in model.trainable_variables] == [
        "dense/kernel",
        "dense/bias",
        "dense_1/kernel",
        "dense_1/bias",
    ]
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert 0 <= accuracy <= 1 and loss > 0
    predictions = model.predict(x, verbose=0)
    assert predictions.shape == (60, 3) and type(predictions) is np.ndarray
    model.summary()
    assert "dropout (Dropout)" in capsys.readouterr().out
    model.save_weights(tmp_path / "sub.weights.h5")
    again = _Sub()
    again(x[:1])
    again.load_weights(tmp_path / "sub.weights.h5")
    np.testing.assert_array_equal(again.predict(x, verbose=0), predictions)


def test_subclassed_model_keras_file_needs_a_config(tmp_path):
    @keras.saving.register_keras_serializable(package="tape_tests")
    class NoArgs(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.d = keras.layers.Dense(2)

        def call(self, x):
            return self.d(x)

    class WithArgs(NoArgs):
        def __init__(self, units):
            super().__init__()
            self.units = units

    x = np.ones((3, 4), np.float32)
    model = NoArgs()
    model(x)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    other = WithArgs(3)
    other(x)
    with pytest.raises(NotImplementedError, match=r"__init__ takes arguments \(units\)"):
        other.save(tmp_path / "w.keras")


@keras.saving.register_keras_serializable(package="tape_tests")
class MyDense(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        return tf.matmul(inputs, self.w) + self.b

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="tape_tests")
class Residual(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.inner = keras.layers.Dense(units, activation="relu")
        self.outer = MyDense(units)

    def call(self, x, training=False):
        return tf.nn.relu(x + self.outer(self.inner(x)))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_a_custom_dense_trains_like_dense_in_sequential(tmp_path):
    x, y = _regression()
    keras.utils.set_random_seed(5)
    custom = keras.Sequential(
        [keras.Input((5,)), MyDense(6), keras.layers.Activation("tanh"), MyDense(1)]
    )
    keras.utils.set_random_seed(5)
    builtin = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(6, activation="tanh"), keras.layers.Dense(1)]
    )
    for a, b in zip(custom.get_weights(), builtin.get_weights()):
        np.testing.assert_array_equal(a, b)  # same draws in the same order
    for model in (custom, builtin):
        model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
        model.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False)
    for a, b in zip(custom.get_weights(), builtin.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    custom.save(tmp_path / "custom.keras")
    loaded = keras.models.load_model(tmp_path / "custom.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), custom.predict(x, verbose=0))


def test_a_residual_block_with_sublayers_trains_in_a_functional_model(tmp_path):
    x, y = _regression()
    inputs = keras.Input((5,))
    block = Residual(5)
    outputs = keras.layers.Dense(1)(block(inputs))
    model = keras.Model(inputs, outputs)
    assert len(block.weights) == 4  # the inner Dense's and MyDense's, tracked by attribute
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, y, batch_size=16, epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    # The block's backward comes from the tape; check it against finite differences.
    probe = x[:4]
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(tf.square(model(probe)))
    grad = tape.gradient(value, block.outer.w)
    w = block.outer.w
    base = w.numpy()
    eps, i, j = 1e-2, 1, 2
    bumped = []
    for delta in (eps, -eps):
        changed = base.copy()
        changed[i, j] += delta
        w.assign(changed)
        bumped.append(float(np.sum(np.square(model.predict(probe, verbose=0), dtype=np.float64))))
    w.assign(base)
    np.testing.assert_allclose(grad.numpy()[i, j], (bumped[0] - bumped[1]) / (2 * eps), rtol=2e-2)
    model.save(tmp_path / "res.keras")
    loaded = keras.models.load_model(tmp_path / "res.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_model_losses_are_differentiable_penalties():
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(2, kernel_regularizer=keras.regularizers.l2(0.5))]
    )
    kernel = model.layers[0].kernel
    with tf.GradientTape() as tape:
        penalty = tf.add_n(model.losses)
    np.testing.assert_allclose(float(penalty), 0.5 * np.sum(kernel.numpy() ** 2), rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(penalty, kernel), kernel.numpy(), rtol=1e-6)


def test_gradient_errors_are_clear():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    x = np.ones((2, 3), np.float32)
    with tf.GradientTape() as tape:
        out = model(x)
        rounded = tf.reduce_sum(tf.round(out))
    with pytest.raises(tf.NoGradientError, match="'round'"):
        tape.gradient(rounded, model.trainable_variables)
    with pytest.raises(ValueError, match="2 gradients for 1 variables"):
        keras.optimizers.SGD().apply([None, None], model.trainable_variables[:1])


def test_keras_ops_spell_the_same_operations():
    from shendu.keras import ops

    x = tf.constant([[1.0, -2.0], [3.0, 0.5]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = ops.sum(ops.square(ops.relu(x))) + ops.mean(ops.clip(x, 0.0, 1.0))
    np.testing.assert_allclose(tape.gradient(y, x), [[2.25, 0.0], [6.0, 1.25]])
    np.testing.assert_allclose(ops.concatenate([x, x], axis=0).shape, (4, 2))
    labels = np.array([0, 1])
    np.testing.assert_allclose(
        ops.sparse_categorical_crossentropy(labels, x, from_logits=True),
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels, x),
    )
    with pytest.raises(AttributeError, match="shendu does not provide keras.ops.fft"):
        ops.fft  # noqa: B018


def test_the_custom_training_loop_example_runs():
    from shendu.bench import examples

    program = examples.load("custom_training_loop")
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (40, 28, 28, 1)).astype(np.float32)
    y = rng.integers(0, 10, 40)
    accuracy = program.fit(program.build_model(), ((x, y), (x[:8], y[:8])), epochs=1, verbose=0)
    assert 0.0 <= accuracy <= 1.0
    text = examples.source("custom_training_loop", "tensorflow.keras")
    imports = [ln for ln in text.splitlines() if ln.startswith(("import ", "from "))]
    assert "import tensorflow as tf" in imports and not any("shendu" in ln for ln in imports)


def _weights(n=64):
    return np.random.default_rng(4).uniform(0.0, 2.0, n).astype(np.float32)


def test_weighted_fit_through_the_default_train_step_equals_the_graph_step():
    x, y = _regression()
    w = _weights()
    plain, stepped = _mlp(keras.Model, 1), _mlp(_SuperStep, 1)
    histories = []
    for model in (plain, stepped):
        model.compile(optimizer="adam", loss="mse", metrics=["mae"], weighted_metrics=["mae"])
        histories.append(
            model.fit(x, y, sample_weight=w, batch_size=16, epochs=2, verbose=0, shuffle=False)
        )
    for a, b in zip(plain.get_weights(), stepped.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)
    assert set(histories[1].history) == {"loss", "mae", "weighted_mae"}
    for key, values in histories[0].history.items():
        np.testing.assert_allclose(histories[1].history[key], values, rtol=1e-5, err_msg=key)
    # the weighted metric is the weighted mean (not the plain one) of |error|
    errors = np.abs(stepped.predict(x, verbose=0) - y)[:, 0]
    logs = stepped.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["weighted_mae"], (errors * w).sum() / w.sum(), rtol=1e-5)
    np.testing.assert_allclose(logs["mae"], errors.mean(), rtol=1e-5)


class _SeesData(keras.Model):
    seen = []

    def train_step(self, data):
        type(self).seen.append(data)
        return super().train_step(data)


def test_a_train_step_gets_the_sample_weight_as_the_third_item_of_its_data():
    x, y = _regression(32)
    w = _weights(32)
    model = _mlp(_SeesData, 0)
    _SeesData.seen = []
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    model.fit(x, y, sample_weight=w, batch_size=16, epochs=1, verbose=0, shuffle=False)
    labels = (x[:, :1] > 0).astype(np.float32)
    weights = {0: 2.0, 1: 0.5}
    model.fit(x, labels, class_weight=weights, batch_size=16, epochs=1, verbose=0, shuffle=False)
    assert [len(d) for d in _SeesData.seen] == [2, 2, 3, 3, 3, 3]
    np.testing.assert_array_equal(_SeesData.seen[3][2], w[16:])
    np.testing.assert_array_equal(_SeesData.seen[4][2], np.where(labels[:16, 0] > 0, 0.5, 2.0))


def test_a_taped_weighted_loss_records_the_weighted_gradient():
    rng = np.random.default_rng(7)
    y_true = rng.standard_normal((6, 3)).astype(np.float32)
    w = np.array([0.0, 1.0, 2.0, 0.5, 3.0, 1.0], np.float32)
    pred = tf.Variable(rng.standard_normal((6, 3)).astype(np.float32))
    with tf.GradientTape() as tape:
        loss = keras.losses.MeanSquaredError()(y_true, pred * 1.0, sample_weight=w)
    (grad,) = tape.gradient(loss, [pred])
    p = np.asarray(pred.numpy(), np.float64)
    expected_loss = (((p - y_true) ** 2).mean(axis=1) * w).sum() / 6
    np.testing.assert_allclose(float(loss), expected_loss, rtol=1e-5)
    expected = 2 * (p - y_true) * w[:, None] / (6 * 3)  # d/dp of sum_i w_i mean_j (p - y)^2 / N
    np.testing.assert_allclose(np.asarray(grad), expected, rtol=1e-5, atol=1e-7)
