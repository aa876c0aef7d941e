"""Runs every example program under shendu or under TensorFlow-Keras with the same program text
(only the imports changed, see tests/keras_fixture_cases.load_example) and prints one line per
program: name, framework, the final metric line the program printed, wall seconds.

    PYTHONPATH=python python scripts/keras_parity.py shendu [example ...]
    PYTHONPATH=python /work/benchenv/bin/python scripts/keras_parity.py tf [example ...]

MNIST programs run on the shipped sample (--sample). The results go, by hand, into
bench/results/keras_parity.md.
"""

import contextlib
import glob
import io
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from keras_fixture_cases import EXAMPLES, load_example  # noqa: E402


def main(framework, names):
    if framework == "tf":
        import tensorflow as tf
        keras = tf.keras
    else:
        from shendu import keras
    sys.argv[1:] = ["--sample"]  # examples/_mnist.py: the shipped MNIST sample
    names = names or sorted(os.path.basename(p)[:-3]
                            for p in glob.glob(os.path.join(EXAMPLES, "[!_]*.py")))
    for name in names:
        module = load_example(name, keras)
        out = io.StringIO()
        start = time.perf_counter()
        with contextlib.redirect_stdout(out):
            module.main()
        seconds = time.perf_counter() - start
        last = out.getvalue().strip().splitlines()[-1]
        print(f"{name} | {framework} | {last} | {seconds:.0f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
