"""MNIST MLP with dropout: Dense(128) -> Dropout(0.5) -> Dense(10, softmax), validation_data."""

import numpy as np
from _mnist import load

from shendu import keras


def build_model():
    model = keras.Sequential([
        keras.layers.Dense(128, activation="relu", input_shape=(784,)),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main():
    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = load()
    x_train = (x_train / 255.0).reshape(-1, 784)
    x_test = (x_test / 255.0).reshape(-1, 784)
    model = build_model()
    model.fit(x_train, y_train, epochs=10, batch_size=64, validation_data=(x_test, y_test))
    predictions = model.predict(x_test)
    accuracy = np.mean(np.argmax(predictions, axis=1) == y_test)
    print(f"test accuracy from predict: {accuracy:.4f}")


if __name__ == "__main__":
    main()
