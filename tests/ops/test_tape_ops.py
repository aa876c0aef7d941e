"""GradientTape gradients of every differentiable tensor operation vs float64 central differences,
and the operations' values vs NumPy."""

import numpy as np
import pytest
import shendu as tf
from shendu.tape import NoGradientError

from tests.helpers.gradcheck import numerical_gradient, random_projection

RNG = np.random.default_rng(0)


def _x(*shape, low=-2.0, high=2.0):
    return RNG.uniform(low, high, shape)


def _pos(*shape):
    return RNG.uniform(0.5, 2.0, shape)


def _distinct(*shape):
    """Values far apart from each other, so max/min/abs/relu have no ties or kinks nearby."""
    n = int(np.prod(shape))
    return (RNG.permutation(n) - n / 2 + 0.37).reshape(shape) * 0.5


LABELS = np.array([2, 0, 1])

# name -> (function of tensors, the float64 inputs to differentiate)
CASES = {
    "add": (lambda a, b: a + b, [_x(3, 4), _x(4)]),
    "subtract": (lambda a, b: a - b, [_x(3, 1), _x(3, 4)]),
    "multiply": (lambda a, b: a * b, [_x(2, 3), _x(2, 3)]),
    "divide": (lambda a, b: a / b, [_x(2, 3), _pos(3)]),
    "pow": (lambda a, b: a**b, [_pos(2, 3), _x(2, 3)]),
    "pow_scalar": (lambda a: a**3, [_x(4)]),
    "negative": (lambda a: -a, [_x(3)]),
    "matmul": (lambda a, b: a @ b, [_x(3, 4), _x(4, 2)]),
    "matmul_t": (
        lambda a, b: tf.matmul(a, b, transpose_a=True, transpose_b=True),
        [_x(4, 3), _x(2, 4)],
    ),
    "matmul_batched": (tf.matmul, [_x(2, 3, 4), _x(4, 5)]),
    "reduce_sum": (lambda a: tf.reduce_sum(a, axis=1), [_x(3, 4)]),
    "reduce_sum_all": (tf.reduce_sum, [_x(3, 4)]),
    "reduce_mean": (lambda a: tf.reduce_mean(a, axis=0, keepdims=True), [_x(3, 4)]),
    "reduce_max": (lambda a: tf.reduce_max(a, axis=-1), [_distinct(3, 4)]),
    "reduce_min": (lambda a: tf.reduce_min(a, axis=[0, 1]), [_distinct(2, 3, 2)]),
    "reduce_logsumexp": (lambda a: tf.reduce_logsumexp(a, axis=1), [_x(3, 4)]),
    "square": (tf.square, [_x(5)]),
    "sqrt": (tf.sqrt, [_pos(5)]),
    "exp": (tf.exp, [_x(5)]),
    "log": (tf.math.log, [_pos(5)]),
    "abs": (tf.abs, [_distinct(6)]),
    "maximum": (tf.maximum, [_distinct(2, 3), _distinct(3) + 0.1]),
    "minimum": (tf.minimum, [_distinct(2, 3), _distinct(2, 3) + 0.1]),
    "clip_by_value": (lambda a: tf.clip_by_value(a, -1.0, 1.0), [_distinct(8) * 0.9]),
    "reshape": (lambda a: tf.reshape(a, (4, -1)), [_x(2, 6)]),
    "transpose": (lambda a: tf.transpose(a, [2, 0, 1]), [_x(2, 3, 4)]),
    "concat": (lambda a, b: tf.concat([a, b], axis=1), [_x(2, 3), _x(2, 2)]),
    "stack": (lambda a, b: tf.stack([a, b], axis=1), [_x(2, 3), _x(2, 3)]),
    "gather": (lambda a: tf.gather(a, [2, 0, 2]), [_x(4, 3)]),
    "gather_axis1": (lambda a: tf.gather(a, [[1, 0], [1, 1]], axis=1), [_x(2, 3)]),
    "slicing": (lambda a: a[1:, ::2], [_x(3, 5)]),
    "indexing_newaxis": (lambda a: a[..., tf.newaxis][0], [_x(2, 3)]),
    "fancy_indexing": (lambda a: a[[0, 0, 2]], [_x(3, 2)]),
    "where": (lambda a, b: tf.where(np.array([True, False, True]), a, b), [_x(2, 3), _x(3)]),
    "cast": (lambda a: tf.cast(a, tf.float64) * 2.0, [_x(3)]),
    "expand_dims": (lambda a: tf.expand_dims(a, 1), [_x(2, 3)]),
    "squeeze": (lambda a: tf.squeeze(a, 1), [_x(2, 1, 3)]),
    "unstack": (lambda a: tf.unstack(a, axis=1)[1], [_x(2, 3)]),
    "relu": (tf.nn.relu, [_distinct(6)]),
    "sigmoid": (tf.nn.sigmoid, [_x(5)]),
    "tanh": (tf.nn.tanh, [_x(5)]),
    "softplus": (tf.math.softplus, [_x(5)]),
    "softmax": (tf.nn.softmax, [_x(3, 4)]),
    "softmax_axis0": (lambda a: tf.nn.softmax(a, axis=0), [_x(3, 4)]),
    "log_softmax": (tf.nn.log_softmax, [_x(3, 4)]),
    "sparse_softmax_ce": (
        lambda z: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=LABELS, logits=z),
        [_x(3, 4)],
    ),
    "softmax_ce": (
        lambda y, z: tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=z),
        [_pos(3, 4), _x(3, 4)],
    ),
    "sigmoid_ce": (
        lambda y, z: tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z),
        [_pos(3, 2) / 2, _x(3, 2)],
    ),
    "l2_loss": (tf.nn.l2_loss, [_x(3, 2)]),
    "reduce_std": (lambda a: tf.math.reduce_std(a, axis=0), [_x(4, 3)]),
    "norm": (tf.norm, [_x(4)]),
    "cumsum": (lambda a: tf.math.cumsum(a, axis=1), [_x(2, 4)]),
    "add_n": (lambda a, b: tf.add_n([a, b, a]), [_x(3), _x(3)]),
    "numpy_ufuncs": (lambda a, b: np.exp(a) * np.maximum(a, b) - np.sqrt(b), [_x(3), _pos(3)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_tape_gradient_matches_finite_differences(name):
    fn, inputs = CASES[name]
    inputs = [np.array(a, dtype=np.float64) for a in inputs]
    tensors = [tf.constant(a) for a in inputs]
    with tf.GradientTape() as tape:
        for t in tensors:
            tape.watch(t)
        out = fn(*tensors)
        proj = random_projection(np.shape(out), seed=1)
        loss = tf.reduce_sum(out * proj)
    grads = tape.gradient(loss, tensors)
    for k, (x, g) in enumerate(zip(inputs, grads)):

        def f(k=k):
            return float(np.sum(np.asarray(fn(*[tf.constant(a) for a in inputs])) * proj))

        numeric = numerical_gradient(f, x)
        assert g is not None, f"{name}: no gradient for input {k}"
        np.testing.assert_allclose(np.asarray(g), numeric, rtol=1e-6, atol=1e-8)


VALUES = {
    "matmul": (lambda a, b: a @ b, np.matmul),
    "reduce_max": (lambda a: tf.reduce_max(a, 0), lambda a: a.max(0)),
    "softmax": (
        tf.nn.softmax,
        lambda a: (
            np.exp(a - a.max(-1, keepdims=True))
            / np.exp(a - a.max(-1, keepdims=True)).sum(-1, keepdims=True)
        ),
    ),
    "log_softmax": (
        tf.nn.log_softmax,
        lambda a: (
            a
            - a.max(-1, keepdims=True)
            - np.log(np.exp(a - a.max(-1, keepdims=True)).sum(-1, keepdims=True))
        ),
    ),
    "sigmoid": (tf.nn.sigmoid, lambda a: 1 / (1 + np.exp(-a))),
}


@pytest.mark.parametrize("name", sorted(VALUES))
def test_values_match_numpy(name):
    ours, reference = VALUES[name]
    inputs = CASES[name][1]
    np.testing.assert_allclose(np.asarray(ours(*inputs)), reference(*inputs), rtol=1e-12)


def test_sparse_softmax_cross_entropy_is_stable_for_large_logits():
    z = np.array([[1000.0, 0.0, -1000.0]])
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[0], logits=z)
    np.testing.assert_allclose(loss.numpy(), [0.0], atol=1e-12)


def test_variables_are_watched_and_unconnected_sources_are_none():
    w = tf.Variable([[1.0], [2.0]])
    unused = tf.Variable(3.0)
    frozen = tf.Variable(1.0, trainable=False)
    x = tf.constant([[1.0, 1.0], [0.0, 2.0]])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(x @ w) * frozen
    grads = tape.gradient(y, {"w": w, "pair": [unused, frozen]})
    np.testing.assert_array_equal(grads["w"].numpy(), [[1.0], [3.0]])
    assert grads["pair"] == [None, None]  # frozen: not watched, as TensorFlow
    assert w.dtype == tf.float32 and tf.Variable(1).dtype == tf.int32


def test_unconnected_zero_and_output_gradients():
    x = tf.constant([1.0, 2.0])
    other = tf.constant(5.0)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x, other])
        y = x * x
    g = tape.gradient(y, [x, other], output_gradients=tf.constant([1.0, 10.0]))
    np.testing.assert_array_equal(g[0].numpy(), [2.0, 40.0])
    assert g[1] is None
    zero = tape.gradient(y, other, unconnected_gradients="zero")
    assert zero.numpy() == 0.0


def test_non_persistent_tape_gives_one_set_of_gradients():
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = x * x
    assert float(tape.gradient(y, x)) == 4.0
    with pytest.raises(RuntimeError, match="non-persistent"):
        tape.gradient(y, x)


def test_persistent_tape_and_stop_gradient():
    x = tf.Variable(3.0)
    with tf.GradientTape(persistent=True) as tape:
        y = x * x
        z = tf.stop_gradient(y) * x
    assert float(tape.gradient(y, x)) == 6.0
    assert float(tape.gradient(z, x)) == 9.0  # d(c * x)/dx with c = x^2 held constant


def test_stop_recording_and_watch_accessed_variables_false():
    x = tf.Variable(2.0)
    v = tf.Variable(5.0)
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(x)
        y = x * v
        with tape.stop_recording():
            z = y * 100.0
        y2 = y + 0.0
    assert float(tape.gradient(y2, x)) == 5.0
    assert z.numpy() == 1000.0


def test_gradient_through_an_op_without_one_names_it():
    x = tf.Variable([1.4, 2.6])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.round(x) * x)
    with pytest.raises(NoGradientError, match="'round'"):
        tape.gradient(y, x)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(np.sin(x * 1.0))
    with pytest.raises(NoGradientError, match="numpy.sin"):
        tape.gradient(y, x)


def test_second_order_through_nested_tapes_is_a_clear_error():
    x = tf.Variable(3.0)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = x * x * x
        dy = inner.gradient(y, x)
        assert float(dy) == 27.0  # first order works inside another tape
    with pytest.raises(NoGradientError, match="second order"):
        outer.gradient(dy, x)


def test_cast_between_floats_passes_the_gradient_in_the_source_dtype():
    x = tf.constant([1.0, 2.0], tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(tf.cast(x, tf.float32) * 3.0)
    g = tape.gradient(y, x)
    assert g.dtype == tf.float64
    np.testing.assert_array_equal(g.numpy(), [3.0, 3.0])


def test_integer_and_comparison_results_carry_no_gradient():
    x = tf.Variable([1.0, -2.0, 3.0])
    with tf.GradientTape() as tape:
        mask = tf.cast(x > 0, tf.float32)
        y = tf.reduce_sum(mask * x)
        arg = tf.argmax(x)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [1.0, 0.0, 1.0])
    assert arg.dtype == tf.int64 and int(arg) == 2


def test_clip_by_global_norm_matches_numpy():
    grads = [np.array([3.0, 4.0], np.float32), None, np.array([[12.0]], np.float32)]
    clipped, norm = tf.clip_by_global_norm(grads, 6.5)
    assert float(norm) == 13.0
    np.testing.assert_allclose(clipped[0], [1.5, 2.0])
    np.testing.assert_allclose(clipped[2], [[6.0]])
    assert clipped[1] is None
    same, _ = tf.clip_by_global_norm(grads, 20.0)
    np.testing.assert_array_equal(same[0], grads[0])
    np.testing.assert_allclose(tf.clip_by_norm(tf.constant([3.0, 4.0]), 1.0), [0.6, 0.8])


def test_variable_assign_family():
    v = tf.Variable([1.0, 2.0])
    v.assign_add([1.0, 1.0])
    v.assign_sub(tf.constant([0.5, 0.5]))
    np.testing.assert_array_equal(v.numpy(), [1.5, 2.5])
    v.assign(v * 2)
    np.testing.assert_array_equal(v.numpy(), [3.0, 5.0])
    with pytest.raises(ValueError, match="shape"):
        v.assign([1.0])


def test_constants_and_creation_functions():
    assert tf.constant(1.5).dtype == tf.float32
    assert tf.constant([1, 2]).dtype == tf.int32
    assert tf.constant(np.zeros(2)).dtype == tf.float64
    assert tf.constant(0.0, shape=(2, 3)).shape == (2, 3)
    assert tf.convert_to_tensor([1.0]).dtype == "float32"
    np.testing.assert_array_equal(tf.one_hot([0, 2], 3), [[1, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(tf.range(3), [0, 1, 2])
    np.testing.assert_allclose(tf.linspace(0.0, 1.0, 3), [0.0, 0.5, 1.0])
    assert tf.zeros_like(tf.ones((2, 2))).shape == (2, 2)
    assert tf.reduce_sum(tf.ones((2, 3), tf.int32)).dtype == tf.int32
    tf.random.set_seed(3)
    a = tf.random.normal((3,))
    tf.random.set_seed(3)
    np.testing.assert_array_equal(a, tf.random.normal((3,)))
    assert tf.random.uniform((100,), 2.0, 3.0).numpy().min() >= 2.0


def test_function_runs_eagerly_and_unknown_names_say_so():
    calls = []

    @tf.function
    def f(x):
        calls.append(1)
        return x + 1

    @tf.function(jit_compile=True)
    def g(x):
        return x * 2

    assert float(f(tf.constant(1.0))) == 2.0 and float(g(tf.constant(2.0))) == 4.0
    assert len(calls) == 1
    for module, name in ((tf, "vectorized_map"), (tf.math, "bessel_i0"), (tf.nn, "conv3d")):
        with pytest.raises(AttributeError, match="shendu does not provide tf"):
            getattr(module, name)
