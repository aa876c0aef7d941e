"""MNIST MLP with dropout: Dense(128) -> Dropout(0.5) -> Dense(10, softmax), validation_data."""

import numpy as np
from _mnist import load
from shendu import keras

EPOCHS = 10


def build_model():
    model = keras.Sequential(
        [
            keras.layers.Dense(128, activation="relu", input_shape=(784,)),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def load_data():
    (x_train, y_train), (x_test, y_test) = load()
    x_train = (x_train / 255.0).reshape(-1, 784)
    x_test = (x_test / 255.0).reshape(-1, 784)
    return (x_train, y_train), (x_test, y_test)


def fit(model, data, epochs=EPOCHS, **kwargs):
    (x_train, y_train), test = data
    return model.fit(x_train, y_train, epochs=epochs, batch_size=64, validation_data=test, **kwargs)


def test_accuracy(model, data, **kwargs):
    _, (x_test, y_test) = data
    predictions = model.predict(x_test, **kwargs)
    return np.mean(np.argmax(predictions, axis=1) == y_test)


def main():
    keras.utils.set_random_seed(0)
    data = load_data()
    model = build_model()
    fit(model, data)
    print(f"test accuracy from predict: {test_accuracy(model, data):.4f}")


if __name__ == "__main__":
    main()
