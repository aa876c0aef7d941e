"""Masked steps of the recurrent ops (lstm, gru, simple_rnn with mask=): the native kernels
against their NumPy twins, float64 gradient checks of the twins, Keras's masking semantics
(a masked step keeps every state), and bad masks."""

import numpy as np
import pytest
import shendu
from shendu import ops, reference

from tests.helpers.gradcheck import check_gradient, random_projection
from tests.ops.test_rnn import BWD_TOL, CELLS, FWD_TOL, as64, make_args, upstream


def forward(module, cell, a, mask):
    fn = getattr(module, cell)
    if cell == "lstm":
        hs, h, c, cache = fn(
            a["x"], a["kernel"], a["recurrent_kernel"], a["bias"], a["h0"], a["c0"], mask
        )
        return (hs, h, c), cache
    hs, h, cache = fn(a["x"], a["kernel"], a["recurrent_kernel"], a["bias"], a["h0"], mask)
    return (hs, h), cache


def backward(module, cell, grads, a, cache, mask):
    fn = getattr(module, cell + "_backward")
    states = (a["h0"], a["c0"]) if cell == "lstm" else (a["h0"],)
    return fn(*grads, a["x"], a["kernel"], a["recurrent_kernel"], cache, *states, mask)


def random_mask(rng, n, t):
    """Padded sequences of random lengths (0 to t), plus holes in the middle of some."""
    mask = (np.arange(t)[None, :] < rng.integers(0, t + 1, size=(n, 1))).astype(np.float32)
    mask[::2] *= rng.random((len(mask[::2]), t)) > 0.3
    return mask


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (5, 7, 5, 5), (9, 6, 33, 17), (0, 4, 3, 2)])
def test_masked_forward_and_backward_match_reference(rng, cell, shape):
    n, t, i, u = shape
    a = make_args(rng, cell, n, t, i, u)
    mask = random_mask(rng, n, t)
    got, cache = forward(ops, cell, a, mask)
    want, ref_cache = forward(reference, cell, as64(a), mask)
    for g, w in zip(got, want):
        assert g.dtype == np.float32 and g.shape == w.shape
        np.testing.assert_allclose(g, w, **FWD_TOL)
    grads = upstream(rng, cell, n, t, u)
    got = backward(ops, cell, grads, a, cache, mask)
    want = backward(
        reference, cell, [g.astype(np.float64) for g in grads], as64(a), ref_cache, mask
    )
    for g, w in zip(got, want):
        assert g.dtype == np.float32 and g.shape == w.shape
        np.testing.assert_allclose(g, w, **BWD_TOL)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("module", [ops, reference], ids=["ops", "reference"])
def test_a_masked_step_keeps_the_states(rng, cell, module):
    """Keras: at a masked step every state keeps its value, so hs repeats the step before
    (h0 before the first step) and gets no gradient through the gates."""
    n, t, u = 4, 6, 3
    a = make_args(rng, cell, n, t, 5, u)
    mask = np.ones((n, t), np.float32)
    mask[0, 0] = mask[1, 2:] = mask[2, 3] = 0
    (hs, h, *c), _ = forward(module, cell, a, mask)
    np.testing.assert_array_equal(hs[0, 0], a["h0"][0].astype(np.float32))
    np.testing.assert_array_equal(hs[1, 2:], np.broadcast_to(hs[1, 1], (t - 2, u)))
    np.testing.assert_array_equal(hs[2, 3], hs[2, 2])
    np.testing.assert_array_equal(h, hs[:, -1])
    # A sequence cut short gives the states of running only its steps.
    (short, h_short, *c_short), _ = forward(module, cell, dict(a, x=a["x"][:, :2]), None)
    np.testing.assert_allclose(h[1], h_short[1], rtol=1e-6, atol=1e-7)
    if cell == "lstm":
        np.testing.assert_allclose(c[0][1], c_short[0][1], rtol=1e-6, atol=1e-7)
    # All ones is no mask.
    got, _ = forward(module, cell, a, np.ones((n, t)))
    want, _ = forward(module, cell, a, None)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("cell", CELLS)
def test_masked_reference_backward_matches_finite_differences(cell):
    rng = np.random.default_rng(11)
    n, t, i, u = 3, 4, 2, 2
    a = make_args(rng, cell, n, t, i, u, dtype=np.float64)
    mask = np.array([[1, 1, 0, 0], [0, 1, 1, 1], [1, 0, 1, 0]], np.float64)
    outs, cache = forward(reference, cell, a, mask)
    projections = [random_projection(o.shape, seed=k) for k, o in enumerate(outs)]

    def loss():
        outs = forward(reference, cell, a, mask)[0]
        return sum(float(np.sum(o * r)) for o, r in zip(outs, projections))

    grads = backward(reference, cell, projections, a, cache, mask)
    names = ["x", "kernel", "recurrent_kernel", "bias", "h0"] + (["c0"] if cell == "lstm" else [])
    for name, analytic in zip(names, grads):
        check_gradient(loss, a[name], analytic)


@pytest.mark.parametrize("cell", CELLS)
def test_masked_one_and_two_threads_identical(rng, cell):
    n, t, i, u = 33, 20, 9, 17
    a = make_args(rng, cell, n, t, i, u)
    mask = random_mask(rng, n, t)
    grads = upstream(rng, cell, n, t, u)
    old = shendu.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            shendu.set_num_threads(threads)
            outs, cache = forward(ops, cell, a, mask)
            results.append(list(outs) + list(backward(ops, cell, grads, a, cache, mask)))
    finally:
        shendu.set_num_threads(old)
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize(
    "mask, err, match",
    [
        (np.ones((3, 5)), ValueError, r"mask: expected \(3, 4\)"),
        (np.ones((3, 4, 1)), ValueError, "mask: expected a 2-D array"),
        (np.ones((3, 4), complex), TypeError, "mask: expected real numbers"),
    ],
)
def test_bad_mask_names_the_argument(rng, cell, mask, err, match):
    a = make_args(rng, cell, 3, 4, 2, 2)
    with pytest.raises(err, match=match):
        forward(ops, cell, a, mask)
    _, cache = forward(ops, cell, a, None)
    with pytest.raises(err, match=match):
        backward(ops, cell, upstream(rng, cell, 3, 4, 2), a, cache, mask)
