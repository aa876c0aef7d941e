"""Imbalanced classification, as in the Keras example on credit-card fraud: a dense network
trained with ``class_weight`` so that the rare class (2 % of the transactions) counts as much
as the common one, judged by the confusion counts, precision, recall and the ROC AUC rather than
by accuracy (which calling everything legitimate would put at 98 %).

The transactions are made up in the shape of the Kaggle data: 28 anonymised components, the
time and the amount. Frauds sit lower on five of the components and move larger amounts, but
with a wide spread, so some of them look legitimate.
Runs in seconds, no download: ``python examples/imbalanced_classification.py``.
"""

import numpy as np
from shendu import keras
from shendu.keras import layers

EPOCHS = 15
FRAUD_RATE = 0.02


def transactions(n, rng):
    """(features (n, 30), labels (n,) with 1 for a fraud)."""
    y = (rng.uniform(size=n) < FRAUD_RATE).astype(np.int64)
    components = rng.standard_normal((n, 28))
    components[y == 1, 10:15] += rng.normal(-1.5, 1.0, ((y == 1).sum(), 1))
    time = rng.uniform(0, 48, (n, 1))  # hours
    amount = rng.lognormal(3 + 0.8 * y[:, None], 1.0)
    return np.concatenate([time, components, amount], axis=1).astype(np.float32), y


def load_data(n=20000, seed=0):
    """(x_train, y_train), (x_val, y_val): 80 / 20, both scaled by the training statistics."""
    rng = np.random.default_rng(seed)
    x, y = transactions(n, rng)
    split = int(0.8 * n)
    mean, std = x[:split].mean(axis=0), x[:split].std(axis=0)
    x = (x - mean) / std
    return (x[:split], y[:split]), (x[split:], y[split:])


def build_model():
    model = keras.Sequential(
        [
            keras.Input((30,)),
            layers.Dense(256, activation="relu"),
            layers.Dense(256, activation="relu"),
            layers.Dropout(0.3),
            layers.Dense(256, activation="relu"),
            layers.Dropout(0.3),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    metrics = [
        keras.metrics.FalseNegatives(name="fn"),
        keras.metrics.FalsePositives(name="fp"),
        keras.metrics.TrueNegatives(name="tn"),
        keras.metrics.TruePositives(name="tp"),
        keras.metrics.Precision(name="precision"),
        keras.metrics.Recall(name="recall"),
        keras.metrics.AUC(name="auc"),
    ]
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=metrics
    )
    return model


def fit(model, data, epochs=EPOCHS, **kwargs):
    (x_train, y_train), validation = data
    counts = np.bincount(y_train, minlength=2)
    # Each class weighs in with the same total: a fraud counts as much as ~50 legitimate sales.
    class_weight = {0: 1.0 / counts[0], 1: 1.0 / counts[1]}
    kwargs.setdefault("batch_size", 2048)
    return model.fit(
        x_train,
        y_train,
        epochs=epochs,
        validation_data=validation,
        class_weight=class_weight,
        **kwargs,
    )


def test_metrics(model, data, **kwargs):
    """The loss and metrics on the validation transactions, by name."""
    _, (x_val, y_val) = data
    return model.evaluate(x_val, y_val, return_dict=True, **kwargs)


def main():
    keras.utils.set_random_seed(0)
    data = load_data()
    model = build_model()
    fit(model, data, verbose=2)
    m = test_metrics(model, data, verbose=0)
    frauds, legitimate = int(m["tp"] + m["fn"]), int(m["tn"] + m["fp"])
    print(f"frauds caught: {int(m['tp'])} of {frauds} (recall {m['recall']:.3f})")
    print(f"false alarms: {int(m['fp'])} of {legitimate} (precision {m['precision']:.3f})")
    print(f"test auc {m['auc']:.4f}")


if __name__ == "__main__":
    main()
