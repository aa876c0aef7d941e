"""Misaligned arrays (valid NumPy views at an odd byte offset) give every op the result of aligned
ones; arrays updated in place must be aligned (a copy would drop the update).

The kernels read elements directly, which a misaligned pointer makes undefined behaviour: on x86
it usually reads the right values anyway, so scripts/sanitize.sh (UBSan) is what catches a
misaligned array reaching a kernel; here the results are checked against aligned calls and the
NumPy twins.
"""

import numpy as np
import pytest
from shendu import _cpu, ops, reference


def misaligned(a):
    """A copy of a whose data starts one byte past an aligned address (read-write)."""
    a = np.ascontiguousarray(a)
    buf = bytearray(a.nbytes + 8)
    view = np.frombuffer(buf, a.dtype, count=a.size, offset=1).reshape(a.shape)
    view[...] = a
    assert not view.flags.aligned or a.dtype.itemsize == 1
    return view


def _f(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def _ids(rng, high, *shape):
    return rng.integers(0, high, shape).astype(np.int64)


def _rnn_case(name, gates):
    def make(rng):
        x, h0 = _f(rng, 2, 3, 4), _f(rng, 2, 5)
        kernel, recurrent = _f(rng, 4, gates * 5), _f(rng, 5, gates * 5)
        bias = _f(rng, 2, 3 * 5) if name == "gru" else _f(rng, gates * 5)
        extra = (_f(rng, 2, 5),) if name == "lstm" else ()
        return (x, kernel, recurrent, bias, h0) + extra

    return make


def _rnn_backward_case(name, gates):
    forward = _rnn_case(name, gates)

    def make(rng):
        x, kernel, recurrent, bias, h0, *c0 = forward(rng)
        cache = getattr(_cpu, name)(x, kernel, recurrent, bias, h0, *c0)[-1]
        dhs, dh_t = _f(rng, 2, 3, 5), _f(rng, 2, 5)
        if name == "lstm":
            return (dhs, dh_t, _f(rng, 2, 5), x, kernel, recurrent, cache, h0, c0[0])
        return (dhs, dh_t, x, kernel, recurrent, cache, h0)

    return make


def _max_pool_backward(pool):
    def make(rng):
        x = _f(rng, 2, 18, 18, 3)
        y, argmax = _cpu.max_pool2d(x, pool, 1, "same")
        return (_f(rng, *y.shape), argmax, x.shape, pool, 1, "same")

    return make


# op -> builder of its arguments; the twin's result is compared where it takes the same ones.
CASES = {
    "matmul": lambda r: (_f(r, 7, 9), _f(r, 9, 5)),
    "dense": lambda r: (_f(r, 7, 9), _f(r, 9, 5), _f(r, 5), "relu"),
    "dense_backward": lambda r: (_f(r, 7, 5), _f(r, 7, 9), _f(r, 9, 5), _f(r, 7, 5), "tanh"),
    "relu": lambda r: (_f(r, 33),),
    "relu_backward": lambda r: (_f(r, 33), _f(r, 33)),
    "sigmoid": lambda r: (_f(r, 4, 33),),
    "sigmoid_backward": lambda r: (_f(r, 33), _f(r, 33)),
    "tanh": lambda r: (_f(r, 33),),
    "tanh_backward": lambda r: (_f(r, 33), _f(r, 33)),
    "softmax": lambda r: (_f(r, 3, 21),),
    "softmax_backward": lambda r: (_f(r, 3, 21), _f(r, 3, 21)),
    "conv2d": lambda r: (_f(r, 2, 7, 7, 3), _f(r, 3, 3, 3, 4), _f(r, 4), 1, "same"),
    "conv2d_backward": lambda r: (_f(r, 2, 5, 5, 4), _f(r, 2, 7, 7, 3), _f(r, 3, 3, 3, 4)),
    "max_pool2d": lambda r: (_f(r, 2, 7, 7, 3), 2, None, "same"),
    "max_pool2d_backward": _max_pool_backward(2),
    "max_pool2d_backward_uint16": _max_pool_backward(17),
    "avg_pool2d": lambda r: (_f(r, 2, 7, 7, 3), 3, 2, "same"),
    "avg_pool2d_backward": lambda r: (_f(r, 2, 4, 4, 3), (2, 7, 7, 3), 3, 2, "same"),
    "lstm": _rnn_case("lstm", 4),
    "lstm_backward": _rnn_backward_case("lstm", 4),
    "gru": _rnn_case("gru", 3),
    "gru_backward": _rnn_backward_case("gru", 3),
    "simple_rnn": _rnn_case("simple_rnn", 1),
    "simple_rnn_backward": _rnn_backward_case("simple_rnn", 1),
    "embedding": lambda r: (_ids(r, 6, 3, 4), _f(r, 6, 5)),
    "embedding_backward": lambda r: (_f(r, 3, 4, 5), _ids(r, 6, 3, 4), 6),
    "dropout": lambda r: (_f(r, 40), 0.5, 11),
    "sparse_softmax_cross_entropy": lambda r: (_f(r, 6, 4), _ids(r, 4, 6)),
    "softmax_cross_entropy": lambda r: (
        _f(r, 6, 4),
        np.eye(4, dtype=np.float32)[[0, 1, 2, 3, 0, 1]],
    ),
    "binary_cross_entropy": lambda r: (r.uniform(0.01, 0.99, 9).astype(np.float32), _f(r, 9) > 0),
    "sigmoid_binary_cross_entropy": lambda r: (_f(r, 9), (_f(r, 9) > 0).astype(np.float32)),
    "mean_squared_error": lambda r: (_f(r, 9), _f(r, 9)),
}
# Ops whose twin takes other extra arguments (the RNN backwards take the twin's own cache).
NO_TWIN = {"lstm_backward", "gru_backward", "simple_rnn_backward"}
# The RNN forwards' results before their cache.
RNN_STATES = {"lstm": 3, "gru": 2, "simple_rnn": 2}


def _flat(result):
    if isinstance(result, (tuple, list)):
        return [v for r in result for v in _flat(r)]
    return [np.asarray(result)]


def _same(got, want):
    got, want = _flat(got), _flat(want)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("case", sorted(CASES))
def test_misaligned_inputs_give_the_aligned_result(case):
    name = case.removesuffix("_uint16")
    args = CASES[case](np.random.default_rng(5))
    op = getattr(ops, name)
    want = op(*args)
    bent = tuple(misaligned(a) if isinstance(a, np.ndarray) and a.itemsize > 1 else a for a in args)
    assert any(isinstance(a, np.ndarray) and not a.flags.aligned for a in bent)
    _same(op(*bent), want)
    if name in NO_TWIN:
        return
    twin = getattr(reference, name)(*args)
    if name in RNN_STATES:  # the caches differ by design
        want, twin = want[: RNN_STATES[name]], twin[: RNN_STATES[name]]
    for got, ref in zip(_flat(want), _flat(twin), strict=True):
        if ref.dtype.kind == "f":
            np.testing.assert_allclose(got, ref, rtol=2e-4, atol=2e-5)
        else:
            np.testing.assert_array_equal(got, ref)


OPTIMIZERS = {
    "sgd_update": lambda p, g, s: ops.sgd_update(p, g, s[0], 0.1, 0.9),
    "adam_update": lambda p, g, s: ops.adam_update(p, g, s[0], s[1], 3),
    "rmsprop_update": lambda p, g, s: ops.rmsprop_update(p, g, s[0]),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_updates_take_misaligned_gradients(name):
    rng = np.random.default_rng(6)
    param, grad = _f(rng, 17), _f(rng, 17)
    slots = [np.abs(_f(rng, 17)) for _ in range(2)]
    want_param, want_slots = param.copy(), [s.copy() for s in slots]
    OPTIMIZERS[name](want_param, grad, want_slots)
    OPTIMIZERS[name](param, misaligned(grad), slots)
    np.testing.assert_array_equal(param, want_param)
    for got, want in zip(slots, want_slots):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_updates_refuse_misaligned_state(name):
    rng = np.random.default_rng(7)
    param, grad = _f(rng, 17), _f(rng, 17)
    slots = [np.abs(_f(rng, 17)) for _ in range(2)]
    with pytest.raises(ValueError, match="param: expected an array aligned"):
        OPTIMIZERS[name](misaligned(param), grad, slots)
    with pytest.raises(ValueError, match="aligned"):
        OPTIMIZERS[name](param, grad, [misaligned(s) for s in slots])
