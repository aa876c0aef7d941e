"""What each framework really ran, recorded by its worker once the framework is imported: the
BLAS and OpenMP libraries threadpoolctl finds in the process (library, version, the kernel
architecture OpenBLAS chose for this CPU, threads), PyTorch's build (BLAS, oneDNN) and whether
TensorFlow runs its oneDNN kernels. The report names them beside the times."""

from __future__ import annotations

import os
import re

# Each makes OpenBLAS use another kernel than the one it picks for this CPU (the named core
# type's, or blockings for a smaller L2), which is slower; some machines set them for every
# process. The NumPy worker runs without them (worker.environment).
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

_POOL_KEYS = ("user_api", "internal_api", "version", "architecture", "threading_layer")


def threadpools() -> list[dict] | str:
    """threadpoolctl's view of the loaded BLAS/OpenMP libraries, or why there is none."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return (
            "threadpoolctl is not installed (pip install 'shendu[bench]'): libraries not recorded"
        )
    pools = []
    for pool in threadpool_info():
        entry = {k: pool[k] for k in _POOL_KEYS if pool.get(k) is not None}
        entry["threads"] = pool.get("num_threads")
        entry["library"] = os.path.basename(pool.get("filepath") or "")
        pools.append(entry)
    return pools


def torch_build(torch) -> dict:
    """The BLAS PyTorch was built with, whether its oneDNN (mkldnn) kernels are there, threads."""
    blas = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    return {
        "blas": blas.group(1) if blas else None,
        "onednn": torch.backends.mkldnn.is_available(),
        "threads": torch.get_num_threads(),
    }


def tensorflow_onednn() -> dict:
    """TF_ENABLE_ONEDNN_OPTS as set (None: TensorFlow's default) and whether oneDNN is on."""
    try:
        from tensorflow.python.util import _pywrap_util_port

        on = bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):  # a TensorFlow without this probe: unknown
        on = None
    return {"TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS"), "onednn": on}


def describe(info: dict) -> str:
    """One framework's libraries in a few words, for the report."""
    parts = []
    if "blas" in info:
        parts.append(f"built with BLAS {info['blas']}, oneDNN {_yes(info['onednn'])}")
    if "onednn" in info and "blas" not in info:
        setting = info["TF_ENABLE_ONEDNN_OPTS"]
        parts.append(
            f"oneDNN {_yes(info['onednn'])} (TF_ENABLE_ONEDNN_OPTS "
            + ("unset: TensorFlow's default" if setting is None else f"={setting}")
            + ")"
        )
    pools = info.get("threadpools")
    if isinstance(pools, str):
        parts.append(pools)
    elif pools:
        parts += [_pool(p) for p in pools]
    if info.get("unset"):
        parts.append("ran without " + ", ".join(f"{k}={v}" for k, v in info["unset"].items()))
    return "; ".join(parts)


def _pool(p: dict) -> str:
    kernel = f", kernel {p['architecture']}" if p.get("architecture") else ""
    return (
        f"{p.get('internal_api', '?')} {p.get('version') or ''} ({p.get('library')}{kernel}, "
        f"{p.get('threads')} threads)"
    ).replace("  ", " ")


def _yes(flag) -> str:
    return {True: "on", False: "off", None: "unknown"}[flag]
