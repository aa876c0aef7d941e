"""Runs every example program under shendu or under TensorFlow-Keras with the same program text
(only the imports changed, see shendu.bench.examples.load), once per seed, and
appends one JSON line per run (program, framework, seed, final metric, wall seconds) to a file;
`table` turns two such files into the Markdown rows of bench/results/keras_parity.md.

    PYTHONPATH=python python scripts/keras_parity.py run shendu --seeds 0 1 2 --out s.jsonl [--programs ...]
    PYTHONPATH=python python scripts/keras_parity.py run tf --seeds 0 1 2 --out t.jsonl
                   (the second with a Python that has TensorFlow installed, e.g. a venv of its own)
    python scripts/keras_parity.py table s.jsonl t.jsonl

A seed replaces the 0 each program passes to keras.utils.set_random_seed, so it changes the
initial weights, dropout masks and shuffling but not the data (the data sets are seeded on their
own). MNIST programs run on the shipped sample (--sample). Run the two frameworks one after the
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

# The number each program's last printed line reports: its accuracy, or the regression's MSE.
METRIC = re.compile(r"(accuracy|mse)[^0-9]*([0-9.]+)")


def run(framework, seeds, out_path, names):
    from shendu.bench import examples

    if framework == "tf":
        import tensorflow as tf

        keras = tf.keras
    else:
        from shendu import keras
    sys.argv[1:] = ["--sample"]  # examples/_mnist.py: the shipped MNIST sample
    names = names or examples.names()
    seed_everything = keras.utils.set_random_seed
    for name in names:
        for seed in seeds:
            keras.utils.set_random_seed = lambda _program_seed, s=seed: seed_everything(s)
            module = examples.load(name, keras)
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
                line=last,
            )
            print(json.dumps(record), flush=True)
            with open(out_path, "a") as f:
                f.write(json.dumps(record) + "\n")


def _summary(values):
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else float("nan")
    return mean, sd


def table(shendu_path, tf_path):
    runs = {}
    for path in (shendu_path, tf_path):
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                runs.setdefault(r["program"], {}).setdefault(r["framework"], []).append(r)
    print(
        "| program | metric | shendu mean ± sd (n) | TF-Keras mean ± sd (n) | "
        "difference ± SE | wall s shendu / TF |"
    )
    print("|---|---|---|---|---|---|")
    for program in sorted(runs):
        by = runs[program]
        if set(by) != {"shendu", "tf"}:
            continue
        accuracy = by["shendu"][0]["metric"] == "accuracy"
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
        wall = " / ".join(
            f"{statistics.fmean(r['seconds'] for r in by[fw]):.1f}" for fw in ("shendu", "tf")
        )
        seeds = sorted({r["seed"] for fw in by for r in by[fw]})
        print(
            f"| {program} (seeds {','.join(map(str, seeds))}) | "
            f"{'test accuracy, %' if accuracy else 'test MSE'} | {cells[0]} | {cells[1]} | "
            f"{fmt.format(m1 - m2, se)} | {wall} |"
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
