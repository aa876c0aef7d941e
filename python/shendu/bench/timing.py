"""Seconds per call of a closure: warm-up, then repeated samples long enough for the timer."""

from __future__ import annotations

import statistics
import time


def time_call(fn, repeats: int, min_sample_s: float, warmup: int = 2) -> list[float]:
    """Seconds per call of fn: warm-up calls, then `repeats` samples, each looping fn enough
    times to last about min_sample_s (so microsecond calls are not lost in timer resolution)."""
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    inner = max(1, int(min_sample_s / once))
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t0) / inner)
    return samples


def time_kernel(made, repeats: int, min_sample_s: float, stat: str):
    """made: a closure, or (None, {variant: closure}) for several ways to call a framework, of
    which the fastest stands (its name in "variant", every variant's time in "all_variants")."""
    if not isinstance(made, tuple):
        return summary(time_call(made, repeats, min_sample_s), stat)
    best, times = None, {}
    for name, fn in made[1].items():
        s = summary(time_call(fn, repeats, min_sample_s), stat)
        s["variant"] = name
        times[name] = s["time_s"]
        if best is None or s["time_s"] < best["time_s"]:
            best = s
    best["all_variants"] = times
    return best


def summary(samples: list[float], stat: str) -> dict:
    """stat: "median" (the default) or "min" (the least disturbed sample, on a busy machine)."""
    median, least = statistics.median(samples), min(samples)
    return {
        "time_s": median if stat == "median" else least,
        "median_s": median,
        "min_s": least,
        "samples": samples,
    }
