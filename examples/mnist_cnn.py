"""The Keras MNIST convnet: three Conv2D, two MaxPooling2D, Dense(64), Dense(10, softmax)."""

from _mnist import load

from shendu import keras
from shendu.keras import layers


def build_model():
    model = keras.Sequential([
        layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def prepare(x):
    return (x / 255.0).reshape(-1, 28, 28, 1)


def main(epochs=5):
    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = load()
    model = build_model()
    model.summary()
    history = model.fit(prepare(x_train), y_train, epochs=epochs)
    test_loss, test_accuracy = model.evaluate(prepare(x_test), y_test)
    print(f"test accuracy: {test_accuracy:.4f}")
    return model, history, test_accuracy


if __name__ == "__main__":
    main()
