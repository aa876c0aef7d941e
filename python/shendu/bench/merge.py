"""Gathering the workers' results into the rows of the report: times over rounds, speed-ups
(with the range of the per-round ones), GFLOP/s and whether each target is met."""

from __future__ import annotations

import statistics

from .workloads import CUSTOM_LOOPS, LOOP_VS_FIT


def gather(per_fw, fw, res):
    """Adds one worker's results to what that framework's earlier workers returned: a list of
    entries (one per round) for each kernel and program."""
    into = per_fw.setdefault(
        fw, {"versions": {}, "libraries": {}, "notes": [], "kernels": {}, "programs": {}}
    )
    into["versions"].update(res.get("versions", {}))
    into["libraries"].update(res.get("libraries", {}))
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
    if "variants" in out:
        out["variants"] = {
            v: statistics.median(e["variants"][v] for e in entries) for v in out["variants"]
        }
    return out


def _round_range(own, other):
    """(lowest, highest) speed-up of one round's shendu time against the same round's other."""
    ratios = [o / s for s, o in zip(own["rounds"], other["rounds"])]
    return min(ratios), max(ratios)


def collect(per_fw, result):
    """The frameworks' versions, libraries and notes into the run's result."""
    for res in per_fw.values():
        result["versions"].update(res.get("versions", {}))
        result["libraries"].update(res.get("libraries", {}))
        result["notes"].extend(n for n in res.get("notes", []) if n not in result["notes"])


def merge_kernels(work, per_fw, machine) -> list[dict]:
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


def merge_programs(programs, epochs, per_fw) -> list[dict]:
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
        if p in CUSTOM_LOOPS:
            _loop_ratios(row)
        rows.append(row)
    return rows


def _loop_ratios(row):
    """A custom loop's own time against shendu's fit of the same model (loop_vs_fit, at most
    LOOP_VS_FIT to meet the target) and the speed-up over TensorFlow running the loop eagerly."""
    res = row["results"]
    own = res.get("shendu")
    fit_s = (own or {}).get("variants", {}).get("fit")
    if fit_s:
        row["loop_vs_fit"] = own["fit_s"] / fit_s
    eager_s = res.get("tensorflow", {}).get("variants", {}).get("eager")
    if own and eager_s:
        row["speedup_vs_tf_eager"] = eager_s / own["fit_s"]
    if row["met"] is not None and "loop_vs_fit" in row:
        row["met"] = (
            row["met"]
            and row["loop_vs_fit"] <= LOOP_VS_FIT
            and row.get("speedup_vs_tf_eager", 2.0) >= 2.0
        )
