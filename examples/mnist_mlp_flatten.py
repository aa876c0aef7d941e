"""MNIST MLP on 28x28 images: Flatten(input_shape=(28, 28)), Adam(), validation_split=0.1."""

from _mnist import load
from shendu import keras
from shendu.keras.layers import Dense, Flatten
from shendu.keras.optimizers import Adam

EPOCHS = 10


def build_model():
    model = keras.Sequential(
        [
            Flatten(input_shape=(28, 28)),
            Dense(128, activation="relu"),
            Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer=Adam(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def load_data():
    (x_train, y_train), (x_test, y_test) = load()
    return (x_train / 255.0, y_train), (x_test / 255.0, y_test)


def fit(model, data, epochs=EPOCHS, **kwargs):
    (x_train, y_train), _ = data
    return model.fit(x_train, y_train, epochs=epochs, batch_size=32, validation_split=0.1, **kwargs)


def test_accuracy(model, data, **kwargs):
    _, (x_test, y_test) = data
    loss, accuracy = model.evaluate(x_test, y_test, **kwargs)
    return accuracy


def main():
    keras.utils.set_random_seed(0)
    data = load_data()
    model = build_model()
    model.summary()
    fit(model, data)
    print(f"test accuracy {test_accuracy(model, data):.4f}")


if __name__ == "__main__":
    main()
