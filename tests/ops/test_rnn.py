"""Recurrent layers (lstm, gru, simple_rnn): native kernels against their NumPy twins, float64
gradient checks of the twins, thread determinism, argument checks and NaN propagation."""

import numpy as np
import pytest
import shendu
from shendu import ops, reference

from tests.helpers.gradcheck import check_gradient, random_projection

GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}
CELLS = list(GATES)

# float32 kernels against float64 twins on the same (float32) inputs.
FWD_TOL = dict(rtol=2e-5, atol=2e-6)
BWD_TOL = dict(rtol=2e-5, atol=1e-5)


def make_args(rng, cell, n, t, i, u, bias=True, state=True, dtype=np.float32):
    """Inputs of `cell` with weights scaled like Glorot so the gates are not saturated."""
    g = GATES[cell]
    args = {
        "x": rng.standard_normal((n, t, i)),
        "kernel": rng.standard_normal((i, g * u)) / np.sqrt(i),
        "recurrent_kernel": rng.standard_normal((u, g * u)) / np.sqrt(u),
        "bias": rng.standard_normal((2, 3 * u) if cell == "gru" else (g * u,)) * 0.5
        if bias
        else None,
        "h0": rng.standard_normal((n, u)) * 0.5 if state else None,
    }
    if cell == "lstm":
        args["c0"] = rng.standard_normal((n, u)) if state else None
    return {k: None if v is None else v.astype(dtype) for k, v in args.items()}


def forward(module, cell, a):
    """(outputs, cache): outputs are (hs, h_T) plus c_T for LSTM."""
    fn = getattr(module, cell)
    if cell == "lstm":
        hs, h, c, cache = fn(
            a["x"], a["kernel"], a["recurrent_kernel"], a["bias"], a["h0"], a["c0"]
        )
        return (hs, h, c), cache
    hs, h, cache = fn(a["x"], a["kernel"], a["recurrent_kernel"], a["bias"], a["h0"])
    return (hs, h), cache


def backward(module, cell, grads, a, cache):
    """grads: (dhs, dh_T) plus dc_T for LSTM. Returns (dx, dkernel, drecurrent, dbias, dh0[, dc0])."""
    fn = getattr(module, cell + "_backward")
    states = (a["h0"], a["c0"]) if cell == "lstm" else (a["h0"],)
    return fn(*grads, a["x"], a["kernel"], a["recurrent_kernel"], cache, *states)


def as64(a):
    return {k: None if v is None else v.astype(np.float64) for k, v in a.items()}


def upstream(rng, cell, n, t, u, final=True, dtype=np.float32):
    """dhs, dh_T (and dc_T for LSTM); the final-state gradients None when not `final`."""
    grads = [rng.standard_normal((n, t, u))]
    grads += [rng.standard_normal((n, u)) if final else None] * (2 if cell == "lstm" else 1)
    return tuple(None if g is None else g.astype(dtype) for g in grads)


# N in {1, 3, 0}, T in {1, 7} (and 0), I and U in {1, 5, 33}.
SHAPES = [
    (1, 1, 1, 1),
    (3, 7, 5, 5),
    (3, 7, 33, 5),
    (1, 7, 5, 33),
    (3, 1, 33, 33),
    (3, 7, 1, 1),
    (1, 7, 33, 33),
    (0, 7, 5, 5),
    (3, 0, 5, 5),
]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("optional", [True, False], ids=["bias+state", "none"])
def test_forward_and_backward_match_reference(rng, cell, shape, optional):
    n, t, i, u = shape
    a = make_args(rng, cell, n, t, i, u, bias=optional, state=optional)
    got, cache = forward(ops, cell, a)
    want, ref_cache = forward(reference, cell, as64(a))
    for g, w in zip(got, want):
        assert g.dtype == np.float32 and g.shape == w.shape
        np.testing.assert_allclose(g, w, **FWD_TOL)

    grads = upstream(rng, cell, n, t, u, final=optional)
    got = backward(ops, cell, grads, a, cache)
    want = backward(
        reference,
        cell,
        [None if g is None else g.astype(np.float64) for g in grads],
        as64(a),
        ref_cache,
    )
    assert len(got) == len(want) == (6 if cell == "lstm" else 5)
    for g, w in zip(got, want):
        assert g.dtype == np.float32 and g.shape == w.shape
        np.testing.assert_allclose(g, w, **BWD_TOL)


@pytest.mark.parametrize("cell", CELLS)
def test_every_isa_variant_matches_reference(rng, cell, isa):
    """The gate kernels are compiled once per instruction set; each variant must be right."""
    a = make_args(rng, cell, 3, 7, 33, 33)
    grads = upstream(rng, cell, 3, 7, 33)
    got, cache = forward(ops, cell, a)
    dgot = backward(ops, cell, grads, a, cache)
    want, ref_cache = forward(reference, cell, as64(a))
    dwant = backward(reference, cell, [g.astype(np.float64) for g in grads], as64(a), ref_cache)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, **FWD_TOL)
    for g, w in zip(dgot, dwant):
        np.testing.assert_allclose(g, w, **BWD_TOL)


@pytest.mark.parametrize("shape", [(33, 20, 5, 7), (17, 60, 3, 4)])
@pytest.mark.parametrize("cell", CELLS)
def test_weight_gradients_summed_in_parts_match_reference(rng, cell, shape):
    """N * T of 660 and 1020 rows: the kernel sums the weight gradients in 3 and 4 parts."""
    n, t, i, u = shape
    a = make_args(rng, cell, n, t, i, u)
    grads = upstream(rng, cell, n, t, u)
    _, cache = forward(ops, cell, a)
    _, ref_cache = forward(reference, cell, as64(a))
    got = backward(ops, cell, grads, a, cache)
    want = backward(reference, cell, [g.astype(np.float64) for g in grads], as64(a), ref_cache)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, **BWD_TOL)


@pytest.mark.parametrize("n", [32, 33])  # even and uneven batch shares
@pytest.mark.parametrize("cell", CELLS)
def test_one_and_two_threads_identical(rng, cell, n):
    # Large enough for the recurrence to split the batch across threads, and N * T > 256 rows
    # for the weight gradients to be summed in more than one part.
    t, i, u = 20, 33, 33
    a = make_args(rng, cell, n, t, i, u)
    grads = upstream(rng, cell, n, t, u)
    old = shendu.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            shendu.set_num_threads(threads)
            outs, cache = forward(ops, cell, a)
            results.append(list(outs) + list(cache) + list(backward(ops, cell, grads, a, cache)))
    finally:
        shendu.set_num_threads(old)
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("cell", CELLS)
def test_reference_backward_matches_finite_differences(cell):
    """Every output of the float64 twin's backward against central differences of
    L = sum(hs * R1) + sum(h_T * R2) (+ sum(c_T * R3) for LSTM)."""
    rng = np.random.default_rng(7)
    n, t, i, u = 2, 3, 2, 2
    a = make_args(rng, cell, n, t, i, u, dtype=np.float64)
    outs, _ = forward(reference, cell, a)
    projections = [random_projection(o.shape, seed=k) for k, o in enumerate(outs)]

    def loss():
        return sum(
            float(np.sum(o * r)) for o, r in zip(forward(reference, cell, a)[0], projections)
        )

    _, cache = forward(reference, cell, a)
    grads = backward(reference, cell, projections, a, cache)
    names = ["x", "kernel", "recurrent_kernel", "bias", "h0"] + (["c0"] if cell == "lstm" else [])
    for name, analytic in zip(names, grads):
        check_gradient(loss, a[name], analytic)


@pytest.mark.parametrize("cell", CELLS)
def test_accepts_float64_ints_and_views(rng, cell):
    a = make_args(rng, cell, 3, 8, 6, 4)
    want, _ = forward(ops, cell, a)
    wide = np.zeros((3, 16, 6), np.float64)
    wide[:, ::2] = a["x"]
    b = dict(a, x=wide[:, ::2], kernel=a["kernel"].astype(np.float64))  # a non-contiguous view
    got, _ = forward(ops, cell, b)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    ints = dict(a, x=np.arange(3 * 8 * 6).reshape(3, 8, 6) % 3 - 1)
    got, _ = forward(ops, cell, ints)
    want, _ = forward(reference, cell, as64(dict(ints, x=ints["x"].astype(np.float32))))
    np.testing.assert_allclose(got[0], want[0], **FWD_TOL)


@pytest.mark.parametrize("cell", CELLS)
def test_changing_outputs_in_place_leaves_the_cache_intact(rng, cell):
    a = make_args(rng, cell, 3, 7, 5, 4)
    grads = upstream(rng, cell, 3, 7, 4)
    outs, cache = forward(ops, cell, a)
    want = backward(ops, cell, grads, a, cache)
    for o in outs:
        o[...] = 0.0
    for g, w in zip(backward(ops, cell, grads, a, cache), want):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("cell", CELLS)
def test_nan_propagates(rng, cell):
    n, t, i, u = 3, 6, 4, 5
    a = make_args(rng, cell, n, t, i, u)
    a["x"][1, 2, 0] = np.nan
    (hs, h_T, *_), cache = forward(ops, cell, a)
    assert np.isnan(hs[1, 2:]).all() and np.isnan(h_T[1]).all()
    assert np.isfinite(hs[1, :2]).all() and np.isfinite(hs[[0, 2]]).all()
    a["x"][1, 2, 0] = 0.0
    _, cache = forward(ops, cell, a)
    dhs, *final = upstream(rng, cell, n, t, u)
    dhs[2, 4, 1] = np.nan
    dx, dkernel, drecurrent, dbias, dh0, *_ = backward(ops, cell, (dhs, *final), a, cache)
    assert np.isnan(dx[2, :5]).all() and np.isfinite(dx[2, 5]).all() and np.isfinite(dx[:2]).all()
    assert np.isnan(dkernel).any() and np.isnan(drecurrent).any() and np.isnan(dbias).any()
    assert np.isnan(dh0[2]).all() and np.isfinite(dh0[:2]).all()


def bad_forward_cases():
    u = 4
    cases = []
    for cell in CELLS:
        g = GATES[cell]
        cases += [
            (cell, {"x": np.ones((3, 5))}, ValueError, "x: expected a 3-D array"),
            (cell, {"x": np.ones((3, 7, 5), complex)}, TypeError, "x: expected real numbers"),
            (cell, {"x": np.ones((3, 7, 0))}, ValueError, "x: expected at least one feature"),
            (cell, {"kernel": np.ones((6, g * u))}, ValueError, r"kernel: expected \(5, "),
            (cell, {"kernel": np.ones((5, g * u + 1))}, ValueError, r"kernel: expected \(5, "),
            (cell, {"kernel": np.ones(5)}, ValueError, "kernel: expected a 2-D array"),
            (cell, {"recurrent_kernel": np.ones((u, g * u + 1))}, ValueError, "recurrent_kernel"),
            (
                cell,
                {"recurrent_kernel": np.ones((0, 0)), "kernel": np.ones((5, 0))},
                ValueError,
                "recurrent_kernel",
            ),
            (
                cell,
                {"recurrent_kernel": np.ones((u, g * u), object)},
                TypeError,
                "recurrent_kernel",
            ),
            (cell, {"h0": np.ones((2, u))}, ValueError, r"h0: expected \(3, 4\)"),
            (cell, {"h0": np.ones((3, u, 1))}, ValueError, "h0: expected a 2-D array"),
            (
                cell,
                {"bias": np.ones(g * u + 1) if cell != "gru" else np.ones((2, 3 * u + 1))},
                ValueError,
                "bias: expected",
            ),
        ]
    cases += [
        ("gru", {"bias": np.ones(3 * u)}, ValueError, "bias: expected a 2-D array"),
        ("lstm", {"c0": np.ones((3, u + 1))}, ValueError, r"c0: expected \(3, 4\)"),
        ("lstm", {"c0": np.ones((3, u), complex)}, TypeError, "c0: expected real numbers"),
    ]
    return cases


@pytest.mark.parametrize("cell, change, err, match", bad_forward_cases())
def test_forward_bad_input(rng, cell, change, err, match):
    a = dict(make_args(rng, cell, 3, 7, 5, 4), **change)
    with pytest.raises(err, match=match):
        forward(ops, cell, a)


def bad_cache_cases():
    n, t, u = 3, 7, 4
    cases = []
    for cell in CELLS:
        g = GATES[cell]
        good = (
            (np.zeros((n, t, g * u), np.float32), np.zeros((n, t, u), np.float32))
            if cell != "simple_rnn"
            else ()
        ) + (np.zeros((n, t, u), np.float32),)
        cases += [
            (cell, "reference", TypeError, "cache: expected the tuple"),
            (cell, None, TypeError, "cache: expected the tuple"),
            (cell, good + good[-1:], TypeError, "cache: expected the tuple"),
            (cell, list(good), TypeError, "cache: expected the tuple"),
            (
                cell,
                good[:-1] + (np.zeros((n, t - 1, u), np.float32),),
                ValueError,
                rf"cache\[{len(good) - 1}\]: expected \(3, 7, 4\)",
            ),
            (
                cell,
                good[:-1] + (np.zeros((n * t * u,), np.float32),),
                ValueError,
                rf"cache\[{len(good) - 1}\]: expected a 3-D array",
            ),
            (cell, good[:-1] + (np.zeros((n, t, u), complex),), TypeError, "expected real numbers"),
            (cell, good[:-1] + ("hs",), TypeError, "is not an array"),
        ]
        if cell != "simple_rnn":
            cases.append(
                (
                    cell,
                    (np.zeros((n, t, g * u + 1), np.float32),) + good[1:],
                    ValueError,
                    r"cache\[0\]: expected \(3, 7, " + str(g * u) + r"\)",
                )
            )
    return cases


@pytest.mark.parametrize("cell, cache, err, match", bad_cache_cases())
def test_backward_rejects_bad_cache(rng, cell, cache, err, match):
    a = make_args(rng, cell, 3, 7, 5, 4)
    if isinstance(cache, str):  # the twin's cache is not the native one
        cache = forward(reference, cell, a)[1]
    with pytest.raises(err, match=match):
        backward(ops, cell, upstream(rng, cell, 3, 7, 4), a, cache)


@pytest.mark.parametrize("cell", CELLS)
def test_backward_bad_gradients(rng, cell):
    a = make_args(rng, cell, 3, 7, 5, 4)
    _, cache = forward(ops, cell, a)
    dhs, dh_T, *dc_T = upstream(rng, cell, 3, 7, 4)
    with pytest.raises(ValueError, match=r"dhs: expected \(3, 7, 4\)"):
        backward(ops, cell, (dhs[:, 1:], dh_T, *dc_T), a, cache)
    with pytest.raises(ValueError, match=r"dh_T: expected \(3, 4\)"):
        backward(ops, cell, (dhs, dh_T[:, 1:], *dc_T), a, cache)
    with pytest.raises(TypeError, match="dhs: expected real numbers"):
        backward(ops, cell, (dhs.astype(complex), dh_T, *dc_T), a, cache)
    with pytest.raises(ValueError, match=r"kernel: expected \(5, "):
        backward(ops, cell, (dhs, dh_T, *dc_T), dict(a, kernel=a["kernel"][1:]), cache)
    if cell == "lstm":
        with pytest.raises(ValueError, match=r"dc_T: expected \(3, 4\)"):
            backward(ops, cell, (dhs, dh_T, dc_T[0][:2]), a, cache)
