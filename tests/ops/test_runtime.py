"""Package plumbing: info, threads, backend switch, ISA variants, the argument checks."""

import subprocess
import sys

import numpy as np
import pytest
import shendu
from shendu import _cpu, ops


def test_info_reports_isa_and_threads():
    out = subprocess.run(
        [sys.executable, "-m", "shendu", "info"], capture_output=True, text=True, check=True
    ).stdout
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
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
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


def test_kernels_work_in_a_forked_child():
    """The pool's threads stay in the parent: a forked child (multiprocessing) must still compute,
    serially, and exit cleanly."""
    code = """
import os, sys, numpy as np
from shendu import ops
a = np.random.default_rng(0).random((300, 300), dtype=np.float32)
ops.matmul(a, a)  # starts the pool in the parent
pid = os.fork()
if pid == 0:
    ok = np.allclose(ops.matmul(a, a), a.astype(np.float64) @ a, rtol=1e-4, atol=1e-3)
    sys.exit(0 if ok else 3)  # a normal exit: runs the pool's destructor in the child
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tuning")
def test_malloc_tuning_can_be_turned_off():
    """Importing the kernels keeps large freed blocks in the heap (see cpp/bindings/module.cpp),
    unless the user asks for the system's behaviour or tunes glibc themselves."""
    import os

    code = "import shendu._cpu as c; print(c.malloc_tuned)"

    def tuned(**env):
        clean = {
            k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "SHENDU_MALLOC"))
        }
        return subprocess.run(
            [sys.executable, "-c", code],
            env=dict(clean, **env),
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    if tuned() != "True":
        pytest.skip("not a glibc build: malloc is left alone")
    assert tuned(SHENDU_MALLOC="system") == "False"
    assert tuned(MALLOC_TRIM_THRESHOLD_="1000000") == "False"


def test_float_arguments_in_every_layout_give_the_same_result():
    """as_float32 takes a C-contiguous float32 ndarray as it is and converts everything else;
    both routes must see the same numbers."""

    class Tagged(np.ndarray):  # a subclass passes the fast path's ndarray check
        pass

    base = np.linspace(-3, 3, 24, dtype=np.float32).reshape(4, 6)
    misaligned = np.frombuffer(b"\0" + base.tobytes(), np.float32, 24, offset=1).reshape(4, 6)
    read_only = base.copy()
    read_only.flags.writeable = False
    layouts = [
        base,
        base.view(Tagged),
        np.asfortranarray(base),
        base.astype(">f4"),
        misaligned,
        read_only,
        np.repeat(base, 2, axis=1)[:, ::2],  # a strided view
    ]
    want = np.maximum(base, 0)
    for x in layouts:
        np.testing.assert_array_equal(ops.relu(x), want, err_msg=repr(x.dtype) + str(x.flags))
    with pytest.raises(ValueError, match=r"x: expected a 2-D array, got shape \(24,\)"):
        ops.dense(base.ravel(), np.ones((6, 2), np.float32))
