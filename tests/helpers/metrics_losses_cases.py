"""The losses, metrics and callback decisions behind
tests/data/keras_fixtures/training_options/metrics_losses.npz: each builder takes a Keras module
(TensorFlow's or shendu's), so scripts/make_metrics_losses_fixtures.py (run with TensorFlow) and
tests/keras/test_metrics_losses.py make the same object from the same text. The data are stored
in the fixture too."""

from __future__ import annotations

import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE = os.path.join(
    ROOT, "tests", "data", "keras_fixtures", "training_options", "metrics_losses.npz"
)


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def make_data(kind, seed, n=8, c=4):
    """(y_true, y_pred) of one kind, float32 (int labels for the sparse kinds)."""
    rng = np.random.default_rng(seed)
    f = np.float32
    if kind == "regression":
        return rng.normal(size=(n, c)).astype(f), rng.normal(size=(n, c)).astype(f)
    if kind == "positive":
        return rng.uniform(0, 2, (n, c)).astype(f), rng.uniform(0.1, 2, (n, c)).astype(f)
    if kind == "probs":
        return (
            _softmax(rng.normal(size=(n, c))).astype(f),
            _softmax(rng.normal(size=(n, c))).astype(f),
        )
    if kind == "binary":
        return rng.integers(0, 2, (n, c)).astype(f), rng.uniform(0.02, 0.98, (n, c)).astype(f)
    if kind == "binary_logits":
        return rng.integers(0, 2, (n, c)).astype(f), rng.normal(0, 2, (n, c)).astype(f)
    if kind == "signed":
        return (2 * rng.integers(0, 2, (n, c)) - 1).astype(f), rng.normal(size=(n, c)).astype(f)
    if kind == "onehot":
        return np.eye(c, dtype=f)[rng.integers(0, c, n)], _softmax(rng.normal(size=(n, c))).astype(
            f
        )
    if kind == "onehot_logits":
        return np.eye(c, dtype=f)[rng.integers(0, c, n)], rng.normal(0, 2, (n, c)).astype(f)
    if kind == "sparse":
        return rng.integers(0, c, n).astype(f), _softmax(rng.normal(size=(n, c))).astype(f)
    if kind == "classes":
        return rng.integers(0, 3, n).astype(f), rng.integers(0, 3, n).astype(f)
    if kind == "values":
        return rng.normal(size=(n, c)).astype(f), None
    raise ValueError(kind)


# Losses: name -> (builder, data kind). Each is also evaluated with reduction "sum" and None.
LOSSES = {
    "mse": (lambda k, **r: k.losses.MeanSquaredError(**r), "regression"),
    "mae": (lambda k, **r: k.losses.MeanAbsoluteError(**r), "regression"),
    "huber": (lambda k, **r: k.losses.Huber(**r), "regression"),
    "huber_delta_0_3": (lambda k, **r: k.losses.Huber(delta=0.3, **r), "regression"),
    "log_cosh": (lambda k, **r: k.losses.LogCosh(**r), "regression"),
    "mape": (lambda k, **r: k.losses.MeanAbsolutePercentageError(**r), "regression"),
    "msle": (lambda k, **r: k.losses.MeanSquaredLogarithmicError(**r), "positive"),
    "poisson": (lambda k, **r: k.losses.Poisson(**r), "positive"),
    "kld": (lambda k, **r: k.losses.KLDivergence(**r), "probs"),
    "hinge_binary": (lambda k, **r: k.losses.Hinge(**r), "binary"),
    "hinge_signed": (lambda k, **r: k.losses.Hinge(**r), "signed"),
    "squared_hinge": (lambda k, **r: k.losses.SquaredHinge(**r), "signed"),
    "categorical_hinge": (lambda k, **r: k.losses.CategoricalHinge(**r), "onehot_logits"),
    "cosine_similarity": (lambda k, **r: k.losses.CosineSimilarity(**r), "regression"),
    "bce_smoothing": (
        lambda k, **r: k.losses.BinaryCrossentropy(label_smoothing=0.2, **r),
        "binary",
    ),
    "bce_logits_smoothing": (
        lambda k, **r: k.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1, **r),
        "binary_logits",
    ),
    "cce_smoothing": (
        lambda k, **r: k.losses.CategoricalCrossentropy(label_smoothing=0.3, **r),
        "onehot",
    ),
    "cce_logits_smoothing": (
        lambda k, **r: k.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1, **r),
        "onehot_logits",
    ),
    "sparse_cce": (lambda k, **r: k.losses.SparseCategoricalCrossentropy(**r), "sparse"),
}

# Metrics: name -> (builder, data kind, use sample weights in the second update).
METRICS = {
    "precision": (lambda k: k.metrics.Precision(), "binary", True),
    "precision_thresholds": (
        lambda k: k.metrics.Precision(thresholds=[0.3, 0.7, 0.5]),
        "binary",
        True,
    ),
    "precision_top_k": (lambda k: k.metrics.Precision(top_k=2), "binary", True),
    "precision_top_k_class": (lambda k: k.metrics.Precision(top_k=2, class_id=1), "binary", False),
    "recall": (lambda k: k.metrics.Recall(), "binary", True),
    "recall_class_id": (lambda k: k.metrics.Recall(class_id=2), "binary", True),
    "recall_thresholds": (lambda k: k.metrics.Recall(thresholds=[0.2, 0.6]), "binary", False),
    "true_positives": (lambda k: k.metrics.TruePositives(), "binary", True),
    "false_positives": (
        lambda k: k.metrics.FalsePositives(thresholds=[0.25, 0.75]),
        "binary",
        True,
    ),
    "true_negatives": (lambda k: k.metrics.TrueNegatives(), "binary", True),
    "false_negatives": (lambda k: k.metrics.FalseNegatives(thresholds=0.4), "binary", True),
    "auc": (lambda k: k.metrics.AUC(), "binary", True),
    "auc_50": (lambda k: k.metrics.AUC(num_thresholds=50), "binary", False),
    "auc_pr": (lambda k: k.metrics.AUC(curve="PR"), "binary", True),
    "auc_pr_minoring": (
        lambda k: k.metrics.AUC(curve="PR", summation_method="minoring"),
        "binary",
        False,
    ),
    "auc_roc_majoring": (lambda k: k.metrics.AUC(summation_method="majoring"), "binary", False),
    "auc_multi_label": (lambda k: k.metrics.AUC(multi_label=True), "binary", True),
    "auc_pr_multi_label": (
        lambda k: k.metrics.AUC(curve="PR", multi_label=True, num_thresholds=30),
        "binary",
        False,
    ),
    "auc_thresholds": (lambda k: k.metrics.AUC(thresholds=[0.2, 0.5, 0.8]), "binary", False),
    "auc_from_logits": (lambda k: k.metrics.AUC(from_logits=True), "binary_logits", True),
    "binary_accuracy": (lambda k: k.metrics.BinaryAccuracy(threshold=0.3), "binary", True),
    "categorical_accuracy": (lambda k: k.metrics.CategoricalAccuracy(), "onehot", True),
    "top_k": (lambda k: k.metrics.TopKCategoricalAccuracy(k=2), "onehot", True),
    "sparse_top_k": (lambda k: k.metrics.SparseTopKCategoricalAccuracy(k=2), "sparse", True),
    "f1_none": (lambda k: k.metrics.F1Score(), "onehot", True),
    "f1_macro": (lambda k: k.metrics.F1Score(average="macro"), "onehot", False),
    "f1_micro_threshold": (
        lambda k: k.metrics.F1Score(average="micro", threshold=0.3),
        "binary",
        True,
    ),
    "f1_weighted": (lambda k: k.metrics.F1Score(average="weighted"), "onehot", True),
    "fbeta_2": (lambda k: k.metrics.FBetaScore(beta=2.0, threshold=0.4), "binary", False),
    "mean_iou": (lambda k: k.metrics.MeanIoU(num_classes=3), "classes", True),
    "mean_iou_dense": (
        lambda k: k.metrics.MeanIoU(num_classes=4, sparse_y_true=False, sparse_y_pred=False),
        "onehot",
        True,
    ),
    "mse": (lambda k: k.metrics.MeanSquaredError(), "regression", True),
    "rmse": (lambda k: k.metrics.RootMeanSquaredError(), "regression", True),
    "mape": (lambda k: k.metrics.MeanAbsolutePercentageError(), "regression", True),
    "cosine_similarity": (lambda k: k.metrics.CosineSimilarity(), "regression", True),
    "mean": (lambda k: k.metrics.Mean(), "values", True),
    "sum": (lambda k: k.metrics.Sum(), "values", True),
}

# Default log names of metric classes, as Keras gives them.
NAMED_METRICS = (
    "Precision",
    "Recall",
    "AUC",
    "TruePositives",
    "FalsePositives",
    "TrueNegatives",
    "FalseNegatives",
    "TopKCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "F1Score",
    "FBetaScore",
    "MeanSquaredError",
    "RootMeanSquaredError",
    "MeanAbsolutePercentageError",
    "CosineSimilarity",
    "Mean",
    "Sum",
)

# ReduceLROnPlateau: name -> (kwargs, the monitored values epoch by epoch); lr starts at 1.0.
PLATEAU = {
    "min": (
        dict(monitor="val_loss", factor=0.5, patience=2, min_delta=0.01, cooldown=1, min_lr=0.1),
        [1.0, 0.9, 0.895, 0.9, 0.89, 0.88, 0.881, 0.882, 0.883, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0],
    ),
    "max_acc": (
        dict(monitor="val_accuracy", mode="max", factor=0.2, patience=1),
        [0.5, 0.6, 0.6, 0.55, 0.7, 0.7, 0.7, 0.71],
    ),
    "auto_no_delta": (
        dict(monitor="loss", patience=0, factor=0.1, min_lr=0.001),
        [3.0, 3.0, 2.0, 2.5, 2.5, 1.0],
    ),
}


def sample_weight(n=8, seed=99):
    return np.random.default_rng(seed).uniform(0, 2, n).astype(np.float32)
