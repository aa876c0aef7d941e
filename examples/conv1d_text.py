"""Text classification with a 1-D convolution: Embedding(10000, 64) -> Conv1D(64, 5, relu)
-> GlobalMaxPooling1D -> Dense(10, softmax) on integer sequences (N, 40). Each filter learns a
5-word pattern, and the global max keeps its strongest match anywhere in the sequence."""

from _text_data import load as load_data
from shendu import keras
from shendu.keras import layers

EPOCHS = 5


def build_model():
    model = keras.Sequential(
        [
            layers.Embedding(10000, 64),
            layers.Conv1D(64, 5, activation="relu"),
            layers.GlobalMaxPooling1D(),
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
