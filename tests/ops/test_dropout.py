"""Dropout: counter-based masks identical to the NumPy twin, statistically sound, bad input."""

import math

import numpy as np
import pytest
from shendu import ops, reference

from tests.helpers.threads import run_with_threads


@pytest.mark.parametrize("shape", [(0,), (1,), (7, 33), (4, 257), (2, 0, 3), ()])
@pytest.mark.parametrize("rate", [0.0, 0.1, 0.5, 0.9, 0.999])
@pytest.mark.parametrize("seed", [0, 1, 2**32 + 7, 2**62])
def test_mask_bit_identical_to_reference(rng, shape, rate, seed):
    x = rng.standard_normal(shape).astype(np.float32)
    y, mask = ops.dropout(x, rate, seed)
    y_ref, mask_ref = reference.dropout(x, rate, seed)
    assert y.shape == mask.shape == shape and y.dtype == mask.dtype == np.float32
    np.testing.assert_array_equal(mask, mask_ref)
    np.testing.assert_array_equal(y, y_ref)
    assert set(np.unique(mask)) <= {np.float32(0), np.float32(1 / (1 - rate))}


def test_rate_compared_exactly_like_the_reference():
    # Element 0's uniform u is a multiple of 2**-24: a rate of exactly u keeps it, the next
    # double above drops it. A kernel comparing in float32 would get one of these wrong.
    counters = np.arange(1, dtype=np.uint64)
    u = float((reference._splitmix64(counters) >> np.uint64(40))[0]) / 2**24
    x = np.ones(1, np.float32)
    assert ops.dropout(x, u, 0)[1][0] != 0
    assert ops.dropout(x, math.nextafter(u, 1.0), 0)[1][0] == 0


@pytest.mark.parametrize("rate", [0.05, 0.3, 0.5, 0.8])
@pytest.mark.parametrize("seed", [0, 12345])
def test_statistics(rate, seed):
    n = 100_000
    dropped = ops.dropout(np.ones(n, np.float32), rate, seed)[1] == 0
    sigma = math.sqrt(rate * (1 - rate) / n)
    assert abs(dropped.mean() - rate) < 5 * sigma
    # Neighbours independent: P(both dropped) = rate**2. A counter RNG with a weak mixer
    # (e.g. the raw counter) fails this even when the overall fraction is right.
    both = (dropped[1:] & dropped[:-1]).mean()
    assert abs(both - rate**2) < 5 * math.sqrt(rate**2 * (1 - rate**2) / (n - 1))
    # Another seed gives an independent mask: they disagree with probability 2 rate (1 - rate).
    other = ops.dropout(np.ones(n, np.float32), rate, seed + 1)[1] == 0
    p = 2 * rate * (1 - rate)
    assert abs((dropped != other).mean() - p) < 5 * math.sqrt(p * (1 - p) / n)


def test_rate_zero_keeps_everything(rng):
    x = rng.standard_normal((33, 7)).astype(np.float32)
    y, mask = ops.dropout(x, 0.0, 5)
    np.testing.assert_array_equal(mask, np.ones_like(x))
    np.testing.assert_array_equal(y, x)


def test_identical_with_one_and_two_threads(rng):
    x = rng.standard_normal((300, 257)).astype(np.float32)
    one = run_with_threads(1, lambda: ops.dropout(x, 0.4, 99))
    two = run_with_threads(2, lambda: ops.dropout(x, 0.4, 99))
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])


def test_views_ints_numpy_seed_and_nan():
    x = np.arange(40, dtype=np.int64).reshape(4, 10)[:, ::3]  # non-contiguous integers
    y, mask = ops.dropout(x, 0.5, np.int64(3))
    np.testing.assert_array_equal(mask, reference.dropout(x, 0.5, 3)[1])
    np.testing.assert_array_equal(y, x.astype(np.float32) * mask)
    y, mask = ops.dropout(np.array([np.nan, np.inf], np.float32), 0.0, 0)
    assert np.isnan(y[0]) and np.isposinf(y[1])


@pytest.mark.parametrize(
    "x, rate, seed, err, match",
    [
        (np.ones(3), 1.0, 0, ValueError, r"rate: expected a number in \[0, 1\)"),
        (np.ones(3), -0.1, 0, ValueError, r"rate: expected a number in \[0, 1\)"),
        (np.ones(3), float("nan"), 0, ValueError, "rate: expected a finite number"),
        (np.ones(3), "0.5", 0, TypeError, "rate: expected a number"),
        (np.ones(3), None, 0, TypeError, "rate: expected a number"),
        (np.ones(3), 0.5, -1, ValueError, "seed: expected an int >= 0"),
        (np.ones(3), 0.5, 2**64, ValueError, "seed: expected an int >= 0"),
        (np.ones(3), 0.5, 1.5, TypeError, "seed: expected an int"),
        (np.ones(3), 0.5, True, TypeError, "seed: expected an int"),
        (np.ones(3, complex), 0.5, 0, TypeError, "x: expected real numbers"),
        (np.array(["a"]), 0.5, 0, TypeError, "x: expected real numbers"),
    ],
)
def test_bad_input(x, rate, seed, err, match):
    with pytest.raises(err, match=match):
        ops.dropout(x, rate, seed)
