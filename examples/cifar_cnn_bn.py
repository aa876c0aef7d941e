"""A CIFAR-shaped convnet with BatchNormalization after every convolution (Conv2D without bias,
BatchNormalization, ReLU), trained on synthetic 32x32x3 images of 10 classes: each class is a
smooth random pattern, each image its class's pattern shifted, scaled and drowned in noise. No
download needed; the model and its training are what a CIFAR-10 program would run."""

import numpy as np
from shendu import keras
from shendu.keras import layers

EPOCHS = 3
CLASSES = 10


# Moving statistics that follow the batches within a few hundred steps: with Keras's default
# momentum of 0.99 they have not settled after this short run, and the test accuracy (computed
# with them) would swing with the seed.
BN_MOMENTUM = 0.9


def _conv_bn(filters):
    return [
        layers.Conv2D(filters, (3, 3), padding="same", use_bias=False),
        layers.BatchNormalization(momentum=BN_MOMENTUM),
        layers.Activation("relu"),
    ]


def build_model():
    model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            *_conv_bn(32),
            *_conv_bn(32),
            layers.MaxPooling2D((2, 2)),
            *_conv_bn(64),
            layers.MaxPooling2D((2, 2)),
            *_conv_bn(64),
            layers.MaxPooling2D((2, 2)),
            layers.Flatten(),
            layers.Dense(64, use_bias=False),
            layers.BatchNormalization(momentum=BN_MOMENTUM),
            layers.Activation("relu"),
            layers.Dense(CLASSES, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _images(rng, patterns, labels):
    shift = rng.integers(-3, 4, (len(labels), 2))
    x = np.stack([np.roll(patterns[c], tuple(s), axis=(0, 1)) for c, s in zip(labels, shift)])
    x = x * rng.uniform(0.6, 1.4, (len(labels), 1, 1, 1)) + rng.normal(0, 0.8, x.shape)
    return np.clip(x * 40 + 128, 0, 255).astype(np.uint8)


def load_data(n_train=3000, n_test=600, seed=0):
    """(x_train, y_train), (x_test, y_test): uint8 images scaled to [0, 1] floats, int labels."""
    rng = np.random.default_rng(seed)
    coarse = rng.standard_normal((CLASSES, 4, 4, 3))
    patterns = coarse.repeat(8, axis=1).repeat(8, axis=2)  # 4x4 blocks of 8x8 pixels
    y_train, y_test = rng.integers(0, CLASSES, n_train), rng.integers(0, CLASSES, n_test)
    x_train, x_test = _images(rng, patterns, y_train), _images(rng, patterns, y_test)
    return (x_train / 255.0, y_train), (x_test / 255.0, y_test)


def fit(model, data, epochs=EPOCHS, **kwargs):
    (x_train, y_train), _ = data
    kwargs.setdefault("batch_size", 64)
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
