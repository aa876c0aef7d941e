"""python -m shendu bench-gpu: the GPU rows of the bench (issue 6).

SGEMM: every step of shendu's CUDA ladder (naive, smem, blocktile, warptile) against cuBLAS
through ``cupy.matmul``, square sizes 1024 to 8192, each result checked against cuBLAS's.
Training-step kernels: conv2d and LSTM forward + backward on CuPy arrays against PyTorch CUDA
eager (cuDNN), when PyTorch sees the GPU. Both sides run fp32 (TF32 off). Times come from CUDA
events around each call, medians of repeats after warm-up.

Without CuPy, the CUDA module or a GPU it prints why and writes nothing. Results go to
``bench/results/<date>-gpu.{json,md}`` next to the CPU bench.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import statistics
import sys
from collections.abc import Callable

SGEMM_SIZES = (1024, 2048, 4096, 8192)
# The slow rungs stop early: naive SGEMM at 8192 alone would take minutes.
LADDER_MAX_SIZE = {"naive": 2048, "smem": 4096}
SGEMM_TARGET = (4096, "warptile", 0.9)  # the issue: >= 90 % of cuBLAS fp32 at 4096
# conv2d 3x3 fwd+bwd (N, H, W, C -> F) and LSTM fwd+bwd (N, T, in -> units), as on the CPU bench.
CONV_CASES = ((32, 28, 28, 1, 32), (32, 13, 13, 32, 64), (32, 5, 5, 64, 64))
LSTM_CASES = ((32, 40, 64, 64, True), (32, 40, 64, 32, False))
PROGRAM_EPOCHS = {"mnist_cnn": 5, "lstm_text": 10}  # as in examples/
MAX_REL_ERROR = 1e-4  # of an SGEMM result, relative to the largest |element| of cuBLAS's


def unavailable() -> str | None:
    """Why the GPU bench cannot run here, or None."""
    try:
        import cupy
    except ImportError:
        return "CuPy is not installed (pip install 'shendu[cuda]')"
    try:
        from . import _cuda
    except ImportError:
        return "shendu was built without its CUDA module (no nvcc at build time)"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return "no CUDA device is visible"
        _cuda.device_name()
    except Exception as exc:  # noqa: BLE001 (driver errors come in several types)
        return f"no usable CUDA device ({type(exc).__name__}: {exc})"
    return None


def summarize(samples: list[float]) -> dict:
    return {"median_s": statistics.median(samples), "min_s": min(samples), "samples": samples}


def time_samples(fn: Callable[[], object], repeats: int, timer: Callable) -> list[float]:
    """Seconds per call of fn, repeats samples after two warm-up calls; timer(fn) times one."""
    fn()
    fn()
    return [timer(fn) for _ in range(repeats)]


def cuda_event_timer(cp) -> Callable:
    def timer(fn) -> float:
        start, end = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        fn()
        end.record()
        end.synchronize()
        return cp.cuda.get_elapsed_time(start, end) / 1e3

    return timer


def torch_event_timer(torch) -> Callable:
    def timer(fn) -> float:
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3

    return timer


def sgemm_rows(cp, matmul_with, kernels, sizes, repeats, timer) -> list[dict]:
    """One row per (size, kernel): seconds, TFLOP/s, fraction of cuBLAS, and the error check."""
    rows = []
    for n in sizes:
        rows += _sgemm_size(cp, matmul_with, kernels, n, repeats, timer)
        cp.get_default_memory_pool().free_all_blocks()  # 8192^2 operands are 256 MiB each
    return rows


def _sgemm_size(cp, matmul_with, kernels, n, repeats, timer) -> list[dict]:
    import numpy as np

    rng = np.random.default_rng(n)
    a = cp.asarray(rng.standard_normal((n, n), dtype=np.float32))
    b = cp.asarray(rng.standard_normal((n, n), dtype=np.float32))
    reference = cp.matmul(a, b)
    scale = float(cp.abs(reference).max())
    cublas = summarize(time_samples(lambda: cp.matmul(a, b), repeats, timer))
    flops = 2.0 * n**3
    rows = [_sgemm_row(n, "cuBLAS", cublas, cublas, flops, 0.0)]
    for kernel in kernels:
        if n > LADDER_MAX_SIZE.get(kernel, n):
            continue
        err = float(cp.abs(matmul_with(kernel, a, b) - reference).max()) / scale
        t = summarize(time_samples(lambda k=kernel: matmul_with(k, a, b), repeats, timer))
        rows.append(_sgemm_row(n, kernel, t, cublas, flops, err))
    return rows


def _sgemm_row(n, kernel, t, cublas, flops, err) -> dict:
    size, name, share = SGEMM_TARGET
    row = {
        "id": f"sgemm {n}^3 {kernel}",
        "kernel": kernel,
        "size": n,
        "time": t,
        "tflops": flops / t["median_s"] / 1e12,
        "of_cublas": cublas["median_s"] / t["median_s"],
        "max_rel_error": err,
        "correct": err <= MAX_REL_ERROR,
    }
    if (n, kernel) == (size, name):
        row["target"] = f">= {share:.0%} of cuBLAS"
        row["met"] = row["correct"] and row["of_cublas"] >= share
    return row


def _shendu_conv_step(cp, ops, case):
    import numpy as np

    n, h, w, c, f = case
    rng = np.random.default_rng(0)
    x, k, b, dy = (
        cp.asarray(rng.standard_normal(s, dtype=np.float32))
        for s in ((n, h, w, c), (3, 3, c, f), (f,), (n, h - 2, w - 2, f))
    )

    def step():
        ops.conv2d(x, k, b)
        ops.conv2d_backward(dy, x, k)

    return step


def _torch_conv_step(torch, case):
    n, h, w, c, f = case
    dev = "cuda"
    cl = torch.channels_last
    x = torch.randn(n, c, h, w, device=dev).contiguous(memory_format=cl).requires_grad_()
    k = torch.randn(f, c, 3, 3, device=dev).contiguous(memory_format=cl).requires_grad_()
    b = torch.randn(f, device=dev).requires_grad_()
    dy = torch.randn(n, f, h - 2, w - 2, device=dev).contiguous(memory_format=cl)

    def step():
        x.grad = k.grad = b.grad = None
        torch.nn.functional.conv2d(x, k, b).backward(dy)

    return step


def _shendu_lstm_step(cp, ops, case):
    import numpy as np

    n, t, i, u, seq = case
    rng = np.random.default_rng(0)
    x = cp.asarray(rng.standard_normal((n, t, i), dtype=np.float32))
    k = cp.asarray(0.1 * rng.standard_normal((i, 4 * u), dtype=np.float32))
    rk = cp.asarray(0.1 * rng.standard_normal((u, 4 * u), dtype=np.float32))
    bias = cp.zeros(4 * u, cp.float32)
    if seq:
        dhs, dh_t = cp.asarray(rng.standard_normal((n, t, u), dtype=np.float32)), None
    else:
        dhs = cp.zeros((n, t, u), cp.float32)
        dh_t = cp.asarray(rng.standard_normal((n, u), dtype=np.float32))

    def step():
        _, _, _, cache = ops.lstm(x, k, rk, bias)
        ops.lstm_backward(dhs, dh_t, None, x, k, rk, cache)

    return step


def _torch_lstm_step(torch, case):
    n, t, i, u, seq = case
    lstm = torch.nn.LSTM(i, u, batch_first=True).cuda()
    x = torch.randn(n, t, i, device="cuda").requires_grad_()
    dy = torch.randn(*((n, t, u) if seq else (1, n, u)), device="cuda")
    params = list(lstm.parameters())

    def step():
        x.grad = None
        for p in params:
            p.grad = None
        out, (h, _) = lstm(x)
        (out if seq else h).backward(dy)

    return step


def step_rows(cp, ops, torch, repeats, timer, notes) -> list[dict]:
    """conv2d and LSTM fwd+bwd: shendu on CuPy arrays against PyTorch CUDA eager."""
    cases = [
        (f"conv2d 3x3 N{n} {h}x{w} C{c}->{f} fwd+bwd", "conv", (n, h, w, c, f))
        for n, h, w, c, f in CONV_CASES
    ] + [
        (f"lstm N{n} T{t} {i}->{u} {'seq' if s else 'last'} fwd+bwd", "lstm", (n, t, i, u, s))
        for n, t, i, u, s in LSTM_CASES
    ]
    if torch is None:
        notes.append("PyTorch with CUDA is not available: the conv/LSTM rows have no comparison")
    rows = []
    for name, family, case in cases:
        make = _shendu_conv_step if family == "conv" else _shendu_lstm_step
        row = {"id": name, "shendu": summarize(time_samples(make(cp, ops, case), repeats, timer))}
        if torch is not None:
            make_t = _torch_conv_step if family == "conv" else _torch_lstm_step
            row["torch"] = summarize(
                time_samples(make_t(torch, case), repeats, torch_event_timer(torch))
            )
            row["speedup"] = row["torch"]["median_s"] / row["shendu"]["median_s"]
            row["target"] = "> 1x PyTorch eager"
            row["met"] = row["speedup"] > 1.0
        rows.append(row)
    return rows


def program_rows(keras_program, torch_program, device, torch, data, epochs, notes) -> list:
    """The example programs' fit on the GPU: shendu.keras under ``device("cuda")`` against the
    PyTorch port on CUDA (the CPU bench's code, model and data on the device)."""
    rows = []
    for name, n_epochs in epochs.items():
        with device("cuda"):
            mine = keras_program(name, data, n_epochs)
        row = {"program": name, "epochs": n_epochs, "shendu": mine}
        if torch is not None:
            row["torch"] = torch_program(torch, name, data, n_epochs, device="cuda")
            row["speedup"] = row["torch"]["fit_s"] / mine["fit_s"]
        rows.append(row)
    if torch is None:
        notes.append("PyTorch with CUDA is not available: the programs have no comparison")
    return rows


def _torch_cuda(notes):
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        notes.append("PyTorch is installed without a usable CUDA device")
        return None
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 against fp32
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True  # its best algorithm per shape, as a tuned user would
    return torch


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms"


def _fit_cell(run) -> str:
    return "–" if run is None else f"{run['fit_s']:.2f} s (acc. {run['accuracy']:.1%})"


def markdown(result: dict) -> str:
    lines = [
        f"## shendu GPU bench, {result['date']}",
        "",
        f"GPU: {result['gpu']}; {result['versions']}. Times: median of {result['repeats']} "
        "samples (CUDA events) after warm-up, fp32 everywhere (TF32 off).",
        "",
        "| SGEMM | time | TFLOP/s | of cuBLAS | max rel. error | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["sgemm"]:
        met = "" if "met" not in r else ("yes" if r["met"] else "**no**")
        check = f"{r['max_rel_error']:.1e}" + ("" if r["correct"] else " **wrong**")
        lines.append(
            f"| {r['id']} | {_ms(r['time']['median_s'])} | {r['tflops']:.1f} | "
            f"{r['of_cublas']:.0%} | {check} | {r.get('target', '')} | {met} |"
        )
    lines += ["", "| training kernel | shendu | PyTorch CUDA | speed-up | target | met |"]
    lines.append("|---|---|---|---|---|---|")
    for r in result["steps"]:
        torch_t = _ms(r["torch"]["median_s"]) if "torch" in r else "–"
        speedup = f"{r['speedup']:.2f}x" if "speedup" in r else "–"
        met = "" if "met" not in r else ("yes" if r["met"] else "**no**")
        lines.append(
            f"| {r['id']} | {_ms(r['shendu']['median_s'])} | {torch_t} | {speedup} | "
            f"{r.get('target', '')} | {met} |"
        )
    if result.get("programs"):
        lines += ["", "| program (fit on the GPU) | epochs | shendu | PyTorch CUDA | speed-up |"]
        lines += ["|---|---|---|---|---|"]
        for r in result["programs"]:
            mine, theirs = _fit_cell(r["shendu"]), _fit_cell(r.get("torch"))
            speedup = f"{r['speedup']:.2f}x" if "speedup" in r else "–"
            lines.append(f"| {r['program']} | {r['epochs']} | {mine} | {theirs} | {speedup} |")
    if result["notes"]:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in result["notes"]]
    return "\n".join(lines) + "\n"


def _programs(torch, notes) -> list:
    import tempfile

    import numpy as np

    from . import benchmarks, device, keras

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.npz")
        benchmarks.make_program_data(path)
        data = dict(np.load(path))
    return program_rows(
        lambda name, d, n: benchmarks._keras_program(keras, name, d, n),
        benchmarks._torch_program,
        device,
        torch,
        data,
        PROGRAM_EPOCHS,
        notes,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shendu bench-gpu",
        description="Time shendu's CUDA kernels against cuBLAS and PyTorch CUDA.",
    )
    parser.add_argument("--repeats", type=int, default=10, help="timed samples per row")
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, SGEMM_SIZES)),
        help="comma-separated square SGEMM sizes",
    )
    parser.add_argument("--out", default=None, help="result folder (default: bench/results)")
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",")]
    except ValueError:
        parser.error(f"--sizes: expected comma-separated integers, got {args.sizes!r}")
    if args.repeats < 1 or any(s < 1 for s in sizes):
        parser.error("--repeats and --sizes must be positive")
    reason = unavailable()
    if reason is not None:
        print(f"bench-gpu: skipped: {reason}", file=sys.stderr)
        return 0

    import cupy as cp

    from . import _cuda, ops

    notes: list[str] = []
    torch = _torch_cuda(notes)
    result = {
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
        "gpu": _cuda.device_name(),
        "versions": f"CuPy {cp.__version__}"
        + ("" if torch is None else f", PyTorch {torch.__version__}"),
        "repeats": args.repeats,
        "notes": notes,
    }
    print("[bench-gpu] SGEMM ladder vs cuBLAS ...", file=sys.stderr, flush=True)
    result["sgemm"] = sgemm_rows(
        cp, _cuda.matmul_with, _cuda.SGEMM_KERNELS, sizes, args.repeats, cuda_event_timer(cp)
    )
    print("[bench-gpu] conv2d / LSTM steps ...", file=sys.stderr, flush=True)
    result["steps"] = step_rows(cp, ops, torch, args.repeats, cuda_event_timer(cp), notes)
    print("[bench-gpu] programs ...", file=sys.stderr, flush=True)
    result["programs"] = _programs(torch, notes)
    text = markdown(result)
    print(text)
    out = args.out or (
        os.path.join("bench", "results") if os.path.isdir("bench") else "bench-results"
    )
    os.makedirs(out, exist_ok=True)
    base = os.path.join(out, f"{result['date'][:10]}-gpu")
    with open(base + ".json", "w") as f:
        json.dump(result, f, indent=1)
    with open(base + ".md", "w") as f:
        f.write(text)
    print(f"wrote {base}.json, {base}.md", file=sys.stderr)
    return 0
