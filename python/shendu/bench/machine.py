"""The machine the bench runs on: CPU model, cores, the fp32 FMA peak, the load average."""

from __future__ import annotations

import os
import platform


def measured_fma_peak(threads: int) -> tuple[float, str] | None:
    """fp32 GFLOP/s of `threads` cores running FMAs at one thread's rate, and the ISA whose vectors
    the probe used (shendu's native one, in the ISA its kernels use). One thread's rate with
    independent FMA chains, the best of three 0.2 s runs, times `threads`: on a shared machine a
    run of all threads at once measures the other processes as much as the cores (2 of them gave
    171-351 GFLOP/s within minutes); this overstates an all-core turbo by a few per cent, which
    only lowers the fractions of it reported. None without the native module."""
    try:
        from .. import _cpu
    except ImportError:
        return None
    one = max(_cpu.fma_peak_gflops(1, 0.2) for _ in range(3))
    return threads * one, _cpu.isa()


def machine_info(
    threads: int, ghz: float | None = None, fma_units: int | None = None, measure: bool = True
) -> dict:
    """CPU model, cores and the fp32 FMA peak of `threads` cores: measured (measured_fma_peak)
    unless `ghz` is given or `measure` is off, else nominal: cores x GHz x lanes x 2 flop x FMA
    units per core. Under a hypervisor the nominal clock is the TSC rate; turbo and AVX-512
    licence clocks are only seen by measuring."""
    cpuinfo = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                cpuinfo.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    flags = set(cpuinfo.get("flags", "").split())
    model = cpuinfo.get("model name", platform.processor() or platform.machine())
    ghz_given = ghz is not None
    if ghz_given:
        freq_source = "given with --ghz"
    elif cpuinfo.get("cpu MHz"):
        ghz = float(cpuinfo["cpu MHz"]) / 1000.0
        freq_source = (
            "'cpu MHz' of /proc/cpuinfo (nominal clock; under a hypervisor it is the "
            "TSC rate, turbo and AVX-512 licence clocks are not visible)"
        )
    elif "@" in model and model.rstrip().endswith("GHz"):
        ghz = float(model.rsplit("@", 1)[1].replace("GHz", ""))
        freq_source = "CPU model name"
    else:
        ghz, freq_source = None, "unknown"
    if "avx512f" in flags:
        lanes, isa = 16, "AVX-512"
    elif "avx2" in flags and "fma" in flags:
        lanes, isa = 8, "AVX2+FMA"
    else:
        lanes, isa = 4, "SSE"
    units_source = "given with --fma-units"
    if fma_units is None:
        # Server cores since Skylake-SP (Gold/Platinum) and client cores since Haswell issue two
        # FMAs per cycle; the count is not in cpuid, so this is an assumption, said in the notes.
        fma_units, units_source = 2, "assumed 2 FMA ports per core (not readable from cpuid)"
    try:
        from .. import _config  # only in the package; not needed for the peak itself

        cores = _config.physical_cores()
    except ImportError:
        cores = os.cpu_count() or 1
    used = min(threads, cores)
    nominal = used * ghz * lanes * 2 * fma_units if ghz else None
    probe = measured_fma_peak(used) if measure and not ghz_given else None
    measured, measured_isa = probe or (None, None)
    return {
        "cpu_model": model,
        "physical_cores": cores,
        "logical_cpus": os.cpu_count(),
        "threads": threads,
        "isa": isa,
        "fma_lanes_fp32": lanes,
        "fma_units": fma_units,
        "fma_units_source": units_source,
        "ghz": ghz,
        "ghz_source": freq_source,
        "peak_gflops": measured or nominal,
        "measured_peak_gflops": measured,
        "measured_peak_isa": measured_isa,
        "peak_threads": used,
        "nominal_peak_gflops": nominal,
        "peak_formula": f"{used} cores x {ghz} GHz x {lanes} lanes x 2 flop x {fma_units} FMA",
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def loadavg():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None
