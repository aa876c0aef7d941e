"""``python -m shendu bench-distributed``: data-parallel training over MPI on this machine.

For 1 and 2 processes (one thread each, so two replicas do not fight over the cores): samples/s
of the MNIST convnet and the LSTM text program (examples/, on their shipped data) at 64 samples
per replica (the global batch grows with the replicas, as users scale it), and the share of a
step spent waiting for the gradient sums; then the allreduce bandwidth for 1-64 MB buffers. The
workers run under ``mpiexec``; the result goes to <out>/<date>-distributed.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

PROGRAMS = ("mnist_cnn", "lstm_text")
PER_REPLICA_BATCH = 64
SIZES_MB = (1, 4, 16, 64)


def _worker(out: str, samples: int, epochs: int) -> None:
    """One replica: times each program's fit and (with 2+ ranks) the allreduce sizes."""
    import numpy as np

    import shendu
    from shendu import keras
    from shendu.distribute import buckets

    from . import examples

    waited = [0.0]
    finish = buckets.GradientBuckets.finish

    def timed_finish(self, grads):  # what the step waits for after its backward
        t0 = time.perf_counter()
        try:
            return finish(self, grads)
        finally:
            waited[0] += time.perf_counter() - t0

    buckets.GradientBuckets.finish = timed_finish
    strategy = shendu.distribute.MultiWorkerMirroredStrategy()
    n = strategy.num_replicas_in_sync
    result = {"replicas": n, "programs": {}, "allreduce": []}
    for name in PROGRAMS:
        program = examples.load(name)
        (x, y), _ = examples.sample_data(program)
        x, y = x[:samples], y[:samples]
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = program.build_model()
        batch = PER_REPLICA_BATCH * n
        model.fit(x[: 2 * batch], y[: 2 * batch], batch_size=batch, epochs=1, verbose=0)
        waited[0] = 0.0
        t0 = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0)
        seconds = time.perf_counter() - t0
        steps = epochs * -(-len(y) // batch)
        result["programs"][name] = {
            "samples_per_s": epochs * len(y) / seconds,
            "step_ms": 1e3 * seconds / steps,
            "wait_fraction": waited[0] / seconds,
            "gradient_mb": 4 * model.count_params() / 2**20,
        }
    if n > 1:
        collective = strategy._collective
        for mb in SIZES_MB:
            buffer = np.ones(mb * 2**20 // 4, np.float32)
            collective.allreduce(buffer)
            repeats = max(3, 64 // mb)
            t0 = time.perf_counter()
            for _ in range(repeats):
                collective.start_allreduce(buffer).wait()
            seconds = (time.perf_counter() - t0) / repeats
            result["allreduce"].append(
                {"mb": mb, "ms": 1e3 * seconds, "bus_gb_s": 2 * (n - 1) / n * mb / 1024 / seconds}
            )
    if strategy.is_chief:
        with open(out, "w") as f:
            json.dump(result, f)


def _mpiexec() -> str:
    beside = pathlib.Path(sys.executable).with_name("mpiexec")
    return str(beside) if beside.exists() else "mpiexec"


def _run(replicas: int, samples: int, epochs: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        env = dict(os.environ, SHENDU_NUM_THREADS="1")
        command = [sys.executable, "-m", "shendu.bench.distributed", "--worker", out]
        command += ["--samples", str(samples), "--epochs", str(epochs)]
        subprocess.run([_mpiexec(), "-n", str(replicas), *command], env=env, check=True)
        with open(out) as f:
            return json.load(f)


def markdown(runs: dict, stamp: str) -> str:
    one, two = runs[1], runs[2]
    lines = [
        f"# Distributed training, {stamp}",
        "",
        "`python -m shendu bench-distributed`: MPI processes on one machine, one thread each, "
        f"{PER_REPLICA_BATCH} samples per replica per step (MPICH, shared memory). "
        f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} when written (a busy "
        "machine lowers both the scaling and the bandwidth).",
        "",
        "| program | gradient MB | 1 process samples/s | 2 processes samples/s | scaling "
        "| step ms (1 / 2) | step waiting on sums (2) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in PROGRAMS:
        a, b = one["programs"][name], two["programs"][name]
        lines.append(
            f"| {name} | {a['gradient_mb']:.2f} | {a['samples_per_s']:.0f} "
            f"| {b['samples_per_s']:.0f} | {b['samples_per_s'] / a['samples_per_s'] / 2:.0%} "
            f"| {a['step_ms']:.1f} / {b['step_ms']:.1f} | {b['wait_fraction']:.1%} |"
        )
    lines += [
        "",
        "Scaling: samples/s of 2 processes over twice those of 1. Waiting: the time a step "
        "spends in GradientBuckets.finish (sums still under way after the backward), over the "
        "fit time.",
        "",
        "| allreduce MB (2 ranks) | ms | bus GB/s (2(N-1)/N x bytes / time) |",
        "|---:|---:|---:|",
    ]
    for row in two["allreduce"]:
        lines.append(f"| {row['mb']} | {row['ms']:.2f} | {row['bus_gb_s']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m shendu bench-distributed", description=__doc__)
    p.add_argument("--samples", type=int, default=2048, help="training samples per program")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--out", default=None, help="result folder (default bench/results)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        _worker(args.worker, args.samples, args.epochs)
        return 0
    runs = {n: _run(n, args.samples, args.epochs) for n in (1, 2)}
    stamp = _dt.date.today().isoformat()
    out = args.out or (os.path.join("bench", "results") if os.path.isdir("bench") else ".")
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, f"{stamp}-distributed.md")
    text = markdown(runs, stamp)
    with open(path, "w") as f:
        f.write(text)
    print(text)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
