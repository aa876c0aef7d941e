"""Package plumbing: info, threads, backend switch, ISA variants, the argument checks."""

import subprocess
import sys

import numpy as np
import pytest

import shendu
from shendu import _cpu, ops, reference


def test_info_reports_isa_and_threads():
    out = subprocess.run([sys.executable, "-m", "shendu", "info"], capture_output=True, text=True,
                         check=True).stdout
    assert f"kernel ISA: {_cpu.isa()}" in out
    assert f"threads: {shendu.get_num_threads()}" in out
    assert "CUDA module:" in out


def test_thread_count_roundtrip():
    old = shendu.get_num_threads()
    try:
        shendu.set_num_threads(1)
        assert shendu.get_num_threads() == 1
    finally:
        shendu.set_num_threads(old)
    with pytest.raises(ValueError, match="n"):
        shendu.set_num_threads(0)
    with pytest.raises(TypeError):
        shendu.set_num_threads(1.5)


def test_env_sets_threads():
    code = "import shendu; print(shendu.get_num_threads())"
    env = {"SHENDU_NUM_THREADS": "3", "PATH": ""}
    import os

    env = dict(os.environ, SHENDU_NUM_THREADS="3")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "3"


def test_backend_switch():
    assert shendu.get_backend() == "native"
    shendu.set_backend("reference")
    a = np.ones((2, 3), np.float64)
    assert ops.matmul(a, a, trans_b=True).dtype == np.float64  # the twin keeps float64
    shendu.set_backend("native")
    assert ops.matmul(a, a, trans_b=True).dtype == np.float32
    with pytest.raises(ValueError, match="backend"):
        shendu.set_backend("fast")


def test_isa_selection_rejects_unknown():
    with pytest.raises(ValueError, match="isa"):
        _cpu.set_isa("sse9")


@pytest.mark.parametrize("shape", [(1, 1, 1), (7, 33, 5), (64, 257, 130), (0, 3, 4), (3, 0, 4)])
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_matmul_matches_reference(rng, shape, trans_a, trans_b):
    m, k, n = shape
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
    got = ops.matmul(a, b, trans_a, trans_b)
    want = reference.matmul(a.astype(np.float64), b.astype(np.float64), trans_a, trans_b)
    assert got.shape == (m, n) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.sqrt(max(k, 1)))


def test_matmul_accepts_views_and_ints(rng):
    a = rng.standard_normal((8, 10)).astype(np.float32)[:, ::2]  # non-contiguous
    b = np.arange(10, dtype=np.int64).reshape(5, 2)
    np.testing.assert_allclose(ops.matmul(a, b), a @ b.astype(np.float32), rtol=1e-5, atol=1e-5)


def test_matmul_propagates_nan():
    a = np.array([[np.nan, 1.0]], np.float32)
    assert np.isnan(ops.matmul(a, np.ones((2, 2), np.float32))).all()


@pytest.mark.parametrize(
    "a, b, err, match",
    [
        (np.ones((2, 3)), np.ones((4, 2)), ValueError, "inner dimensions"),
        (np.ones(3), np.ones((3, 2)), ValueError, "a: expected a 2-D array"),
        (np.ones((2, 3), complex), np.ones((3, 2)), TypeError, "a: expected real numbers"),
        (np.array([["x"]]), np.ones((1, 1)), TypeError, "a: expected real numbers"),
        (np.ones((2, 3)), np.array([[None]] * 3, dtype=object), TypeError, "b: expected real"),
        (None, np.ones((1, 1)), TypeError, "a: expected an array"),
    ],
)
def test_matmul_bad_input(a, b, err, match):
    with pytest.raises(err, match=match):
        ops.matmul(a, b)
