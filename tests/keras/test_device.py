"""shendu.set_device / get_device / device(): argument handling, the errors when CUDA is missing,
and the device plumbing of the Keras models, run on the CPU through a NumPy-backed stand-in for
CuPy (tests/gpu/test_keras.py runs the same models on a real GPU)."""

import sys
import types

import numpy as np
import pytest
import shendu
from shendu import _device, keras, ops, reference


@pytest.fixture(autouse=True)
def _cpu_device():
    """Every test starts and ends on the CPU, with the CUDA module check not cached."""
    _device.set_device("cpu")
    yield
    _device.set_device("cpu")


# --- names and errors ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cpu", "CPU", "/CPU:0", "/cpu:0", "cpu:0", "/device:CPU:0"])
def test_cpu_spellings(name):
    shendu.set_device(name)
    assert shendu.get_device() == "cpu"


@pytest.mark.parametrize("name", ["tpu", "", "cuda:1", "/GPU:1", "gpu0", "mps", "/CPU:1"])
def test_unknown_device_is_a_value_error(name):
    with pytest.raises(ValueError, match="device: expected 'cpu', 'cuda'"):
        shendu.set_device(name)
    with pytest.raises(ValueError, match=repr(name).replace("/", ".")):
        with shendu.device(name):
            pass
    assert shendu.get_device() == "cpu"


@pytest.mark.parametrize("name", [None, 0, b"cuda", ["cuda"]])
def test_device_name_must_be_a_string(name):
    with pytest.raises(TypeError, match="device: expected a device name"):
        shendu.set_device(name)


def _fake_cupy(monkeypatch, device_count):
    """A module named cupy whose runtime reports device_count GPUs (or raises it)."""

    def count():
        if isinstance(device_count, Exception):
            raise device_count
        return device_count

    cupy = types.ModuleType("cupy")
    cupy.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=count))
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    monkeypatch.setattr(_device, "_cupy", None)


def test_cuda_without_cupy_names_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # `import cupy` raises ImportError
    monkeypatch.setattr(_device, "_cupy", None)
    for spelling in ("cuda", "/GPU:0", "gpu"):
        with pytest.raises(RuntimeError, match="CuPy is not installed"):
            shendu.set_device(spelling)
    with pytest.raises(RuntimeError, match="CuPy is not installed"):
        with shendu.device("/GPU:0"):
            pass
    assert shendu.get_device() == "cpu"


def test_cuda_without_cupy_names_the_wheel_for_the_build(monkeypatch):
    """The module links one CUDA runtime statically: the message names the CuPy built for it."""
    monkeypatch.setitem(sys.modules, "cupy", None)
    monkeypatch.setattr(_device, "_cupy", None)
    build = types.ModuleType("shendu._cuda")
    build.cupy_wheel = lambda: "cupy-cuda13x"
    monkeypatch.setattr(ops, "_cuda", build)
    with pytest.raises(RuntimeError, match="CuPy is not installed .install cupy-cuda13x,"):
        shendu.set_device("cuda")
    monkeypatch.setattr(ops, "_cuda", None)
    with pytest.raises(RuntimeError, match="install cupy-cuda12x or cupy-cuda13x"):
        shendu.set_device("cuda")


def test_cuda_without_the_cuda_module_names_it(monkeypatch):
    _fake_cupy(monkeypatch, 1)
    monkeypatch.setattr(ops, "_cuda", None)
    with pytest.raises(RuntimeError, match="built without its CUDA module"):
        shendu.set_device("cuda")
    assert shendu.get_device() == "cpu"


@pytest.mark.parametrize(
    "count, message",
    [(0, "no CUDA GPU is visible"), (RuntimeError("cudaErrorNoDevice"), "cudaErrorNoDevice")],
)
def test_cuda_without_a_gpu_says_so(monkeypatch, count, message):
    _fake_cupy(monkeypatch, count)
    monkeypatch.setattr(ops, "_cuda", types.ModuleType("shendu._cuda"))
    with pytest.raises(RuntimeError, match=message):
        shendu.set_device("cuda:0")
    assert shendu.get_device() == "cpu"


def test_import_does_not_import_cupy():
    import subprocess

    code = (
        "import sys, shendu, shendu.keras; shendu.set_device('cpu'); print('cupy' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


# --- the device plumbing, through a NumPy-backed stand-in for CuPy ----------------------------------


class StandIn:
    """What the Keras code asks of CuPy, on the host: its arrays are a NumPy subclass (so the CPU
    kernels run them), and it counts host-to-device copies and the arrays it allocates."""

    class ndarray(np.ndarray):
        pass

    float32, float64 = np.float32, np.float64

    def __init__(self):
        self.uploads = 0
        self.allocations = 0

    def _wrap(self, a):
        return a.view(self.ndarray)

    def asarray(self, x, dtype=None):
        if isinstance(x, self.ndarray) and dtype is None:
            return x
        self.uploads += 1
        return self._wrap(np.array(x, dtype=dtype))

    def zeros_like(self, x):
        self.allocations += 1
        return self._wrap(np.zeros(x.shape, x.dtype))

    @staticmethod
    def copyto(dst, src, casting="same_kind"):
        np.copyto(dst, src, casting=casting)

    def get_array_module(self, x):
        return self if isinstance(x, self.ndarray) else np


@pytest.fixture
def standin(monkeypatch):
    """The "cuda" device, backed by a StandIn; read_back calls are counted in standin.reads."""
    module = StandIn()
    module.reads = 0
    read_back = _device.read_back

    def counted_read_back(values):
        module.reads += 1
        return read_back(values)

    monkeypatch.setattr(_device, "_cuda_module", lambda: module)
    monkeypatch.setattr(_device, "read_back", counted_read_back)
    return module


def test_device_context_switches_and_restores(standin):
    with shendu.device("/GPU:0"):
        assert shendu.get_device() == "cuda"
        with keras.device("/CPU:0"):
            assert shendu.get_device() == "cpu"
        assert shendu.get_device() == "cuda"
    assert shendu.get_device() == "cpu"
    with pytest.raises(KeyError):
        with shendu.device("cuda"):
            raise KeyError("inside")
    assert shendu.get_device() == "cpu"


def _model(seed):
    """A functional MLP (the per-layer path on both devices, so the math is the same calls)."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((6,))
    h = keras.layers.Dense(8, activation="relu")(inputs)
    h = keras.layers.Dropout(0.25)(h)
    outputs = keras.layers.Dense(3, activation="softmax")(h)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _data(n=40):
    rng = np.random.default_rng(7)
    return rng.standard_normal((n, 6)).astype(np.float32), rng.integers(0, 3, n)


def _fit(model, x, y, **kwargs):
    keras.utils.set_random_seed(11)  # the same shuffles and dropout masks on both devices
    return model.fit(x, y, batch_size=16, verbose=0, **kwargs).history


def test_weights_and_slots_are_created_on_the_device(standin):
    x, y = _data()
    with shendu.device("cuda"):
        model = _model(0)
        assert standin.uploads == 4  # kernel and bias of two Dense layers, one copy each
        assert all(isinstance(w.value, StandIn.ndarray) for w in model.weights)
        model.train_on_batch(x[:16], y[:16])
    slots = [s for slots in model.optimizer._slots.values() for s in slots]
    assert len(slots) == 8 and standin.allocations == 8  # Adam's m and v per weight
    assert all(isinstance(s, StandIn.ndarray) for s in slots)
    assert all(type(w) is np.ndarray for w in model.get_weights())


def test_fit_moves_each_batch_once_and_reads_metrics_once_per_epoch(standin):
    x, y = _data()
    with shendu.device("cuda"):
        model = _model(0)
        uploads = standin.uploads
        _fit(model, x, y, epochs=3)
        assert standin.uploads - uploads == 3 * 3 * 2  # 3 epochs x 3 batches x (x, y)
        assert standin.reads == 3  # the epoch logs, nothing per batch

        standin.reads = 0
        batch_logs = []
        logger = keras.callbacks.LambdaCallback(on_batch_end=lambda b, logs: batch_logs.append(b))
        _fit(model, x, y, epochs=2, callbacks=[logger])
        assert standin.reads == 2 * 3 + 2  # a callback asked for batch logs
        assert len(batch_logs) == 6

        standin.reads = 0
        model.evaluate(x, y, batch_size=8, verbose=0)
        assert standin.reads == 1
        standin.reads = 0
        _fit(model, x, y, epochs=2, validation_data=(x[:10], y[:10]))
        assert standin.reads == 2 * 2  # each epoch: the training logs and the validation logs


def test_the_stand_in_device_computes_what_the_cpu_computes(standin):
    """Same kernels, same calls: training under the device plumbing changes no number."""
    x, y = _data()
    cpu = _model(3)
    cpu_history = _fit(cpu, x, y, epochs=2)
    with shendu.device("cuda"):
        dev = _model(3)
        dev_history = _fit(dev, x, y, epochs=2)
        dev_eval = dev.evaluate(x, y, verbose=0)
        dev_pred = dev.predict(x, batch_size=16, verbose=0)
        keras.utils.set_random_seed(11)
        dev_batch = dev.train_on_batch(x[:16], y[:16])
    assert dev_history == cpu_history
    assert dev_eval == cpu.evaluate(x, y, verbose=0)
    assert type(dev_pred) is np.ndarray
    np.testing.assert_array_equal(dev_pred, cpu.predict(x, batch_size=16, verbose=0))
    keras.utils.set_random_seed(11)
    assert dev_batch == cpu.train_on_batch(x[:16], y[:16])
    for a, b in zip(dev.get_weights(), cpu.get_weights()):
        assert type(a) is np.ndarray
        np.testing.assert_array_equal(a, b)


def test_a_model_follows_the_device_it_is_trained_on(standin):
    x, y = _data()
    model = _model(0)
    model.train_on_batch(x[:16], y[:16])  # weights and slots on the host
    with shendu.device("cuda"):
        uploads = standin.uploads
        model.train_on_batch(x[:16], y[:16])
        # 4 weights + 8 Adam slots moved once, then the batch (x, y)
        assert standin.uploads - uploads == 4 + 8 + 2
        assert all(isinstance(w.value, StandIn.ndarray) for w in model.weights)
        slots = [s for slots in model.optimizer._slots.values() for s in slots]
        assert all(isinstance(s, StandIn.ndarray) for s in slots)
    model.train_on_batch(x[:16], y[:16])
    assert all(type(w.value) is np.ndarray for w in model.weights)
    assert all(type(s) is np.ndarray for s in model.optimizer._slots[id(model.weights[0])])


def test_predict_and_calls_return_numpy(standin):
    x, _ = _data()
    with shendu.device("cuda"):
        model = _model(0)
        assert type(model.predict(x, verbose=0)) is np.ndarray
        assert type(model.predict_on_batch(x)) is np.ndarray
        assert type(model(x).numpy()) is np.ndarray
        assert type(model.layers[1](x).numpy()) is np.ndarray


def test_set_weights_save_and_load_across_devices(standin, tmp_path):
    pytest.importorskip("h5py")
    x, y = _data()
    with shendu.device("cuda"):
        model = _model(0)
        _fit(model, x, y, epochs=1)
        model.save(tmp_path / "m.keras")
        model.save_weights(tmp_path / "m.weights.h5")
        want = model.predict(x, verbose=0)
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), want)
    with shendu.device("cuda"):
        other = _model(5)
        other.load_weights(tmp_path / "m.weights.h5")
        assert all(isinstance(w.value, StandIn.ndarray) for w in other.weights)
        np.testing.assert_array_equal(other.predict(x, verbose=0), want)
        other.set_weights(_model(6).get_weights())  # host arrays into device weights
        assert all(isinstance(w.value, StandIn.ndarray) for w in other.weights)
    np.testing.assert_array_equal(
        np.concatenate([w.ravel() for w in other.get_weights()]),
        np.concatenate([w.ravel() for w in _model(6).get_weights()]),
    )


def test_the_fused_cpu_step_is_not_planned_on_the_device(standin):
    """The native Dense-stack step runs on the CPU only: a Sequential MLP takes the per-layer path
    (whose ops dispatch on the array type) under the CUDA device, and the fused step again after."""
    x, y = _data()
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.layers.Dense(8, activation="relu", input_shape=(6,)), keras.layers.Dense(3)]
    )
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(True))
    with shendu.device("cuda"):
        model.train_on_batch(x[:16], y[:16])
        assert model._fused_step is None
    model.train_on_batch(x[:16], y[:16])
    assert model._fused_step is not None


# --- no waits for the GPU inside training steps, through shendu._cuda on a NumPy CuPy ----------------


class FakeCuPy:
    """Enough of CuPy for shendu._cuda and the Keras layers, on the host: its arrays pass for
    CuPy's (ops send them to shendu._cuda), and every read-back to the host (get, float, bool,
    item, tolist) is counted in `syncs`, the waits for the device a real GPU would have."""

    def __init__(self):
        self.syncs = 0
        owner = self

        class ndarray(np.ndarray):
            def _sync(self):
                owner.syncs += 1
                return self.view(np.ndarray)

            def get(self):
                return self._sync().copy()

            def __float__(self):
                return float(self._sync())

            def __bool__(self):
                return bool(self._sync())

            def __int__(self):
                return int(self._sync())

            def item(self, *args):
                return self._sync().item(*args)

            def tolist(self):
                return self._sync().tolist()

            @property
            def data(self):
                return types.SimpleNamespace(ptr=self.__array_interface__["data"][0])

            @property
            def device(self):
                return types.SimpleNamespace(id=0)

        ndarray.__module__ = "cupy"  # what shendu.ops dispatches on
        self.ndarray = ndarray
        self.cuda = types.SimpleNamespace(
            Device=lambda: types.SimpleNamespace(id=0),
            get_current_stream=lambda: types.SimpleNamespace(ptr=0),
        )

    def _wrap(self, x):
        return x.view(self.ndarray) if isinstance(x, np.ndarray) else x

    def __getattr__(self, name):  # the rest of NumPy, its arrays wrapped
        f = getattr(np, name)
        if not callable(f) or isinstance(f, type):
            return f
        return lambda *args, **kwargs: self._wrap(f(*args, **kwargs))

    def empty(self, shape, dtype=np.float32):
        return self._wrap(np.zeros(shape, dtype))  # zeros: the kernels below write nothing

    def empty_like(self, x, dtype=None):
        return self.empty(x.shape, dtype or x.dtype)

    def asarray(self, x, dtype=None):
        return self._wrap(np.array(x, dtype=dtype))

    def get_array_module(self, x):
        return self if isinstance(x, self.ndarray) else np


class _NoKernels(types.ModuleType):
    """shendu._cuda_kernels whose kernels do nothing: only the host side of shendu._cuda runs."""

    CUDA_RUNTIME_VERSION = 13000

    def __getattr__(self, name):
        if name.endswith("_scratch"):
            return lambda *args: 0
        return lambda *args: None


@pytest.fixture
def fake_gpu(monkeypatch):
    """The "cuda" device on a FakeCuPy, with shendu._cuda imported over kernels that do nothing."""
    import importlib

    cupy = FakeCuPy()
    kernels = _NoKernels("shendu._cuda_kernels")
    monkeypatch.setitem(sys.modules, "shendu._cuda_kernels", kernels)
    monkeypatch.setattr(shendu, "_cuda_kernels", kernels, raising=False)  # a built one, if any
    monkeypatch.delitem(sys.modules, "shendu._cuda", raising=False)
    cuda = importlib.import_module("shendu._cuda")
    monkeypatch.setattr(shendu, "_cuda", cuda, raising=False)
    monkeypatch.setattr(ops, "_cuda", cuda)
    monkeypatch.setattr(cuda, "_cp", lambda: cupy)
    monkeypatch.setattr(_device, "_cuda_module", lambda: cupy)
    return cupy


def _cnn(seed):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_fit_waits_for_the_gpu_once_per_epoch(fake_gpu):
    """Labels, loss and max-pool argmax stay on the device inside fit: the only read-back is
    each epoch's logs (labels were checked on the host; argmax comes from max_pool2d)."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((40, 8, 8, 1)).astype(np.float32), rng.integers(0, 3, 40)
    with shendu.device("cuda"):
        model = _cnn(0)
        fake_gpu.syncs = 0
        history = model.fit(x, y, batch_size=8, epochs=3, verbose=0).history
        assert fake_gpu.syncs == 3  # 3 epochs x 5 steps, one read-back per epoch
        assert all(type(v) is float for v in history["loss"])
        fake_gpu.syncs = 0
        model.evaluate(x, y, batch_size=8, verbose=0)
        assert fake_gpu.syncs == 1
        fake_gpu.syncs = 0
        model.train_on_batch(x[:8], y[:8])
        assert fake_gpu.syncs == 1  # the returned logs
    with pytest.raises(ValueError, match="outside the valid range"):
        with shendu.device("cuda"):
            model.fit(x, np.full(40, 3), batch_size=8, verbose=0)  # checked on the host


def test_eager_gpu_ops_keep_their_checks_and_float_loss(fake_gpu):
    cuda = ops._cuda
    logits = fake_gpu.zeros((4, 3), np.float32)
    labels = fake_gpu.asarray([0, 1, 2, 1])
    loss, _ = ops.sparse_softmax_cross_entropy(logits, labels)
    assert type(loss) is float
    assert fake_gpu.syncs == 2  # the labels' min and max in one copy, then the loss
    with pytest.raises(ValueError, match=r"labels: value 3 out of range \[0, 3\)"):
        ops.sparse_softmax_cross_entropy(logits, fake_gpu.asarray([0, 3, 1, 1]))
    with pytest.raises(ValueError, match="labels: expected whole numbers, got 0.5"):
        ops.sparse_softmax_cross_entropy(logits, fake_gpu.asarray([0.0, 0.5, 1.0, 1.0]))

    fake_gpu.syncs = 0
    with cuda.training_step():
        loss, _ = ops.sparse_softmax_cross_entropy(logits, labels)
        assert isinstance(loss, fake_gpu.ndarray) and loss.shape == ()
        dy = fake_gpu.zeros((1, 2, 2, 1), np.float32)
        argmax = fake_gpu.zeros((1, 2, 2, 1), np.uint8)
        ops.max_pool2d_backward(dy, argmax, (1, 4, 4, 1))
        ops.embedding_backward(fake_gpu.zeros((2, 3), np.float32), fake_gpu.asarray([0, 4]), 5)
    assert fake_gpu.syncs == 0
    assert type(ops.sparse_softmax_cross_entropy(logits, labels)[0]) is float  # scope left
    fake_gpu.syncs = 0
    ops.max_pool2d_backward(dy, argmax, (1, 4, 4, 1))
    ops.embedding_backward(fake_gpu.zeros((2, 3), np.float32), fake_gpu.asarray([0, 4]), 5)
    assert fake_gpu.syncs == 2  # the argmax check, the ids check


def test_normalization_ops_on_the_device_match_their_twins(fake_gpu):
    """The CuPy compositions of the normalization ops, run on the NumPy stand-in: same values
    as the NumPy twins, no read-back, and the binding's argument checks."""
    rng = np.random.default_rng(0)
    for shape, axis in (((6, 5, 5, 3), -1), ((4, 3, 7), 1), ((0, 3), -1)):
        x = (rng.standard_normal(shape) * 2 + 3).astype(np.float32)
        dy = rng.standard_normal(shape).astype(np.float32)
        c = shape[axis]
        gamma, beta = rng.standard_normal(c).astype(np.float32), np.ones(c, np.float32)
        gx, gdy = fake_gpu.asarray(x), fake_gpu.asarray(dy)
        fake_gpu.syncs = 0
        got = ops.batch_norm_training(
            gx, fake_gpu.asarray(gamma), fake_gpu.asarray(beta), 1e-3, axis
        )
        want = reference.batch_norm_training(x, gamma, beta, 1e-3, axis)
        back = ops.batch_norm_backward(gdy, gx, fake_gpu.asarray(gamma), got[1], got[2], 1e-3, axis)
        back_want = reference.batch_norm_backward(dy, x, gamma, want[1], want[2], 1e-3, axis)
        infer = ops.batch_norm(gx, got[1], got[2] + 1, None, None, 1e-3, axis)
        infer_want = reference.batch_norm(x, want[1], want[2] + 1, None, None, 1e-3, axis)
        assert fake_gpu.syncs == 0
        for g, w in zip((*got, *back, infer), (*want, *back_want, infer_want)):
            assert type(g) is fake_gpu.ndarray and g.dtype == np.float32
            np.testing.assert_allclose(g.view(np.ndarray), w, rtol=1e-4, atol=1e-4)
    x = rng.standard_normal((3, 4, 9)).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    gamma = rng.standard_normal(9).astype(np.float32)
    got = ops.layer_norm(fake_gpu.asarray(x), fake_gpu.asarray(gamma), None, 1e-3)
    back = ops.layer_norm_backward(
        fake_gpu.asarray(dy), fake_gpu.asarray(x), fake_gpu.asarray(gamma), got[1], got[2]
    )
    want = reference.layer_norm(x, gamma, None, 1e-3)
    back_want = reference.layer_norm_backward(dy, x, gamma, want[1], want[2])
    for g, w in zip((*got, *back), (*want, *back_want)):
        np.testing.assert_allclose(g.view(np.ndarray), w, rtol=1e-4, atol=1e-4)
    gx = fake_gpu.asarray(x)
    for call, match in (
        (lambda: ops.batch_norm_training(gx, fake_gpu.ones(4)), r"gamma: expected shape \(9,\)"),
        (lambda: ops.batch_norm_training(gx, axis=3), "axis"),
        (lambda: ops.batch_norm_training(gx, epsilon=-1.0), "epsilon"),
        (lambda: ops.layer_norm_backward(gx, gx, None, fake_gpu.ones(3), got[2]), "mean"),
    ):
        with pytest.raises(ValueError, match=match):
            call()


def test_batch_norm_moves_its_statistics_on_the_device(fake_gpu):
    """Moving statistics are updated in place on device arrays, with no read-back beyond the
    epoch's logs (the stand-in's conv and dense kernels do nothing: the conv output is zero, so
    the batch variance is 0 and the moving variance decays to momentum ** steps)."""
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((16, 6, 6, 2)).astype(np.float32), rng.integers(0, 3, 16)
    with shendu.device("cuda"):
        model = keras.Sequential(
            [
                keras.Input((6, 6, 2)),
                keras.layers.Conv2D(4, 3, use_bias=False),
                keras.layers.BatchNormalization(momentum=0.5),
                keras.layers.Flatten(),
                keras.layers.LayerNormalization(),
                keras.layers.Dense(3, activation="softmax"),
            ]
        )
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        bn = model.layers[1]
        fake_gpu.syncs = 0
        model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        assert fake_gpu.syncs == 2
        assert type(bn.moving_variance.value) is fake_gpu.ndarray
    np.testing.assert_allclose(bn.moving_variance.numpy(), np.full(4, 0.5**4))
