"""A 2-5-1 MLP on random points: Sequential().add(...), adam, binary cross-entropy."""

import numpy as np

from shendu import keras
from shendu.keras.layers import Dense
from shendu.keras.models import Sequential


def build_model():
    model = Sequential()
    model.add(Dense(5, input_dim=2, activation="relu"))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def data(n, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(size=(n, 2)), np.round(rng.uniform(size=(n, 1)))


def main():
    keras.utils.set_random_seed(0)
    x, y = data(1000, 0)
    model = build_model()
    model.fit(x, y, epochs=100, batch_size=32)
    x_new, y_new = data(1000, 1)
    loss, accuracy = model.evaluate(x_new, y_new)
    print(f"fresh data: loss {loss:.4f}, accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
