"""keras.callbacks against a small fake model that implements the model side of the interface
(layers with get/set_weights, get/set_weights on the model, stop_training, save/save_weights)."""

import io
import os
import re

import numpy as np
import pytest
from shendu.keras import callbacks, saving
from shendu.keras.utils import progbar

BAR = "━" * 20
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Dense:
    def __init__(self, name, shapes, seed):
        self.name = name
        rng = np.random.default_rng(seed)
        self._w = [rng.standard_normal(s).astype(np.float32) for s in shapes]

    def get_weights(self):
        return [w.copy() for w in self._w]

    def set_weights(self, weights):
        self._w = [np.array(w, np.float32) for w in weights]


class FakeModel:
    def __init__(self, seed=0):
        self.layers = [Dense("d0", [(3, 2), (2,)], seed), Dense("d1", [(2, 1), (1,)], seed + 1)]
        self.stop_training = False
        self.history = None
        self.saved = []

    def get_weights(self):
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights):
        self.layers[0].set_weights(weights[:2])
        self.layers[1].set_weights(weights[2:])

    def save(self, path, overwrite=True):
        self.saved.append(path)
        with open(path, "w") as f:
            f.write("model")

    def save_weights(self, path, overwrite=True):
        saving.save_weights(self, path, overwrite=overwrite)


def run_fit(model, cbs, epoch_logs, steps=2, batch_logs=None, **params):
    """Drives the hooks the way fit() does, one epoch per entry of epoch_logs, stopping when a
    callback sets model.stop_training. Returns the number of epochs run."""
    params = {"verbose": 0, "epochs": len(epoch_logs), "steps": steps, **params}
    cbl = callbacks.CallbackList(cbs, add_history=True, model=model, **params)
    cbl.on_train_begin()
    ran = 0
    for epoch, logs in enumerate(epoch_logs):
        cbl.on_epoch_begin(epoch)
        for batch in range(steps):
            cbl.on_train_batch_begin(batch)
            cbl.on_train_batch_end(batch, (batch_logs or {}))
        cbl.on_epoch_end(epoch, dict(logs))
        ran += 1
        if model.stop_training:
            break
    cbl.on_train_end()
    return ran


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(progbar, "_now", c)
    return c


class Tty(io.StringIO):
    def isatty(self):
        return True


# --- CallbackList, History, LambdaCallback ---------------------------------------------------


def test_history_records_epoch_logs_and_sets_model_history():
    model = FakeModel()
    run_fit(
        model, [], [{"loss": 0.5, "accuracy": 0.25}, {"loss": np.float32(0.25), "accuracy": 0.5}]
    )
    hist = model.history
    assert isinstance(hist, callbacks.History)
    assert hist.epoch == [0, 1]
    assert hist.history == {"loss": [0.5, 0.25], "accuracy": [0.25, 0.5]}
    assert all(type(v) is float for v in hist.history["loss"])  # no NumPy scalars kept


def test_callback_list_adds_defaults_once_and_forwards_in_order():
    calls = []
    cb1 = callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: calls.append(("a", e, logs["loss"]))
    )
    cb2 = callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: calls.append(("b", e, logs["loss"]))
    )
    own_history = callbacks.History()
    cbl = callbacks.CallbackList(
        [cb1, own_history, cb2],
        add_history=True,
        add_progbar=True,
        model=FakeModel(),
        verbose=0,
        epochs=1,
        steps=1,
    )
    assert [type(c) for c in cbl.callbacks] == [
        callbacks.LambdaCallback,
        callbacks.History,
        callbacks.LambdaCallback,
        callbacks.ProgbarLogger,
    ]
    assert all(c.params == {"verbose": 0, "epochs": 1, "steps": 1} for c in cbl.callbacks)
    assert cbl.callbacks[0].model is cbl.model
    cbl.on_epoch_end(3, {"loss": 1.5})
    assert calls == [("a", 3, 1.5), ("b", 3, 1.5)]
    assert cbl.model.history is own_history
    with pytest.raises(TypeError, match="Callback instances, got str"):
        callbacks.CallbackList(["not a callback"])


def test_lambda_callback_hooks_and_arguments():
    events = []
    cb = callbacks.LambdaCallback(
        on_train_begin=lambda logs: events.append("train_begin"),
        on_epoch_begin=lambda epoch, logs: events.append(f"epoch_begin {epoch}"),
        on_batch_end=lambda batch, logs: events.append(f"batch_end {batch}"),
        on_train_end=lambda logs: events.append("train_end"),
    )
    run_fit(FakeModel(), [cb], [{"loss": 1.0}], steps=2)
    assert events == ["train_begin", "epoch_begin 0", "batch_end 0", "batch_end 1", "train_end"]
    with pytest.raises(ValueError, match="unknown hook 'on_epoch_middle'"):
        callbacks.LambdaCallback(on_epoch_middle=print)
    with pytest.raises(TypeError, match="on_epoch_end must be callable"):
        callbacks.LambdaCallback(on_epoch_end=3)


# --- ProgbarLogger ----------------------------------------------------------------------------


def drive_epochs(clock, epochs, verbose, steps=3):
    """Two-batch-time pattern: step 1 ends at t+1.0, later steps 0.2 s apart."""
    cbl = callbacks.CallbackList(add_progbar=True, verbose=verbose, epochs=epochs, steps=steps)
    cbl.on_train_begin()
    for epoch in range(epochs):
        clock.t = 10.0 * epoch
        cbl.on_epoch_begin(epoch)
        for batch in range(steps):
            clock.t = 10.0 * epoch + 1.0 + 0.2 * batch
            cbl.on_train_batch_end(batch, {"loss": 1.0 / (batch + 1)})
        # Validation inside fit prints nothing.
        cbl.on_test_begin()
        cbl.on_test_batch_end(0, {"loss": 9.0})
        cbl.on_test_end({"loss": 9.0})
        cbl.on_epoch_end(epoch, {"loss": 0.5, "val_loss": 0.7})
    cbl.on_train_end()


def test_progbar_verbose1_not_a_tty_prints_final_line_per_epoch(clock, capsys):
    drive_epochs(clock, epochs=2, verbose=1)
    # 3 steps: first at 1.0 s, the other two 0.2 s apart -> 200 ms/step (first step excluded),
    # 1.4 s elapsed -> "1s".
    line = f"3/3 {BAR} 1s 200ms/step - loss: 0.5000 - val_loss: 0.7000"
    assert capsys.readouterr().out == f"Epoch 1/2\n{line}\nEpoch 2/2\n{line}\n"


def test_progbar_verbose1_on_a_tty_redraws_with_eta(clock, monkeypatch):
    out = Tty()
    monkeypatch.setattr("sys.stdout", out)
    drive_epochs(clock, epochs=1, verbose=1)
    text = out.getvalue()
    assert "Epoch" not in text  # only when epochs > 1
    frames = text.split("\r")
    assert frames[0] == ""
    plain = [ANSI.sub("", f) for f in frames[1:]]
    # Step 1 at 1.0 s: 1 s/step, 2 steps left -> ETA 2s; running mean of the batch losses.
    assert plain[0].rstrip() == f"1/3 {BAR} 2s 1s/step - loss: 1.0000"
    assert plain[1].rstrip() == f"2/3 {BAR} 0s 200ms/step - loss: 0.7500"
    assert plain[2].rstrip() == f"3/3 {BAR} 0s 200ms/step - loss: 0.6111"
    assert plain[3] == f"3/3 {BAR} 1s 200ms/step - loss: 0.5000 - val_loss: 0.7000\n"
    # Keras's colours: bold count, green for the done part (int(20 * 1/3) = 6 bars), grey rest.
    assert frames[1].startswith(
        "\x1b[1m1/3\x1b[0m \x1b[32m" + "━" * 6 + "\x1b[0m\x1b[37m" + "━" * 14
    )


def test_progbar_tty_updates_are_throttled_and_padded(clock, monkeypatch):
    out = Tty()
    monkeypatch.setattr("sys.stdout", out)
    bar = progbar.Progbar(target=100, stateful_metrics=["loss"])  # loss shown as given
    clock.t = 1.0
    bar.update(1, [("loss", 123456.0)])
    clock.t = 1.01  # within the 0.05 s interval: not drawn
    bar.update(2, [("loss", 1.0)])
    clock.t = 1.2
    bar.update(3, [("loss", 1.0)])
    frames = [ANSI.sub("", f) for f in out.getvalue().split("\r")[1:]]
    assert [f[:7] for f in frames] == ["  1/100", "  3/100"]
    assert frames[0] == f"  1/100 {BAR} 1:39 1s/step - loss: 123456.0000"
    assert frames[1].startswith(f"  3/100 {BAR} 9s 100ms/step - loss: 1.0000 ")
    # Shorter line than the previous one: padded with spaces to erase it.
    assert len(frames[1]) == len(frames[0])
    assert frames[1].endswith(" ")


def test_progbar_verbose2_prints_one_line_per_epoch(clock, capsys):
    drive_epochs(clock, epochs=2, verbose=2)
    # verbose=2 sees no per-step updates, so (as in Keras) the step time is 1.4 s / 3 steps.
    line = "3/3 - 1s - 467ms/step - loss: 0.5000 - val_loss: 0.7000"
    assert capsys.readouterr().out == f"Epoch 1/2\n{line}\nEpoch 2/2\n{line}\n"


def test_progbar_verbose0_prints_nothing(clock, capsys):
    drive_epochs(clock, epochs=2, verbose=0)
    assert capsys.readouterr().out == ""


def test_progbar_evaluate_and_predict_bars(clock, capsys):
    cbl = callbacks.CallbackList(add_progbar=True, verbose=1, epochs=1, steps=2)
    cbl.on_test_begin()
    for batch in range(2):
        clock.t = 0.002 * (batch + 1)
        cbl.on_test_batch_end(batch, {"accuracy": 0.5, "loss": 1e-4})
    cbl.on_test_end({"accuracy": 0.875, "loss": 1e-5})
    clock.t = 1.0
    cbl.on_predict_begin()
    for batch in range(2):
        clock.t = 1.0 + 0.5 * (batch + 1)
        cbl.on_predict_batch_end(batch, {"outputs": np.zeros(3)})
    cbl.on_predict_end()
    assert capsys.readouterr().out == (
        f"2/2 {BAR} 0s 2ms/step - accuracy: 0.8750 - loss: 1.0000e-05\n2/2 {BAR} 1s 500ms/step\n"
    )


def test_progbar_unknown_steps_learns_target(clock, monkeypatch):
    out = Tty()
    monkeypatch.setattr("sys.stdout", out)
    cbl = callbacks.CallbackList(add_progbar=True, verbose=1, epochs=1, steps=None)
    cbl.on_epoch_begin(0)
    clock.t = 2.0
    cbl.on_train_batch_end(0, {"loss": 2.0})
    clock.t = 2.5
    cbl.on_train_batch_end(1, {"loss": 2.0})
    cbl.on_epoch_end(0, {"loss": 2.0})
    frames = [ANSI.sub("", f) for f in out.getvalue().split("\r")[1:]]
    assert frames[0].startswith("      1/Unknown 2s 2s/step - loss: 2.0000")
    assert frames[-1] == f"2/2 {BAR} 2s 500ms/step - loss: 2.0000\n"


def test_progbar_time_formats():
    assert progbar._format_time(2.4, "step") == " 2s/step"
    assert progbar._format_time(0.0034, "step") == " 3ms/step"
    assert progbar._format_time(0.0000071, "step") == " 7us/step"
    assert progbar._format_eta(59.9) == "59s"
    assert progbar._format_eta(61) == "1:01"
    assert progbar._format_eta(3725) == "1:02:05"


# --- EarlyStopping ----------------------------------------------------------------------------


def val_losses(*values):
    return [{"loss": 1.0, "val_loss": v} for v in values]


@pytest.mark.parametrize(
    "kwargs, logs, epochs_run, stopped_epoch",
    [
        # patience=2: no improvement at epochs 2 and 3 -> stop at epoch 3.
        ({"patience": 2}, val_losses(1.0, 0.9, 0.95, 0.96, 0.97), 4, 3),
        ({"patience": 0}, val_losses(1.0, 0.9, 0.95, 0.96), 3, 2),
        # min_delta: 0.995 is not better than 1.0 by more than 0.01.
        ({"patience": 1, "min_delta": 0.01}, val_losses(1.0, 0.995, 0.5), 2, 1),
        # A negative min_delta means the same as its absolute value, as in Keras.
        ({"patience": 1, "min_delta": -0.01}, val_losses(1.0, 0.995, 0.5), 2, 1),
        # baseline: improvements that do not beat the baseline do not reset patience.
        ({"patience": 2, "baseline": 0.5}, val_losses(0.8, 0.7, 0.75, 0.1), 3, 2),
        ({"patience": 2}, val_losses(0.8, 0.7, 0.75, 0.1), 4, 0),
        # Epochs before start_from_epoch are not monitored.
        ({"patience": 0, "start_from_epoch": 2}, val_losses(1, 2, 3, 4, 5), 4, 3),
        # Monitor accuracy: auto mode maximizes it.
        ({"monitor": "val_accuracy"}, [{"val_accuracy": a} for a in (0.5, 0.6, 0.55, 0.7)], 3, 2),
        ({"monitor": "val_loss", "mode": "max"}, val_losses(0.5, 0.6, 0.55), 3, 2),
    ],
)
def test_early_stopping_keras_semantics(kwargs, logs, epochs_run, stopped_epoch):
    model = FakeModel()
    es = callbacks.EarlyStopping(**kwargs)
    assert run_fit(model, [es], logs) == epochs_run
    assert es.stopped_epoch == stopped_epoch
    assert model.stop_training == (stopped_epoch > 0)


def test_early_stopping_restores_best_weights(capsys):
    model = FakeModel()
    snapshots = []

    def perturb(epoch, logs):
        # Each epoch "trains": the weights change, and we remember them.
        model.set_weights([w + epoch + 1 for w in model.get_weights()])
        snapshots.append(model.get_weights())

    cbs = [
        callbacks.LambdaCallback(on_epoch_end=perturb),
        callbacks.EarlyStopping(patience=1, restore_best_weights=True, verbose=1),
    ]
    run_fit(model, cbs, val_losses(0.9, 0.4, 0.6, 0.7))
    assert len(snapshots) == 3  # stopped after epoch 2
    for got, want in zip(model.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(got, want)
    out = capsys.readouterr().out
    assert "Epoch 3: early stopping" in out
    assert "Restoring model weights from the end of the best epoch: 2." in out


def test_early_stopping_instance_is_reusable():
    es = callbacks.EarlyStopping(patience=0)
    run_fit(FakeModel(), [es], val_losses(0.1, 0.2))
    assert es.stopped_epoch == 1
    model = FakeModel()
    assert run_fit(model, [es], val_losses(0.9, 0.8, 0.7)) == 3  # fresh best, no stop
    assert not model.stop_training


def test_early_stopping_unknown_monitor_warns_and_never_stops():
    model = FakeModel()
    with pytest.warns(UserWarning, match=r"`val_acc`.* Available metrics are: loss, val_loss"):
        ran = run_fit(model, [callbacks.EarlyStopping(monitor="val_acc")], val_losses(1, 2, 3))
    assert ran == 3


def test_early_stopping_bad_arguments():
    with pytest.raises(ValueError, match="mode must be one of 'auto', 'min', 'max', got 'up'"):
        callbacks.EarlyStopping(mode="up")
    with pytest.raises(ValueError, match="monitor='wobble'.*mode='min' or mode='max'"):
        run_fit(FakeModel(), [callbacks.EarlyStopping(monitor="wobble")], [{"wobble": 1.0}])


# --- ModelCheckpoint --------------------------------------------------------------------------


def test_checkpoint_weights_template_creates_folders(tmp_path):
    pytest.importorskip("h5py")
    model = FakeModel()
    template = str(tmp_path / "ckpt" / "sub" / "w-{epoch:02d}-{val_loss:.2f}.weights.h5")
    cb = callbacks.ModelCheckpoint(template, save_weights_only=True)
    run_fit(model, [cb], val_losses(0.5, 0.25))
    assert sorted(os.listdir(tmp_path / "ckpt" / "sub")) == [
        "w-01-0.50.weights.h5",
        "w-02-0.25.weights.h5",
    ]
    fresh = FakeModel(seed=7)
    saving.load_weights(fresh, tmp_path / "ckpt" / "sub" / "w-02-0.25.weights.h5")
    for got, want in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_checkpoint_save_best_only(tmp_path, capsys):
    model = FakeModel()
    path = str(tmp_path / "best-{epoch}.keras")
    cb = callbacks.ModelCheckpoint(path, save_best_only=True, verbose=1)
    run_fit(model, [cb], val_losses(0.5, 0.6, 0.4, 0.45))
    assert [os.path.basename(p) for p in model.saved] == ["best-1.keras", "best-3.keras"]
    out = capsys.readouterr().out
    assert "Epoch 1: val_loss improved from inf to 0.50000, saving model to" in out
    assert "Epoch 2: val_loss did not improve from 0.50000" in out
    # Maximized metric and an initial threshold that nothing beats.
    model = FakeModel()
    cb = callbacks.ModelCheckpoint(
        str(tmp_path / "m.keras"),
        monitor="val_accuracy",
        save_best_only=True,
        initial_value_threshold=0.9,
    )
    run_fit(model, [cb], [{"val_accuracy": 0.5}, {"val_accuracy": 0.8}])
    assert model.saved == []


def test_checkpoint_save_freq_in_batches(tmp_path):
    model = FakeModel()
    cb = callbacks.ModelCheckpoint(str(tmp_path / "e{epoch}-b{batch}.keras"), save_freq=3)
    run_fit(model, [cb], val_losses(1, 1), steps=4)
    # 8 batches over 2 epochs, a save every 3rd: batches 3 and 6 overall.
    assert [os.path.basename(p) for p in model.saved] == ["e1-b3.keras", "e2-b2.keras"]


def test_checkpoint_interrupted_at_the_rename_leaves_one_good_file(tmp_path, monkeypatch):
    """Ctrl-C during a checkpoint, just after the new file replaced the old: the caller sees
    KeyboardInterrupt, the checkpoint loads, and no temporary is left (a stale one from an
    earlier killed run is removed by the first save)."""
    pytest.importorskip("h5py")
    stale = tmp_path / f".w.weights.h5.{os.getpid()}.abcdefgh.tmp"
    stale.write_bytes(b"half a file")
    os.utime(stale, (0, 0))
    real_replace, calls = os.replace, []

    def replace(src, dst):
        real_replace(src, dst)
        calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", replace)
    model = FakeModel()
    cb = callbacks.ModelCheckpoint(str(tmp_path / "w.weights.h5"), save_weights_only=True)
    with pytest.raises(KeyboardInterrupt):
        run_fit(model, [cb], val_losses(1, 1, 1))
    assert os.listdir(tmp_path) == ["w.weights.h5"]
    fresh = FakeModel(seed=7)
    saving.load_weights(fresh, tmp_path / "w.weights.h5")
    for got, want in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_checkpoint_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="filepath ending in '.weights.h5', got filepath='w.h5'"):
        callbacks.ModelCheckpoint("w.h5", save_weights_only=True)
    with pytest.raises(ValueError, match="ending in '.keras', got filepath='m.h5'"):
        callbacks.ModelCheckpoint("m.h5")
    with pytest.raises(ValueError, match="save_freq must be 'epoch' or a positive int"):
        callbacks.ModelCheckpoint("m.keras", save_freq="batch")
    with pytest.raises(ValueError, match="mode must be one of"):
        callbacks.ModelCheckpoint("m.keras", mode="best")
    cb = callbacks.ModelCheckpoint(str(tmp_path / "{val_acc:.2f}.keras"))
    with pytest.raises(KeyError, match="no value for 'val_acc'.*loss, val_loss"):
        run_fit(FakeModel(), [cb], val_losses(1))
    (tmp_path / "dir.keras").mkdir()
    with pytest.raises(IsADirectoryError, match="existing folder"):
        run_fit(
            FakeModel(), [callbacks.ModelCheckpoint(str(tmp_path / "dir.keras"))], val_losses(1)
        )


def test_checkpoint_best_only_without_monitor_warns_and_saves(tmp_path):
    model = FakeModel()
    cb = callbacks.ModelCheckpoint(str(tmp_path / "m.keras"), save_best_only=True)
    with pytest.warns(UserWarning, match="only with val_loss available"):
        run_fit(model, [cb], [{"loss": 1.0}])
    assert len(model.saved) == 1
