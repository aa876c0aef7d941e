"""MNIST MLP on 28x28 images: Flatten(input_shape=(28, 28)), Adam(), validation_split=0.1."""

from _mnist import load

from shendu import keras
from shendu.keras.layers import Dense, Flatten
from shendu.keras.optimizers import Adam


def build_model():
    model = keras.Sequential([
        Flatten(input_shape=(28, 28)),
        Dense(128, activation="relu"),
        Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=Adam(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main():
    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = load()
    x_train, x_test = x_train / 255.0, x_test / 255.0
    model = build_model()
    model.summary()
    model.fit(x_train, y_train, epochs=10, batch_size=32, validation_split=0.1)
    loss, accuracy = model.evaluate(x_test, y_test)
    print(f"test loss {loss:.4f}, test accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
