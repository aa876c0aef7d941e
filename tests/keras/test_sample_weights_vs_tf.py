"""sample_weight, class_weight and weighted_metrics held to TF-Keras's frozen answers
(scripts/make_pipeline_fixtures.py -> tests/data/keras_fixtures/pipeline/weights.npz), on both
backends: the native one also runs fused Dense stacks, which weighted batches must skip."""

import pathlib

import numpy as np
import pytest
import shendu
from shendu import keras

from tests.helpers.pipeline_cases import LOSSES, loss_case

FIXTURE = pathlib.Path(__file__).resolve().parents[1] / "data/keras_fixtures/pipeline/weights.npz"


@pytest.fixture(scope="module")
def tf():
    with np.load(FIXTURE) as f:
        return dict(f)


@pytest.fixture(autouse=True, params=["native", "reference"])
def _backend(request):
    shendu.set_backend(request.param)
    keras.backend.clear_session()


@pytest.mark.parametrize("name, cls, kwargs, shape, kind", LOSSES, ids=[c[0] for c in LOSSES])
def test_weighted_loss_values_match_tf(tf, name, cls, kwargs, shape, kind):
    y_true, y_pred, w = loss_case(name, shape, kind, kwargs.get("from_logits", False))
    loss = getattr(keras.losses, cls)(**kwargs)
    np.testing.assert_allclose(
        float(loss(y_true, y_pred, sample_weight=w)), tf[f"loss_{name}"], rtol=2e-6, atol=1e-7
    )
    np.testing.assert_allclose(
        float(loss(y_true, y_pred)), tf[f"loss_{name}_unweighted"], rtol=2e-6, atol=1e-7
    )


@pytest.mark.parametrize("name, cls, kwargs, shape, kind", LOSSES, ids=[c[0] for c in LOSSES])
def test_weighted_loss_gradient_is_the_finite_difference(name, cls, kwargs, shape, kind):
    y_true, y_pred, w = loss_case(name, shape, kind, kwargs.get("from_logits", False))
    loss = getattr(keras.losses, cls)(**kwargs)
    w = w.reshape(len(w))
    _, grad = loss.compute(y_true, y_pred, w)
    rng = np.random.default_rng(0)
    for flat in rng.choice(y_pred.size, 6, replace=False):
        idx = np.unravel_index(flat, y_pred.shape)
        h = 1e-3 * max(1.0, abs(float(y_pred[idx])))
        if kind == "binary" and not kwargs:  # keep probabilities inside (0, 1)
            h = min(h, 0.3 * min(y_pred[idx], 1 - y_pred[idx]))
        up, down = y_pred.copy(), y_pred.copy()
        up[idx] += h
        down[idx] -= h
        numeric = (loss.compute(y_true, up, w)[0] - loss.compute(y_true, down, w)[0]) / (2 * h)
        np.testing.assert_allclose(grad[idx], numeric, rtol=2e-2, atol=2e-4)


def _compiled(tf, metrics=None, weighted=None):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.set_weights([tf["kernel"], tf["bias"]])
    model.compile(
        keras.optimizers.SGD(0.1),
        "sparse_categorical_crossentropy",
        metrics=metrics,
        weighted_metrics=weighted,
    )
    return model


def _class_weight(tf):
    return {int(k): float(v) for k, v in zip(tf["cw_keys"], tf["cw_values"])}


@pytest.mark.parametrize("tag", ["sw", "cw"])
def test_train_on_batch_with_weights_matches_tf(tf, tag):
    kwargs = {"sample_weight": tf["sw"]} if tag == "sw" else {"class_weight": _class_weight(tf)}
    model = _compiled(tf)
    loss = model.train_on_batch(tf["x"], tf["y"], **kwargs)
    np.testing.assert_allclose(loss, tf[f"step_{tag}_loss"], rtol=1e-5)
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(kernel, tf[f"step_{tag}_kernel"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bias, tf[f"step_{tag}_bias"], rtol=1e-5, atol=1e-6)


def test_fit_with_class_weight_matches_tf(tf):
    model = _compiled(tf)
    history = model.fit(
        tf["x"],
        tf["y"],
        batch_size=4,
        epochs=2,
        class_weight=_class_weight(tf),
        shuffle=False,
        verbose=0,
    )
    np.testing.assert_allclose(history.history["loss"], tf["fit_cw_loss"], rtol=1e-5)
    np.testing.assert_allclose(model.get_weights()[0], tf["fit_cw_kernel"], rtol=1e-5, atol=1e-6)


def test_evaluate_with_weighted_metrics_matches_tf(tf):
    model = _compiled(tf, ["accuracy"], ["accuracy"])
    logs = model.evaluate(
        tf["x"], tf["y"], sample_weight=tf["sw"], batch_size=4, return_dict=True, verbose=0
    )
    assert sorted(logs) == list(tf["eval_names"])  # accuracy, loss, weighted_accuracy
    np.testing.assert_allclose(
        [logs[k] for k in sorted(logs)], tf["eval_values"], rtol=1e-5, atol=1e-7
    )
    assert model.metrics_names == ["loss", "accuracy", "weighted_accuracy"]
