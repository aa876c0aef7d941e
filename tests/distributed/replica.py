"""One replica's program for the distributed tests: ``mpiexec -n 2 python replica.py SCENARIO OUT``
runs it as two replicas, ``python replica.py SCENARIO OUT`` as one process (the reference).

Scenarios: ``train`` fits a Dense, a Conv2D and an LSTM model (and the Dense model again with
sample weights, class weights and a weighted metric; a Conv2D model with synchronized
BatchNormalization; a Dense model with plain BatchNormalization, also for one step on 7 samples)
and saves each rank's weights, logs, evaluate and predict results to OUT/rank<r>.npz (and a
checkpoint of the Dense model to OUT/dense.keras); ``train-cuda`` does the same on the GPUs
(NCCL), also saving each rank's GPU; ``raise`` raises on rank 1 inside fit;
``mismatch`` builds a wider layer on rank 1.
"""

import os
import sys

import numpy as np
import shendu
from shendu import keras


def data(kind, n, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    if kind in ("dense", "weighted", "batchnorm"):
        x = rng.normal(size=(n, 8)).astype(np.float32) + y[:, None]
    elif kind in ("conv", "syncbn"):
        x = rng.normal(size=(n, 8, 8, 1)).astype(np.float32) + y[:, None, None, None]
    else:
        x = (rng.integers(0, 6, (n, 10)) + 6 * y[:, None]).astype(np.int32)
    return x, y


def build(kind, units=8):
    head = [keras.layers.Dense(3, activation="softmax")]
    if kind in ("dense", "weighted"):
        body = [keras.Input((8,)), keras.layers.Dense(units, activation="relu")]
    elif kind == "conv":
        body = [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
        ]
    elif kind == "syncbn":  # statistics over every replica's shard, per channel of an image
        body = [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, use_bias=False),  # BN's beta is its bias
            keras.layers.BatchNormalization(synchronized=True),
            keras.layers.Activation("relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.BatchNormalization(momentum=0.5, synchronized=True),
        ]
    elif kind == "batchnorm":  # each replica's own statistics, averaged moving ones
        body = [
            keras.Input((8,)),
            keras.layers.BatchNormalization(momentum=0.5),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.BatchNormalization(),
        ]
    else:
        body = [keras.Input((10,), dtype="int32"), keras.layers.Embedding(18, 8)]
        body.append(keras.layers.LSTM(units))
    model = keras.Sequential(body + head)
    weighted = ["accuracy"] if kind == "weighted" else None
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        weighted_metrics=weighted,
    )
    return model


def sample_weights(n, seed):
    return np.random.default_rng(seed).uniform(0.0, 2.0, n).astype(np.float32)


class RaiseOnRank1(keras.callbacks.Callback):
    def __init__(self, rank):
        super().__init__()
        self.rank = rank

    def on_train_batch_end(self, batch, logs=None):
        if self.rank == 1 and batch == 1:
            raise RuntimeError("replica 1 failed on purpose")


def train(strategy, out):
    results = {}
    # 101 Dense samples: batches of 64 and 37, shards of 32/32 and 19/18.
    kinds = (("dense", 101), ("conv", 96), ("lstm", 96), ("weighted", 101), ("syncbn", 101))
    for kind, n in (*kinds, ("batchnorm", 101)):
        keras.utils.set_random_seed(1)
        with strategy.scope():
            model = build(kind)
        x, y = data(kind, n, seed=2)
        val = data(kind, 40, seed=3)
        callbacks = []
        if kind == "dense":
            callbacks.append(keras.callbacks.ModelCheckpoint(os.path.join(out, "dense.keras")))
        weights = {}
        if kind == "weighted":  # the shards' weighted losses and metrics add up exactly too
            val = (*val, sample_weights(40, seed=5))
            weights = {"sample_weight": sample_weights(n, seed=4)}
        history = model.fit(
            x,
            y,
            batch_size=64,
            epochs=2,
            verbose=0,
            validation_data=val,
            callbacks=callbacks,
            **weights,
        )
        for key, values in history.history.items():
            results[f"{kind}/history/{key}"] = np.asarray(values)
        if kind == "weighted":
            model.fit(x, y, batch_size=64, verbose=0, class_weight={0: 0.5, 1: 2.0})
            weights = {"sample_weight": val[2]}
        for k, w in enumerate(model.get_weights()):
            results[f"{kind}/weight/{k}"] = w
        results[f"{kind}/evaluate"] = np.asarray(
            model.evaluate(*val[:2], batch_size=16, verbose=0, **weights)
        )
        results[f"{kind}/predict"] = model.predict(val[0], batch_size=16, verbose=0)
    # One step on 7 samples (shards of 3 and 4): the first layer's moving statistics are the
    # mean of the two replicas' updates towards their shard's statistics of x.
    keras.utils.set_random_seed(1)
    with strategy.scope():
        model = build("batchnorm")
    model.train_on_batch(*data("batchnorm", 7, seed=6))
    for k, w in enumerate(model.get_weights()):
        results[f"batchnorm/step/{k}"] = w
    if shendu.get_device() == "cuda":
        import cupy  # only on the GPU scenario

        results["gpu"] = np.asarray(cupy.cuda.Device().id)
    np.savez(os.path.join(out, f"rank{strategy.rank}.npz"), **results)


def main():
    scenario, out = sys.argv[1], sys.argv[2]
    if scenario == "train-cuda":
        shendu.set_device("cuda")  # before the strategy: each process takes its own GPU
    strategy = shendu.distribute.MultiWorkerMirroredStrategy()
    if scenario.startswith("train"):
        train(strategy, out)
        return
    keras.utils.set_random_seed(strategy.rank)  # unequal starting weights: fit broadcasts them
    with strategy.scope():
        model = build("dense", units=9 if scenario == "mismatch" and strategy.rank == 1 else 8)
    x, y = data("dense", 256, seed=2)
    model.fit(x, y, batch_size=16, epochs=50, verbose=0, callbacks=[RaiseOnRank1(strategy.rank)])


if __name__ == "__main__":
    main()
