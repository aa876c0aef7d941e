"""Regression with loss='mse' and SGD(learning_rate, momentum): plain gradient descent, mae metric."""

import numpy as np

from shendu import keras
from shendu.keras import layers
from shendu.keras.optimizers import SGD


def build_model():
    model = keras.Sequential([
        layers.Dense(16, activation="tanh", input_shape=(3,)),
        layers.Dense(1),
    ])
    model.compile(optimizer=SGD(learning_rate=0.01, momentum=0.9), loss="mse", metrics=["mae"])
    return model


def data(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, 3))
    y = np.sin(2 * x[:, :1]) + x[:, 1:2] * x[:, 2:3] + 0.05 * rng.standard_normal((n, 1))
    return x, y


def main():
    keras.utils.set_random_seed(0)
    x, y = data(2000, 0)
    model = build_model()
    model.fit(x, y, epochs=30, batch_size=32, validation_split=0.2, verbose=2)
    x_test, y_test = data(500, 1)
    mse, mae = model.evaluate(x_test, y_test, verbose=0)
    print(f"test mse {mse:.4f}, mae {mae:.4f} (variance of y: {y_test.var():.4f})")


if __name__ == "__main__":
    main()
