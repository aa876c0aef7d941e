"""A 2-5-1 MLP on random points: Sequential().add(...), adam, binary cross-entropy."""

import numpy as np
from shendu import keras
from shendu.keras.layers import Dense
from shendu.keras.models import Sequential

EPOCHS = 100


def build_model():
    model = Sequential()
    model.add(Dense(5, input_dim=2, activation="relu"))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def data(n, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(size=(n, 2)), np.round(rng.uniform(size=(n, 1)))


def load_data():
    """1000 training points and 1000 fresh ones to test on."""
    return data(1000, 0), data(1000, 1)


def fit(model, data, epochs=EPOCHS, **kwargs):
    (x, y), _ = data
    return model.fit(x, y, epochs=epochs, batch_size=32, **kwargs)


def test_accuracy(model, data, **kwargs):
    _, (x_new, y_new) = data
    loss, accuracy = model.evaluate(x_new, y_new, **kwargs)
    return accuracy


def main():
    keras.utils.set_random_seed(0)
    data = load_data()
    model = build_model()
    fit(model, data)
    print(f"fresh data: accuracy {test_accuracy(model, data):.4f}")


if __name__ == "__main__":
    main()
