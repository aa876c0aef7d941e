"""The recurrent ops' options: GRU reset_after=False (the classic GRU: r scales h_prev before the
candidate's recurrent product, one bias) and the cell activations (activation /
recurrent_activation: tanh, sigmoid, relu, hard_sigmoid, linear). Native kernels against their
NumPy twins (masked and not, every ISA, one and two threads), float64 gradient checks of the twins,
the activations against their formulas, and bad arguments."""

import numpy as np
import pytest
import shendu
from shendu import ops, reference

from tests.helpers.gradcheck import check_gradient, random_projection
from tests.ops.test_rnn import BWD_TOL, FWD_TOL, upstream
from tests.ops.test_rnn_mask import random_mask

ACTIVATIONS = ["tanh", "sigmoid", "relu", "hard_sigmoid", "linear"]

# A cell and its options: (op, reset_after (GRU only), activation, recurrent_activation).
VARIANTS = [
    ("gru", False, "tanh", "sigmoid"),
    ("gru", False, "relu", "hard_sigmoid"),
    ("gru", True, "relu", "sigmoid"),
    ("gru", True, "linear", "hard_sigmoid"),
    ("gru", False, "sigmoid", "linear"),
    ("lstm", None, "tanh", "hard_sigmoid"),
    ("lstm", None, "relu", "sigmoid"),
    ("lstm", None, "hard_sigmoid", "relu"),
    ("lstm", None, "linear", "tanh"),
    ("simple_rnn", None, "relu", None),
    ("simple_rnn", None, "hard_sigmoid", None),
    ("simple_rnn", None, "linear", None),
    ("simple_rnn", None, "sigmoid", None),
]
IDS = ["-".join(str(p) for p in v if p is not None) for v in VARIANTS]
GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}


def make_args(rng, cell, reset_after, n, t, i, u, dtype=np.float32):
    """Weights small enough that unbounded activations (linear, relu gates) stay moderate."""
    g = GATES[cell]
    bias_shape = (2, 3 * u) if cell == "gru" and reset_after else (g * u,)
    args = {
        "x": rng.standard_normal((n, t, i)),
        "kernel": rng.standard_normal((i, g * u)) * 0.5 / np.sqrt(i),
        "recurrent_kernel": rng.standard_normal((u, g * u)) * 0.5 / np.sqrt(u),
        "bias": rng.standard_normal(bias_shape) * 0.3,
        "h0": rng.standard_normal((n, u)) * 0.5,
    }
    if cell == "lstm":
        args["c0"] = rng.standard_normal((n, u)) * 0.5
    return {k: v.astype(dtype) for k, v in args.items()}


def options(cell, reset_after, act, rec):
    if cell == "gru":
        return (reset_after, act, rec)
    return (act,) if cell == "simple_rnn" else (act, rec)


def forward(module, variant, a, mask=None):
    cell = variant[0]
    states = (a["h0"], a["c0"]) if cell == "lstm" else (a["h0"],)
    out = getattr(module, cell)(
        a["x"], a["kernel"], a["recurrent_kernel"], a["bias"], *states, mask, *options(*variant)
    )
    return out[:-1], out[-1]


def backward(module, variant, grads, a, cache, mask=None):
    cell = variant[0]
    states = (a["h0"], a["c0"]) if cell == "lstm" else (a["h0"],)
    return getattr(module, cell + "_backward")(
        *grads,
        a["x"],
        a["kernel"],
        a["recurrent_kernel"],
        cache,
        *states,
        mask,
        *options(*variant),
    )


def as64(values):
    return [None if v is None else np.asarray(v, np.float64) for v in values]


def assert_matches_reference(rng, variant, a, mask):
    n, t, _ = a["x"].shape
    u = a["recurrent_kernel"].shape[0]
    got, cache = forward(ops, variant, a, mask)
    a64 = dict(zip(a, as64(a.values())))
    want, ref_cache = forward(reference, variant, a64, mask)
    for g, w in zip(got, want):
        assert g.dtype == np.float32 and g.shape == w.shape
        np.testing.assert_allclose(g, w, **FWD_TOL)
    grads = upstream(rng, variant[0], n, t, u)
    got = backward(ops, variant, grads, a, cache, mask)
    want = backward(reference, variant, as64(grads), a64, ref_cache, mask)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == np.float32 and g.shape == w.shape
        np.testing.assert_allclose(g, w, **BWD_TOL)


@pytest.mark.parametrize("variant", VARIANTS, ids=IDS)
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (3, 7, 5, 5), (9, 6, 33, 17), (0, 4, 3, 2)])
@pytest.mark.parametrize("masked", [False, True], ids=["", "masked"])
def test_native_matches_reference(rng, variant, shape, masked):
    n, t, i, u = shape
    a = make_args(rng, variant[0], variant[1], n, t, i, u)
    assert_matches_reference(rng, variant, a, random_mask(rng, n, t) if masked else None)


@pytest.mark.parametrize("variant", VARIANTS, ids=IDS)
def test_every_isa_variant_matches_reference(rng, variant, isa):
    a = make_args(rng, variant[0], variant[1], 5, 7, 33, 33)
    assert_matches_reference(rng, variant, a, random_mask(rng, 5, 7))


@pytest.mark.parametrize("shape", [(33, 20, 5, 7), (17, 60, 3, 4)])
def test_reset_before_weight_gradients_summed_in_parts(rng, shape):
    """N * T of 660 and 1020 rows: the weight gradients are summed in 3 and 4 parts."""
    n, t, i, u = shape
    a = make_args(rng, "gru", False, n, t, i, u)
    assert_matches_reference(rng, VARIANTS[0], a, None)


@pytest.mark.parametrize("variant", [VARIANTS[1], VARIANTS[6]], ids=[IDS[1], IDS[6]])
def test_one_and_two_threads_identical(rng, variant):
    n, t, i, u = 33, 20, 9, 17
    a = make_args(rng, variant[0], variant[1], n, t, i, u)
    mask = random_mask(rng, n, t)
    grads = upstream(rng, variant[0], n, t, u)
    old = shendu.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            shendu.set_num_threads(threads)
            outs, cache = forward(ops, variant, a, mask)
            results.append(list(outs) + list(backward(ops, variant, grads, a, cache, mask)))
    finally:
        shendu.set_num_threads(old)
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("variant", VARIANTS, ids=IDS)
@pytest.mark.parametrize("masked", [False, True], ids=["", "masked"])
def test_reference_backward_matches_finite_differences(variant, masked):
    """Every gradient of the float64 twin against central differences of
    L = sum(hs * R1) + sum(h_T * R2) (+ sum(c_T * R3) for LSTM)."""
    rng = np.random.default_rng(5)
    a = make_args(rng, variant[0], variant[1], 3, 4, 2, 3, dtype=np.float64)
    mask = np.array([[1, 1, 0, 0], [0, 1, 1, 1], [1, 0, 1, 0]], np.float64) if masked else None
    outs, cache = forward(reference, variant, a, mask)
    projections = [random_projection(o.shape, seed=k) for k, o in enumerate(outs)]

    def loss():
        outs = forward(reference, variant, a, mask)[0]
        return sum(float(np.sum(o * r)) for o, r in zip(outs, projections))

    grads = backward(reference, variant, projections, a, cache, mask)
    names = ["x", "kernel", "recurrent_kernel", "bias", "h0"] + (
        ["c0"] if variant[0] == "lstm" else []
    )
    for name, analytic in zip(names, grads):
        check_gradient(loss, a[name], analytic)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_simple_rnn_activations_are_keras_formulas(rng, activation):
    """One step from h0 = 0: h = activation(x @ kernel + bias), the activations as Keras 3 has them
    (hard_sigmoid = relu6(x + 3) / 6), through the points where the piecewise ones bend."""
    z = np.array([[-7.0, -3.0, -1.5, -0.0, 0.0, 0.5, 3.0, 7.0]], np.float32)
    want = {
        "tanh": np.tanh(z),
        "sigmoid": 1 / (1 + np.exp(-z)),
        "relu": np.maximum(z, 0),
        "hard_sigmoid": np.minimum(np.maximum(z + 3, 0), 6) / 6,
        "linear": z,
    }[activation]
    u = z.shape[1]
    args = (z[:, None, :], np.eye(u, dtype=np.float32), np.zeros((u, u), np.float32), None)
    for module in (ops, reference):
        hs, h, _ = module.simple_rnn(*args, None, None, activation)
        np.testing.assert_allclose(h, want, rtol=1e-6, atol=1e-7)


def test_defaults_are_keras_defaults(rng):
    """activation="tanh", recurrent_activation="sigmoid", reset_after=True by default."""
    a = make_args(rng, "gru", True, 3, 5, 4, 6)
    default = ops.gru(a["x"], a["kernel"], a["recurrent_kernel"], a["bias"], a["h0"])
    named = ops.gru(
        a["x"],
        a["kernel"],
        a["recurrent_kernel"],
        a["bias"],
        a["h0"],
        None,
        True,
        "tanh",
        "sigmoid",
    )
    for d, n in zip(default[:2], named[:2]):
        np.testing.assert_array_equal(d, n)


def test_reset_before_differs_from_reset_after(rng):
    """The same weights (one bias row) give another GRU: r acts before the recurrent product."""
    a = make_args(rng, "gru", False, 3, 5, 4, 6)
    before = ops.gru(a["x"], a["kernel"], a["recurrent_kernel"], a["bias"], a["h0"], None, False)
    two_rows = np.stack([a["bias"], np.zeros_like(a["bias"])])
    after = ops.gru(a["x"], a["kernel"], a["recurrent_kernel"], two_rows, a["h0"], None, True)
    assert np.abs(before[0] - after[0]).max() > 1e-3


def test_reset_before_nan_propagates(rng):
    n, t, i, u = 3, 6, 4, 5
    variant = VARIANTS[0]
    a = make_args(rng, "gru", False, n, t, i, u)
    a["x"][1, 2, 0] = np.nan
    (hs, h_T), _ = forward(ops, variant, a)
    assert np.isnan(hs[1, 2:]).all() and np.isnan(h_T[1]).all()
    assert np.isfinite(hs[1, :2]).all() and np.isfinite(hs[[0, 2]]).all()


def test_masked_rows_leave_weight_gradients_finite(rng):
    """A masked step's aux row meets zero gate gradients in the weight GEMMs: it must be zeros, not
    stale memory, or 0 * NaN would poison the weight gradients."""
    variant = VARIANTS[0]
    a = make_args(rng, "gru", False, 4, 6, 3, 5)
    mask = np.ones((4, 6), np.float32)
    mask[:, 3:] = 0
    for _ in range(3):  # the kept workspace holds the previous call's values
        _, cache = forward(ops, variant, a, mask)
        grads = backward(ops, variant, upstream(rng, "gru", 4, 6, 5), a, cache, mask)
        assert all(np.isfinite(g).all() for g in grads)


def bad_cases():
    cases = []
    for cell, n_options in (("lstm", 2), ("gru", 2), ("simple_rnn", 1)):
        cases += [
            (cell, {"activation": "gelu"}, ValueError, r"activation: expected one of 'tanh'"),
            (cell, {"activation": None}, TypeError, "activation: expected a str"),
        ]
        if n_options == 2:
            cases += [
                (
                    cell,
                    {"recurrent_activation": "softmax"},
                    ValueError,
                    r"recurrent_activation: expected one of .*got 'softmax'",
                ),
                (cell, {"recurrent_activation": 1}, TypeError, "recurrent_activation: expected"),
            ]
    cases += [
        ("gru_before", {"bias": np.ones((2, 12))}, ValueError, "bias: expected a 1-D array"),
        ("gru_before", {"bias": np.ones(13)}, ValueError, r"bias: expected \(12,\)"),
        ("gru", {"bias": np.ones(12)}, ValueError, "bias: expected a 2-D array"),
    ]
    return cases


@pytest.mark.parametrize("cell, change, err, match", bad_cases())
@pytest.mark.parametrize("module", [ops, reference], ids=["ops", "reference"])
def test_bad_options_name_the_argument(rng, cell, change, err, match, module):
    if module is reference and "bias" in change:
        pytest.skip("the twin trusts its bias")
    reset_after = cell != "gru_before"
    cell = "gru" if cell == "gru_before" else cell
    a = make_args(rng, cell, reset_after, 3, 7, 5, 4)
    a.update({k: v for k, v in change.items() if k in a})
    kw = {k: v for k, v in change.items() if k not in a}
    if cell == "gru":
        kw["reset_after"] = reset_after
    states = {"h0": a["h0"], "c0": a["c0"]} if cell == "lstm" else {"h0": a["h0"]}
    x, k, r, b = a["x"], a["kernel"], a["recurrent_kernel"], a["bias"]
    with pytest.raises(err, match=match):
        getattr(module, cell)(x, k, r, b, **states, **kw)
    if "bias" in change:
        return
    *_, cache = getattr(ops, cell)(x, k, r, a["bias"], **states)
    grads = dict(zip(["dhs", "dh_T", "dc_T"], upstream(rng, cell, 3, 7, 4)))
    with pytest.raises(err, match=match):
        getattr(module, cell + "_backward")(
            **grads, x=x, kernel=k, recurrent_kernel=r, cache=cache, **states, **kw
        )
