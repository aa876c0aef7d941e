"""Fused in-place optimizer updates: native vs the NumPy twin, hand-derived steps, bad input."""

import math

import numpy as np
import pytest
from shendu import ops, reference

from tests.helpers.optimizer_cases import CASES, EXACT, make_state, run_steps
from tests.helpers.threads import run_with_threads

SHAPES = [(1,), (7,), (33, 7), (257, 3), (0,), (100_003,)]  # the last one runs threaded

# The native kernels and the float32 twin use the same float32 operations in Keras's order, so
# they agree to rounding (observed: exactly); 1e-6 relative over several steps.
RTOL = 1e-6


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("shape", SHAPES)
def test_several_steps_match_reference(rng, case, shape):
    update, slots = CASES[case]
    state = make_state(rng, shape, slots)
    grads = [rng.standard_normal(shape).astype(np.float32) for _ in range(4)]
    got = run_steps(ops, update, state, grads)
    want = run_steps(reference, update, state, grads)
    for key in state:
        np.testing.assert_allclose(got[key], want[key], rtol=RTOL, atol=1e-7, err_msg=key)
    if shape[0] > 1:  # something was updated (the average: ema_update's target)
        target = "average" if "average" in state else "param"
        assert not np.array_equal(got[target], state[target])


@pytest.mark.parametrize("case", EXACT)
@pytest.mark.parametrize("shape", [(5,), (17, 3)])
def test_step_sequence_bit_exact(rng, case, shape):
    update, slots = CASES[case]
    state = make_state(rng, shape, slots)
    grads = [rng.standard_normal(shape).astype(np.float32) for _ in range(5)]
    got = run_steps(ops, update, state, grads)
    want = run_steps(reference, update, state, grads)
    for key in state:
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)


@pytest.mark.parametrize("case", CASES)
def test_identical_with_one_and_two_threads(rng, case):
    update, slots = CASES[case]
    state = make_state(rng, (100_003,), slots)
    grads = [rng.standard_normal(100_003).astype(np.float32) for _ in range(2)]
    one = run_with_threads(1, lambda: run_steps(ops, update, state, grads))
    two = run_with_threads(2, lambda: run_steps(ops, update, state, grads))
    for key in state:
        np.testing.assert_array_equal(one[key], two[key])


def test_sgd_one_step_by_hand():
    p, v = np.array([1.0], np.float32), np.array([0.2], np.float32)
    ops.sgd_update(p, np.array([0.5]), v, learning_rate=0.1, momentum=0.9)
    # v = 0.9 * 0.2 - 0.1 * 0.5 = 0.13; p = 1 + 0.13.
    np.testing.assert_allclose([p[0], v[0]], [1.13, 0.13], rtol=1e-6)
    p, v = np.array([1.0], np.float32), np.array([0.2], np.float32)
    ops.sgd_update(p, np.array([0.5]), v, learning_rate=0.1, momentum=0.9, nesterov=True)
    # Same velocity; p = 1 + 0.9 * 0.13 - 0.1 * 0.5 = 1.067.
    np.testing.assert_allclose([p[0], v[0]], [1.067, 0.13], rtol=1e-6)
    p = np.array([1.0], np.float32)
    ops.sgd_update(p, np.array([0.5]), None, learning_rate=0.1)
    np.testing.assert_allclose(p, [0.95], rtol=1e-6)


def test_adam_first_step_by_hand():
    # From zero moments, step 1: m = (1 - b1) g, v = (1 - b2) g^2,
    # lr_t = lr sqrt(1 - b2) / (1 - b1), so the update is lr g / (|g| + eps / sqrt(1 - b2)),
    # about lr * sign(g).
    g = np.array([0.5, -2.0, 1e-3], np.float32)
    p, m, v = np.ones(3, np.float32), np.zeros(3, np.float32), np.zeros(3, np.float32)
    ops.adam_update(p, g, m, v, 1, learning_rate=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-7)
    g64 = g.astype(np.float64)
    np.testing.assert_allclose(m, 0.1 * g64, rtol=1e-6)
    np.testing.assert_allclose(v, 0.001 * g64**2, rtol=1e-6)
    want = 1 - 0.1 * g64 / (np.abs(g64) + 1e-7 / math.sqrt(0.001))
    np.testing.assert_allclose(p, want, rtol=1e-6)


def test_adam_bias_correction_uses_step():
    # Zero gradient at step 3 from m = 1, v = 1: m = b1, v = b2, and
    # p -= lr sqrt(1 - b2^3) / (1 - b1^3) * b1 / (sqrt(b2) + eps).
    p, m, v = np.zeros(1, np.float32), np.ones(1, np.float32), np.ones(1, np.float32)
    ops.adam_update(
        p, np.zeros(1), m, v, 3, learning_rate=0.1, beta_1=0.5, beta_2=0.75, epsilon=0.0
    )
    want = -0.1 * math.sqrt(1 - 0.75**3) / (1 - 0.5**3) * 0.5 / math.sqrt(0.75)
    np.testing.assert_allclose(p, [want], rtol=1e-6)


def test_rmsprop_one_step_by_hand():
    # avg_sq = 0.9 * 0.04 + 0.1 * 0.25 = 0.061; p = 1 - 0.01 * 0.5 / sqrt(0.061 + 1e-3).
    p, a = np.array([1.0], np.float32), np.array([0.04], np.float32)
    ops.rmsprop_update(p, np.array([0.5]), a, learning_rate=0.01, rho=0.9, epsilon=1e-3)
    np.testing.assert_allclose(a, [0.061], rtol=1e-6)
    np.testing.assert_allclose(p, [1 - 0.005 / math.sqrt(0.062)], rtol=1e-6)


def test_new_updates_one_step_by_hand():
    # Adagrad: acc = 0.1 + 0.25; p = 1 - 0.1 * 0.5 / sqrt(0.35 + 1e-7).
    p, acc = np.array([1.0], np.float32), np.array([0.1], np.float32)
    ops.adagrad_update(p, np.array([0.5]), acc, learning_rate=0.1)
    np.testing.assert_allclose([p[0], acc[0]], [1 - 0.05 / math.sqrt(0.35 + 1e-7), 0.35], 1e-6)
    # Lion: sign(0.9 * -1 + 0.1 * 0.5) = -1, so p = 1 + 0.1; m = 0.99 * -1 + 0.01 * 0.5.
    p, m = np.array([1.0], np.float32), np.array([-1.0], np.float32)
    ops.lion_update(p, np.array([0.5]), m, learning_rate=0.1)
    np.testing.assert_allclose([p[0], m[0]], [1.1, -0.985], rtol=1e-6)
    # Adamax step 2: m = 0.5 + (1 - 0.5) * 0.1, u = max(0.999 * 0.2, 1); p -= lr m / (0.19 * u).
    p, m, u = np.zeros(1, np.float32), np.array([0.5], np.float32), np.array([0.2], np.float32)
    ops.adamax_update(p, np.array([1.0]), m, u, 2, learning_rate=0.1, epsilon=0.0)
    np.testing.assert_allclose([p[0], m[0], u[0]], [-0.1 * 0.55 / 0.19, 0.55, 1.0], rtol=1e-6)
    # Weight decay: p -= p * 0.5 * 0.1; the average: 0.9 * 2 + 0.1 * 1.
    p = np.array([2.0], np.float32)
    ops.weight_decay_update(p, 0.1, 0.5)
    np.testing.assert_allclose(p, [1.9], rtol=1e-6)
    avg = np.array([2.0], np.float32)
    ops.ema_update(avg, np.array([1.0], np.float32), 0.9)
    np.testing.assert_allclose(avg, [1.9], rtol=1e-6)
    # Ftrl, l1 = 0: linear = g - (sqrt(0.1 + g^2) - sqrt(0.1)) / lr * p; p = -linear / quadratic.
    p, acc, lin = np.array([0.1], np.float32), np.array([0.1], np.float32), np.zeros(1, np.float32)
    ops.ftrl_update(p, np.array([0.3]), acc, lin, learning_rate=0.2)
    want_lin = 0.3 - (math.sqrt(0.19) - math.sqrt(0.1)) / 0.2 * 0.1
    np.testing.assert_allclose(
        [lin[0], p[0]], [want_lin, -want_lin / (math.sqrt(0.19) / 0.2)], 1e-6
    )


def test_nadam_first_step_by_hand():
    # From zero moments at step 1, u_1 = 0.9 * (1 - 0.5 * 0.96), u_2 = 0.9 * (1 - 0.5 * 0.96**2).
    u1, u2 = 0.9 * (1 - 0.48), 0.9 * (1 - 0.5 * 0.96**2)
    g = 0.5
    p, m, v = np.zeros(1, np.float32), np.zeros(1, np.float32), np.zeros(1, np.float32)
    ops.nadam_update(p, np.array([g]), m, v, 1, u1, learning_rate=0.1, epsilon=0.0)
    m_hat = u2 * 0.1 * g / (1 - u1 * u2) + (1 - u1) * g / (1 - u1)
    v_hat = 0.001 * g * g / (1 - 0.999)
    np.testing.assert_allclose(p, [-0.1 * m_hat / math.sqrt(v_hat)], rtol=1e-5)


def test_grad_converted_from_views_and_ints(rng):
    p = rng.standard_normal(5).astype(np.float32)
    p_ref = p.copy()
    grad = np.arange(10, dtype=np.int64)[::2]
    ops.rmsprop_update(p, grad, a := np.zeros(5, np.float32))
    reference.rmsprop_update(p_ref, grad.astype(np.float32), np.zeros(5, np.float32))
    np.testing.assert_allclose(p, p_ref, rtol=RTOL)
    assert a[1] != 0


def test_nan_gradient_propagates():
    p, m, v = np.ones(2, np.float32), np.zeros(2, np.float32), np.zeros(2, np.float32)
    ops.adam_update(p, np.array([np.nan, 1.0]), m, v, 1)
    assert np.isnan(p[0]) and np.isfinite(p[1])


F32 = np.float32


def _bad(update_name, **overrides):
    args = {
        "sgd_update": dict(
            param=np.ones(3, F32),
            grad=np.ones(3),
            velocity=np.zeros(3, F32),
            learning_rate=0.1,
            momentum=0.9,
            nesterov=False,
        ),
        "adam_update": dict(
            param=np.ones(3, F32), grad=np.ones(3), m=np.zeros(3, F32), v=np.zeros(3, F32), step=1
        ),
        "rmsprop_update": dict(param=np.ones(3, F32), grad=np.ones(3), avg_sq=np.zeros(3, F32)),
        "nadam_update": dict(
            param=np.ones(3, F32),
            grad=np.ones(3),
            m=np.zeros(3, F32),
            v=np.zeros(3, F32),
            step=1,
            u_product=0.5,
        ),
        "adamax_update": dict(
            param=np.ones(3, F32), grad=np.ones(3), m=np.zeros(3, F32), u=np.zeros(3, F32), step=1
        ),
        "adagrad_update": dict(param=np.ones(3, F32), grad=np.ones(3), accumulator=np.ones(3, F32)),
        "adadelta_update": dict(
            param=np.ones(3, F32),
            grad=np.ones(3),
            acc_grad=np.ones(3, F32),
            acc_delta=np.ones(3, F32),
        ),
        "lion_update": dict(param=np.ones(3, F32), grad=np.ones(3), m=np.zeros(3, F32)),
        "ftrl_update": dict(
            param=np.ones(3, F32),
            grad=np.ones(3),
            accumulator=np.ones(3, F32),
            linear=np.zeros(3, F32),
        ),
        "weight_decay_update": dict(param=np.ones(3, F32), learning_rate=0.1, weight_decay=0.1),
        "ema_update": dict(average=np.ones(3, F32), param=np.ones(3), momentum=0.9),
    }[update_name]
    args.update(overrides)
    return update_name, args


@pytest.mark.parametrize(
    "call, err, match",
    [
        (_bad("sgd_update", param=np.ones(3)), TypeError, "param: expected float32"),
        (_bad("sgd_update", param=[1.0, 2.0, 3.0]), TypeError, "param: expected a float32 NumPy"),
        (
            _bad("sgd_update", velocity=np.zeros(6, F32)[::2]),
            ValueError,
            "velocity: expected a C-contiguous",
        ),
        (
            _bad("sgd_update", grad=np.ones(4)),
            ValueError,
            r"grad: expected the shape of param \(3,\), got shape \(4,\)",
        ),
        (
            _bad("sgd_update", velocity=np.zeros((3, 1), F32)),
            ValueError,
            r"velocity: expected the shape of param \(3,\)",
        ),
        (_bad("sgd_update", velocity=None), ValueError, "velocity: None is only allowed"),
        (_bad("sgd_update", momentum=1.5), ValueError, r"momentum: expected a number in \[0, 1\]"),
        (_bad("sgd_update", momentum=-0.1), ValueError, "momentum: expected"),
        (
            _bad("sgd_update", learning_rate=float("nan")),
            ValueError,
            "learning_rate: expected a finite",
        ),
        (_bad("sgd_update", learning_rate="0.1"), TypeError, "learning_rate: expected a number"),
        (_bad("sgd_update", grad=np.ones(3, complex)), TypeError, "grad: expected real numbers"),
        (_bad("sgd_update", grad=np.array(["a", "b", "c"])), TypeError, "grad: expected real"),
        (_bad("adam_update", m=np.zeros(3)), TypeError, "m: expected float32"),
        (_bad("adam_update", v=np.zeros(2, F32)), ValueError, "v: expected the shape of param"),
        (_bad("adam_update", step=0), ValueError, "step: expected an int >= 1"),
        (_bad("adam_update", step=1.0), TypeError, "step: expected an int"),
        (_bad("adam_update", beta_1=1.0), ValueError, r"beta_1: expected a number in \[0, 1\)"),
        (_bad("adam_update", beta_2=-1.0), ValueError, "beta_2: expected"),
        (
            _bad("rmsprop_update", avg_sq=np.zeros(3, np.float16)),
            TypeError,
            "avg_sq: expected float32",
        ),
        (_bad("rmsprop_update", rho=2.0), ValueError, r"rho: expected a number in \[0, 1\]"),
        (_bad("nadam_update", u_product=1.0), ValueError, r"u_product: expected a number in"),
        (_bad("nadam_update", step=0), ValueError, "step: expected an int >= 1"),
        (_bad("adamax_update", u=np.zeros(2, F32)), ValueError, "u: expected the shape"),
        (_bad("adamax_update", grad_abs=np.ones(2)), ValueError, "grad_abs: expected the shape"),
        (_bad("adagrad_update", accumulator=np.zeros(3)), TypeError, "accumulator: expected f"),
        (_bad("adadelta_update", rho=1.5), ValueError, r"rho: expected a number in \[0, 1\]"),
        (_bad("adadelta_update", grad_sq=np.ones(4)), ValueError, "grad_sq: expected the shape"),
        (_bad("lion_update", beta_2=-0.1), ValueError, "beta_2: expected"),
        (
            _bad("ftrl_update", learning_rate=0.0),
            ValueError,
            "learning_rate: expected a number > 0",
        ),
        (_bad("ftrl_update", learning_rate_power=0.5), ValueError, "learning_rate_power"),
        (_bad("ftrl_update", l1_regularization_strength=-1.0), ValueError, "l1_regularization"),
        (_bad("ftrl_update", linear=np.zeros((3, 1), F32)), ValueError, "linear: expected the"),
        (_bad("weight_decay_update", weight_decay=float("inf")), ValueError, "weight_decay"),
        (_bad("ema_update", momentum=1.5), ValueError, r"momentum: expected a number in"),
        (_bad("ema_update", average=np.zeros(3)), TypeError, "average: expected float32"),
        (_bad("rmsprop_update", param=np.ones(3, complex)), TypeError, "param: expected float32"),
    ],
)
def test_bad_input(call, err, match):
    name, args = call
    with pytest.raises(err, match=match):
        getattr(ops, name)(**args)


def test_read_only_state_rejected():
    m = np.zeros(3, F32)
    m.flags.writeable = False
    with pytest.raises(ValueError, match="m: array is read-only"):
        ops.adam_update(np.ones(3, F32), np.ones(3), m, np.zeros(3, F32), 1)


def test_overlapping_arrays_rejected():
    """The update loops are vectorized on the promise that their arrays are separate: two views
    of one buffer are refused, naming both (disjoint halves of one buffer are fine)."""
    buf = np.zeros(8, F32)
    with pytest.raises(ValueError, match="param and v: expected separate arrays"):
        ops.adam_update(buf[1:5], np.ones(4), np.zeros(4, F32), buf[:4], 1)
    with pytest.raises(ValueError, match="param and grad: expected separate arrays"):
        ops.sgd_update(buf[:4], buf[:4], None)
    with pytest.raises(ValueError, match="grad and avg_sq: expected separate arrays"):
        ops.rmsprop_update(np.ones(4, F32), buf[2:6], buf[:4])
    with pytest.raises(ValueError, match="grad_sq and accumulated_grad|grad_sq and acc_grad"):
        ops.adadelta_update(
            np.ones(4, F32), np.ones(4), buf[:4], np.zeros(4, F32), grad_sq=buf[2:6]
        )
    with pytest.raises(ValueError, match="average and param: expected separate arrays"):
        ops.ema_update(buf[:4], buf[1:5], 0.5)
    ops.adam_update(buf[:4], np.ones(4), buf[4:], np.zeros(4, F32), 1)
    np.testing.assert_array_equal(buf[4:], np.full(4, 0.1, F32))  # m after one step
