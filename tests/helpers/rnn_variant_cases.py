"""The models behind tests/data/keras_fixtures/rnn_variants/: GRU reset_after=False (the classic
GRU) and the recurrent layers with other activations, plain, masked, backwards and in a
Bidirectional wrapper. Built by scripts/make_rnn_variant_fixtures.py (with TensorFlow) and
tests/keras/test_rnn_variants_vs_tf.py (with shendu) from the same text, with seeded synthetic
weights (keras_fixture_cases.synthetic_weights)."""

from __future__ import annotations

import os

import numpy as np

from tests.helpers.keras_fixture_cases import FIXTURES
from tests.helpers.rnn_wrapper_cases import SEQ, SEQ_STATE, _padded_floats

VARIANT_FIXTURES = os.path.join(FIXTURES, "rnn_variants")


def _floats(rng):
    return rng.standard_normal((3, 6, 4)).astype(np.float32)


def _rnn(kind, masked=False, bidirectional=False, **kw):
    def build(k):
        inp = k.Input(shape=(6, 4))
        x = k.layers.Masking()(inp) if masked else inp
        layer = getattr(k.layers, kind)(3, **kw)
        if bidirectional:
            layer = k.layers.Bidirectional(layer)
        return k.Model(inp, layer(x))

    return build


def _case(kind, masked=False, bidirectional=False, **kw):
    x = _padded_floats if masked else _floats
    return dict(build=_rnn(kind, masked, bidirectional, **kw), x=x)


CLASSIC = dict(reset_after=False)
CASES = {
    "gru_reset_before_seq": _case("GRU", **CLASSIC, **SEQ),
    "gru_reset_before_last_state": _case("GRU", **CLASSIC, return_state=True),
    "gru_reset_before_backwards_seq_state": _case("GRU", **CLASSIC, **SEQ_STATE, go_backwards=True),
    "gru_reset_before_masked_seq_state": _case("GRU", True, **CLASSIC, **SEQ_STATE),
    "gru_reset_before_masked_last_backwards": _case("GRU", True, **CLASSIC, go_backwards=True),
    "gru_reset_before_no_bias_seq": _case("GRU", **CLASSIC, use_bias=False, **SEQ),
    "gru_reset_before_bidir_masked_seq": _case("GRU", True, True, **CLASSIC, **SEQ),
    "gru_reset_before_relu_hard_sigmoid_seq": _case(
        "GRU", **CLASSIC, activation="relu", recurrent_activation="hard_sigmoid", **SEQ
    ),
    "gru_relu_seq_state": _case("GRU", activation="relu", **SEQ_STATE),
    "gru_relu_masked_last": _case("GRU", True, activation="relu"),
    "simple_rnn_relu_seq": _case("SimpleRNN", activation="relu", **SEQ),
    "simple_rnn_relu_masked_last_state_backwards": _case(
        "SimpleRNN", True, activation="relu", return_state=True, go_backwards=True
    ),
    "simple_rnn_linear_seq": _case("SimpleRNN", activation=None, **SEQ),
    "lstm_hard_sigmoid_seq_state": _case("LSTM", recurrent_activation="hard_sigmoid", **SEQ_STATE),
    "lstm_hard_sigmoid_masked_seq": _case("LSTM", True, recurrent_activation="hard_sigmoid", **SEQ),
    "lstm_relu_sigmoid_bidir_last": _case("LSTM", False, True, activation="relu"),
    "lstm_linear_tanh_seq": _case("LSTM", activation="linear", recurrent_activation="tanh", **SEQ),
}
