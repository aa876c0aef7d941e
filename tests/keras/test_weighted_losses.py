"""Every loss with per-sample weights, under each reduction: Keras's reduction of w_i * l_i over
TF-Keras's frozen per-sample losses l_i (metrics_losses.npz), and the gradient the unweighted
one (held to TF-Keras there) rescaled row by row."""

from __future__ import annotations

import numpy as np
import pytest
from shendu import keras

from tests.helpers.metrics_losses_cases import FIXTURE, LOSSES

_data = np.load(FIXTURE)


def _case(name):
    y_true, y_pred = _data[f"loss/{name}/y_true"], _data[f"loss/{name}/y_pred"]
    w = np.random.default_rng(len(name)).uniform(0, 2, len(y_pred)).astype(np.float32)
    w[1] = 0.0  # a sample that does not count
    return y_true, y_pred, w, _data[f"loss/{name}/none"].astype(np.float64)


@pytest.mark.parametrize("name", LOSSES)
def test_weighted_values_reduce_the_per_sample_losses_as_keras(name):
    build, _ = LOSSES[name]
    y_true, y_pred, w, per_sample = _case(name)
    weighted = w * per_sample
    expected = {
        "sum_over_batch_size": weighted.sum() / len(w),
        "sum": weighted.sum(),
        "mean_with_sample_weight": weighted.sum() / w.sum(),
    }
    for reduction, value in expected.items():
        loss = build(keras, reduction=reduction)
        np.testing.assert_allclose(float(loss(y_true, y_pred, sample_weight=w)), value, rtol=3e-5)
    values = build(keras, reduction=None)(y_true, y_pred, sample_weight=w)
    np.testing.assert_allclose(np.asarray(values), weighted, rtol=3e-5, atol=1e-7)
    # a scalar weight and (N, 1) weights are per-sample weights too
    one = build(keras)
    np.testing.assert_allclose(
        float(one(y_true, y_pred, sample_weight=2.0)), 2 * per_sample.mean(), rtol=3e-5
    )
    np.testing.assert_allclose(
        float(one(y_true, y_pred, sample_weight=w[:, None])),
        expected["sum_over_batch_size"],
        rtol=3e-5,
    )


@pytest.mark.parametrize("name", LOSSES)
def test_weighted_gradient_is_the_unweighted_one_row_by_row(name):
    build, _ = LOSSES[name]
    y_true, y_pred, w, _ = _case(name)
    _, grad = build(keras).compute(y_true, y_pred)
    rows = w[:, None]
    scales = {
        "sum_over_batch_size": 1.0,
        "sum": len(w),
        "mean_with_sample_weight": len(w) / w.sum(),
    }
    for reduction, scale in scales.items():
        _, weighted = build(keras, reduction=reduction).compute(y_true, y_pred, w)
        np.testing.assert_allclose(weighted, grad * rows * scale, rtol=1e-5, atol=1e-8)


def test_sample_weight_of_the_wrong_length_names_the_argument():
    loss = keras.losses.MeanSquaredError()
    with pytest.raises(ValueError, match="sample_weight"):
        loss(np.zeros((4, 2)), np.ones((4, 2)), sample_weight=np.ones(3))


@pytest.mark.parametrize("name", ["bce_smoothing", "cce_smoothing", "sparse_cce"])
def test_weighted_loss_on_logits_equals_it_on_the_activation(name):
    # A model ending in sigmoid / softmax hands the loss its logits (compute_from_logits).
    build, _ = LOSSES[name]
    y_true, y_pred, w, per_sample = _case(name)
    loss = build(keras)
    logits = np.log(y_pred) - (np.log1p(-y_pred) if loss.fuses == "sigmoid" else 0)
    value, _ = loss.compute_from_logits(y_true, logits.astype(np.float32), w)
    np.testing.assert_allclose(value, (w * per_sample).sum() / len(w), rtol=1e-4)
