"""Sentiment of movie-review-like texts: Embedding(10000, 64, mask_zero=True) ->
Bidirectional(LSTM(32, return_sequences=True)) -> Bidirectional(LSTM(32)) -> Dense(1, sigmoid),
on reviews of 20 to 80 words padded with zeros to 80.

The data is synthetic and offline (load_data): each review mixes filler words with words that
lean positive or negative, those of its own label three times as often as the others, so a
model must weigh them over the whole review. Id 0 is padding: mask_zero=True makes the LSTMs
skip the padded steps, so a review's prediction does not depend on how much padding follows it.
"""

import numpy as np
from shendu import keras
from shendu.keras import layers

VOCAB, LENGTH = 10000, 80
EPOCHS = 4


def load_data(n_train=2000, n_test=500, seed=0):
    """((x_train, y_train), (x_test, y_test)): int32 (N, 80) word ids, 0 after each review's
    end, and float32 labels 0 (negative) or 1 (positive)."""
    rng = np.random.default_rng(seed)
    words = rng.permutation(np.arange(1, VOCAB))  # id 0 is left for padding
    positive, negative, filler = words[:50], words[50:100], words[100:]

    def make(n):
        lengths = rng.integers(20, LENGTH + 1, n)
        x = np.zeros((n, LENGTH), np.int32)
        y = np.zeros(n, np.float32)
        for i, length in enumerate(lengths):
            y[i] = rng.random() < 0.5
            # filler, positive, negative words
            kind = rng.choice(3, length, p=[0.8, 0.15, 0.05] if y[i] else [0.8, 0.05, 0.15])
            x[i, :length] = np.where(
                kind == 0,
                rng.choice(filler, length),
                np.where(kind == 1, rng.choice(positive, length), rng.choice(negative, length)),
            )
        return x, y

    return make(n_train), make(n_test)


def build_model():
    model = keras.Sequential(
        [
            keras.Input(shape=(LENGTH,), dtype="int32"),
            layers.Embedding(VOCAB, 64, mask_zero=True),
            layers.Bidirectional(layers.LSTM(32, return_sequences=True)),
            layers.Bidirectional(layers.LSTM(32)),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
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
