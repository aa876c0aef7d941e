"""Shared by the tests/test_keras_*.py files: skip a test until the kernels it needs have landed."""

import pytest

from shendu import _cpu, reference


def requires(*names):
    missing = [n for n in names if not hasattr(_cpu, n) or not hasattr(reference, n)]
    return pytest.mark.skipif(bool(missing), reason=f"ops not built yet: {', '.join(missing)}")


DENSE = ("dense", "dense_backward", "sparse_softmax_cross_entropy", "adam_update")
CONV = DENSE + ("conv2d", "conv2d_backward", "max_pool2d", "max_pool2d_backward")
RNN = DENSE + ("embedding", "embedding_backward", "lstm", "lstm_backward", "gru", "gru_backward",
               "simple_rnn", "simple_rnn_backward")
