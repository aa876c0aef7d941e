"""``python -m shendu bench``: the options, the order in which the workers run, and the files."""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.util
import json
import os
import sys
import tempfile

from . import history, machine, merge, plot, programs, report, worker
from .workloads import FRAMEWORKS, LABELS, PROGRAMS, QUICK_EPOCHS, kernel_workloads


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m shendu bench",
        description="Time shendu against NumPy/OpenBLAS, PyTorch and TensorFlow-Keras.",
    )
    p.add_argument("--threads", type=int, default=2, help="threads for every framework")
    p.add_argument(
        "--quick",
        action="store_true",
        help="fewer repeats and epochs: the whole bench in a few minutes",
    )
    p.add_argument("--suite", choices=("all", "kernels", "programs"), default="all")
    p.add_argument(
        "--frameworks",
        default=",".join(FRAMEWORKS),
        help="comma-separated subset of " + ",".join(FRAMEWORKS),
    )
    p.add_argument(
        "--programs",
        default=",".join(PROGRAMS),
        help="comma-separated subset of " + ",".join(PROGRAMS),
    )
    p.add_argument("--repeats", type=int, help="timed samples per kernel (default 15, quick 7)")
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every framework's workers this many times in turn and report the median "
        "over the rounds, with the range of the per-round speed-ups (default 1)",
    )
    p.add_argument(
        "--stat",
        choices=("median", "min"),
        default="median",
        help="kernel statistic reported (min: the least disturbed sample, for "
        "a busy machine; both are in the JSON)",
    )
    p.add_argument(
        "--out",
        default=None,
        help="result folder (default: bench/results when run from the "
        "repository, else ./bench-results)",
    )
    p.add_argument(
        "--ghz",
        type=float,
        help="clock for a nominal FMA peak instead of the measured one (default: measure)",
    )
    p.add_argument("--fma-units", type=int, help="FMA ports per core (default: 2)")
    p.add_argument("--python", default=sys.executable, help="interpreter for the workers")
    p.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # smoke test
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.threads < 1:
        p.error(f"--threads: expected a positive integer, got {args.threads}")
    if args.rounds < 1:
        p.error(f"--rounds: expected a positive integer, got {args.rounds}")
    frameworks = _subset(p, "--frameworks", args.frameworks, FRAMEWORKS)
    args.programs = _subset(p, "--programs", args.programs, PROGRAMS)
    args.repeats = args.repeats or (3 if args.tiny else 7 if args.quick else 15)

    stamp = _dt.datetime.now()
    result = {
        "date": stamp.isoformat(timespec="seconds"),
        "machine": machine.machine_info(args.threads, args.ghz, args.fma_units),
        "config": {
            "threads": args.threads,
            "quick": args.quick,
            "tiny": args.tiny,
            "repeats": args.repeats,
            "rounds": args.rounds,
            "suite": args.suite,
            "stat": args.stat,
        },
        "load_average_before": machine.loadavg(),
        "versions": {},
        "libraries": {},
        "notes": [],
        "kernels": [],
        "programs": [],
    }
    present = []
    for fw in frameworks:
        if importlib.util.find_spec(fw) is None:
            result["notes"].append(
                f"{LABELS[fw]} is not installed: skipped "
                "(pip install 'shendu[bench]' brings PyTorch and TensorFlow)"
            )
        else:
            present.append(fw)
    with tempfile.TemporaryDirectory(prefix="shendu-bench-") as tmp:
        if args.suite in ("all", "kernels"):
            _kernels(args, present, tmp, result)
        if args.suite in ("all", "programs"):
            _programs(args, present, tmp, result)
    result["load_average_after"] = machine.loadavg()
    result["notes"].append(
        "timings are medians of repeated samples after warm-up on a machine shared with other "
        f"work (load average {result['load_average_before']} before, "
        f"{result['load_average_after']} after): expect noise of several per cent or more"
    )
    _write(args, stamp, result)
    return 0


def _kernels(args, present, tmp, result):
    """One family at a time, every framework in turn: the frameworks compared on a workload are
    timed minutes apart at most, under much the same background load. Rounds repeat that
    sequence, so each round pairs samples taken close together."""
    work = kernel_workloads(args.tiny)
    config = {"repeats": args.repeats, "tiny": args.tiny, "stat": args.stat}
    per_fw = {}
    for family in list(dict.fromkeys(w["family"] for w in work)) * args.rounds:
        ids = [w["id"] for w in work if w["family"] == family]
        for fw in present:
            if fw == "tensorflow":
                continue  # the kernel targets name NumPy and PyTorch; TF runs the programs
            _log(f"{family}: {LABELS[fw]}")
            res = worker.run(
                args.python,
                fw,
                "kernels",
                args.threads,
                tmp,
                result["notes"],
                dict(config, only=ids),
            )
            merge.gather(per_fw, fw, res)
    result["kernels"] = merge.merge_kernels(work, per_fw, result["machine"])
    merge.collect(per_fw, result)


def _programs(args, present, tmp, result):
    """Every program in every framework in turn, as the kernels (a worker per program)."""
    data = os.path.join(tmp, "data")
    os.makedirs(data)
    result["data"] = programs.save_data(data, args.programs, args.tiny)
    epochs = {
        p: 1 if args.tiny else QUICK_EPOCHS[p] if args.quick else programs.epochs(p)
        for p in args.programs
    }
    per_fw = {}
    for program in list(args.programs) * args.rounds:
        for fw in present:
            if fw == "numpy":
                continue
            _log(f"{program}: {LABELS[fw]}")
            res = worker.run(
                args.python,
                fw,
                "programs",
                args.threads,
                tmp,
                result["notes"],
                {"data": data, "epochs": {program: epochs[program]}},
            )
            merge.gather(per_fw, fw, res)
    result["programs"] = merge.merge_programs(args.programs, epochs, per_fw)
    merge.collect(per_fw, result)


def _write(args, stamp, result):
    """<date>.json, .md and .png in the result folder; runs other than the full 2-thread one get
    a suffix, so a quick or 1-thread run the same day does not overwrite it."""
    out = args.out or (
        os.path.join("bench", "results") if os.path.isdir("bench") else "bench-results"
    )
    os.makedirs(out, exist_ok=True)
    suffix = "".join(
        (
            "-tiny" if args.tiny else "",
            "-quick" if args.quick else "",
            f"-t{args.threads}" if args.threads != 2 else "",
            "" if args.suite == "all" else f"-{args.suite}",
        )
    )
    base = os.path.join(out, stamp.strftime("%Y-%m-%d") + suffix)
    chart = plot.plot(result, base + ".png")
    with open(base + ".json", "w") as f:
        json.dump(result, f, indent=1)
    table = report.markdown(result)
    with open(base + ".md", "w") as f:
        f.write(table)
    if not args.tiny:
        history.append(os.path.join(out, "HISTORY.md"), result)
    print(table)
    print(f"wrote {base}.json, {base}.md" + (f", {chart}" if chart else ""))


def _subset(p, option, value, allowed):
    chosen = tuple(v.strip() for v in value.split(",") if v.strip())
    bad = [v for v in chosen if v not in allowed]
    if bad:
        p.error(f"{option}: unknown {bad}; expected some of {list(allowed)}")
    return chosen


def _log(what):
    print(f"[bench] {what} ...", file=sys.stderr, flush=True)
