"""Time-series classification from scratch: three Conv1D -> BatchNormalization -> ReLU blocks,
GlobalAveragePooling1D and a softmax, as in the Keras example on the FordA engine-noise data.

The data is made up in the same shape (univariate series, two classes, labels 0/1): every
series is engine hum (two sine waves of random phase, a slow drift and noise); in class 1 the
engine also knocks, a short burst of a faster oscillation at a random place. The convolutions
learn what a knock looks like, the global average says whether one happened anywhere.
Runs in seconds, no download: ``python examples/timeseries_classification_conv1d.py``.
"""

import numpy as np
from shendu import keras
from shendu.keras import layers

EPOCHS = 10
LENGTH = 128


def _series(rng, labels):
    n, t = len(labels), np.arange(LENGTH)
    phase = rng.uniform(0, 2 * np.pi, (n, 2))
    hum = np.sin(2 * np.pi * t / 32 + phase[:, :1]) + 0.5 * np.sin(
        2 * np.pi * t / 11 + phase[:, 1:]
    )
    drift = np.cumsum(rng.normal(0, 0.05, (n, LENGTH)), axis=1)
    x = hum + drift + rng.normal(0, 0.6, (n, LENGTH))
    start = rng.integers(0, LENGTH - 16, n)
    burst = np.sin(2 * np.pi * np.arange(16) / 4) * np.hanning(16)
    for i in np.flatnonzero(labels):
        x[i, start[i] : start[i] + 16] += 2.5 * burst
    return x[..., None].astype(np.float32)  # (N, LENGTH, 1): one channel


def load_data(n_train=1600, n_test=400, seed=0):
    """(x_train, y_train), (x_test, y_test): series (N, LENGTH, 1) and labels 0/1."""
    rng = np.random.default_rng(seed)
    y_train, y_test = rng.integers(0, 2, n_train), rng.integers(0, 2, n_test)
    return (_series(rng, y_train), y_train), (_series(rng, y_test), y_test)


def build_model():
    inputs = keras.Input((LENGTH, 1))
    x = inputs
    for _ in range(3):
        x = layers.Conv1D(64, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    x = layers.GlobalAveragePooling1D()(x)
    outputs = layers.Dense(2, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["sparse_categorical_accuracy"],
    )
    return model


def fit(model, data, epochs=EPOCHS, **kwargs):
    (x_train, y_train), _ = data
    # Small batches give BatchNormalization's moving statistics (momentum 0.99) the few hundred
    # steps they need to forget their initial values: until then validation, which uses them,
    # stays at chance while training accuracy, on batch statistics, already climbs.
    kwargs.setdefault("batch_size", 16)
    return model.fit(x_train, y_train, epochs=epochs, validation_split=0.2, **kwargs)


def test_accuracy(model, data, **kwargs):
    _, (x_test, y_test) = data
    test_loss, accuracy = model.evaluate(x_test, y_test, **kwargs)
    return accuracy


def main():
    keras.utils.set_random_seed(0)
    data = load_data()
    model = build_model()
    model.summary()
    fit(model, data, verbose=2)
    print(f"test accuracy {test_accuracy(model, data, verbose=0):.4f}")


if __name__ == "__main__":
    main()
