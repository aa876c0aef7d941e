"""bench-distributed's report: scaling is 2-process samples/s over twice 1-process samples/s."""

from shendu import __main__ as cli
from shendu.bench import distributed


def _run(replicas, samples_per_s):
    program = {"samples_per_s": samples_per_s, "step_ms": 20.0, "wait_fraction": 0.1}
    program["gradient_mb"] = 0.5
    return {
        "replicas": replicas,
        "programs": {name: dict(program) for name in distributed.PROGRAMS},
        "allreduce": [{"mb": 4, "ms": 2.0, "bus_gb_s": 1.0}] if replicas > 1 else [],
    }


def test_the_report_says_scaling_and_bandwidth():
    text = distributed.markdown({1: _run(1, 1000.0), 2: _run(2, 1800.0)}, "2000-01-01")
    assert "| mnist_cnn | 0.50 | 1000 | 1800 | 90% | 20.0 / 20.0 | 10.0% |" in text
    assert "| 4 | 2.00 | 1.00 |" in text


def test_the_command_is_listed(capsys):
    assert cli.main(["no-such-command"]) == 2
    assert "bench-distributed" in capsys.readouterr().err
