"""Text classification: Embedding(10000, 64) -> SimpleRNN(64, return_sequences=True) -> SimpleRNN(32)
-> Dense(10, softmax) on integer sequences (N, 40)."""

from _text_data import load

from shendu import keras
from shendu.keras import layers


def build_model():
    model = keras.Sequential([
        layers.Embedding(10000, 64),
        layers.SimpleRNN(64, return_sequences=True),
        layers.SimpleRNN(32),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main():
    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = load()
    model = build_model()
    model.fit(x_train, y_train, epochs=10, batch_size=32, validation_data=(x_test, y_test))
    loss, accuracy = model.evaluate(x_test, y_test)
    print(f"test accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
