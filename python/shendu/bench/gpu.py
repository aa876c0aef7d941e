"""python -m shendu bench-gpu: the GPU rows of the bench.

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

from . import kernels, programs, torch_programs, workloads

SGEMM_SIZES = (1024, 2048, 4096, 8192)
# The slow rungs stop early: naive SGEMM at 8192 alone would take minutes.
LADDER_MAX_SIZE = {"naive": 2048, "smem": 4096}
SGEMM_TARGET = (4096, "warptile", 0.9)  # the target: >= 90 % of cuBLAS fp32 at 4096
PROGRAMS = ("mnist_cnn", "lstm_text")  # trained for their examples' EPOCHS
MAX_REL_ERROR = 1e-4  # of an SGEMM result, relative to the largest |element| of cuBLAS's


def unavailable() -> str | None:
    """Why the GPU bench cannot run here (CuPy, the CUDA module or a GPU missing), or None."""
    from .. import _device

    try:
        _device._cuda_module()
    except RuntimeError as exc:
        return str(exc)
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


def step_rows(cp, shendu, torch, repeats, timer, notes) -> list[dict]:
    """The conv2d and LSTM fwd+bwd cases of the CPU bench: shendu on CuPy arrays against PyTorch
    CUDA eager (the faster of its NCHW and channels-last convolutions)."""
    if torch is None:
        notes.append("PyTorch with CUDA is not available: the conv/LSTM rows have no comparison")
    builders = {
        "conv2d": (kernels.shendu_conv, kernels.torch_conv),
        "lstm": (kernels.shendu_lstm, kernels.torch_lstm),
    }
    rows = []
    for w in workloads.kernel_workloads():
        if w["family"] not in builders:
            continue
        mine, theirs = builders[w["family"]]
        row = {
            "id": w["id"],
            "shendu": summarize(time_samples(mine(shendu, w, cp.asarray), repeats, timer)),
        }
        if torch is not None:
            made = theirs(torch, w, device="cuda")
            variants = made[1] if isinstance(made, tuple) else {"": made}
            torch_timer = torch_event_timer(torch)
            timed = {
                k: summarize(time_samples(f, repeats, torch_timer)) for k, f in variants.items()
            }
            best = min(timed, key=lambda k: timed[k]["median_s"])
            row["torch"] = dict(timed[best], layout=best)
            row["speedup"] = row["torch"]["median_s"] / row["shendu"]["median_s"]
            row["target"] = "> 1x PyTorch eager"
            row["met"] = row["speedup"] > 1.0
        rows.append(row)
    return rows


def program_rows(keras_program, torch_program, device, torch, data, epochs, notes) -> list:
    """The example programs' fit on the GPU: shendu.keras under ``device("cuda")`` against the
    PyTorch port on CUDA (the CPU bench's code, model and data on the device). data and epochs:
    each program's arrays and epochs, by name."""
    rows = []
    for name, n_epochs in epochs.items():
        with device("cuda"):
            mine = keras_program(name, data[name], n_epochs)
        row = {"program": name, "epochs": n_epochs, "shendu": mine}
        if torch is not None:
            row["torch"] = torch_program(torch, name, data[name], n_epochs, device="cuda")
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

    from .. import device, keras

    with tempfile.TemporaryDirectory() as tmp:
        programs.save_data(tmp, PROGRAMS)
        data = {name: programs.load_data(tmp, name) for name in PROGRAMS}
    return program_rows(
        lambda name, d, n: programs.run_keras(keras, name, d, n),
        torch_programs.run,
        device,
        torch,
        data,
        {name: programs.epochs(name) for name in PROGRAMS},
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

    import shendu

    from .. import _cuda

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
    result["steps"] = step_rows(cp, shendu, torch, args.repeats, cuda_event_timer(cp), notes)
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
