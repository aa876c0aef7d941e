"""Where shendu.keras models compute: "cpu" (NumPy arrays, the C++ kernels) or "cuda" (CuPy arrays,
the CUDA kernels).

The ops already dispatch on the array type; this module only decides which type new arrays get.
Weights, optimizer slots and each batch are put on the current device with ``to_device``; code that
must create or combine arrays itself asks ``array_module(x)`` for the module that owns ``x`` (the
NumPy/CuPy-generic idiom, ``xp = array_module(x)``); results come back with ``to_host``, and
``read_back`` turns the running metric totals into floats with one device-to-host copy.

CuPy is imported only when the CUDA device is asked for (or a CuPy array shows up), so ``import
shendu`` never needs it. The device is a process-wide setting, like ``shendu.set_backend``.
"""

from __future__ import annotations

import contextlib

import numpy as np

# Accepted spellings (case-insensitive): TensorFlow/Keras's device names and PyTorch's.
_NAMES = {
    "cpu": "cpu",
    "cpu:0": "cpu",
    "/cpu:0": "cpu",
    "/device:cpu:0": "cpu",
    "cuda": "cuda",
    "cuda:0": "cuda",
    "gpu": "cuda",
    "gpu:0": "cuda",
    "/gpu:0": "cuda",
    "/device:gpu:0": "cuda",
}

_current = "cpu"
_cupy = None  # the CUDA array module, once _cuda_module() has vetted it


def _is_cupy(x) -> bool:
    return type(x).__module__.split(".", 1)[0] == "cupy"


def _parse(name) -> str:
    if not isinstance(name, str):
        raise TypeError(f"device: expected a device name such as 'cuda' or '/GPU:0', got {name!r}")
    device = _NAMES.get(name.strip().lower())
    if device is None:
        raise ValueError(
            f"device: expected 'cpu', 'cuda' or one of their spellings ('/CPU:0', '/GPU:0', "
            f"'gpu', 'cuda:0'; one GPU, index 0), got {name!r}"
        )
    return device


def _cuda_module():
    """CuPy, after checking that the CUDA device can run: RuntimeError naming what is missing."""
    global _cupy
    if _cupy is not None:
        return _cupy
    from . import ops

    try:
        import cupy
    except ImportError:
        wheel = "cupy-cuda12x or cupy-cuda13x" if ops._cuda is None else ops._cuda.cupy_wheel()
        raise RuntimeError(
            f"device 'cuda': CuPy is not installed (install {wheel}, the CuPy for the CUDA "
            "version shendu's CUDA module was built with)"
        ) from None
    if ops._cuda is None:
        raise RuntimeError(
            "device 'cuda': shendu was built without its CUDA module (shendu._cuda_kernels); "
            "rebuild it on a machine with the CUDA toolkit"
        )
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # CUDARuntimeError: no driver, or no device
        raise RuntimeError(f"device 'cuda': no CUDA GPU is usable ({e})") from None
    if count < 1:
        raise RuntimeError("device 'cuda': no CUDA GPU is visible to this process")
    _cupy = cupy
    return cupy


def set_device(name: str) -> None:
    """Compute on "cuda" (also "gpu", "cuda:0", "/GPU:0") or "cpu" (also "/CPU:0").

    Models put their weights and optimizer slots on this device when they are built, trained,
    evaluated or called. Asking for "cuda" checks at once that CuPy, shendu's CUDA module and a
    GPU are all there, and raises RuntimeError saying which is missing.
    """
    global _current
    device = _parse(name)
    if device == "cuda":
        _cuda_module()
    _current = device


def get_device() -> str:
    """The current device: "cpu" or "cuda"."""
    return _current


@contextlib.contextmanager
def device(name: str):
    """``with shendu.device("/GPU:0"):`` computes on that device inside the block (as
    ``keras.device`` / ``tf.device``), then goes back to the device that was current before."""
    previous = _current
    set_device(name)
    try:
        yield
    finally:
        set_device(previous)


def array_module(x=None):
    """The module of array x (numpy or cupy), or with no argument the current device's module."""
    if x is None:
        return np if _current == "cpu" else _cuda_module()
    if _current == "cpu" and not _is_cupy(x):
        return np
    return _cuda_module().get_array_module(x)


def to_device(x):
    """Array x on the current device: a NumPy array stays as it is on the CPU, and is copied to
    the GPU (cupy.asarray) on CUDA, except arrays of strings; an array already on the device is
    returned as it is."""
    if _current == "cpu":
        return x if type(x) is np.ndarray else to_host(x)
    if isinstance(x, np.ndarray) and x.dtype.kind in "OSU":
        return x  # strings stay on the host, where the text layers compute
    return _cuda_module().asarray(x)


def to_host(x, copy: bool = False) -> np.ndarray:
    """Array x as a NumPy array (a copy when it lives on the GPU, or when copy is set)."""
    if _is_cupy(x):
        return x.get()
    return np.array(x, copy=True) if copy else np.asarray(x)


def as_array(x):
    """x as an array where it lives: a CuPy array stays on the GPU; anything else (lists,
    Tensors, Variables) becomes a NumPy array."""
    return x if _is_cupy(x) else np.asarray(x.numpy() if hasattr(x, "numpy") else x)


_HOST_SCALARS = frozenset((float, int, np.float64, np.float32))


def read_back(values) -> list:
    """Scalars that may live on the GPU (running totals) as Python floats, in one copy; arrays
    of counts (the confusion-count metrics' states) as float64 NumPy arrays, None as None.

    This is the one place the training loop waits for the device: fit calls it once per epoch,
    and once per batch only when a callback asks for batch logs.
    """
    if _HOST_SCALARS.issuperset(map(type, values)):  # the CPU's totals: nothing to copy
        return [float(v) for v in values]
    values = list(values)
    on_device = [i for i, v in enumerate(values) if _is_cupy(v) and v.ndim == 0]
    if on_device:
        cp = _cuda_module()
        host = cp.stack([values[i].astype(cp.float64) for i in on_device]).get()
        for i, v in zip(on_device, host.tolist()):
            values[i] = v
    return [_host_total(v) for v in values]


def _host_total(value):
    if value is None or isinstance(value, float):
        return value
    if _is_cupy(value):
        value = value.get()
    return np.asarray(value, np.float64) if np.ndim(value) else float(value)
