"""Training that logs itself and survives a crash: TensorBoard event files, a CSV row per epoch,
a learning rate halved when the validation loss stalls, and BackupAndRestore, which backs the
model, its optimizer and the epoch count up after every epoch.

The first fit is interrupted on purpose (a callback raises after epoch INTERRUPT_AFTER, as a
crash or a lost machine would end it); the second, with the same backup folder, restores the
backup and continues with the next epoch instead of starting over. The CSV file, appended to
by both, ends with one row per epoch. The model is a small MLP on three interleaved spirals.
Runs in seconds and writes into a temporary folder: ``python examples/training_with_callbacks.py``.
"""

import os
import tempfile

import numpy as np
from shendu import keras
from shendu.keras import layers

EPOCHS = 12
INTERRUPT_AFTER = 5


class Interrupted(Exception):
    """Raised by Interrupt: the failure the backup has to survive."""


class Interrupt(keras.callbacks.Callback):
    """Stops the fit with an error at the end of epoch ``after`` (counted from 1)."""

    def __init__(self, after):
        super().__init__()
        self.after = after

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.after:
            raise Interrupted(f"interrupted after epoch {self.after}")


def _spirals(n, rng):
    labels = rng.integers(0, 3, n)
    radius = rng.uniform(0.1, 1.0, n)
    angle = 2 * np.pi * radius + labels * 2 * np.pi / 3 + rng.normal(0, 0.7, n)
    points = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return points.astype(np.float32), labels


def load_data(n_train=3000, n_test=600, seed=0):
    """(x_train, y_train), (x_test, y_test): 2-D points and their spiral (0, 1 or 2)."""
    rng = np.random.default_rng(seed)
    return _spirals(n_train, rng), _spirals(n_test, rng)


def build_model():
    model = keras.Sequential(
        [
            keras.Input((2,)),
            layers.Dense(64, activation="relu"),
            layers.Dense(64, activation="relu"),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def callbacks(folder):
    """The callbacks of both fits, writing under folder."""
    # ReduceLROnPlateau first: it adds the learning rate to the logs that the loggers write.
    return [
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2),
        keras.callbacks.BackupAndRestore(os.path.join(folder, "backup")),
        keras.callbacks.CSVLogger(os.path.join(folder, "training.csv"), append=True),
        keras.callbacks.TensorBoard(os.path.join(folder, "logs")),
    ]


def fit(model, data, epochs=EPOCHS, folder=None, interrupt_after=INTERRUPT_AFTER, **kwargs):
    """Fits until interrupted after epoch interrupt_after, then fits again, resuming from the
    backup; returns the History of the fit that finished."""
    (x_train, y_train), _ = data
    folder = folder or tempfile.mkdtemp(prefix="callbacks_")
    kwargs.setdefault("batch_size", 32)

    def run(callback_list):
        return model.fit(
            x_train,
            y_train,
            epochs=epochs,
            validation_split=0.2,
            callbacks=callback_list,
            **kwargs,
        )

    first = callbacks(folder)
    try:
        return run([*first, Interrupt(interrupt_after)])
    except Interrupted as e:
        print(f"{e}; backup: {sorted(os.listdir(os.path.join(folder, 'backup')))}")
    # A crashed process would have closed its files; here the loggers close theirs. The
    # backup's on_train_end is not called: it would delete the backup.
    for logger in first[2:]:
        logger.on_train_end()
    history = run(callbacks(folder))
    print(f"resumed run: epochs {history.epoch[0] + 1} to {history.epoch[-1] + 1}")
    return history


def test_accuracy(model, data, **kwargs):
    _, (x_test, y_test) = data
    test_loss, accuracy = model.evaluate(x_test, y_test, **kwargs)
    return accuracy


def main():
    keras.utils.set_random_seed(0)
    data = load_data()
    model = build_model()
    with tempfile.TemporaryDirectory() as folder:
        fit(model, data, folder=folder, verbose=2)
        with open(os.path.join(folder, "training.csv")) as f:
            rows = f.read().splitlines()
        print(f"training.csv: {len(rows) - 1} rows, columns {rows[0]}")
        for run in ("train", "validation"):
            print(f"logs/{run}: {len(os.listdir(os.path.join(folder, 'logs', run)))} event files")
    print(f"test accuracy {test_accuracy(model, data, verbose=0):.4f}")


if __name__ == "__main__":
    main()
