"""python -m shendu info | demo [--epochs N] [--plot PATH] | bench [--quick] [...] | bench-gpu |
bench-distributed"""

from __future__ import annotations

import platform
import sys

import shendu


def info() -> None:
    import numpy as np

    import shendu
    from shendu import _cpu, ops

    print(f"shendu {shendu.__version__}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    print(f"compiler: {_cpu.compiler}")
    print(f"kernel ISA: {_cpu.isa()} (CPU supports {_cpu.detected_isa()})")
    print(f"threads: {shendu.get_num_threads()}")
    heap = "kept in the heap for reuse" if _cpu.malloc_tuned else "glibc's settings"
    print(f"large freed blocks: {heap}")
    print(f"backend: {shendu.get_backend()}")
    if ops._cuda is None:
        print("CUDA module: not built")
    else:
        version = ops._cuda._k.CUDA_RUNTIME_VERSION
        print(f"CUDA module: built (CUDA runtime {version // 1000}.{version % 1000 // 10})")
        wheel = ops._cuda.cupy_wheel()
        print(f"CuPy: {ops._cuda.cupy_version() or f'not installed (GPU arrays need {wheel})'}")
        try:
            print(f"GPU: {ops._cuda.device_name()}")
        except Exception as exc:  # no driver, no device: say so rather than fail
            print(f"GPU: none visible ({exc})")


def demo(argv: list[str]) -> None:
    """Trains the Keras MNIST convnet of examples/mnist_cnn.py on the MNIST sample shipped with
    shendu, validating on the sample's test digits after each epoch for the training curves."""
    import argparse
    import time

    parser = argparse.ArgumentParser(prog="python -m shendu demo")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument(
        "--plot",
        default="shendu_demo_training.png",
        help="where to write the training-curve PNG (needs matplotlib)",
    )
    args = parser.parse_args(argv)

    from shendu import keras
    from shendu.bench import examples

    program = examples.load("mnist_cnn")
    keras.utils.set_random_seed(0)
    data = examples.sample_data(program)
    (x_train, _), test = data
    print(f"MNIST sample: {len(x_train)} training and {len(test[0])} test digits")
    model = program.build_model()
    model.summary()
    start = time.perf_counter()
    history = program.fit(model, data, epochs=args.epochs, validation_data=test)
    seconds = time.perf_counter() - start
    print(f"test accuracy: {program.test_accuracy(model, data, verbose=0):.4f}")
    print(
        f"training time: {seconds:.1f} s ({shendu.get_num_threads()} threads, "
        f"{shendu.get_backend()} backend)"
    )
    _plot(history.history, args.plot)


def _plot(history: dict, path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no training-curve plot")
        return
    epochs = range(1, len(history["loss"]) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    for key, axis in (("loss", left), ("accuracy", right)):
        axis.plot(epochs, history[key], "o-", label="train")
        if f"val_{key}" in history:
            axis.plot(epochs, history[f"val_{key}"], "o-", label="test")
        axis.set_xlabel("epoch")
        axis.set_title(key)
        axis.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"training curves: {path}")


def _bench(argv: list[str]) -> int:
    from .bench import cli

    return cli.main(argv)


def _bench_gpu(argv: list[str]) -> int:
    from .bench import gpu

    return gpu.main(argv)


def _bench_distributed(argv: list[str]) -> int:
    from .bench import distributed

    return distributed.main(argv)


def main(argv: list[str]) -> int:
    commands = {
        "info": lambda rest: info(),
        "demo": demo,
        "bench": _bench,
        "bench-gpu": _bench_gpu,
        "bench-distributed": _bench_distributed,
    }
    if not argv or argv[0] not in commands or (argv[0] == "info" and len(argv) != 1):
        print(f"usage: python -m shendu {{{'|'.join(commands)}}}", file=sys.stderr)
        return 2
    return commands[argv[0]](argv[1:]) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
