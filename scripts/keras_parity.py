"""Runs every example program under shendu or under TensorFlow-Keras with the same program text
(only the imports changed, see shendu.bench.examples.load), once per seed, and
appends one JSON line per run (program, framework, seed, final metric, wall seconds of the whole
program and of its fit() call) to a file;
`table` turns two such files into the Markdown rows of bench/results/keras_parity.md.

    PYTHONPATH=python python scripts/keras_parity.py run shendu --seeds 0 1 2 --out s.jsonl [--programs ...]
    PYTHONPATH=python python scripts/keras_parity.py run tf --seeds 0 1 2 --out t.jsonl
                   (the second with a Python that has TensorFlow installed, e.g. a venv of its own)
    python scripts/keras_parity.py table s.jsonl t.jsonl

A seed replaces the 0 each program passes to keras.utils.set_random_seed, so it changes the
initial weights, dropout masks and shuffling but not the data (the data sets are seeded on their
own). MNIST programs run on the shipped sample (--sample; under TensorFlow, whose Keras has no
load_sample, the same file is read with NumPy). Run the two frameworks one after the
other, not at the same time: on a small machine they would slow each other down.
"""

import argparse
import contextlib
import io
import json
import math
import os
import re
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# The number each program's last printed line reports: its accuracy, a regression's MSE or MAE,
# or a ranking's AUC.
METRIC = re.compile(r"(accuracy|mse|mae|auc)[^0-9]*([0-9.]+)")


def _mnist_sample():
    """shendu's MNIST sample (keras.datasets.mnist.load_sample), read without shendu.keras."""
    import numpy as np
    import shendu

    path = os.path.join(os.path.dirname(shendu.__file__), "data", "mnist_sample.npz")
    with np.load(path) as d:
        return (d["x_train"], d["y_train"]), (d["x_test"], d["y_test"])


def _timed(function, seconds):
    """function, appending the seconds each call takes to the list seconds."""

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            seconds.append(time.perf_counter() - start)

    return timed


def run(framework, seeds, out_path, names):
    from shendu.bench import examples

    if framework == "tf":
        import tensorflow as tf

        keras = tf.keras
        keras.datasets.mnist.load_sample = _mnist_sample
    else:
        from shendu import keras
    sys.argv[1:] = ["--sample"]  # examples/_mnist.py: the shipped MNIST sample
    names = names or examples.names()
    seed_everything = keras.utils.set_random_seed
    for name in names:
        for seed in seeds:
            keras.utils.set_random_seed = lambda _program_seed, s=seed: seed_everything(s)
            module = examples.load(name, keras)
            fit_seconds = []
            if hasattr(module, "fit"):  # main() calls the module's fit by its global name
                module.fit = _timed(module.fit, fit_seconds)
            out = io.StringIO()
            start = time.perf_counter()
            try:
                with contextlib.redirect_stdout(out):
                    module.main()
            finally:
                keras.utils.set_random_seed = seed_everything
            seconds = time.perf_counter() - start
            last = out.getvalue().strip().splitlines()[-1]
            kind, value = METRIC.search(last).groups()
            record = dict(
                program=name,
                framework=framework,
                seed=seed,
                metric=kind,
                value=float(value),
                seconds=round(seconds, 1),
                fit_seconds=round(sum(fit_seconds), 1) if fit_seconds else None,
                line=last,
            )
            print(json.dumps(record), flush=True)
            with open(out_path, "a") as f:
                f.write(json.dumps(record) + "\n")


def _summary(values):
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else float("nan")
    return mean, sd


def _mean_seconds(runs, key):
    """The mean of runs' key, '-' where a run has none (records made before it existed)."""
    values = [r.get(key) for r in runs]
    return "-" if None in values else f"{statistics.fmean(values):.1f}"


def table(shendu_path, tf_path):
    runs = {}
    for path in (shendu_path, tf_path):
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                runs.setdefault(r["program"], {}).setdefault(r["framework"], []).append(r)
    print(
        "| program | metric | shendu mean ± sd (n) | TF-Keras mean ± sd (n) | "
        "difference ± SE | wall s shendu / TF | fit s shendu / TF |"
    )
    print("|---|---|---|---|---|---|---|")
    for program in sorted(runs):
        by = runs[program]
        if set(by) != {"shendu", "tf"}:
            continue
        metric = by["shendu"][0]["metric"]
        accuracy = metric == "accuracy"
        scale = 100.0 if accuracy else 1.0  # accuracy in points (percent)
        cells, stats = [], []
        for fw in ("shendu", "tf"):
            mean, sd = _summary([r["value"] * scale for r in by[fw]])
            stats.append((mean, sd, len(by[fw])))
            fmt = "{:.2f}" if accuracy else "{:.4f}"
            cells.append(f"{fmt.format(mean)} ± {fmt.format(sd)} ({len(by[fw])})")
        (m1, s1, n1), (m2, s2, n2) = stats
        se = math.sqrt(s1**2 / n1 + s2**2 / n2)
        fmt = "{:+.2f} ± {:.2f}" if accuracy else "{:+.4f} ± {:.4f}"
        wall, fit = (
            " / ".join(_mean_seconds(by[fw], key) for fw in ("shendu", "tf"))
            for key in ("seconds", "fit_seconds")
        )
        seeds = sorted({r["seed"] for fw in by for r in by[fw]})
        print(
            f"| {program} (seeds {','.join(map(str, seeds))}) | "
            f"{'test accuracy, %' if accuracy else 'test ' + metric.upper()} | {cells[0]} | "
            f"{cells[1]} | {fmt.format(m1 - m2, se)} | {wall} | {fit} |"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("framework", choices=["shendu", "tf"])
    r.add_argument("--programs", nargs="+", default=[], help="example programs (default: all)")
    r.add_argument("--seeds", type=int, nargs="+", default=[0])
    r.add_argument("--out", required=True, help="JSON-lines file to append to")
    t = sub.add_parser("table")
    t.add_argument("shendu_jsonl")
    t.add_argument("tf_jsonl")
    args = parser.parse_args()
    if args.command == "run":
        run(args.framework, args.seeds, args.out, args.programs)
    else:
        table(args.shendu_jsonl, args.tf_jsonl)


if __name__ == "__main__":
    main()
