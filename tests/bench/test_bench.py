"""Smoke test of `python -m shendu bench` on its tiny config (slow: it starts one interpreter per
framework). Frameworks that are not installed must be skipped with a note, not fail the run."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest
from shendu import _cpu
from shendu.bench import cli, history, libraries, machine, merge, report, worker, workloads


@pytest.mark.slow
def test_bench_tiny_run_writes_results(tmp_path):
    assert cli.main(["--tiny", "--quick", "--out", str(tmp_path)]) == 0
    (result_file,) = tmp_path.glob("*.json")
    result = json.loads(result_file.read_text())
    assert result["machine"]["threads"] == 2
    gemm = next(r for r in result["kernels"] if r["family"] == "gemm")
    assert gemm["times"]["shendu"]["median_s"] > 0
    for fw in ("torch", "tensorflow"):
        if importlib.util.find_spec(fw) is None:
            assert any(
                n.startswith(workloads.LABELS[fw] + " is not installed") for n in result["notes"]
            )
    if importlib.util.find_spec("torch") is not None:
        assert "torch" in gemm["speedup"]
    assert [r["program"] for r in result["programs"]] == list(workloads.PROGRAMS)
    table = result_file.with_suffix(".md").read_text()
    assert gemm["id"] in table and "mnist_cnn" in table


def test_bench_rejects_unknown_framework(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--frameworks", "shendu,caffe"])
    assert "caffe" in capsys.readouterr().err


def test_bench_rejects_rounds_below_one(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--rounds", "0"])
    assert "--rounds" in capsys.readouterr().err


def test_fma_probe_measures_a_rate_per_isa(isa, set_threads):
    set_threads(2)
    one = _cpu.fma_peak_gflops(1, 0.02)
    both = _cpu.fma_peak_gflops(2, 0.02)
    # A rate, not a count of work: no machine does under a GFLOP/s or beyond 100 TFLOP/s per core.
    assert 1.0 < one < 1e5 and 1.0 < both < 2e5


@pytest.mark.parametrize(
    "threads, seconds", [(0, 0.1), (-1, 0.1), (1, 0.0), (1, -1.0), (1, 11.0), (1, float("nan"))]
)
def test_fma_probe_rejects_bad_arguments(threads, seconds):
    with pytest.raises(ValueError, match="threads" if threads < 1 else "seconds"):
        _cpu.fma_peak_gflops(threads, seconds)


def test_machine_peak_is_measured_unless_a_clock_is_given(monkeypatch):
    calls = []

    def probe(threads, seconds):
        calls.append((threads, seconds))
        return 100.0 + len(calls)  # the best of the runs counts

    monkeypatch.setattr(_cpu, "fma_peak_gflops", probe)
    measured = machine.machine_info(2)
    used = measured["peak_threads"]
    assert used == min(2, measured["physical_cores"])
    assert measured["peak_gflops"] == measured["measured_peak_gflops"] == used * 103.0
    assert measured["measured_peak_isa"] == _cpu.isa()
    assert calls == [(1, 0.2)] * 3
    table = report.markdown(_result_with_machine(measured))
    assert f"FMA peak fp32: {used * 103.0:.0f} GFLOP/s measured" in table

    given = machine.machine_info(2, ghz=3.0)
    assert given["measured_peak_gflops"] is None
    assert (
        given["peak_gflops"]
        == given["nominal_peak_gflops"]
        == pytest.approx(used * 3.0 * given["fma_lanes_fp32"] * 2 * given["fma_units"])
    )
    (peak_line,) = [
        line
        for line in report.markdown(_result_with_machine(given)).splitlines()
        if line.startswith("FMA peak fp32:")
    ]
    assert "measured" not in peak_line and "given with --ghz" in peak_line
    assert machine.machine_info(2, measure=False)["measured_peak_gflops"] is None
    assert len(calls) == 3


def _result_with_machine(machine):
    config = {"threads": 2, "repeats": 3, "rounds": 1, "stat": "median", "suite": "kernels"}
    return {
        "date": "2026-11-26T00:00:00",
        "machine": machine,
        "config": config,
        "versions": {},
        "notes": [],
        "kernels": [],
        "programs": [],
        "load_average_before": None,
    }


def _fake_round(per_fw, shendu_s, numpy_s, fit_s, torch_fit_s):
    kernel = {"time_s": shendu_s, "median_s": shendu_s, "min_s": shendu_s / 2, "samples": [1.0]}
    merge.gather(
        per_fw,
        "shendu",
        {
            "kernels": {"k": kernel},
            "programs": {"p": {"fit_s": fit_s, "accuracy": 0.9 + fit_s / 100}},
        },
    )
    merge.gather(
        per_fw,
        "numpy",
        {"kernels": {"k": dict(kernel, time_s=numpy_s, median_s=numpy_s, min_s=numpy_s)}},
    )
    merge.gather(per_fw, "torch", {"programs": {"p": {"fit_s": torch_fit_s, "accuracy": 0.9}}})


def test_rounds_report_medians_and_the_range_of_paired_speedups():
    per_fw = {}
    # Round by round: shendu 1, 2, 4 s against NumPy 3, 3, 5 s -> speed-ups 3, 1.5, 1.25.
    for shendu_s, numpy_s, fit_s, torch_fit_s in [(1, 3, 2, 8), (2, 3, 3, 6), (4, 5, 5, 6)]:
        _fake_round(per_fw, shendu_s, numpy_s, fit_s, torch_fit_s)
    work = [{"id": "k", "family": "gemm", "target": {"vs": "numpy", "speedup": 1.3}}]
    (row,) = merge.merge_kernels(work, per_fw, {})
    shendu_t = row["times"]["shendu"]
    assert shendu_t["rounds"] == [1, 2, 4] and shendu_t["time_s"] == 2
    assert shendu_t["min_s"] == 0.5 and shendu_t["samples"] == [1.0, 1.0, 1.0]
    assert row["speedup"]["numpy"] == 3 / 2  # medians 3 s / 2 s: met
    assert row["speedup_range"]["numpy"] == (1.25, 3.0) and row["met"] is True
    (prog,) = merge.merge_programs(["p"], {"p": 1}, per_fw)
    assert prog["results"]["shendu"]["fit_s"] == 3 and prog["speedup_vs_best"] == 2.0
    assert prog["speedup_range"]["best"] == (1.2, 4.0)
    assert prog["results"]["shendu"]["accuracy"] == pytest.approx(0.93)
    result = {
        "date": "d",
        "machine": {
            "cpu_model": "cpu",
            "physical_cores": 2,
            "logical_cpus": 2,
            "isa": "avx2",
            "threads": 2,
            "python": "3",
        },
        "config": {"stat": "median", "repeats": 3, "rounds": 3},
        "versions": {},
        "notes": [],
        "kernels": [row],
        "programs": [prog],
    }
    table = report.markdown(result)
    assert "| 1.50x (1.25-3.00) |" in table and "| 2.00x (1.20-4.00) |" in table
    assert "3 rounds" in table


def _openblas_kernel(env_extra):
    """The kernel architecture OpenBLAS picks in a fresh NumPy process with env_extra set."""
    env = {k: v for k, v in os.environ.items() if k not in libraries.OPENBLAS_OVERRIDES}
    code = (
        "import numpy, threadpoolctl; "
        "print([p.get('architecture') for p in threadpoolctl.threadpool_info()"
        " if p['internal_api'] == 'openblas'][0])"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env=dict(env, **env_extra), capture_output=True, text=True
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


def test_numpy_worker_runs_without_openblas_overrides_and_reports_its_kernel(tmp_path, monkeypatch):
    pytest.importorskip("threadpoolctl")
    own, forced = _openblas_kernel({}), _openblas_kernel({"OPENBLAS_CORETYPE": "Prescott"})
    if own is None or own == forced:
        pytest.skip("NumPy's BLAS is not an OpenBLAS that OPENBLAS_CORETYPE changes")
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Prescott")
    monkeypatch.setenv("OPENBLAS_L2_SIZE", "65536")
    notes = []
    config = {"repeats": 1, "tiny": True, "stat": "median", "only": ["sgemm 64x64x64 AB"]}
    res = worker.run(sys.executable, "numpy", "kernels", 1, str(tmp_path), notes, config)
    assert notes == [] and "sgemm 64x64x64 AB" in res["kernels"]
    info = res["libraries"]["numpy"]
    assert info["unset"] == {"OPENBLAS_CORETYPE": "Prescott", "OPENBLAS_L2_SIZE": "65536"}
    (pool,) = [p for p in info["threadpools"] if p["internal_api"] == "openblas"]
    assert pool["architecture"] == own and pool["threads"] == 1
    text = libraries.describe(info)
    assert f"kernel {own}, 1 threads" in text and "without OPENBLAS_CORETYPE=Prescott" in text


def test_report_names_what_each_framework_ran():
    result = _result_with_machine(machine.machine_info(2, measure=False))
    result["libraries"] = {
        "numpy": {
            "threadpools": [
                {
                    "internal_api": "openblas",
                    "version": "0.3.27",
                    "architecture": "SkylakeX",
                    "threads": 2,
                    "library": "libopenblas.so",
                }
            ]
        },
        "torch": {"blas": "mkl", "onednn": True, "threads": 2, "threadpools": []},
        "tensorflow": {"TF_ENABLE_ONEDNN_OPTS": None, "onednn": True},
        "shendu": {},
    }
    table = report.markdown(result)
    assert "- NumPy: openblas 0.3.27 (libopenblas.so, kernel SkylakeX, 2 threads)" in table
    assert "- PyTorch: built with BLAS mkl, oneDNN on" in table
    assert "- TF-Keras: oneDNN on (TF_ENABLE_ONEDNN_OPTS unset: TensorFlow's default)" in table
    assert "- shendu:" not in table


def test_history_gets_one_line_per_run(tmp_path):
    path = tmp_path / "HISTORY.md"
    result = _result_with_machine({})
    result["config"]["quick"] = True
    result["programs"] = [{"program": "mnist_cnn", "speedup_vs_best": 3.084}]
    result["kernels"] = [{"id": "sgemm 1024x1024x1024 AB", "speedup": {"numpy": 0.9, "torch": 2}}]
    history.append(str(path), result)
    result["date"] = "2026-11-27T09:05:00"
    history.append(str(path), result)
    lines = path.read_text().splitlines()
    assert sum(line.startswith("| run |") for line in lines) == 1
    rows = [line for line in lines if line.startswith("| 2026")]
    columns = lines[lines.index(next(ln for ln in lines if ln.startswith("| run |")))].split(" | ")
    cells = rows[0].split(" | ")
    assert cells[0] == "| 2026-11-26 00:00" and cells[1] == "kernels, quick"
    assert cells[columns.index("mnist_cnn")] == "3.08x"
    assert cells[columns.index("SGEMM 1024 vs NumPy")] == "0.90x"
    assert cells[columns.index("lstm_text")] == "–"
    assert rows[1].startswith("| 2026-11-27 09:05 |")


def _loop_rounds(fit_variants):
    """Two rounds of the custom-loop program: the loop 1.0 and 1.2 s on shendu, fit of the same
    model fit_variants[i], TF 3 s as tf.function and 6-8 s eagerly, PyTorch 2.5 s."""
    per_fw = {}
    for i, fit_s in enumerate(fit_variants):
        loop = {"fit_s": 1.0 + 0.2 * i, "accuracy": 0.9, "variants": {"fit": fit_s}}
        merge.gather(per_fw, "shendu", {"programs": {"custom_training_loop": loop}})
        tf = {"fit_s": 3.0, "accuracy": 0.9, "variants": {"eager": 6.0 + 2 * i}}
        merge.gather(per_fw, "tensorflow", {"programs": {"custom_training_loop": tf}})
        torch = {"fit_s": 2.5, "accuracy": 0.9}
        merge.gather(per_fw, "torch", {"programs": {"custom_training_loop": torch}})
    (row,) = merge.merge_programs(["custom_training_loop"], {"custom_training_loop": 1}, per_fw)
    return row


def test_a_custom_loop_row_compares_the_loop_with_fit_and_eager_tensorflow():
    row = _loop_rounds([1.0, 1.2])  # medians: loop 1.1 s, fit 1.1 s, TF eager 7 s
    assert row["results"]["shendu"]["variants"] == {"fit": pytest.approx(1.1)}
    assert row["loop_vs_fit"] == pytest.approx(1.0)
    assert row["speedup_vs_tf_eager"] == pytest.approx(7.0 / 1.1)
    assert row["speedup_vs_best"] == pytest.approx(2.5 / 1.1) and row["met"] is True
    slower = _loop_rounds([0.9, 1.0])  # the loop 1.1 s against fit's 0.95 s: over 10 % slower
    assert slower["loop_vs_fit"] == pytest.approx(1.1 / 0.95) and slower["met"] is False
    result = _result_with_machine({})
    result["machine"] = dict(
        cpu_model="cpu", physical_cores=2, logical_cpus=2, isa="avx2", threads=2, python="3"
    )
    result["programs"] = [slower]
    table = report.markdown(result)
    # The program's row in the programs' table, then in the custom loops' table.
    _, line = [ln for ln in table.splitlines() if ln.startswith("| custom_training_loop |")]
    cells = line.split(" | ")
    assert cells[2:5] == ["1.10 s", "950 ms", "1.16"]
    assert cells[5:8] == ["3.00 s", "7.00 s", "2.50 s"] and cells[9] == "6.36x"
    assert cells[-1] == "**no** |"


def test_history_starts_a_new_table_when_the_columns_change(tmp_path, monkeypatch):
    path = tmp_path / "HISTORY.md"
    result = _result_with_machine({})
    result["programs"] = [{"program": "mnist_cnn", "speedup_vs_best": 3.0}]
    monkeypatch.setattr(history, "PROGRAMS", ("mnist_cnn",))
    history.append(str(path), result)
    monkeypatch.setattr(history, "PROGRAMS", ("mnist_cnn", "cifar_cnn_bn"))
    history.append(str(path), result)
    history.append(str(path), result)
    lines = path.read_text().splitlines()
    headers = [i for i, line in enumerate(lines) if line.startswith("| run |")]
    assert len(headers) == 2 and "cifar_cnn_bn" in lines[headers[1]]
    assert "cifar_cnn_bn" not in lines[headers[0]]
    assert len([line for line in lines[headers[1] :] if line.startswith("| 2026")]) == 2
    assert lines[headers[1] - 1] == ""
