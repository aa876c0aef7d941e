"""Synthetic "text" for the recurrent example programs (and the bench, which trains them): integer
sequences (N, 40) over a 10,000-word vocabulary in 10 classes.

Each class owns 20 keywords (scattered over the vocabulary). A position holds one of its own
class's keywords with probability 0.35, a keyword of a random class (possibly another one) with
probability 0.05, else a filler word drawn Zipf-like (exponent 1.2) from the whole vocabulary,
as in real text where a few words are very frequent and most are rare. So the class is "which
keyword set dominates", spread over the whole sequence with stray keywords as noise.

Why this shape: with keywords drawn from a 1,000-id band per class and uniform filler, each word
would occur ~2 times in 2,000 training sequences, the 640k-weight Embedding would memorize the
training set, and SimpleRNN would stay at chance in every framework, which makes a framework
comparison meaningless. Here each keyword occurs ~140 times, so all three recurrent models learn
it, while the rare filler words still let them overfit a little.
"""

import numpy as np

VOCAB, LENGTH, CLASSES = 10000, 40, 10
KEYWORDS = 20  # per class
P_OWN, P_STRAY = 0.35, 0.05
ZIPF = 1.2


def load(n_train=2000, n_test=500, seed=0):
    """((x_train, y_train), (x_test, y_test)): int32 (N, 40) word ids and int labels 0-9."""
    rng = np.random.default_rng(seed)
    words = rng.permutation(np.arange(1, VOCAB))  # id 0 stays free, as Keras's padding id
    keywords = words[: CLASSES * KEYWORDS].reshape(CLASSES, KEYWORDS)
    filler = words[CLASSES * KEYWORDS :]  # the filler word of each frequency rank
    freq = np.arange(1, filler.size + 1, dtype=np.float64) ** -ZIPF
    freq /= freq.sum()

    def make(n):
        y = rng.integers(0, CLASSES, n)
        u = rng.uniform(size=(n, LENGTH))
        own = keywords[y[:, None], rng.integers(0, KEYWORDS, (n, LENGTH))]
        stray = keywords[
            rng.integers(0, CLASSES, (n, LENGTH)), rng.integers(0, KEYWORDS, (n, LENGTH))
        ]
        noise = filler[rng.choice(filler.size, (n, LENGTH), p=freq)]
        x = np.where(u < P_OWN, own, np.where(u < P_OWN + P_STRAY, stray, noise))
        return x.astype(np.int32), y

    return make(n_train), make(n_test)
