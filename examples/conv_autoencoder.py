"""A convolutional denoising autoencoder, as in the Keras example on image denoising: an encoder
of two Conv2D + MaxPooling2D pairs squeezes noisy 28x28 digits into 7x7x32 codes, a decoder of
two strided Conv2DTranspose layers and a sigmoid Conv2D paints the clean digit back.

Trained on the MNIST sample shipped with shendu (4,000 training / 1,000 test digits, no download)
with Gaussian noise added; the score is the mean squared error between the denoised test
digits and the clean ones, next to the error of the noisy digits themselves.
Runs in well under a minute: ``python examples/conv_autoencoder.py``.
"""

import numpy as np
from shendu import keras
from shendu.keras import layers

EPOCHS = 10
NOISE = 0.4


def _noisy(images, rng):
    return np.clip(images + NOISE * rng.standard_normal(images.shape), 0, 1).astype(np.float32)


def load_data(n_train=None, seed=0):
    """(noisy, clean) training and test digits, (N, 28, 28, 1) floats in [0, 1]."""
    (x_train, _), (x_test, _) = keras.datasets.mnist.load_sample()
    x_train = (x_train[:n_train] / 255.0).reshape(-1, 28, 28, 1).astype(np.float32)
    x_test = (x_test / 255.0).reshape(-1, 28, 28, 1).astype(np.float32)
    rng = np.random.default_rng(seed)
    return (_noisy(x_train, rng), x_train), (_noisy(x_test, rng), x_test)


def build_model():
    inputs = keras.Input((28, 28, 1))
    x = layers.Conv2D(32, (3, 3), activation="relu", padding="same")(inputs)
    x = layers.MaxPooling2D((2, 2), padding="same")(x)
    x = layers.Conv2D(32, (3, 3), activation="relu", padding="same")(x)
    x = layers.MaxPooling2D((2, 2), padding="same")(x)
    x = layers.Conv2DTranspose(32, (3, 3), strides=2, activation="relu", padding="same")(x)
    x = layers.Conv2DTranspose(32, (3, 3), strides=2, activation="relu", padding="same")(x)
    outputs = layers.Conv2D(1, (3, 3), activation="sigmoid", padding="same")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


def fit(model, data, epochs=EPOCHS, **kwargs):
    (noisy, clean), test = data
    kwargs.setdefault("batch_size", 128)
    return model.fit(noisy, clean, epochs=epochs, shuffle=True, validation_data=test, **kwargs)


def test_mse(model, data, **kwargs):
    """Mean squared error between the denoised test digits and the clean ones."""
    _, (noisy, clean) = data
    return float(np.mean((model.predict(noisy, **kwargs) - clean) ** 2))


def main():
    keras.utils.set_random_seed(0)
    data = load_data()
    model = build_model()
    model.summary()
    fit(model, data, verbose=2)
    _, (noisy, clean) = data
    print(f"noisy digits: mse {np.mean((noisy - clean) ** 2):.4f}")
    print(f"denoised test mse {test_mse(model, data, verbose=0):.4f}")


if __name__ == "__main__":
    main()
