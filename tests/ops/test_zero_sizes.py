"""Every op with each dimension of its arguments set to zero: the native kernels give the NumPy
twin's (empty or zero) result, or both refuse with the same ValueError where the op has no meaning
(a recurrent layer without units or features, a softmax over no classes, an empty window)."""

import numpy as np
import pytest
import shendu
from shendu import _cpu, ops, reference


def _f(*shape):
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


def _ids(high, *shape):
    return np.random.default_rng(1).integers(0, max(high, 1), shape).astype(np.int64)


def _pooled(d):
    return (d["N"], -(-d["H"] // 2), -(-d["W"] // 2), d["C"])


_GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}


def _rnn(name):
    def make(d, backend):
        n, t, i, u = d["N"], d["T"], d["I"], d["U"]
        g = _GATES[name]
        bias = _f(2, 3 * u) if name == "gru" else _f(g * u)
        c0 = (_f(n, u),) if name == "lstm" else ()
        return (_f(n, t, i), _f(i, g * u), _f(u, g * u), bias, _f(n, u)) + c0

    return make


def _rnn_backward(name):
    forward = _rnn(name)

    def make(d, backend):
        x, kernel, recurrent, bias, h0, *c0 = forward(d, backend)
        cache = getattr(backend, name)(x, kernel, recurrent, bias, h0, *c0)[-1]
        n, t, u = d["N"], d["T"], d["U"]
        if name == "lstm":
            return (_f(n, t, u), _f(n, u), _f(n, u), x, kernel, recurrent, cache, h0, c0[0])
        return (_f(n, t, u), _f(n, u), x, kernel, recurrent, cache, h0)

    return make


MATRIX = {"M": 3, "K": 4, "N": 5}
DENSE = {"N": 3, "I": 4, "O": 5}
ROWS = {"R": 3, "C": 4}
IMAGE = {"N": 2, "H": 5, "W": 5, "C": 3, "KH": 3, "KW": 3, "F": 4}
POOL = {"N": 2, "H": 5, "W": 5, "C": 3}
SEQ = {"N": 2, "T": 3, "I": 4, "U": 5}
TABLE = {"V": 6, "D": 5, "N": 3}
BATCH = {"N": 3, "C": 4}

# case -> (op, dimensions, make(dims, backend) -> arguments)
CASES = {
    "matmul": ("matmul", MATRIX, lambda d, b: (_f(d["M"], d["K"]), _f(d["K"], d["N"]))),
    "matmul_t": (
        "matmul",
        MATRIX,
        lambda d, b: (_f(d["K"], d["M"]), _f(d["N"], d["K"]), True, True),
    ),
    "dense": (
        "dense",
        DENSE,
        lambda d, b: (_f(d["N"], d["I"]), _f(d["I"], d["O"]), _f(d["O"]), "relu"),
    ),
    "dense_softmax": (
        "dense",
        DENSE,
        lambda d, b: (_f(d["N"], d["I"]), _f(d["I"], d["O"]), None, "softmax"),
    ),
    "dense_backward": (
        "dense_backward",
        DENSE,
        lambda d, b: (
            _f(d["N"], d["O"]),
            _f(d["N"], d["I"]),
            _f(d["I"], d["O"]),
            _f(d["N"], d["O"]),
            "tanh",
        ),
    ),
    **{
        name: (name, ROWS, lambda d, b: (_f(d["R"], d["C"]),))
        for name in ("relu", "sigmoid", "tanh", "softmax")
    },
    **{
        f"{name}_backward": (
            f"{name}_backward",
            ROWS,
            lambda d, b: (_f(d["R"], d["C"]), _f(d["R"], d["C"])),
        )
        for name in ("relu", "sigmoid", "tanh", "softmax")
    },
    "conv2d_same": (
        "conv2d",
        IMAGE,
        lambda d, b: (
            _f(d["N"], d["H"], d["W"], d["C"]),
            _f(d["KH"], d["KW"], d["C"], d["F"]),
            _f(d["F"]),
            1,
            "same",
        ),
    ),
    "conv2d_valid": (
        "conv2d",
        IMAGE,
        lambda d, b: (
            _f(d["N"], d["H"], d["W"], d["C"]),
            _f(d["KH"], d["KW"], d["C"], d["F"]),
            None,
            (2, 1),
            "valid",
        ),
    ),
    "conv2d_backward": (
        "conv2d_backward",
        IMAGE,
        lambda d, b: (
            _f(d["N"], d["H"], d["W"], d["F"]),
            _f(d["N"], d["H"], d["W"], d["C"]),
            _f(d["KH"], d["KW"], d["C"], d["F"]),
            1,
            "same",
        ),
    ),
    "max_pool2d": (
        "max_pool2d",
        POOL,
        lambda d, b: (_f(d["N"], d["H"], d["W"], d["C"]), 2, None, "same"),
    ),
    "max_pool2d_backward": (
        "max_pool2d_backward",
        POOL,
        lambda d, b: (
            _f(*_pooled(d)),
            np.zeros(_pooled(d), np.uint8),
            (d["N"], d["H"], d["W"], d["C"]),
            2,
            None,
            "same",
        ),
    ),
    "avg_pool2d": (
        "avg_pool2d",
        POOL,
        lambda d, b: (_f(d["N"], d["H"], d["W"], d["C"]), 2, None, "same"),
    ),
    "avg_pool2d_backward": (
        "avg_pool2d_backward",
        POOL,
        lambda d, b: (_f(*_pooled(d)), (d["N"], d["H"], d["W"], d["C"]), 2, None, "same"),
    ),
    **{name: (name, SEQ, _rnn(name)) for name in _GATES},
    **{f"{name}_backward": (f"{name}_backward", SEQ, _rnn_backward(name)) for name in _GATES},
    "embedding": ("embedding", TABLE, lambda d, b: (_ids(d["V"], d["N"], 2), _f(d["V"], d["D"]))),
    "embedding_backward": (
        "embedding_backward",
        TABLE,
        lambda d, b: (_f(d["N"], 2, d["D"]), _ids(d["V"], d["N"], 2), d["V"]),
    ),
    "dropout": ("dropout", {"N": 4}, lambda d, b: (_f(d["N"], 3), 0.5, 3)),
    "sparse_softmax_cross_entropy": (
        "sparse_softmax_cross_entropy",
        BATCH,
        lambda d, b: (_f(d["N"], d["C"]), _ids(d["C"], d["N"])),
    ),
    **{
        name: (name, BATCH, lambda d, b: (_f(d["N"], d["C"]), _f(d["N"], d["C"])))
        for name in ("softmax_cross_entropy", "sigmoid_binary_cross_entropy", "mean_squared_error")
    },
    "binary_cross_entropy": (
        "binary_cross_entropy",
        BATCH,
        lambda d, b: (np.full((d["N"], d["C"]), 0.25, np.float32), _f(d["N"], d["C"])),
    ),
}

# (case, zeroed dimension) -> the error both backends raise; every other pair computes.
_NO_UNITS = "recurrent_kernel: expected"
_NO_FEATURES = "x: expected at least one feature"
REFUSED = {
    **{
        (c, k): "w: expected a window of 1"
        for c in CASES
        if c.startswith("conv2d")
        for k in ("KH", "KW")
    },
    ("conv2d_valid", "H"): "larger than",
    ("conv2d_valid", "W"): "larger than",
    **{(c, "U"): _NO_UNITS for c in CASES if c.split("_backward")[0] in _GATES},
    **{(c, "I"): _NO_FEATURES for c in CASES if c.split("_backward")[0] in _GATES},
    ("embedding", "V"): r"ids: value \d+ out of range \[0, 0\)",
    ("embedding_backward", "V"): r"ids: value \d+ out of range \[0, 0\)",
    ("sparse_softmax_cross_entropy", "C"): r"logits: expected \(N, C\) with C >= 1",
    ("softmax_cross_entropy", "C"): r"logits: expected \(N, C\) with C >= 1",
}

PAIRS = [(case, dim) for case, (_, dims, _) in sorted(CASES.items()) for dim in dims]


def _flat(result):
    if isinstance(result, (tuple, list)):
        return [v for r in result for v in _flat(r)]
    return [np.asarray(result)]


def _run(case, dim, backend):
    name, dims, make = CASES[case]
    shendu.set_backend(backend)
    module = _cpu if backend == "native" else reference
    result = getattr(ops, name)(*make({**dims, dim: 0}, module))
    if name in _GATES:  # the caches differ by design
        result = result[:-1]
    return _flat(result)


@pytest.mark.parametrize("case, dim", PAIRS, ids=[f"{c}-{d}=0" for c, d in PAIRS])
def test_zero_sized_dimension(case, dim):
    if (case, dim) in REFUSED:
        for backend in ("native", "reference"):
            with pytest.raises(ValueError, match=REFUSED[case, dim]):
                _run(case, dim, backend)
        return
    got, want = _run(case, dim, "native"), _run(case, dim, "reference")
    assert len(got) == len(want)
    for g, w in zip(got, want):
        if w.dtype == object:  # None (need_dx=False) on both
            assert g.dtype == object
            continue
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
