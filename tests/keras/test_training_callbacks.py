"""ReduceLROnPlateau, LearningRateScheduler, CSVLogger, TerminateOnNaN, BackupAndRestore and
TensorBoard: decisions held to TF-Keras's (frozen), files read back, an interrupted fit resumed."""

from __future__ import annotations

import csv
import os
import types

import numpy as np
import pytest
from shendu import keras

from tests.helpers.metrics_losses_cases import FIXTURE, PLATEAU


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = (x[:, :1] - x[:, 1:2] > 0).astype(np.float32)
    return x, y


def _model(dropout=0.0, optimizer="adam"):
    layers = [keras.Input((4,)), keras.layers.Dense(8, activation="relu")]
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    model = keras.Sequential([*layers, keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.parametrize("case", PLATEAU)
def test_reduce_lr_on_plateau_decides_as_tf(case):
    kwargs, values = PLATEAU[case]
    model = _model(optimizer=keras.optimizers.SGD(learning_rate=1.0))
    callback = keras.callbacks.ReduceLROnPlateau(**kwargs)
    callback.set_model(model)
    callback.on_train_begin()
    lrs = []
    for epoch, value in enumerate(values):
        callback.on_epoch_end(epoch, {kwargs["monitor"]: value})
        lrs.append(model.optimizer.learning_rate)
    with np.load(FIXTURE) as want:
        np.testing.assert_allclose(lrs, want[f"plateau/{case}/lr"], rtol=1e-6)


def test_reduce_lr_on_plateau_in_fit_logs_the_rate():
    x, y = _data()
    model = _model(optimizer=keras.optimizers.SGD(learning_rate=0.1))
    # The loss never improves by 10: the rate falls at the end of every epoch after the first,
    # and each epoch logs the rate it ran with.
    cb = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10)
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[cb])
    np.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.1, 0.05], rtol=1e-6)
    assert model.optimizer.learning_rate == pytest.approx(0.025)


def test_reduce_lr_on_plateau_refuses_factor_of_one():
    with pytest.raises(ValueError, match="factor"):
        keras.callbacks.ReduceLROnPlateau(factor=1.0)


def test_learning_rate_scheduler_both_signatures():
    x, y = _data()
    model = _model(optimizer=keras.optimizers.SGD(learning_rate=0.1))
    seen = []

    def schedule(epoch, lr):
        seen.append(lr)
        return lr * 0.5

    history = model.fit(
        x, y, epochs=3, verbose=0, callbacks=[keras.callbacks.LearningRateScheduler(schedule)]
    )
    np.testing.assert_allclose(seen, [0.1, 0.05, 0.025])
    np.testing.assert_allclose(history.history["learning_rate"], [0.05, 0.025, 0.0125])
    one_arg = keras.callbacks.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))
    model.fit(x, y, epochs=2, verbose=0, callbacks=[one_arg])
    assert model.optimizer.learning_rate == pytest.approx(0.02)
    bad = keras.callbacks.LearningRateScheduler(lambda epoch, lr: "fast")
    with pytest.raises(ValueError, match="should be a float"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[bad])


def test_csv_logger_writes_keras_rows_and_appends(tmp_path):
    x, y = _data()
    path = tmp_path / "log.csv"
    model = _model()
    model.fit(
        x,
        y,
        epochs=2,
        verbose=0,
        validation_split=0.25,
        callbacks=[keras.callbacks.CSVLogger(path)],
    )
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1"]
    history = model.history.history
    assert float(rows[2][2]) == pytest.approx(history["loss"][1])
    logger = keras.callbacks.CSVLogger(path, separator=";", append=True)
    model.fit(x, y, epochs=1, verbose=0, validation_split=0.25, callbacks=[logger])
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and lines[3].startswith("0;")  # no second header


def test_csv_logger_without_validation_adds_val_columns(tmp_path):
    x, y = _data()
    path = tmp_path / "log.csv"
    _model().fit(x, y, epochs=1, verbose=0, callbacks=[keras.callbacks.CSVLogger(path)])
    header, row = path.read_text().splitlines()
    assert header == "epoch,accuracy,loss,val_accuracy,val_loss"
    assert row.endswith(",NA,NA")


def test_terminate_on_nan_stops_at_the_first_bad_batch(capsys):
    x, y = _data()
    y[20] = np.nan
    batches = []
    counter = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: batches.append(b))
    model = _model()
    model.fit(
        x, y, epochs=3, batch_size=8, shuffle=False, verbose=0,
        callbacks=[keras.callbacks.TerminateOnNaN(), counter],
    )  # fmt: skip
    assert batches == [0, 1, 2]  # sample 20 is in batch 2
    assert "Batch 2: Invalid loss, terminating training" in capsys.readouterr().out
    with pytest.raises(RuntimeError, match="NaN or Inf loss"):
        model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0,
                  callbacks=[keras.callbacks.TerminateOnNaN(raise_error=True)])  # fmt: skip


class _Interrupt(Exception):
    pass


def _interrupt_at(epoch):
    def on_epoch_begin(e, logs):
        if e == epoch:
            raise _Interrupt

    return keras.callbacks.LambdaCallback(on_epoch_begin=on_epoch_begin)


def _seeded_model():
    keras.utils.set_random_seed(7)
    return _model(dropout=0.3)


@pytest.mark.parametrize("save_freq", ["epoch", 3])
def test_backup_and_restore_resumes_an_interrupted_fit(tmp_path, save_freq):
    """Weights, optimizer state and the random generator come back: the resumed fit ends where
    the uninterrupted one does (shuffling and dropout included) when backups are per epoch."""
    x, y = _data(96)
    whole = _seeded_model()
    whole.fit(x, y, epochs=4, batch_size=16, verbose=0)

    backup = str(tmp_path / "backup")
    model = _seeded_model()
    cb = keras.callbacks.BackupAndRestore(backup, save_freq=save_freq)
    with pytest.raises(_Interrupt):
        model.fit(x, y, epochs=4, batch_size=16, verbose=0, callbacks=[cb, _interrupt_at(2)])
    assert sorted(os.listdir(backup)) == ["latest.weights.h5", "training_metadata.json"]

    keras.utils.set_random_seed(123)  # a new process: other random state, other weights
    resumed = _model(dropout=0.3)
    epochs = []
    seen = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: epochs.append(e))
    resumed.fit(
        x, y, epochs=4, batch_size=16, verbose=0,
        callbacks=[keras.callbacks.BackupAndRestore(backup, save_freq=save_freq), seen],
    )  # fmt: skip
    # Per epoch, the backup of epoch 1's end; every 3 of 6 batches, the last one in epoch 1.
    assert epochs == ([2, 3] if save_freq == "epoch" else [1, 2, 3])
    assert not os.path.exists(backup)  # a fit that ends deletes its backup
    if save_freq == "epoch":
        assert resumed.optimizer.iterations == whole.optimizer.iterations
        for a, b in zip(resumed.get_weights(), whole.get_weights()):
            np.testing.assert_array_equal(a, b)


def test_backup_and_restore_keeps_the_backup_when_asked(tmp_path):
    x, y = _data()
    backup = tmp_path / "b"
    cb = keras.callbacks.BackupAndRestore(backup, delete_checkpoint=False)
    _model().fit(x, y, epochs=2, verbose=0, callbacks=[cb])
    assert (backup / "training_metadata.json").read_text().startswith('{"epoch": 2')
    with pytest.raises(ValueError, match="save_freq"):
        keras.callbacks.BackupAndRestore(backup, save_freq="sometimes")


def _accumulator(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    return acc


def test_tensorboard_writes_event_files_tensorboard_reads(tmp_path):
    pytest.importorskip("tensorboard")
    x, y = _data()
    model = _model()
    tb = keras.callbacks.TensorBoard(tmp_path, histogram_freq=1, update_freq=3)
    history = model.fit(
        x, y, epochs=2, batch_size=16, verbose=0, validation_split=0.25, callbacks=[tb]
    )
    train = _accumulator(tmp_path / "train")
    tags = train.Tags()
    assert {"epoch_loss", "epoch_accuracy", "batch_loss"} <= set(tags["scalars"])
    losses = [e.value for e in train.Scalars("epoch_loss")]
    np.testing.assert_allclose(losses, history.history["loss"], rtol=1e-6)
    assert [e.step for e in train.Scalars("batch_loss")] == [3, 6]  # 3 batches an epoch
    kernel = model.layers[0].kernel
    histograms = train.Histograms(f"{kernel.path}/histogram")
    assert [h.step for h in histograms] == [0, 1]
    assert histograms[-1].histogram_value.num == kernel.value.size
    assert histograms[-1].histogram_value.max == pytest.approx(float(kernel.value.max()))
    validation = _accumulator(tmp_path / "validation")
    val = [e.value for e in validation.Scalars("epoch_loss")]
    np.testing.assert_allclose(val, history.history["val_loss"], rtol=1e-6)


def test_file_writers_stay_quiet_on_other_replicas(tmp_path):
    """Under a distribute strategy only the chief writes: the others open no file."""
    pytest.importorskip("tensorboard")
    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=1, verbose=0)
    model._distribution = types.SimpleNamespace(is_chief=False)
    callbacks = [
        keras.callbacks.CSVLogger(tmp_path / "log.csv"),
        keras.callbacks.TensorBoard(tmp_path / "tb"),
        keras.callbacks.BackupAndRestore(tmp_path / "backup"),
    ]
    for cb in callbacks:
        cb.set_model(model)
        cb.on_train_begin()
        cb.on_epoch_end(0, {"loss": 0.5})
        cb.on_train_end()
    assert os.listdir(tmp_path) == []


def test_tensorboard_missing_names_the_extra(monkeypatch):
    from shendu.keras.callbacks import tensorboard as module

    def missing():
        raise ImportError(module._MISSING)

    monkeypatch.setattr(module, "_tensorboard", missing)
    with pytest.raises(ImportError, match=r"shendu\[tensorboard\]"):
        keras.callbacks.TensorBoard()


def test_tensorboard_bad_update_freq():
    pytest.importorskip("tensorboard")
    with pytest.raises(ValueError, match="update_freq"):
        keras.callbacks.TensorBoard(update_freq="often")
