"""The GPU bench's logic (python -m shendu bench-gpu) on the CPU: a NumPy stand-in for CuPy and
the CPU ops run the same rows, checks and table as the GPU would. The real run needs a GPU."""

import time
import types

import numpy as np
import pytest
import shendu
from shendu import ops
from shendu.bench import gpu as bench_gpu


def _numpy_as_cupy():
    pool = types.SimpleNamespace(free_all_blocks=lambda: None)
    return types.SimpleNamespace(
        asarray=np.asarray,
        matmul=np.matmul,
        abs=np.abs,
        zeros=np.zeros,
        float32=np.float32,
        get_default_memory_pool=lambda: pool,
    )


def _clock(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def test_sgemm_rows_time_every_rung_and_catch_a_wrong_kernel(monkeypatch):
    # Small stand-ins for the real sizes: naive stops above 64, the target is at 96.
    monkeypatch.setattr(bench_gpu, "LADDER_MAX_SIZE", {"naive": 64})
    monkeypatch.setattr(bench_gpu, "SGEMM_TARGET", (96, "warptile", 0.9))

    def matmul_with(kernel, a, b):
        c = ops.matmul(a, b)
        return c + 1e-2 * np.abs(c).max() if kernel == "broken" else c

    kernels = ("naive", "warptile", "broken")
    rows = bench_gpu.sgemm_rows(_numpy_as_cupy(), matmul_with, kernels, [64, 96], 2, _clock)
    # cuBLAS and every rung run at each size, up to the rung's largest.
    assert [r["id"] for r in rows] == [
        "sgemm 64^3 cuBLAS",
        "sgemm 64^3 naive",
        "sgemm 64^3 warptile",
        "sgemm 64^3 broken",
        "sgemm 96^3 cuBLAS",
        "sgemm 96^3 warptile",
        "sgemm 96^3 broken",
    ]
    by_id = {r["id"]: r for r in rows}
    assert all(r["correct"] for i, r in by_id.items() if "broken" not in i)
    assert not by_id["sgemm 96^3 broken"]["correct"]
    assert by_id["sgemm 96^3 broken"]["max_rel_error"] == pytest.approx(1e-2, rel=1e-3)
    target = by_id["sgemm 96^3 warptile"]
    assert target["target"] == ">= 90% of cuBLAS" and isinstance(target["met"], bool)
    assert "target" not in by_id["sgemm 64^3 warptile"]
    assert target["tflops"] == pytest.approx(2 * 96**3 / target["time"]["median_s"] / 1e12)


def test_step_rows_and_table_without_pytorch():
    notes = []
    rows = bench_gpu.step_rows(_numpy_as_cupy(), shendu, None, 2, _clock, notes)
    assert [r["id"] for r in rows] == [
        "conv2d 3x3 N32 28x28 C1->32 fwd+bwd",
        "conv2d 3x3 N32 13x13 C32->64 fwd+bwd",
        "conv2d 3x3 N32 5x5 C64->64 fwd+bwd",
        "lstm N32 T40 64->64 seq fwd+bwd",
        "lstm N32 T40 64->32 last fwd+bwd",
    ]
    assert all(r["shendu"]["median_s"] > 0 and "speedup" not in r for r in rows)
    assert any("PyTorch" in n for n in notes)
    result = {
        "date": "2026-01-01T00:00:00",
        "gpu": "stand-in",
        "versions": "none",
        "repeats": 2,
        "notes": notes,
        "sgemm": bench_gpu.sgemm_rows(
            _numpy_as_cupy(), lambda k, a, b: ops.matmul(a, b), ("warptile",), [32], 2, _clock
        ),
        "steps": rows,
    }
    table = bench_gpu.markdown(result)
    assert "| sgemm 32^3 warptile |" in table and "| lstm N32 T40 64->32 last fwd+bwd |" in table
    assert "**wrong**" not in table


def test_without_a_gpu_it_says_why_and_writes_nothing(tmp_path, capsys):
    reason = bench_gpu.unavailable()
    if reason is None:
        pytest.skip("a GPU is present: the real bench runs instead")
    assert bench_gpu.main(["--out", str(tmp_path), "--repeats", "1"]) == 0
    assert reason in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_bad_arguments_are_refused():
    with pytest.raises(SystemExit):
        bench_gpu.main(["--sizes", "1024,big"])
    with pytest.raises(SystemExit):
        bench_gpu.main(["--repeats", "0"])


def test_program_rows_run_shendu_under_the_cuda_device():
    import contextlib

    entered = []

    @contextlib.contextmanager
    def device(name):
        entered.append(name)
        yield

    def keras_program(name, data, epochs):
        assert entered[-1] == "cuda" and data == {"x": name}
        return {"fit_s": 2.0 * epochs, "accuracy": 0.9}

    def torch_program(torch, name, data, epochs, device):
        assert device == "cuda"
        return {"fit_s": 3.0 * epochs, "accuracy": 0.8}

    notes = []
    epochs = {"mnist_cnn": 1, "lstm_text": 2}
    data = {name: {"x": name} for name in epochs}
    rows = bench_gpu.program_rows(
        keras_program, torch_program, device, "torch", data, epochs, notes
    )
    assert [(r["program"], r["speedup"]) for r in rows] == [("mnist_cnn", 1.5), ("lstm_text", 1.5)]
    assert entered == ["cuda", "cuda"] and notes == []
    alone = bench_gpu.program_rows(keras_program, None, device, None, data, epochs, notes)
    assert all("speedup" not in r for r in alone) and notes
    table = bench_gpu.markdown(
        {
            "date": "d",
            "gpu": "g",
            "versions": "v",
            "repeats": 1,
            "notes": [],
            "sgemm": [],
            "steps": [],
            "programs": rows + alone,
        }
    )
    assert "| mnist_cnn | 1 | 2.00 s (acc. 90.0%) | 3.00 s (acc. 80.0%) | 1.50x |" in table
    assert "| lstm_text | 2 | 4.00 s (acc. 90.0%) | – | – |" in table
