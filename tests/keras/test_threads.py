"""Several Python threads on ops and models: never a crash, and the results of serial runs.

A model runs one call at a time (a per-model lock), so threads sharing a model get the result of
some serial order of their calls; with identical batches every order gives the same weights.
"""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import shendu
from shendu import keras, ops
from shendu.keras import layers

THREADS = 4


def _in_threads(work, count=THREADS):
    """work(i) on `count` threads started together; their results, or the first error raised."""
    results = [None] * count
    errors = []
    start = threading.Barrier(count)

    def run(i):
        try:
            start.wait()
            results[i] = work(i)
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def _dense_model():
    model = keras.Sequential(
        [
            layers.Input((20,)),
            layers.Dense(64, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _cnn_model():
    model = keras.Sequential(
        [
            layers.Input((8, 8, 2)),
            layers.Conv2D(4, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def _twin(make, model):
    twin = make()
    twin.set_weights(model.get_weights())
    return twin


def _batch(make, n, seed=0):
    rng = np.random.default_rng(seed)
    shape = (n, 20) if make is _dense_model else (n, 8, 8, 2)
    classes = 10 if make is _dense_model else 3
    return rng.standard_normal(shape).astype(np.float32), rng.integers(0, classes, n)


# The fused dense-stack step used to release the GIL around workspaces that a second thread's
# step resized: heap corruption. Growing batch sizes make every step a resize; a fresh model
# starts from empty workspaces. In a child process, so a crash fails this test, not the run.
_GROWING_BATCHES = """
import threading
import numpy as np
from shendu import keras
for _ in range(20):
    m = keras.Sequential([keras.layers.Input((20,)), keras.layers.Dense(64, activation="relu"),
                          keras.layers.Dense(10, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    def work(i):
        for n in range(1 + i, 200, 4):
            m.train_on_batch(np.ones((n, 20), np.float32), np.zeros(n, np.int64))
    ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    assert all(np.isfinite(w).all() for w in m.get_weights())
print("done")
"""


def test_threads_training_one_dense_model_never_corrupt_memory():
    path = os.path.dirname(os.path.dirname(shendu.__file__))
    env = {**os.environ, "PYTHONPATH": path + os.pathsep + os.environ.get("PYTHONPATH", "")}
    run = subprocess.run(
        [sys.executable, "-c", _GROWING_BATCHES], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0 and run.stdout.strip() == "done", run.stderr[-2000:]


@pytest.mark.parametrize("make", [_dense_model, _cnn_model], ids=["dense_stack", "cnn"])
def test_threads_training_a_shared_model_give_a_serial_result(make):
    keras.utils.set_random_seed(1)
    model = make()
    serial = _twin(make, model)
    x, y = _batch(make, 16)
    steps = 15
    losses = _in_threads(lambda i: [model.train_on_batch(x, y) for _ in range(steps)])
    expected = [serial.train_on_batch(x, y) for _ in range(THREADS * steps)]
    # Identical batches: whatever order the calls ran in, the weights went through one sequence.
    for got, want in zip(model.get_weights(), serial.get_weights()):
        np.testing.assert_array_equal(got, want)
    assert model.optimizer.iterations == THREADS * steps
    assert sorted(np.ravel(losses).tolist()) == sorted(np.ravel(expected).tolist())


@pytest.mark.parametrize("make", [_dense_model, _cnn_model], ids=["dense_stack", "cnn"])
def test_threads_training_separate_models_match_serial_training(make):
    keras.utils.set_random_seed(2)
    models = [make() for _ in range(THREADS)]
    twins = [_twin(make, m) for m in models]
    batches = [_batch(make, 8 + 5 * i, seed=i) for i in range(THREADS)]

    def train(i):
        x, y = batches[i]
        models[i].fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)

    _in_threads(train)
    for model, twin, (x, y) in zip(models, twins, batches):
        twin.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
        for got, want in zip(model.get_weights(), twin.get_weights()):
            np.testing.assert_array_equal(got, want)


def test_threads_predicting_with_a_shared_model_match_serial_predict():
    keras.utils.set_random_seed(3)
    model = _cnn_model()
    inputs = [_batch(_cnn_model, 9 + i, seed=i)[0] for i in range(THREADS)]
    got = _in_threads(
        lambda i: [model.predict(inputs[i], batch_size=4, verbose=0) for _ in range(5)]
    )
    for i, x in enumerate(inputs):
        want = model.predict(x, batch_size=4, verbose=0)
        for g in got[i]:
            np.testing.assert_array_equal(g, want)


def _op_calls(rng):
    x = rng.standard_normal((4, 9, 9, 3)).astype(np.float32)
    w = rng.standard_normal((3, 3, 3, 5)).astype(np.float32)
    seq = rng.standard_normal((3, 6, 4)).astype(np.float32)
    kernel, recurrent = rng.standard_normal((2, 4, 16)).astype(np.float32)
    a = rng.standard_normal((40, 50)).astype(np.float32)
    b = rng.standard_normal((50, 30)).astype(np.float32)
    return [
        lambda: ops.matmul(a, b),
        lambda: ops.dense(a, b, None, "relu"),
        lambda: ops.conv2d(x, w, None, 1, "same"),
        lambda: ops.max_pool2d(x, 2, None, "same")[0],
        lambda: ops.avg_pool2d(x, 3, 2, "valid"),
        lambda: ops.softmax(a),
        lambda: ops.lstm(seq, kernel, recurrent, None)[0],
        lambda: ops.dropout(a, 0.5, 7)[0],
    ]


def test_ops_from_threads_match_serial_calls():
    calls = [_op_calls(np.random.default_rng(i)) for i in range(THREADS)]
    expected = [[f() for f in fs] for fs in calls]
    got = _in_threads(lambda i: [[f() for f in calls[i]] for _ in range(10)])
    for want, rounds in zip(expected, got):
        for results in rounds:
            for g, e in zip(results, want):
                np.testing.assert_array_equal(g, e)
