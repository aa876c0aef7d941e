import numpy as np
import pytest
import shendu
from shendu import _cpu


@pytest.fixture(autouse=True)
def _native_backend():
    """Every test starts on the native backend, whatever the previous one switched to."""
    shendu.set_backend("native")
    yield
    shendu.set_backend("native")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


_ISAS = ["generic", "avx2", "avx512"]


@pytest.fixture(params=_ISAS[: _ISAS.index(_cpu.detected_isa()) + 1])
def isa(request):
    """Runs the test once per kernel variant this CPU supports, restoring the active one after."""
    old = _cpu.isa()
    _cpu.set_isa(request.param)
    yield request.param
    _cpu.set_isa(old)


@pytest.fixture
def set_threads():
    """shendu.set_num_threads, with the thread count restored after the test."""
    old = shendu.get_num_threads()
    yield shendu.set_num_threads
    shendu.set_num_threads(old)


def pytest_collection_modifyitems(config, items):
    try:
        import cupy  # noqa: F401

        has_gpu = cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        has_gpu = False
    if not has_gpu:
        skip = pytest.mark.skip(reason="needs an NVIDIA GPU with CuPy")
        for item in items:
            if item.get_closest_marker("gpu") is not None:  # not keywords: a folder named gpu
                item.add_marker(skip)
