"""fit / evaluate / predict on shendu.data Datasets, Python generators and keras.utils.PyDataset:
the same batches as arrays give the same training, and Keras 3's stepping rules."""

import warnings

import numpy as np
import pytest
import shendu
from shendu import keras
from shendu.keras import layers

from tests.helpers.batch_sources import ArrayBatches

Dataset = shendu.data.Dataset


@pytest.fixture(autouse=True)
def _fresh_state():
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)


def _data(n=30):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    return x, rng.integers(0, 3, n)


def _model():
    keras.utils.set_random_seed(1)  # the same initial weights for each model
    model = keras.Sequential(
        [
            keras.Input((4,)),
            layers.Dense(5, activation="tanh"),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(
        keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


def _generator(x, y, batch_size, sw=None):
    for start in range(0, len(x), batch_size):
        part = slice(start, start + batch_size)
        yield (x[part], y[part]) if sw is None else (x[part], y[part], sw[part])


def _trained_on(source, epochs=1, **kwargs):
    model = _model()
    history = model.fit(source, epochs=epochs, verbose=0, **kwargs)
    return model.get_weights(), history.history


def _assert_same_training(a, b):
    for wa, wb in zip(a[0], b[0]):
        np.testing.assert_array_equal(wa, wb)
    assert a[1] == b[1]


@pytest.mark.parametrize(
    "make",
    [
        lambda x, y: Dataset.from_tensor_slices((x, y)).batch(8),
        lambda x, y: Dataset.from_tensor_slices((x, y)).batch(8).prefetch(2),
        lambda x, y: _generator(x, y, 8),
        lambda x, y: ArrayBatches(x, y, 8),
        lambda x, y: ArrayBatches(x, y, 8, workers=3, max_queue_size=2),
    ],
    ids=["dataset", "prefetched", "generator", "pydataset", "pydataset_threads"],
)
def test_batches_of_each_kind_train_as_the_same_arrays(make):
    x, y = _data()
    arrays = _trained_on(x, y=y, batch_size=8, shuffle=False)
    # fit's shuffle=True would reorder a PyDataset's batches (datasets and generators ignore it)
    _assert_same_training(_trained_on(make(x, y), shuffle=False), arrays)


def test_pydataset_in_worker_processes_trains_as_arrays():
    x, y = _data()
    arrays = _trained_on(x, y=y, batch_size=8, shuffle=False, epochs=2)
    source = ArrayBatches(x, y, 8, workers=2, use_multiprocessing=True)
    _assert_same_training(_trained_on(source, epochs=2, shuffle=False), arrays)


def test_weights_in_the_batches_and_class_weight_train_as_arrays():
    x, y = _data()
    sw = np.linspace(0.2, 2, len(y)).astype(np.float32)
    arrays = _trained_on(x, y=y, sample_weight=sw, batch_size=8, shuffle=False)
    _assert_same_training(_trained_on(Dataset.from_tensor_slices((x, y, sw)).batch(8)), arrays)
    _assert_same_training(_trained_on(_generator(x, y, 8, sw)), arrays)
    cw = {0: 0.5, 2: 3.0}
    arrays = _trained_on(x, y=y, class_weight=cw, batch_size=8, shuffle=False)
    _assert_same_training(
        _trained_on(Dataset.from_tensor_slices((x, y)).batch(8), class_weight=cw), arrays
    )
    _assert_same_training(
        _trained_on(ArrayBatches(x, y, 8), class_weight=cw, shuffle=False), arrays
    )


def test_evaluate_and_predict_take_datasets():
    x, y = _data()
    model = _model()
    ds = Dataset.from_tensor_slices((x, y)).batch(7)
    assert model.evaluate(ds, verbose=0) == model.evaluate(x, y, batch_size=7, verbose=0)
    expected = model.predict(x, batch_size=7, verbose=0)
    np.testing.assert_array_equal(model.predict(ds, verbose=0), expected)
    np.testing.assert_array_equal(
        model.predict(Dataset.from_tensor_slices(x).batch(7), verbose=0), expected
    )
    np.testing.assert_array_equal(model.predict(ArrayBatches(x, y, 7), verbose=0), expected)
    np.testing.assert_array_equal(model.predict(ds, steps=2, verbose=0), expected[:14])


def test_validation_data_of_each_kind_gives_the_same_logs():
    x, y = _data()
    expected = _trained_on(x, y=y, batch_size=8, validation_data=(x[:10], y[:10]), shuffle=False)
    for val in (
        Dataset.from_tensor_slices((x[:10], y[:10])).batch(8),
        ArrayBatches(x[:10], y[:10], 8),
    ):
        got = _trained_on(x, y=y, batch_size=8, validation_data=val, shuffle=False)
        _assert_same_training(got, expected)


def test_steps_per_epoch_goes_on_where_the_last_epoch_stopped():
    x, y = _data(40)  # 5 batches of 8
    seen = []

    class Recorder(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(batch)

    model = _model()
    ds = Dataset.from_tensor_slices((x, y)).batch(8)
    with pytest.warns(UserWarning, match="ran out of data"):
        history = model.fit(ds, epochs=3, steps_per_epoch=4, callbacks=[Recorder()], verbose=0)
    # As Keras 3: 4 batches, then the 5th alone (the pass runs out), then a new pass of 4.
    assert seen == [0, 1, 2, 3, 0, 0, 1, 2, 3]
    assert len(history.history["loss"]) == 3


def test_endless_dataset_needs_steps_and_unknown_length_is_learned():
    x, y = _data(40)
    model = _model()
    ds = Dataset.from_tensor_slices((x, y)).batch(8).repeat()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = model.fit(ds, epochs=2, steps_per_epoch=3, verbose=0)
    assert len(history.history["loss"]) == 2
    unknown = Dataset.from_tensor_slices((x, y)).filter(lambda a, b: True).batch(8)
    assert unknown.cardinality() == shendu.data.UNKNOWN_CARDINALITY
    expected = _trained_on(x, y=y, batch_size=8, shuffle=False, epochs=2)
    _assert_same_training(_trained_on(unknown, epochs=2), expected)


def test_pydataset_hooks_and_seeded_shuffle():
    x, y = _data(40)
    calls, orders = [], []

    class Tracked(ArrayBatches):
        def on_epoch_begin(self):
            calls.append("begin")

        def on_epoch_end(self):
            calls.append("end")

        def __getitem__(self, index):
            orders[-1].append(index)
            return super().__getitem__(index)

    for _ in range(2):
        keras.utils.set_random_seed(5)
        orders.append([])
        _model().fit(Tracked(x, y, 8), epochs=1, shuffle=True, verbose=0)
    assert orders[0] == orders[1] and sorted(orders[0]) == list(range(5))
    assert orders[0] != list(range(5))
    assert calls == ["begin", "end"] * 2


def test_dict_inputs_are_matched_by_input_name():
    x, y = _data()
    a, b = keras.Input((2,), name="a"), keras.Input((2,), name="b")
    out = layers.Dense(3, activation="softmax")(layers.Concatenate()([a, b]))
    model = keras.Model([a, b], out)
    model.compile("sgd", "sparse_categorical_crossentropy")
    ds = Dataset.from_tensor_slices(({"b": x[:, 2:], "a": x[:, :2]}, y)).batch(8)
    np.testing.assert_allclose(
        model.evaluate(ds, verbose=0),
        model.evaluate([x[:, :2], x[:, 2:]], y, batch_size=8, verbose=0),
        rtol=1e-6,
    )
    with pytest.raises(ValueError, match="input"):
        model.evaluate(Dataset.from_tensor_slices(({"a": x[:, :2]}, y)).batch(8), verbose=0)


def test_arguments_that_do_not_apply_are_refused():
    x, y = _data()
    model = _model()
    ds = Dataset.from_tensor_slices((x, y)).batch(8)
    with pytest.raises(ValueError, match="`y` should not be passed"):
        model.fit(ds, y=y, verbose=0)
    with pytest.raises(ValueError, match="sample_weights"):
        model.fit(ds, sample_weight=np.ones(len(y)), verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(ds, validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="class_weight"):
        model.fit(_generator(x, y, 8), class_weight={0: 1.0}, verbose=0)
    with pytest.raises(ValueError, match="empty generator"):
        model.fit((b for b in ()), verbose=0)
    for empty in (  # no batch, of known and of unknown length: Keras's empty logs
        Dataset.from_tensor_slices((x[:0], y[:0])).batch(8),
        Dataset.from_tensor_slices((x, y)).filter(lambda a, b: False).batch(8),
    ):
        with pytest.raises(ValueError, match=r"\(Empty logs\)"):
            model.fit(empty, verbose=0)
    with pytest.raises(ValueError, match="no targets"):
        model.fit(Dataset.from_tensor_slices(x).batch(8), verbose=0)
    with pytest.raises(ValueError, match="at the same time"):
        model.fit(Dataset.from_tensor_slices((x, y, y)).batch(8), class_weight={0: 1}, verbose=0)
    with pytest.raises(ValueError, match="Unrecognized data type"):
        model.fit({1, 2}, verbose=0)
