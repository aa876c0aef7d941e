"""HISTORY.md beside the results: one line per run, appended by every run but the smoke test,
with the example programs' speed-ups over the fastest other framework and a few kernels'
speed-ups, to follow them from run to run (each run's own files hold everything else)."""

from __future__ import annotations

import os

from .workloads import LABELS, PROGRAMS

# (workload id, the framework it is compared with, column title)
KERNELS = (
    ("sgemm 1024x1024x1024 AB", "numpy", "SGEMM 1024"),
    ("conv2d 3x3 N32 13x13 C32->64 fwd+bwd", "torch", "conv 13x13"),
    ("lstm N32 T40 64->64 seq fwd+bwd", "torch", "LSTM 64->64"),
    ("max_pool2d 2x2 N32 C32 26x26", "torch", "max_pool2d"),
)

TITLE = """\
# Bench history

One line per run (`python -m shendu bench` appends it): speed-up of shendu, the other
framework's time / shendu's. Programs: against the fastest of TF-Keras and PyTorch; kernels:
against the framework named. The run's own `<date>.md` has every row and the machine.

"""


def header() -> str:
    titles = ["run", "suite", "threads x rounds", *PROGRAMS]
    titles += [f"{title} vs {LABELS[fw]}" for _, fw, title in KERNELS]
    return "| " + " | ".join(titles) + " |\n" + "|---" * len(titles) + "|\n"


def row(result: dict) -> str:
    config = result["config"]
    suite = config["suite"] + (", quick" if config.get("quick") else "")
    cells = [result["date"].replace("T", " ")[:16], suite]
    cells.append(f"{config['threads']} x {config.get('rounds', 1)}")
    programs = {r["program"]: r.get("speedup_vs_best") for r in result["programs"]}
    cells += [_ratio(programs.get(p)) for p in PROGRAMS]
    kernels = {r["id"]: r.get("speedup", {}) for r in result["kernels"]}
    cells += [_ratio(kernels.get(kid, {}).get(fw)) for kid, fw, _ in KERNELS]
    return "| " + " | ".join(cells) + " |\n"


def append(path: str, result: dict) -> None:
    """Adds result's line to the history at path (made with its title and header if new). When
    the columns have changed since the file's last header, the line starts a new table under
    the current header, so older lines keep the columns they were written with."""
    new = not os.path.exists(path)
    last_header = None
    if not new:
        with open(path) as f:
            last_header = [ln for ln in f if ln.startswith("| run |")][-1:]
    with open(path, "a") as f:
        if new:
            f.write(TITLE + header())
        elif last_header != [header().splitlines(keepends=True)[0]]:
            f.write("\n" + header())
        f.write(row(result))


def _ratio(r) -> str:
    return "–" if r is None else f"{r:.2f}x"
