"""MNIST MLP with an L2 weight penalty (kernel_regularizer=l2(...)); the reported loss includes it."""

from _mnist import load

from shendu import keras
from shendu.keras import layers, regularizers


def build_model():
    model = keras.Sequential([
        layers.Dense(128, activation="relu", input_shape=(784,),
                     kernel_regularizer=regularizers.l2(1e-4)),
        layers.Dense(10, activation="softmax", kernel_regularizer=regularizers.l2(1e-4)),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main():
    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = load()
    x_train = (x_train / 255.0).reshape(-1, 784)
    x_test = (x_test / 255.0).reshape(-1, 784)
    model = build_model()
    model.fit(x_train, y_train, epochs=5, batch_size=32)
    loss, accuracy = model.evaluate(x_test, y_test)
    print(f"test accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
