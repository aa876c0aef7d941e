"""Smoke test of `python -m shendu bench` on its tiny config (slow: it starts one interpreter per
framework). Frameworks that are not installed must be skipped with a note, not fail the run."""

import importlib.util
import json

import pytest
from shendu import benchmarks


@pytest.mark.slow
def test_bench_tiny_run_writes_results(tmp_path):
    assert benchmarks.main(["--tiny", "--quick", "--out", str(tmp_path)]) == 0
    (result_file,) = tmp_path.glob("*.json")
    result = json.loads(result_file.read_text())
    assert result["machine"]["threads"] == 2
    gemm = next(r for r in result["kernels"] if r["family"] == "gemm")
    assert gemm["times"]["shendu"]["median_s"] > 0
    for fw in ("torch", "tensorflow"):
        if importlib.util.find_spec(fw) is None:
            assert any(
                n.startswith(benchmarks.LABELS[fw] + " is not installed") for n in result["notes"]
            )
    if importlib.util.find_spec("torch") is not None:
        assert "torch" in gemm["speedup"]
    assert [r["program"] for r in result["programs"]] == list(benchmarks.PROGRAMS)
    table = result_file.with_suffix(".md").read_text()
    assert gemm["id"] in table and "mnist_cnn" in table


def test_bench_rejects_unknown_framework(capsys):
    with pytest.raises(SystemExit):
        benchmarks.main(["--frameworks", "shendu,caffe"])
    assert "caffe" in capsys.readouterr().err
