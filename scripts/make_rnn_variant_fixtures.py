"""Writes tests/data/keras_fixtures/rnn_variants/<case>.npz from TensorFlow-Keras, which
tests/keras/test_rnn_variants_vs_tf.py holds shendu.keras to: the models of
tests/helpers/rnn_variant_cases.py (GRU reset_after=False, other cell activations), recorded as
scripts/make_rnn_wrapper_fixtures.py records its own (outputs, input and weight gradients, one
Adam step).

Run with a TensorFlow 2.x / Keras 3 environment, from the repository root:
    python scripts/make_rnn_variant_fixtures.py [case ...]
"""

import os
import sys

sys.path[:0] = [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]

from scripts.make_rnn_wrapper_fixtures import main  # noqa: E402
from tests.helpers.rnn_variant_cases import CASES, VARIANT_FIXTURES  # noqa: E402

if __name__ == "__main__":
    main(sys.argv[1:], CASES, VARIANT_FIXTURES)
