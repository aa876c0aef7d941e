"""The losses and metrics held to TF-Keras's frozen answers (metrics_losses.npz, made by
scripts/make_metrics_losses_fixtures.py), plus their use in compile / fit by name."""

from __future__ import annotations

import numpy as np
import pytest
from shendu import keras

from tests.helpers.gradcheck import check_gradient
from tests.helpers.metrics_losses_cases import FIXTURE, LOSSES, METRICS

_data = np.load(FIXTURE)


@pytest.mark.parametrize("name", LOSSES)
def test_loss_matches_tf(name):
    build, _ = LOSSES[name]
    y_true, y_pred = _data[f"loss/{name}/y_true"], _data[f"loss/{name}/y_pred"]
    loss = build(keras)
    np.testing.assert_allclose(loss(y_true, y_pred), _data[f"loss/{name}/value"], rtol=2e-5)
    value, grad = loss.compute(y_true, y_pred)
    np.testing.assert_allclose(value, _data[f"loss/{name}/value"], rtol=2e-5)
    np.testing.assert_allclose(grad, _data[f"loss/{name}/grad"], rtol=2e-4, atol=1e-7)
    per_sample = build(keras, reduction=None)(y_true, y_pred)
    np.testing.assert_allclose(per_sample, _data[f"loss/{name}/none"], rtol=2e-5, atol=1e-7)
    total = build(keras, reduction="sum")(y_true, y_pred)
    np.testing.assert_allclose(total, _data[f"loss/{name}/sum"], rtol=2e-5)


@pytest.mark.parametrize("name", LOSSES)
def test_loss_sum_reduction_scales_the_gradient(name):
    build, _ = LOSSES[name]
    y_true, y_pred = _data[f"loss/{name}/y_true"], _data[f"loss/{name}/y_pred"]
    _, grad = build(keras).compute(y_true, y_pred)
    value, summed = build(keras, reduction="sum").compute(y_true, y_pred)
    np.testing.assert_allclose(value, _data[f"loss/{name}/sum"], rtol=2e-5)
    np.testing.assert_allclose(summed, grad * len(y_pred), rtol=1e-6)


# The composed losses keep float64 inputs in float64: their gradients checked against central
# differences, away from the kinks (hinge margins, Huber's delta) the data rarely touch.
_COMPOSED = ["log_cosh", "mape", "msle", "poisson", "kld", "hinge_signed", "squared_hinge"]
_COMPOSED += ["categorical_hinge", "cosine_similarity"]


@pytest.mark.parametrize("name", _COMPOSED)
def test_composed_loss_gradient_vs_finite_differences(name):
    build, _ = LOSSES[name]
    y_true = _data[f"loss/{name}/y_true"].astype(np.float64)
    y_pred = _data[f"loss/{name}/y_pred"].astype(np.float64)
    loss = build(keras)
    _, grad = loss.compute(y_true, y_pred)
    assert grad.dtype == np.float64
    check_gradient(lambda: loss.compute(y_true, y_pred)[0], y_pred, grad, rtol=1e-5, atol=1e-8)


def _update(metric, name, step):
    a = _data[f"metric/{name}/{step}/a"]
    key = f"metric/{name}/{step}/b"
    args = (a, _data[key]) if key in _data else (a,)
    weight_key = f"metric/{name}/{step}/weight"
    weight = _data[weight_key] if weight_key in _data else None
    metric.update_state(*args, sample_weight=weight)


@pytest.mark.parametrize("name", METRICS)
def test_metric_matches_tf(name):
    metric = METRICS[name][0](keras)
    for step in range(2):
        _update(metric, name, step)
        want = _data[f"metric/{name}/{step}/result"]
        np.testing.assert_allclose(np.asarray(metric.result()), want, rtol=1e-5, atol=1e-6)
    metric.reset_state()
    assert np.all(np.asarray(metric.result()) == 0)


def test_metric_default_names_match_keras():
    names = dict(zip(_data["names/classes"].tolist(), _data["names/names"].tolist()))
    for cls, name in names.items():
        assert getattr(keras.metrics, cls)().name == name


@pytest.mark.parametrize(
    "spec, log_name",
    [
        ("precision", "precision"),
        ("recall", "recall"),
        ("auc", "auc"),
        ("AUC", "auc"),
        ("true_positives", "true_positives"),
        ("false_negatives", "false_negatives"),
        ("mse", "mse"),
        ("root_mean_squared_error", "root_mean_squared_error"),
    ],
)
def test_metric_names_in_compile_log_as_keras(spec, log_name):
    x = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=[spec])
    history = model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert log_name in history.history


def test_fit_logs_the_epoch_values_of_confusion_metrics():
    """The logged precision/recall/auc are those of all the epoch's predictions (the counts
    accumulate over batches), as the standalone metrics give them on the whole set."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(100, 4)).astype(np.float32)
    y = (x[:, :1] + 0.5 * rng.normal(size=(100, 1)) > 0).astype(np.float32)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    metrics = [keras.metrics.Precision(), keras.metrics.Recall(), keras.metrics.AUC()]
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=metrics)
    logs = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    pred = model.predict(x, verbose=0)
    for metric in (keras.metrics.Precision(), keras.metrics.Recall(), keras.metrics.AUC()):
        metric.update_state(y, pred)
        assert logs[metric.name] == pytest.approx(float(metric.result()), rel=1e-5)


def test_loss_by_function_and_name_in_compile():
    x = np.random.default_rng(2).normal(size=(32, 3)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    for loss in ("huber", "mae", keras.losses.log_cosh, keras.losses.Huber(delta=0.5)):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss=loss)
        first = model.evaluate(x, y, verbose=0)
        model.fit(x, y, epochs=3, verbose=0)
        assert model.evaluate(x, y, verbose=0) < first


def test_loss_and_metric_configs_round_trip():
    loss = keras.losses.Huber(delta=0.3, reduction="sum")
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert (type(again), again.delta, again.reduction) == (keras.losses.Huber, 0.3, "sum")
    metric = keras.metrics.AUC(num_thresholds=20, curve="PR")
    again = keras.metrics.deserialize(keras.metrics.serialize(metric))
    assert (again.num_thresholds, again.curve) == (20, "PR")


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: keras.losses.Huber(delta=0), "delta"),
        (lambda: keras.losses.MeanAbsoluteError(reduction="avg"), "reduction"),
        (lambda: keras.losses.BinaryCrossentropy(label_smoothing=2), "label_smoothing"),
        (lambda: keras.metrics.AUC(curve="XY"), "curve"),
        (lambda: keras.metrics.AUC(num_thresholds=1), "num_thresholds"),
        (lambda: keras.metrics.Precision(thresholds=[1.5]), "thresholds"),
        (lambda: keras.metrics.F1Score(average="median"), "average"),
        (lambda: keras.metrics.TopKCategoricalAccuracy(k=0), "k must"),
        (lambda: keras.metrics.MeanIoU(num_classes=0), "num_classes"),
    ],
)
def test_bad_arguments_name_the_argument(make, match):
    with pytest.raises(ValueError, match=match):
        make()
