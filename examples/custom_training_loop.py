"""TensorFlow's "quickstart for experts" on shendu: a subclassed model trained by a custom loop
with GradientTape, the metrics kept by hand. Only the imports differ from TensorFlow's program.
Run with --sample to train on shendu's shipped MNIST sample in seconds."""

import numpy as np
import shendu as tf
from _mnist import load
from shendu import keras

EPOCHS = 2
BATCH_SIZE = 32


class MyModel(keras.Model):
    def __init__(self):
        super().__init__()
        self.conv1 = keras.layers.Conv2D(32, 3, activation="relu")
        self.flatten = keras.layers.Flatten()
        self.d1 = keras.layers.Dense(128, activation="relu")
        self.d2 = keras.layers.Dense(10)

    def call(self, x, training=False):
        x = self.conv1(x)
        x = self.flatten(x)
        x = self.d1(x)
        return self.d2(x)


def build_model():
    return MyModel()


def load_data():
    (x_train, y_train), (x_test, y_test) = load()
    x_train, x_test = x_train / 255.0, x_test / 255.0
    # Add a channels dimension.
    x_train = x_train[..., tf.newaxis].astype("float32")
    x_test = x_test[..., tf.newaxis].astype("float32")
    return (x_train, y_train), (x_test, y_test)


def batches(x, y, batch_size, rng=None):
    order = np.arange(len(x)) if rng is None else rng.permutation(len(x))
    for start in range(0, len(x), batch_size):
        index = order[start : start + batch_size]
        yield x[index], y[index]


def fit(model, data, epochs=EPOCHS, verbose=1):
    (x_train, y_train), (x_test, y_test) = data
    loss_object = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = keras.optimizers.Adam()
    train_loss = keras.metrics.Mean(name="train_loss")
    train_accuracy = keras.metrics.SparseCategoricalAccuracy(name="train_accuracy")
    test_loss = keras.metrics.Mean(name="test_loss")
    test_accuracy = keras.metrics.SparseCategoricalAccuracy(name="test_accuracy")

    @tf.function
    def train_step(images, labels):
        with tf.GradientTape() as tape:
            # training=True is only needed if there are layers with different
            # behavior during training versus inference (e.g. Dropout).
            predictions = model(images, training=True)
            loss = loss_object(labels, predictions)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        train_loss(loss)
        train_accuracy(labels, predictions)

    @tf.function
    def test_step(images, labels):
        predictions = model(images, training=False)
        test_loss(loss_object(labels, predictions))
        test_accuracy(labels, predictions)

    rng = np.random.default_rng(0)
    for epoch in range(epochs):
        for metric in (train_loss, train_accuracy, test_loss, test_accuracy):
            metric.reset_state()
        for images, labels in batches(x_train, y_train, BATCH_SIZE, rng):
            train_step(images, labels)
        for images, labels in batches(x_test, y_test, BATCH_SIZE):
            test_step(images, labels)
        if verbose:
            print(
                f"Epoch {epoch + 1}, "
                f"Loss: {float(train_loss.result()):.4f}, "
                f"Accuracy: {float(train_accuracy.result()) * 100:.2f}, "
                f"Test Loss: {float(test_loss.result()):.4f}, "
                f"Test Accuracy: {float(test_accuracy.result()) * 100:.2f}"
            )
    return float(test_accuracy.result())


def test_accuracy(model, data, **kwargs):
    _, (x_test, y_test) = data
    accuracy = keras.metrics.SparseCategoricalAccuracy()
    for images, labels in batches(x_test, y_test, BATCH_SIZE):
        accuracy(labels, model(images, training=False))
    return float(accuracy.result())


def main():
    keras.utils.set_random_seed(0)
    fit(build_model(), load_data())


if __name__ == "__main__":
    main()
