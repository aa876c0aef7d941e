"""GRU reset_after=False and the recurrent layers' other activations against frozen
TensorFlow-Keras 3 answers (tests/data/keras_fixtures/rnn_variants/, written by
scripts/make_rnn_variant_fixtures.py from the models in tests/helpers/rnn_variant_cases.py):
outputs, input and weight gradients of a fixed projection of the outputs, one Adam step."""

import glob
import os

import pytest

from tests.helpers.rnn_variant_cases import CASES, VARIANT_FIXTURES
from tests.keras.test_rnn_wrappers_vs_tf import check_case

NAMES = sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(VARIANT_FIXTURES, "*.npz")))


def test_every_case_has_a_fixture():
    assert set(NAMES) == set(CASES)


@pytest.mark.parametrize("name", NAMES)
def test_outputs_and_gradients_match_tf(name):
    check_case(CASES, VARIANT_FIXTURES, name)
