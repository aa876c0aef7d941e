"""Synthetic "text" for the recurrent examples: integer sequences (N, 40) over a 10,000-word
vocabulary in 10 classes; each class prefers its own band of word ids, so the class is learnable
from the tokens but noisy."""

import numpy as np

VOCAB, LENGTH, CLASSES = 10000, 40, 10


def load(n_train=2000, n_test=500, seed=0):
    rng = np.random.default_rng(seed)

    def make(n):
        y = rng.integers(0, CLASSES, n)
        band = VOCAB // CLASSES
        topical = y[:, None] * band + rng.integers(0, band, (n, LENGTH))
        noise = rng.integers(1, VOCAB, (n, LENGTH))
        x = np.where(rng.uniform(size=(n, LENGTH)) < 0.3, topical, noise)
        return x.astype(np.int32), y

    return make(n_train), make(n_test)
