"""The markdown table of a bench run (printed, and written next to the JSON)."""

from __future__ import annotations

from . import libraries
from .workloads import LABELS, LOOP_VS_FIT


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
    ran = {fw: libraries.describe(info) for fw, info in result.get("libraries", {}).items()}
    ran = {fw: text for fw, text in ran.items() if text}
    if ran:
        lines += ["What each framework ran:", ""]
        lines += [f"- {LABELS[fw]}: {text}" for fw, text in ran.items()]
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
        lines += _loops([r for r in result["programs"] if "loop_vs_fit" in r])
    if result["notes"]:
        lines += ["Notes:", ""] + [f"- {n}" for n in result["notes"]] + [""]
    return "\n".join(lines)


def _loops(rows) -> list[str]:
    """The custom-loop programs against shendu's own fit and TensorFlow's two ways of running
    the loop."""
    if not rows:
        return []
    lines = [
        "Custom training loops: the program's GradientTape loop; shendu fit is Model.fit of the "
        "same model with the loop's optimizer, loss, metric, batch size and test pass; TF-Keras "
        "runs the loop's steps as tf.function and eagerly; PyTorch is its eager port.",
        "",
        "| program | epochs | shendu loop | shendu fit | loop / fit | TF tf.function | TF eager "
        "| PyTorch | vs TF tf.function | vs TF eager | vs PyTorch | target | met |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        res, sp = r["results"], r.get("speedup", {})
        own, tf = res.get("shendu", {}), res.get("tensorflow", {})
        lines.append(
            f"| {r['program']} | {r['epochs']} | {_fmt_time(own.get('fit_s'))} "
            f"| {_fmt_time(own.get('variants', {}).get('fit'))} | {r['loop_vs_fit']:.2f} "
            f"| {_fmt_time(tf.get('fit_s'))} | {_fmt_time(tf.get('variants', {}).get('eager'))} "
            f"| {_fmt_time(res.get('torch', {}).get('fit_s'))} "
            f"| {_fmt_ratio(sp.get('tensorflow'))} | {_fmt_ratio(r.get('speedup_vs_tf_eager'))} "
            f"| {_fmt_ratio(sp.get('torch'))} "
            f"| loop ≤{LOOP_VS_FIT:.2f}x fit, ≥2x each other | {_fmt_met(r['met'])} |"
        )
    return lines + [""]
