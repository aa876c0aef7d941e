"""One framework's suite in a process of its own: ``run`` (in the bench) starts it with the thread
variables set before anything is imported, ``main`` (in the worker) times the workloads and
writes what it measured, the framework's version and its libraries to a JSON file.

The worker imports this folder as a top-level package, ``shendu_bench``, and not as
``shendu.bench``: importing the shendu package would load its native module, which tunes malloc
for the whole process, into the other frameworks' workers; and a script run from shendu/ would
put that folder on sys.path, where shendu/keras shadows the keras that TensorFlow imports.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import warnings

from . import kernels, libraries, machine, programs, timing, workloads

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

_BOOT = """\
import importlib.util, os, sys
init, cfg_path, out_path = sys.argv[1:]
spec = importlib.util.spec_from_file_location(
    "shendu_bench", init, submodule_search_locations=[os.path.dirname(init)])
package = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = package
spec.loader.exec_module(package)
from shendu_bench import worker
worker.main(cfg_path, out_path)
"""


def run(python: str, fw: str, suite: str, threads: int, tmp: str, notes: list, config: dict):
    """Runs fw's suite in a fresh interpreter; its results, or {} with a note when it failed."""
    env = dict(os.environ)
    for var in THREAD_ENV:
        env[var] = str(threads)
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    # The worker must see the same shendu as this process (source tree or installed).
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    config = dict(config, framework=fw, suite=suite, threads=threads)
    run_dir = tempfile.mkdtemp(prefix=f"{fw}-{suite}-", dir=tmp)
    cfg_path = os.path.join(run_dir, "in.json")
    out_path = os.path.join(run_dir, "out.json")
    with open(cfg_path, "w") as f:
        json.dump(config, f)
    init = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__init__.py")
    proc = subprocess.run(
        [python, "-c", _BOOT, init, cfg_path, out_path],
        env=env,
        cwd=run_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0 or not os.path.exists(out_path):
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        notes.append(
            f"{workloads.LABELS[fw]} {suite} worker failed (exit {proc.returncode}): "
            + " | ".join(tail)
        )
        return {}
    with open(out_path) as f:
        return json.load(f)


def main(cfg_path: str, out_path: str) -> None:
    """The worker: sets up one framework, runs the workloads or programs cfg names, writes out."""
    with open(cfg_path) as f:
        cfg = json.load(f)
    fw = cfg["framework"]
    warnings.filterwarnings("ignore")
    out = {"versions": {}, "libraries": {}, "notes": [], "kernels": {}, "programs": {}}
    mod = setup(fw, cfg["threads"], out)
    if cfg["suite"] == "kernels":
        _kernels(fw, mod, cfg, out)
    else:
        _programs(fw, mod, cfg, out)
    if fw in ("numpy", "torch"):  # after the work: some libraries load on first use
        out["libraries"][fw]["threadpools"] = libraries.threadpools()
    with open(out_path, "w") as f:
        json.dump(out, f)


def _kernels(fw, mod, cfg, out):
    min_sample = 0.002 if cfg["tiny"] else 0.02
    for w in workloads.kernel_workloads(cfg["tiny"]):
        build = kernels.BUILDERS.get((fw, w["family"]))
        if w["id"] not in cfg["only"] or build is None:
            continue
        load = machine.loadavg()
        try:
            entry = timing.time_kernel(build(mod, w), cfg["repeats"], min_sample, cfg["stat"])
        except Exception as exc:  # noqa: BLE001 (one failing workload must not stop the rest)
            note = f"{workloads.LABELS[fw]} {w['id']} failed ({type(exc).__name__}: {exc}): skipped"
            out["notes"].append(note)
        else:
            out["kernels"][w["id"]] = dict(entry, load_average=load)


def _programs(fw, mod, cfg, out):
    for name, epochs in cfg["epochs"].items():
        load = machine.loadavg()
        try:
            data = programs.load_data(cfg["data"], name)
            made = programs.RUNNERS[fw](mod, name, data, epochs)
        except Exception as exc:  # noqa: BLE001 (as above)
            out["notes"].append(
                f"{workloads.LABELS[fw]} {name} failed ({type(exc).__name__}: {exc}): skipped"
            )
        else:
            out["programs"][name] = dict(made, load_average=load)


def setup(fw: str, threads: int, out: dict):
    """Imports fw with `threads` threads; records its version and build in out."""
    info = out["libraries"].setdefault(fw, {})  # shendu's own kernels: its version says which
    if fw == "shendu":
        import shendu

        shendu.set_num_threads(threads)
        out["versions"]["shendu"] = f"{shendu.__version__} ({shendu._cpu.isa()} kernels)"
        return shendu
    if fw == "numpy":
        # Before NumPy loads OpenBLAS, which reads them once (see libraries.OPENBLAS_OVERRIDES).
        unset = {k: os.environ.pop(k) for k in libraries.OPENBLAS_OVERRIDES if k in os.environ}
        if unset:
            info["unset"] = unset
        import numpy as np

        try:
            blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
            blas = f"{blas.get('name')} {blas.get('version')}"
        except (TypeError, KeyError):  # NumPy < 1.26 has no dict mode; the name is informative
            blas = "BLAS unknown"
        out["versions"]["numpy"] = f"{np.__version__} ({blas})"
        return np
    if fw == "torch":
        import torch

        torch.set_num_threads(threads)
        torch.set_num_interop_threads(threads)
        out["versions"]["torch"] = torch.__version__
        info.update(libraries.torch_build(torch))
        return torch
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    out["versions"]["tensorflow"] = tf.__version__
    info.update(libraries.tensorflow_onednn())
    return tf
