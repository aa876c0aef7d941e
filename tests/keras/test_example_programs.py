"""The example programs train to a useful model: each runs on less data and fewer epochs, loaded
as the bench loads it (shendu.bench.examples.load), and must reach a score that a broken layer,
loss or callback would not (chance, or a simple baseline)."""

import csv

import numpy as np
import pytest
from shendu import keras
from shendu.bench import examples


@pytest.fixture(autouse=True)
def _seeded():
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)


def test_timeseries_classification_finds_the_knocks():
    program = examples.load("timeseries_classification_conv1d")
    data = program.load_data(n_train=1200, n_test=300)
    model = program.build_model()
    program.fit(model, data, epochs=8, verbose=0)
    # Two balanced classes: chance is 0.5; BatchNormalization's moving statistics must have
    # caught up with the batch statistics for inference to get this far.
    assert program.test_accuracy(model, data, verbose=0) > 0.85


def test_forecasting_beats_the_daily_cycle():
    program = examples.load("timeseries_forecasting")
    data = program.load_data(hours=3000)
    model = program.build_model(data[0])
    program.fit(model, data, epochs=8, verbose=0)
    # Yesterday's temperature at the same hour knows the daily cycle but not the weather
    # fronts, which the pressure, humidity and wind in the window reveal.
    assert program.test_mae(model, data, verbose=0) < 0.85 * program.yesterday_mae(data)


def test_autoencoder_removes_the_noise():
    program = examples.load("conv_autoencoder")
    data = program.load_data(n_train=1000)
    model = program.build_model()
    program.fit(model, data, epochs=3, batch_size=16, verbose=0)
    _, (noisy, clean) = data
    noisy_mse = np.mean((noisy - clean) ** 2)
    # The mean training digit: what a decoder that ignores its code would paint.
    mean_digit_mse = np.mean((data[0][1].mean(axis=0) - clean) ** 2)
    denoised_mse = program.test_mse(model, data, verbose=0)
    assert denoised_mse < 0.5 * min(noisy_mse, mean_digit_mse), (denoised_mse, noisy_mse)


def test_imbalanced_classifier_catches_the_frauds():
    program = examples.load("imbalanced_classification")
    data = program.load_data(n=10000)
    model = program.build_model()
    program.fit(model, data, epochs=10, verbose=0)
    m = program.test_metrics(model, data, verbose=0)
    y_val = data[1][1]
    assert (m["tp"] + m["fn"], m["tn"] + m["fp"]) == ((y_val == 1).sum(), (y_val == 0).sum())
    assert m["precision"] == pytest.approx(m["tp"] / (m["tp"] + m["fp"]), rel=1e-5)
    assert m["recall"] == pytest.approx(m["tp"] / (m["tp"] + m["fn"]), rel=1e-5)
    # Without class_weight the same network calls (almost) every transaction legitimate: recall
    # 0-0.4 at the 0.5 threshold; with it, most frauds are caught.
    assert m["recall"] > 0.65 and m["auc"] > 0.85, m


def test_interrupted_training_resumes_from_its_backup(tmp_path, capsys):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    program = examples.load("training_with_callbacks")
    data = program.load_data(n_train=1500, n_test=600)
    model = program.build_model()
    history = program.fit(model, data, epochs=6, folder=tmp_path, interrupt_after=3, verbose=0)
    assert "interrupted after epoch 3" in capsys.readouterr().out
    assert history.epoch == [3, 4, 5]  # the resumed fit ran only the epochs left
    assert not (tmp_path / "backup").exists()  # a fit that ends deletes its backup

    with open(tmp_path / "training.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == list(range(6))
    assert {"learning_rate", "loss", "val_loss", "accuracy"} <= set(rows[0])

    events = EventAccumulator(str(tmp_path / "logs" / "train"))
    events.Reload()
    losses = events.Scalars("epoch_loss")
    assert [e.step for e in losses] == list(range(6))
    np.testing.assert_allclose([e.value for e in losses], [float(r["loss"]) for r in rows], 1e-6)
    # Three spirals: chance is 1/3.
    assert program.test_accuracy(model, data, verbose=0) > 0.75
