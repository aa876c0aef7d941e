"""The example models of examples/ trained on the GPU (shendu.set_device("cuda")) against the same
models on the CPU: identical starting weights, then the same losses, metrics and weights within
float32 tolerances, NumPy out of predict / get_weights, save and load across the devices.

All tests need an NVIDIA GPU and CuPy (marked gpu; tests/conftest.py skips them otherwise); CuPy is
imported inside the tests, so this file collects anywhere.

Tolerances: the two devices sum in different orders (cuBLAS-style tiled GEMM vs the CPU's packed
kernels), so float32 results differ by a few ulps per reduction; after a few steps of SGD with
momentum the losses agree to rtol 1e-4 and the weights to atol 1e-5. SGD is used for the
comparisons because Adam divides by sqrt(v): a gradient that is zero up to rounding becomes a
full +-learning_rate step whose sign depends on that rounding. Max pooling after a ReLU can go
further: two window values within rounding of each other (or a ReLU input within rounding of 0)
may be decided differently on the two devices, which sends one window's gradient to another
cell; the first step's gradients are compared tightly, later weights allow such flips (FLIPS).
"""

import importlib
import pathlib
import sys

import numpy as np
import pytest
import shendu
from shendu import keras

pytestmark = pytest.mark.gpu

EXAMPLES_DIR = pathlib.Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(autouse=True)
def _back_to_cpu():
    shendu.set_device("cpu")
    yield
    shendu.set_device("cpu")


@pytest.fixture
def cp():
    import cupy

    return cupy


def _example(name):
    if str(EXAMPLES_DIR) not in sys.path:
        sys.path.insert(0, str(EXAMPLES_DIR))
    return importlib.import_module(name)


def _data(name, n, seed=0):
    """Inputs and targets of the shapes the example expects."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    if name == "mlp_xor_like":
        x = rng.uniform(size=(n, 2))
        return x, np.round(rng.uniform(size=(n, 1)))
    if name == "regression_mse_sgd":
        x = rng.standard_normal((n, 3))
        return x, x @ np.array([[0.5], [-1.0], [2.0]]) + 0.1
    if name.endswith("_text"):
        return rng.integers(0, 10000, (n, 40)), labels
    image = rng.uniform(size=(n, 28, 28)).astype(np.float32)
    shape = {
        "mnist_cnn": (n, 28, 28, 1),
        "mnist_mlp_dropout": (n, 784),
        "mnist_mlp_l2": (n, 784),
    }.get(name, (n, 28, 28))
    if name == "mnist_input_first":
        return image, np.eye(10, dtype=np.float32)[labels]
    return image.reshape(shape), labels


EXAMPLES = [
    "mlp_xor_like",
    "regression_mse_sgd",
    "mnist_mlp_dropout",
    "mnist_mlp_flatten",
    "mnist_mlp_l2",
    "mnist_input_first",
    "mnist_cnn",
    "lstm_text",
    "gru_text",
    "simple_rnn_text",
]


def _model(name, x):
    """The example's model, built for x's shape with seed 0 (the initializers draw on the host,
    so both devices start from the same weights), compiled with SGD + momentum."""
    keras.utils.set_random_seed(0)
    model = _example(name).build_model()
    config = model.get_compile_config()
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
        loss=config["loss"],
        metrics=config["metrics"],
    )
    model.build((None,) + x.shape[1:])
    return model


def _train_steps(device, name, x, y, steps=3, batch=16):
    with shendu.device(device):
        model = _model(name, x)
        start = model.get_weights()
        keras.utils.set_random_seed(1)  # the same dropout masks on both devices
        logs = [
            model.train_on_batch(x[i * batch : (i + 1) * batch], y[i * batch : (i + 1) * batch])
            for i in range(steps)
        ]
    return model, start, logs


FLIPS = {"mnist_cnn"}  # max pooling after ReLU: near-ties may flip between the devices


def _assert_weights_close(got, want, flips=False):
    """Within rtol 1e-4, atol 1e-5; with flips, 1% of each weight's entries may be further off,
    by at most 1e-3 (a flipped window's gradient, scaled by the learning rate, moves a few
    entries by ~1e-5..1e-4; a wrong kernel would move most of them)."""
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert type(g) is np.ndarray and g.dtype == np.float32
        if not flips:
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)
            continue
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-3)
        off = ~np.isclose(g, w, rtol=1e-4, atol=1e-5)
        assert off.mean() <= 0.01, f"{off.sum()} of {off.size} entries beyond rtol 1e-4, atol 1e-5"


@pytest.mark.parametrize("name", EXAMPLES)
def test_train_on_batch_matches_the_cpu(cp, name):
    x, y = _data(name, 48)
    gpu, gpu_start, gpu_logs = _train_steps("cuda", name, x, y)
    cpu, cpu_start, cpu_logs = _train_steps("cpu", name, x, y)
    for g, c in zip(gpu_start, cpu_start):
        np.testing.assert_array_equal(g, c)
    assert all(isinstance(w.value, cp.ndarray) for w in gpu.weights)
    slots = [s for slots in gpu.optimizer._slots.values() for s in slots]
    assert slots and all(isinstance(s, cp.ndarray) for s in slots)
    np.testing.assert_allclose(gpu_logs, cpu_logs, rtol=1e-4, atol=1e-6)
    _assert_weights_close(gpu.get_weights(), cpu.get_weights(), flips=name in FLIPS)


def _first_gradients(device, name, x, y):
    """The gradients of the first train_on_batch step, as the optimizer receives them."""
    with shendu.device(device):
        model = _model(name, x)
        got = []
        model.optimizer.apply = lambda grads, variables: got.extend(grads)
        keras.utils.set_random_seed(1)
        model.train_on_batch(x[:16], y[:16])
    return [shendu._device.to_host(g) for g in got]


@pytest.mark.parametrize("name", ["mnist_cnn", "lstm_text"])  # per-layer steps on both devices
def test_first_step_gradients_match_the_cpu(cp, name):
    # One step from identical weights: no flip has had time to compound.
    x, y = _data(name, 16)
    gpu = _first_gradients("cuda", name, x, y)
    cpu = _first_gradients("cpu", name, x, y)
    assert len(gpu) == len(cpu) > 0
    for g, c in zip(gpu, cpu):
        scale = float(np.abs(c).max()) or 1.0
        np.testing.assert_allclose(g, c, rtol=1e-4, atol=1e-5 * scale)


def _fit_evaluate_predict(device, name, x, y):
    with shendu.device(device):
        model = _model(name, x)
        keras.utils.set_random_seed(2)  # the same shuffles and masks on both devices
        history = model.fit(
            x[:48], y[:48], batch_size=16, epochs=2, validation_data=(x[48:], y[48:]), verbose=0
        ).history
        evaluated = model.evaluate(x[48:], y[48:], batch_size=16, verbose=0)
        predicted = model.predict(x[48:], batch_size=16, verbose=0)
    return model, history, evaluated, predicted


@pytest.mark.parametrize("name", ["mnist_mlp_dropout", "mnist_cnn", "lstm_text"])
def test_fit_evaluate_predict_match_the_cpu_and_return_numpy(cp, name):
    x, y = _data(name, 64)
    gpu, gpu_history, gpu_eval, gpu_pred = _fit_evaluate_predict("cuda", name, x, y)
    cpu, cpu_history, cpu_eval, cpu_pred = _fit_evaluate_predict("cpu", name, x, y)
    assert gpu_history.keys() == cpu_history.keys()
    for key in cpu_history:
        assert all(type(v) is float for v in gpu_history[key])
        np.testing.assert_allclose(gpu_history[key], cpu_history[key], rtol=1e-4, atol=1e-6)
    assert all(type(v) is float for v in gpu_eval)
    np.testing.assert_allclose(gpu_eval, cpu_eval, rtol=1e-4, atol=1e-6)
    assert type(gpu_pred) is np.ndarray and gpu_pred.dtype == np.float32
    np.testing.assert_allclose(gpu_pred, cpu_pred, rtol=1e-4, atol=1e-5)
    _assert_weights_close(gpu.get_weights(), cpu.get_weights(), flips=name in FLIPS)


def test_a_cpu_model_moves_to_the_gpu_and_back(cp):
    x, y = _data("mnist_cnn", 32)
    model = _model("mnist_cnn", x)
    model.train_on_batch(x[:16], y[:16])
    with shendu.device("/GPU:0"):
        model.train_on_batch(x[16:], y[16:])
        assert all(isinstance(w.value, cp.ndarray) for w in model.weights)
        on_gpu = model.predict(x, verbose=0)
    assert type(on_gpu) is np.ndarray
    np.testing.assert_allclose(model.predict(x, verbose=0), on_gpu, rtol=1e-4, atol=1e-5)
    assert all(type(w.value) is np.ndarray for w in model.weights)


def test_save_on_the_gpu_load_on_the_cpu(cp, tmp_path):
    pytest.importorskip("h5py")
    x, y = _data("lstm_text", 32)
    with shendu.device("cuda"):
        model = _model("lstm_text", x)
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
        model.save(tmp_path / "m.keras")
        want = model.predict(x, verbose=0)
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), want, rtol=1e-4, atol=1e-5)
    with shendu.device("cuda"):
        again = keras.models.load_model(tmp_path / "m.keras")
        assert all(isinstance(w.value, cp.ndarray) for w in again.weights)
        np.testing.assert_allclose(again.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)
