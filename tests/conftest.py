import numpy as np
import pytest

import shendu


@pytest.fixture(autouse=True)
def _native_backend():
    """Every test starts on the native backend, whatever the previous one switched to."""
    shendu.set_backend("native")
    yield
    shendu.set_backend("native")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def pytest_collection_modifyitems(config, items):
    try:
        import cupy  # noqa: F401

        has_gpu = cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        has_gpu = False
    if not has_gpu:
        skip = pytest.mark.skip(reason="needs an NVIDIA GPU with CuPy")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)
