"""Text classification: Embedding(10000, 64) -> LSTM(64, return_sequences=True) -> LSTM(32)
-> Dense(10, softmax) on integer sequences (N, 40)."""

from _text_data import load as load_data
from shendu import keras
from shendu.keras import layers

EPOCHS = 10


def build_model():
    model = keras.Sequential(
        [
            layers.Embedding(10000, 64),
            layers.LSTM(64, return_sequences=True),
            layers.LSTM(32),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def fit(model, data, epochs=EPOCHS, **kwargs):
    (x_train, y_train), test = data
    return model.fit(x_train, y_train, epochs=epochs, batch_size=32, validation_data=test, **kwargs)


def test_accuracy(model, data, **kwargs):
    _, (x_test, y_test) = data
    loss, accuracy = model.evaluate(x_test, y_test, **kwargs)
    return accuracy


def main():
    keras.utils.set_random_seed(0)
    data = load_data()
    model = build_model()
    fit(model, data)
    print(f"test accuracy {test_accuracy(model, data):.4f}")


if __name__ == "__main__":
    main()
