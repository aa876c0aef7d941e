"""shendu.data.Dataset against tf.data's documented semantics (values and order by hand)."""

import collections
import gc
import threading
import time

import numpy as np
import pytest
import shendu
from shendu import data
from shendu.data import Dataset, TensorSpec

Pair = collections.namedtuple("Pair", "x y")


def as_list(ds):
    return list(ds)


def assert_elements(actual, expected):
    """Same nesting, same values, same dtypes, element by element."""
    actual = list(actual)
    assert len(actual) == len(expected), (actual, expected)
    for a, e in zip(actual, expected):
        _assert_same(a, e)


def _assert_same(a, e):
    if isinstance(e, dict):
        assert type(a) is type(e) and sorted(a) == sorted(e)
        for k in e:
            _assert_same(a[k], e[k])
    elif isinstance(e, tuple):
        assert type(a) is type(e) and len(a) == len(e)
        for x, y in zip(a, e):
            _assert_same(x, y)
    elif isinstance(e, bytes):
        assert a == e and isinstance(a, bytes)
    else:
        e = np.asarray(e)
        assert np.asarray(a).dtype == e.dtype, (a, e)
        np.testing.assert_array_equal(a, e)


def prefetch_threads():
    return [t for t in threading.enumerate() if t.name == "shendu-prefetch"]


def wait_until(condition, timeout=2.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


# -- import paths -------------------------------------------------------------------------


def test_reachable_as_tf_data():
    import shendu as tf

    assert tf.data.Dataset is Dataset
    assert tf.TensorSpec is TensorSpec
    assert (tf.data.AUTOTUNE, tf.data.experimental.AUTOTUNE) == (-1, -1)
    assert (tf.data.INFINITE_CARDINALITY, tf.data.UNKNOWN_CARDINALITY) == (-1, -2)
    assert tf.data.experimental.cardinality(Dataset.range(3)) == 3


# -- sources ------------------------------------------------------------------------------


def test_from_tensor_slices_converts_python_values_as_tf():
    assert_elements(Dataset.from_tensor_slices([1, 2, 3]), [np.int32(1), np.int32(2), np.int32(3)])
    assert_elements(Dataset.from_tensor_slices([0.5, 1.5]), [np.float32(0.5), np.float32(1.5)])
    assert_elements(Dataset.from_tensor_slices([True, False]), [np.bool_(True), np.bool_(False)])
    assert_elements(Dataset.from_tensor_slices([2**40, 1]), [np.int64(2**40), np.int64(1)])
    assert_elements(Dataset.from_tensor_slices(["ab", "c"]), [b"ab", b"c"])
    # A list of NumPy arrays is one array of their dtype.
    rows = [np.array([1.0, 2.0]), np.array([3.0, 4.0])]
    assert_elements(Dataset.from_tensor_slices(rows), rows)
    # NumPy arrays keep their dtype; rows of a matrix are the elements.
    x = np.arange(6, dtype=np.float64).reshape(3, 2)
    assert_elements(Dataset.from_tensor_slices(x), [x[0], x[1], x[2]])
    assert_elements(
        Dataset.from_tensor_slices(np.array([7, 8], np.uint8)), [np.uint8(7), np.uint8(8)]
    )


def test_from_tensor_slices_structures():
    x = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    y = np.array([0, 1], np.int64)
    assert_elements(Dataset.from_tensor_slices((x, y)), [(x[0], y[0]), (x[1], y[1])])
    ds = Dataset.from_tensor_slices({"b": y, "a": x})
    assert_elements(ds, [{"a": x[0], "b": y[0]}, {"a": x[1], "b": y[1]}])
    nested = Dataset.from_tensor_slices((x, {"label": y, "w": [0.5, 2.0]}))
    assert_elements(
        nested,
        [
            (x[0], {"label": y[0], "w": np.float32(0.5)}),
            (x[1], {"label": y[1], "w": np.float32(2.0)}),
        ],
    )
    assert_elements(Dataset.from_tensor_slices(Pair(x, y)), [Pair(x[0], y[0]), Pair(x[1], y[1])])
    assert nested.element_spec == (
        TensorSpec((2,), np.float32),
        {"label": TensorSpec((), np.int64), "w": TensorSpec((), np.float32)},
    )


def test_from_tensor_slices_elements_cannot_write_into_the_source():
    x = np.zeros((2, 3))
    first = next(iter(Dataset.from_tensor_slices(x)))
    with pytest.raises(ValueError, match="read-only"):
        first += 1
    assert not x.any()


def test_from_tensor_slices_bad_input():
    with pytest.raises(ValueError, match="same first dimension"):
        Dataset.from_tensor_slices((np.zeros(3), np.zeros(2)))
    with pytest.raises(ValueError, match="scalar"):
        Dataset.from_tensor_slices(5)
    with pytest.raises(ValueError, match="non-rectangular"):
        Dataset.from_tensor_slices([[1, 2], [3]])


def test_from_tensors_is_one_element():
    x = np.arange(4).reshape(2, 2)
    ds = Dataset.from_tensors((x, "s"))
    assert_elements(ds, [(x, b"s")])
    assert ds.cardinality() == 1 and len(ds) == 1
    assert ds.element_spec[0] == TensorSpec((2, 2), x.dtype)


def test_from_generator_with_output_signature():
    calls = []

    def gen(n):
        calls.append(n)
        for i in range(n):
            yield i, [i] * i  # a tuple with a Python list of variable length

    ds = Dataset.from_generator(
        gen,
        output_signature=(TensorSpec((), "float32"), TensorSpec((None,), np.int64)),
        args=(3,),
    )
    expected = [
        (np.float32(0), np.zeros(0, np.int64)),
        (np.float32(1), np.array([1], np.int64)),
        (np.float32(2), np.array([2, 2], np.int64)),
    ]
    assert_elements(ds, expected)
    assert_elements(ds, expected)
    assert calls == [3, 3]  # called anew on each pass
    assert ds.cardinality() == data.UNKNOWN_CARDINALITY


def test_from_generator_checks_what_the_generator_yields():
    ds = Dataset.from_generator(
        lambda: iter([[1, 2, 3]]), output_signature=TensorSpec((2,), "int32")
    )
    with pytest.raises(ValueError, match=r"shape \(3,\) where an element of shape \(2,\)"):
        as_list(ds)
    ds = Dataset.from_generator(lambda: iter(["x"]), output_signature=TensorSpec((), "float32"))
    with pytest.raises(TypeError, match="could not be converted"):
        as_list(ds)
    ds = Dataset.from_generator(
        lambda: iter([1]), output_signature=(TensorSpec(()), TensorSpec(()))
    )
    with pytest.raises(TypeError, match="structure"):
        as_list(ds)


def test_from_generator_with_output_types_and_shapes():
    ds = Dataset.from_generator(
        lambda: ({"a": [i, i], "b": "t"} for i in range(2)),
        output_types={"a": np.int32, "b": "string"},
        output_shapes={"a": (2,), "b": ()},
    )
    assert_elements(
        ds,
        [
            {"a": np.array([0, 0], np.int32), "b": b"t"},
            {"a": np.array([1, 1], np.int32), "b": b"t"},
        ],
    )
    assert ds.element_spec["a"] == TensorSpec((2,), np.int32)


def test_from_generator_bad_arguments():
    with pytest.raises(TypeError, match="`generator`"):
        Dataset.from_generator([1, 2], output_signature=TensorSpec(()))
    with pytest.raises(TypeError, match="output_signature"):
        Dataset.from_generator(lambda: iter([]))
    with pytest.raises(TypeError, match="output_signature"):
        Dataset.from_generator(lambda: iter([]), output_signature=(np.float32,))


def test_range():
    assert_elements(Dataset.range(3), [np.int64(0), np.int64(1), np.int64(2)])
    assert [int(v) for v in Dataset.range(2, 9, 3)] == [2, 5, 8]
    assert [int(v) for v in Dataset.range(5, 1, -2)] == [5, 3]
    assert Dataset.range(2, 9, 3).cardinality() == 3
    assert Dataset.range(4, output_type=np.int32).element_spec == TensorSpec((), np.int32)
    with pytest.raises(ValueError, match="step"):
        Dataset.range(0, 5, 0)
    with pytest.raises(TypeError, match="stop"):
        Dataset.range(2.5)


def test_zip_tuple_and_dict_ends_with_the_shortest():
    a, b = Dataset.range(3), Dataset.from_tensor_slices([10, 20])
    expected = [(np.int64(0), np.int32(10)), (np.int64(1), np.int32(20))]
    assert_elements(Dataset.zip(a, b), expected)
    assert_elements(Dataset.zip((a, b)), expected)
    assert_elements(
        Dataset.zip({"i": a, "v": b}),
        [{"i": np.int64(0), "v": np.int32(10)}, {"i": np.int64(1), "v": np.int32(20)}],
    )
    assert Dataset.zip(a, b).cardinality() == 2
    assert Dataset.zip(a.repeat(), b).cardinality() == 2
    assert Dataset.zip(a.repeat(), b.repeat()).cardinality() == data.INFINITE_CARDINALITY
    assert Dataset.zip(a, b.filter(lambda v: True)).cardinality() == data.UNKNOWN_CARDINALITY
    with pytest.raises(TypeError, match="datasets"):
        Dataset.zip(a, [1, 2])


def test_concatenate():
    ds = Dataset.range(2).concatenate(Dataset.range(5, 7))
    assert [int(v) for v in ds] == [0, 1, 5, 6]
    assert ds.cardinality() == 4
    with pytest.raises(TypeError, match="dtype"):
        Dataset.range(2).concatenate(Dataset.from_tensor_slices([1.0]))
    with pytest.raises(TypeError, match="structured"):
        Dataset.range(2).concatenate(Dataset.zip(Dataset.range(1), Dataset.range(1)))


# -- batching -----------------------------------------------------------------------------


def test_batch_and_drop_remainder():
    x = np.arange(10, dtype=np.float32).reshape(5, 2)
    y = np.arange(5)
    ds = Dataset.from_tensor_slices((x, y)).batch(2)
    assert_elements(ds, [(x[0:2], y[0:2]), (x[2:4], y[2:4]), (x[4:5], y[4:5])])
    assert ds.cardinality() == 3
    assert ds.element_spec == (TensorSpec((None, 2), np.float32), TensorSpec((None,), y.dtype))
    dropped = Dataset.from_tensor_slices((x, y)).batch(2, drop_remainder=True)
    assert_elements(dropped, [(x[0:2], y[0:2]), (x[2:4], y[2:4])])
    assert dropped.cardinality() == 2
    assert dropped.element_spec[0] == TensorSpec((2, 2), np.float32)
    assert Dataset.range(7).repeat().batch(3).cardinality() == data.INFINITE_CARDINALITY
    # Batches are new arrays (sliced at once from a source of slices, stacked otherwise).
    first = next(iter(ds))[0]
    first += 1
    assert x[0, 0] == 0
    stacked = Dataset.from_tensor_slices((x, y)).map(lambda a, b: (a, b)).batch(2, True)
    assert_elements(stacked, [(x[0:2], y[0:2]), (x[2:4], y[2:4])])


def test_batch_of_dicts_and_strings():
    ds = Dataset.from_tensor_slices({"t": ["a", "bb", "c"], "n": [1, 2, 3]}).batch(2)
    batches = as_list(ds)
    assert batches[0]["t"].dtype == object and batches[0]["t"].tolist() == [b"a", b"bb"]
    assert_elements([batches[1]["n"]], [np.array([3], np.int32)])


def test_batch_bad_arguments_and_ragged_elements():
    with pytest.raises(ValueError, match="batch_size"):
        Dataset.range(3).batch(0)
    with pytest.raises(TypeError, match="batch_size"):
        Dataset.range(3).batch(2.0)
    with pytest.raises(TypeError, match="drop_remainder"):
        Dataset.range(3).batch(2, drop_remainder="yes")
    ragged = Dataset.range(1, 3).map(lambda n: np.zeros(n)).batch(2)
    with pytest.raises(ValueError, match="different shapes in component 0"):
        as_list(ragged)


def test_padded_batch_pads_to_the_longest_in_each_batch():
    ds = Dataset.range(1, 5).map(lambda n: np.full(n, n, np.int32)).padded_batch(2)
    assert_elements(
        ds,
        [
            np.array([[1, 0], [2, 2]], np.int32),
            np.array([[3, 3, 3, 0], [4, 4, 4, 4]], np.int32),
        ],
    )


def test_padded_batch_shapes_and_values():
    def elements():
        for n in (1, 3):
            yield np.arange(1, n + 1).reshape(n, 1).repeat(2, 1), np.float32(n), "w" * n

    ds = Dataset.from_generator(
        elements,
        output_signature=(
            TensorSpec((None, 2), np.int64),
            TensorSpec((), np.float32),
            TensorSpec((), "string"),
        ),
    )
    out = as_list(
        ds.padded_batch(2, padded_shapes=([4, None], [], []), padding_values=(-1, 0.0, b"?"))
    )
    assert len(out) == 1
    tokens, scalars, words = out[0]
    expected_tokens = np.full((2, 4, 2), -1, np.int64)
    expected_tokens[0, :1] = [[1, 1]]
    expected_tokens[1, :3] = [[1, 1], [2, 2], [3, 3]]
    assert_elements([tokens, scalars], [expected_tokens, np.array([1, 3], np.float32)])
    assert words.tolist() == [b"w", b"www"]
    spec = ds.padded_batch(2, padded_shapes=([4, None], [], [])).element_spec
    # As tf: the spec is the padded shape, whose None stays None even where the input's is 2.
    assert spec[0] == TensorSpec((None, 4, None), np.int64)
    # One scalar padding value is used for every component.
    (padded,) = as_list(
        Dataset.range(1, 3).map(lambda n: np.ones(n)).padded_batch(2, padding_values=7.0)
    )
    np.testing.assert_array_equal(padded, [[1, 7], [1, 1]])


def test_padded_batch_refuses_to_cut():
    ds = Dataset.range(3, 4).map(lambda n: np.ones(n)).padded_batch(1, padded_shapes=[2])
    with pytest.raises(ValueError, match="smaller size"):
        as_list(ds)
    ds = Dataset.range(3, 4).map(lambda n: np.ones(n)).padded_batch(1, padded_shapes=[2, 2])
    with pytest.raises(ValueError, match="rank"):
        as_list(ds)
    with pytest.raises(ValueError, match="padding_values"):
        Dataset.range(3).padded_batch(1, padding_values=[1, 2])


def test_unbatch_and_rebatch():
    x = np.arange(12).reshape(6, 2)
    batched = Dataset.from_tensor_slices(x).batch(4)
    assert_elements(batched.unbatch(), list(x))
    assert batched.unbatch().cardinality() == data.UNKNOWN_CARDINALITY
    exact = Dataset.from_tensor_slices(x).batch(3, drop_remainder=True)
    assert exact.unbatch().cardinality() == 6
    assert exact.unbatch().element_spec == TensorSpec((2,), x.dtype)
    assert_elements(batched.rebatch(5), [x[0:5], x[5:6]])
    with pytest.raises(ValueError, match="first dimension"):
        as_list(Dataset.range(3).unbatch())


# -- shuffle ------------------------------------------------------------------------------


def orders(ds, epochs):
    return [[int(v) for v in ds] for _ in range(epochs)]


def test_shuffle_is_a_permutation_bounded_by_the_buffer():
    n, k = 50, 5
    order = [int(v) for v in Dataset.range(n).shuffle(k, seed=3)]
    assert sorted(order) == list(range(n)) and order != list(range(n))
    # The i-th output comes from the buffer, which then holds inputs up to i + k - 1 only.
    assert all(v <= i + k - 1 for i, v in enumerate(order))
    assert [int(v) for v in Dataset.range(n).shuffle(1, seed=3)] == list(range(n))


def test_shuffle_seeded_orders_are_reproducible_and_reshuffled():
    ds = Dataset.range(20).shuffle(20, seed=7)
    epochs = orders(ds, 3)
    assert len({tuple(e) for e in epochs}) == 3  # each pass a new order
    assert orders(Dataset.range(20).shuffle(20, seed=7), 3) == epochs  # and the same sequence
    assert orders(Dataset.range(20).shuffle(20, seed=8), 1) != epochs[:1]
    fixed = orders(Dataset.range(20).shuffle(20, seed=7, reshuffle_each_iteration=False), 3)
    assert fixed[0] == fixed[1] == fixed[2]
    # repeat() makes new passes over the shuffle, so each repetition is reshuffled.
    repeated = [int(v) for v in Dataset.range(20).shuffle(20, seed=7).repeat(2)]
    assert repeated[:20] != repeated[20:] and sorted(repeated[20:]) == list(range(20))


def test_shuffle_of_array_rows_matches_the_element_shuffle():
    # from_tensor_slices + shuffle + batch permutes row indices and slices the arrays; the
    # order must be the one the buffer algorithm gives on the elements themselves.
    x = np.arange(46, dtype=np.float32).reshape(23, 2)
    rows = Dataset.from_tensor_slices((x, np.arange(23))).shuffle(6, seed=4)
    elements = Dataset.range(23).shuffle(6, seed=4)
    assert orders(rows.map(lambda a, i: i), 3) == orders(elements, 3)
    order = [int(i) for i in Dataset.range(23).shuffle(6, seed=4)]
    fresh = Dataset.from_tensor_slices((x, np.arange(23))).shuffle(6, seed=4)  # its pass 0
    batches = as_list(fresh.batch(5, drop_remainder=True))
    assert_elements(
        batches, [(x[order[i : i + 5]], np.arange(23)[order[i : i + 5]]) for i in (0, 5, 10, 15)]
    )
    twice = Dataset.from_tensor_slices(np.arange(23)).shuffle(6, seed=4).shuffle(3, seed=9)
    assert orders(twice, 2) == orders(Dataset.range(23).shuffle(6, seed=4).shuffle(3, seed=9), 2)
    cached = Dataset.from_tensor_slices(np.arange(5)).cache().shuffle(5, seed=1)
    assert orders(cached, 2) == orders(Dataset.range(5).shuffle(5, seed=1), 2)


def test_shuffle_without_seed_follows_the_global_seed():
    from shendu.keras.utils import set_random_seed

    def run():
        return orders(Dataset.range(30).shuffle(30), 2)

    set_random_seed(11)
    first = run()
    set_random_seed(11)
    assert run() == first
    shendu.random.set_seed(11)
    assert run() == first
    set_random_seed(12)
    assert run() != first


def test_shuffle_bad_arguments():
    with pytest.raises(ValueError, match="buffer_size"):
        Dataset.range(3).shuffle(0)
    with pytest.raises(ValueError, match="buffer_size"):
        Dataset.range(3).shuffle(-4)
    with pytest.raises(TypeError, match="reshuffle_each_iteration"):
        Dataset.range(3).shuffle(2, reshuffle_each_iteration="no")


# -- map / filter -------------------------------------------------------------------------


def test_map_unpacks_tuples_and_converts_results():
    ds = Dataset.from_tensor_slices(([1, 2], [10, 20])).map(lambda a, b: [a + b, 0.5])
    assert_elements(ds, [(np.int32(11), np.float32(0.5)), (np.int32(22), np.float32(0.5))])
    assert ds.element_spec == (TensorSpec((), np.int32), TensorSpec((), np.float32))
    # A dict element is one argument; a namedtuple is not unpacked either.
    ds = Dataset.from_tensor_slices({"a": [1, 2]}).map(lambda d: d["a"] * 3)
    assert [int(v) for v in ds] == [3, 6]
    ds = Dataset.from_tensor_slices(Pair([1], [2])).map(lambda p: p.x - p.y)
    assert [int(v) for v in ds] == [-1]
    with pytest.raises(TypeError, match="map_func"):
        Dataset.range(3).map(3)


def test_map_with_parallel_calls_runs_on_several_threads_in_order():
    barrier = threading.Barrier(2, timeout=5)
    threads = set()

    def slow_square(x):
        threads.add(threading.get_ident())
        barrier.wait()  # returns only once two calls run at the same time
        return x * x

    ds = Dataset.range(8).map(slow_square, num_parallel_calls=4)
    assert [int(v) for v in ds] == [i * i for i in range(8)]
    assert len(threads) >= 2
    assert wait_until(lambda: not [t for t in threading.enumerate() if "shendu-map" in t.name])


def test_map_not_deterministic_yields_what_is_ready_first():
    def work(x):
        if x == 0:
            time.sleep(0.3)
        return x

    out = [int(v) for v in Dataset.range(6).map(work, num_parallel_calls=3, deterministic=False)]
    assert sorted(out) == list(range(6)) and out[0] != 0
    autotuned = Dataset.range(6).map(work, num_parallel_calls=data.AUTOTUNE)
    assert [int(v) for v in autotuned] == list(range(6))


def test_map_errors_reach_the_consumer():
    def fail_on_two(x):
        if x == 2:
            raise KeyError("two")
        return x

    for calls in (None, 2):
        it = iter(Dataset.range(5).map(fail_on_two, num_parallel_calls=calls))
        assert [int(next(it)), int(next(it))] == [0, 1]
        with pytest.raises(KeyError, match="two"):
            next(it)
    with pytest.raises(ValueError, match="num_parallel_calls"):
        Dataset.range(3).map(abs, num_parallel_calls=0)
    with pytest.raises(TypeError, match="deterministic"):
        Dataset.range(3).map(abs, deterministic=1)


def test_filter():
    ds = Dataset.range(10).filter(lambda x: x % 3 == 0)
    assert [int(v) for v in ds] == [0, 3, 6, 9]
    assert ds.cardinality() == data.UNKNOWN_CARDINALITY
    pairs = Dataset.from_tensor_slices(([1, 2, 3], [3, 2, 1])).filter(lambda a, b: a > b)
    assert_elements(pairs, [(np.int32(3), np.int32(1))])
    with pytest.raises(TypeError, match="scalar bool"):
        as_list(Dataset.range(3).filter(lambda x: x))
    with pytest.raises(TypeError, match="predicate"):
        Dataset.range(3).filter(None)


# -- repeat / take / skip / enumerate / cache ---------------------------------------------


def test_repeat_take_skip():
    assert [int(v) for v in Dataset.range(3).repeat(2)] == [0, 1, 2, 0, 1, 2]
    assert Dataset.range(3).repeat(2).cardinality() == 6
    forever = Dataset.range(3).repeat()
    assert forever.cardinality() == data.INFINITE_CARDINALITY
    assert [int(v) for v in forever.take(7)] == [0, 1, 2, 0, 1, 2, 0]
    assert forever.take(7).cardinality() == 7
    assert as_list(Dataset.range(0).repeat()) == []  # an empty dataset repeated stays empty
    assert Dataset.range(0).repeat().cardinality() == 0
    assert as_list(Dataset.range(3).repeat(0)) == []
    assert [int(v) for v in Dataset.range(5).take(-1)] == list(range(5))
    assert [int(v) for v in Dataset.range(5).skip(2)] == [2, 3, 4]
    assert Dataset.range(5).skip(2).cardinality() == 3
    assert as_list(Dataset.range(5).skip(-1)) == [] and Dataset.range(5).skip(-1).cardinality() == 0
    assert Dataset.range(5).take(9).cardinality() == 5
    with pytest.raises(ValueError, match="count"):
        Dataset.range(5).take(-2)
    with pytest.raises(TypeError, match="count"):
        Dataset.range(5).repeat(1.5)


def test_take_pulls_no_more_than_it_needs():
    pulled = []

    def gen():
        for i in range(100):
            pulled.append(i)
            yield i

    ds = Dataset.from_generator(gen, output_signature=TensorSpec((), np.int64)).take(3)
    assert [int(v) for v in ds] == [0, 1, 2]
    assert pulled == [0, 1, 2]


def test_enumerate():
    ds = Dataset.from_tensor_slices(["a", "b"]).enumerate(start=5)
    assert_elements(ds, [(np.int64(5), b"a"), (np.int64(6), b"b")])
    assert ds.element_spec == (TensorSpec((), np.int64), TensorSpec((), "string"))


def test_cache_runs_upstream_once_and_only_after_a_full_pass():
    calls = []
    ds = Dataset.range(4).map(lambda x: calls.append(int(x)) or x * 10).cache()
    first = next(iter(ds))  # a pass stopped early caches nothing
    assert int(first) == 0
    assert [int(v) for v in ds] == [0, 10, 20, 30]
    assert [int(v) for v in ds] == [0, 10, 20, 30]
    assert calls == [0, 0, 1, 2, 3]
    with pytest.raises(NotImplementedError, match="filename"):
        Dataset.range(3).cache("/tmp/x")


def test_len_and_cardinality():
    assert len(Dataset.range(4).batch(3)) == 2
    with pytest.raises(TypeError, match="infinite"):
        len(Dataset.range(4).repeat())
    with pytest.raises(TypeError, match="unknown"):
        len(Dataset.range(4).filter(lambda x: True))
    assert Dataset.range(4).cardinality().numpy() == np.int64(4)
    assert "element_spec" in repr(Dataset.range(4))


def test_apply():
    ds = Dataset.range(6).apply(lambda d: d.skip(4))
    assert [int(v) for v in ds] == [4, 5]
    with pytest.raises(TypeError, match="transformation_func"):
        Dataset.range(6).apply(lambda d: 3)


# -- prefetch -----------------------------------------------------------------------------


def test_prefetch_runs_ahead_on_a_background_thread():
    made = [threading.Event() for _ in range(3)]
    producers = set()

    def gen():
        for i in range(3):
            producers.add(threading.get_ident())
            made[i].set()
            yield i

    ds = Dataset.from_generator(gen, output_signature=TensorSpec((), np.int64)).prefetch(2)
    it = iter(ds)
    assert int(next(it)) == 0
    # Element 2 gets made while the consumer holds element 0 and has not asked for more.
    assert made[2].wait(timeout=2)
    assert [int(v) for v in it] == [1, 2]
    assert producers and threading.get_ident() not in producers
    assert wait_until(lambda: not prefetch_threads())


def test_prefetch_re_raises_the_producers_error_in_place():
    def gen():
        yield 1
        yield 2
        raise RuntimeError("disk gone")

    ds = Dataset.from_generator(gen, output_signature=TensorSpec((), np.int64)).prefetch(4)
    it = iter(ds)
    assert [int(next(it)), int(next(it))] == [1, 2]
    with pytest.raises(RuntimeError, match="disk gone"):
        next(it)
    with pytest.raises(StopIteration):
        next(it)
    assert wait_until(lambda: not prefetch_threads())


def test_prefetch_thread_stops_when_the_iterator_is_dropped_or_closed():
    endless = Dataset.range(10).repeat().map(lambda x: x + 1).prefetch(data.AUTOTUNE)

    def stopped(threads):
        return threads and wait_until(lambda: not any(t.is_alive() for t in threads))

    before = set(prefetch_threads())
    it = iter(endless)
    next(it)
    started = set(prefetch_threads()) - before
    assert len(started) == 1
    del it
    gc.collect()
    assert stopped(started)
    # take() closes its input once it has its elements.
    before = set(prefetch_threads())
    taken = endless.take(3)
    assert [int(v) for v in taken] == [1, 2, 3]
    # (the take's pass has ended and closed the prefetch: no thread of it is left)
    assert not set(prefetch_threads()) - before
    # Leaving a for-loop early drops its iterator, which stops the thread too.
    for i, _ in enumerate(endless.batch(2)):
        if i == 0:
            started = set(prefetch_threads()) - before
        if i == 2:
            break
    assert stopped(started)
    it = iter(endless)
    next(it)
    started = set(prefetch_threads()) - before
    it.close()
    assert not any(t.is_alive() for t in started)  # close() waits for the thread


def test_prefetch_arguments():
    assert [int(v) for v in Dataset.range(3).prefetch(0)] == [0, 1, 2]
    assert Dataset.range(3).prefetch(1).cardinality() == 3
    with pytest.raises(ValueError, match="buffer_size"):
        Dataset.range(3).prefetch(-2)
    with pytest.raises(TypeError, match="buffer_size"):
        Dataset.range(3).prefetch(None)


def test_an_epoch_loop_as_keras_fit_would_run_it():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10) % 2
    ds = (
        Dataset.from_tensor_slices((x, y))
        .shuffle(10, seed=0)
        .map(lambda a, b: (a / 10, b), num_parallel_calls=data.AUTOTUNE)
        .batch(4)
        .prefetch(data.AUTOTUNE)
    )
    assert len(ds) == 3
    seen = []
    for _ in range(2):
        rows = np.concatenate([a for a, _ in ds])
        np.testing.assert_allclose(np.sort(rows[:, 0]), x[:, 0] / 10)
        seen.append(rows[:, 0].tolist())
    assert seen[0] != seen[1]
