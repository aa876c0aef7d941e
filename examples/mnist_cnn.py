"""The Keras MNIST convnet: three Conv2D, two MaxPooling2D, Dense(64), Dense(10, softmax).
`python -m shendu demo` trains this model (on the shipped MNIST sample)."""

from _mnist import load
from shendu import keras
from shendu.keras import layers

EPOCHS = 5


def build_model():
    model = keras.Sequential(
        [
            layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def load_data():
    (x_train, y_train), (x_test, y_test) = load()
    x_train = (x_train / 255.0).reshape(-1, 28, 28, 1)
    x_test = (x_test / 255.0).reshape(-1, 28, 28, 1)
    return (x_train, y_train), (x_test, y_test)


def fit(model, data, epochs=EPOCHS, **kwargs):
    (x_train, y_train), _ = data
    return model.fit(x_train, y_train, epochs=epochs, **kwargs)


def test_accuracy(model, data, **kwargs):
    _, (x_test, y_test) = data
    test_loss, accuracy = model.evaluate(x_test, y_test, **kwargs)
    return accuracy


def main():
    keras.utils.set_random_seed(0)
    data = load_data()
    model = build_model()
    model.summary()
    fit(model, data)
    print(f"test accuracy: {test_accuracy(model, data):.4f}")


if __name__ == "__main__":
    main()
