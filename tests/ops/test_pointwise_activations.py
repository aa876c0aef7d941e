"""ops.activation (gelu, silu, elu, ...): native vs NumPy twin on every ISA, known values,
threads, float64 finite differences of the twin's backward, NaN, bad input."""

import math

import numpy as np
import pytest
from shendu import _pointwise, ops, reference

from tests.helpers.gradcheck import check_gradient, random_projection

NAMES = list(_pointwise.NAMES)
SHAPES = [(1,), (7,), (33,), (257,), (3, 5, 257), (0, 7)]
# float32 kernels (polynomial exp/erf; gelu_approximate's derivative sums rounded products)
# against the float64 twin, relative to max(1, |value|).
TOL = 1e-5


def close(got, want):
    want = np.asarray(want, np.float64)
    err = np.abs(got - want) / np.maximum(1, np.abs(want))
    assert err.size == 0 or np.nanmax(err) < TOL, (np.nanmax(err), got, want)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", SHAPES)
def test_matches_reference(rng, isa, name, shape):
    x = (4 * rng.standard_normal(shape)).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    y = ops.activation(x, name)
    assert y.shape == shape and y.dtype == np.float32
    x64 = x.astype(np.float64)
    y64 = reference.activation(x64, name)
    close(y, y64)
    close(
        ops.activation_backward(dy, x, y, name), reference.activation_backward(dy, x64, y64, name)
    )


# Values from the definitions, computed here with math (not with the code under test).
def _gelu(v):
    return 0.5 * v * (1 + math.erf(v / math.sqrt(2)))


KNOWN = {
    "gelu": _gelu,
    "gelu_approximate": lambda v: (
        0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v**3)))
    ),
    "silu": lambda v: v / (1 + math.exp(-v)),
    "elu": lambda v: v if v > 0 else math.expm1(v),
    "selu": lambda v: 1.0507009873554805 * (v if v > 0 else 1.6732632423543772 * math.expm1(v)),
    "softplus": lambda v: math.log1p(math.exp(v)),
    "softsign": lambda v: v / (1 + abs(v)),
    "hard_sigmoid": lambda v: min(max(v + 3, 0), 6) / 6,
    "hard_silu": lambda v: v * min(max(v + 3, 0), 6) / 6,
    "leaky_relu": lambda v: v if v > 0 else 0.2 * v,
    "exponential": math.exp,
    "relu6": lambda v: min(max(v, 0), 6),
    "mish": lambda v: v * math.tanh(math.log1p(math.exp(v))),
}


@pytest.mark.parametrize("name", NAMES)
def test_known_values(isa, name):
    x = np.array([-7.5, -3.0, -1.0, -1e-4, 0.0, 1e-4, 0.5, 2.0, 3.0, 6.5, 20.0], np.float32)
    close(ops.activation(x, name), [KNOWN[name](float(v)) for v in x])


def test_alpha_reaches_elu_and_leaky_relu(isa):
    x = np.array([-2.0, -0.5, 1.5], np.float32)
    close(ops.activation(x, "elu", 0.5), [0.5 * math.expm1(-2), 0.5 * math.expm1(-0.5), 1.5])
    close(ops.activation(x, "leaky_relu", 0.3), [-0.6, -0.15, 1.5])
    y = ops.activation(x, "leaky_relu", 0.3)
    close(ops.activation_backward(np.ones(3, np.float32), x, y, "leaky_relu", 0.3), [0.3, 0.3, 1])


def test_large_inputs_saturate(isa):
    x = np.array([-1e30, -100, 100, 1e30], np.float32)
    close(ops.activation(x, "softplus"), [0, 0, 100, 1e30])
    close(ops.activation(x, "gelu"), [0, 0, 100, 1e30])
    close(ops.activation(x, "silu"), [0, 0, 100, 1e30])
    close(ops.activation(x, "elu"), [-1, -1, 100, 1e30])


@pytest.mark.parametrize("name", NAMES)
def test_same_with_one_and_two_threads(rng, set_threads, name):
    x = (4 * rng.standard_normal((300, 257))).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)

    def run():
        y = ops.activation(x, name)
        return y, ops.activation_backward(dy, x, y, name)

    set_threads(1)
    one = run()
    set_threads(2)
    for a, b in zip(one, run()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", NAMES)
def test_gradient(name):
    rng = np.random.default_rng(7)
    x = 2 * rng.standard_normal((4, 6))
    # Keep away from the kinks (0 for elu/leaky_relu/relu6, +-3 and 6), where slopes jump.
    for kink in (0.0, 3.0, -3.0, 6.0):
        x[np.abs(x - kink) < 0.05] += 0.1
    alpha = {"elu": 0.7, "leaky_relu": 0.3}.get(name)
    r = random_projection(x.shape)
    y = reference.activation(x, name, alpha)
    analytic = reference.activation_backward(r, x, y, name, alpha)
    assert analytic.dtype == np.float64
    check_gradient(lambda: np.sum(reference.activation(x, name, alpha) * r), x, analytic)


@pytest.mark.parametrize("name", NAMES)
def test_propagates_nan(isa, name):
    x = np.array([np.nan, 1.0], np.float32)
    assert np.isnan(ops.activation(x, name)[0])


def test_accepts_views_and_ints():
    x = np.arange(24, dtype=np.int64).reshape(4, 6)[:, ::2] - 5
    np.testing.assert_allclose(
        ops.activation(x, "silu"), reference.activation(x.astype(np.float64), "silu"), rtol=1e-6
    )


@pytest.mark.parametrize(
    "call, err, match",
    [
        (lambda: ops.activation(np.ones(3), "swishy"), ValueError, "name: expected one of"),
        (lambda: ops.activation(np.ones(3), 3), TypeError, "name: expected one of"),
        (lambda: ops.activation(np.ones(3), "elu", float("nan")), ValueError, "alpha"),
        (lambda: ops.activation(np.ones(3), "elu", "big"), TypeError, "alpha"),
        (lambda: ops.activation(np.array(["a"]), "elu"), TypeError, "x"),
        (
            lambda: ops.activation_backward(np.ones(3), np.ones(4), np.ones(3), "gelu"),
            ValueError,
            "x: expected the shape of dy",
        ),
        (
            lambda: ops.activation_backward(np.ones(3), np.ones(3), np.ones(2), "gelu"),
            ValueError,
            "y: expected the shape of dy",
        ),
    ],
)
def test_bad_input(call, err, match):
    with pytest.raises(err, match=match):
        call()
