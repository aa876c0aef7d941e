"""The models behind tests/data/keras_fixtures/rnn_wrappers/: Bidirectional, TimeDistributed,
Masking and Embedding(mask_zero=True) feeding the recurrent layers. Each builder takes a Keras
module (TensorFlow's or shendu's), so scripts/make_rnn_wrapper_fixtures.py (run with
TensorFlow) and tests/keras/test_rnn_wrappers_vs_tf.py build the same model from the same text.
Weights are seeded synthetic ones (keras_fixture_cases.synthetic_weights)."""

from __future__ import annotations

import os

import numpy as np

from tests.helpers.keras_fixture_cases import FIXTURES

WRAPPER_FIXTURES = os.path.join(FIXTURES, "rnn_wrappers")


def _padded_floats(rng):
    """(3, 6, 4) sequences padded with all-zero steps at the end (and one hole), for Masking."""
    x = rng.standard_normal((3, 6, 4)).astype(np.float32)
    x[0, 4:] = 0
    x[1, 2] = 0
    x[2, 1:] = 0
    return x


def _padded_ids(rng):
    ids = rng.integers(1, 12, (3, 7)).astype(np.int32)
    ids[0, 5:] = 0
    ids[1, 0] = 0
    ids[1, 3] = 0
    ids[2, 2:] = 0
    return ids


def _bidirectional(kind, merge_mode, masked, **kw):
    def build(k):
        inp = k.Input(shape=(6, 4))
        x = k.layers.Masking()(inp) if masked else inp
        rnn = getattr(k.layers, kind)(3, **kw)
        out = k.layers.Bidirectional(rnn, merge_mode=merge_mode)(x)
        return k.Model(inp, out)

    return build


def _embedded(kind, **kw):
    def build(k):
        inp = k.Input(shape=(7,), dtype="int32")
        x = k.layers.Embedding(12, 4, mask_zero=True)(inp)
        return k.Model(inp, getattr(k.layers, kind)(3, **kw)(x))

    return build


def _imdb_like(k):
    inp = k.Input(shape=(7,), dtype="int32")
    x = k.layers.Embedding(12, 4, mask_zero=True)(inp)
    x = k.layers.Bidirectional(k.layers.LSTM(3))(x)
    return k.Model(inp, k.layers.Dense(1, activation="sigmoid")(x))


def _time_distributed(k):
    inp = k.Input(shape=(5, 4))
    x = k.layers.LSTM(3, return_sequences=True)(inp)
    return k.Model(inp, k.layers.TimeDistributed(k.layers.Dense(2, activation="tanh"))(x))


SEQ = dict(return_sequences=True)
SEQ_STATE = dict(return_sequences=True, return_state=True)

CASES = {}
for _mode in ("concat", "sum", "mul", "ave", None):
    CASES[f"bidir_lstm_{_mode}_seq_state"] = dict(
        build=_bidirectional("LSTM", _mode, False, **SEQ_STATE), x=_padded_floats
    )
    CASES[f"bidir_gru_{_mode}_masked_seq"] = dict(
        build=_bidirectional("GRU", _mode, True, **SEQ), x=_padded_floats
    )
CASES["bidir_lstm_concat_masked_last_state"] = dict(
    build=_bidirectional("LSTM", "concat", True, return_state=True), x=_padded_floats
)
CASES["bidir_simple_rnn_sum_masked_last"] = dict(
    build=_bidirectional("SimpleRNN", "sum", True), x=_padded_floats
)
for _kind in ("LSTM", "GRU", "SimpleRNN"):
    CASES[f"embedding_mask_zero_{_kind.lower()}_seq"] = dict(
        build=_embedded(_kind, **SEQ), x=_padded_ids
    )
    CASES[f"embedding_mask_zero_{_kind.lower()}_last_state_backwards"] = dict(
        build=_embedded(_kind, return_state=True, go_backwards=True), x=_padded_ids
    )
CASES["embedding_mask_zero_bidir_lstm_dense"] = dict(build=_imdb_like, x=_padded_ids)
CASES["time_distributed_dense"] = dict(
    build=_time_distributed, x=lambda rng: rng.standard_normal((3, 5, 4)).astype(np.float32)
)
