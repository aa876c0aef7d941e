"""MNIST for the examples: Keras's load_data(), or shendu's shipped sample with --sample
(or SHENDU_EXAMPLES_SAMPLE=1) for a quick run without the 11 MB download."""

import os
import sys

from shendu import keras


def load():
    if "--sample" in sys.argv or os.environ.get("SHENDU_EXAMPLES_SAMPLE") == "1":
        return keras.datasets.mnist.load_sample()
    return keras.datasets.mnist.load_data()
