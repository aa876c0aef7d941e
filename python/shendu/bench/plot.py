"""The chart of a bench run: speed-up bars on a log axis, each workload's target marked."""

from __future__ import annotations

from .workloads import LABELS


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
