"""TextVectorization, StringLookup, IntegerLookup, CategoryEncoding and Hashing, held to TF-Keras by
the fixtures of scripts/make_text_fixtures.py (tests/data/keras_fixtures/text/), and their use in
models, in Dataset.map, and through get_config / save / load."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import shendu as tf
import shendu.data as sd
from shendu import keras
from shendu.bench import examples
from shendu.keras import layers
from shendu.keras.layers.string_hash import fingerprint64, siphash24

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "data", "keras_fixtures", "text")
CLASSES = {
    "text_vectorization": layers.TextVectorization,
    "string_lookup": layers.StringLookup,
    "integer_lookup": layers.IntegerLookup,
    "category_encoding": layers.CategoryEncoding,
    "hashing": layers.Hashing,
}
# Fixture settings that are not constructor arguments.
_EXTRA = ("adapt_batch", "flat", "column")


def _fixture(name):
    return np.load(os.path.join(FIXTURES, name + ".npz"))


def _cases():
    return [
        pytest.param(name, case, id=f"{name}-{case}")
        for name in CLASSES
        for case in sorted({k.split("/")[0] for k in _fixture(name).files if "/kwargs" in k})
    ]


def _as_text(y):
    y = np.asarray(y)
    if y.dtype == object:
        return np.array([v.decode() for v in y.reshape(-1)]).reshape(y.shape)
    return y


def _build(name, data, case):
    kwargs = json.loads(str(data[f"{case}/kwargs"]))
    batch = kwargs.get("adapt_batch")
    layer = CLASSES[name](**{k: v for k, v in kwargs.items() if k not in _EXTRA})
    if f"{case}/adapt" in data.files and "vocabulary" not in kwargs:
        source = data[f"{case}/adapt"]
        layer.adapt(sd.Dataset.from_tensor_slices(source).batch(batch) if batch else source)
    return layer


def _check(got, want):
    got = _as_text(got)
    assert got.shape == want.shape
    if want.dtype.kind == "f":
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name,case", _cases())
def test_matches_tf_keras(name, case):
    data = _fixture(name)
    layer = _build(name, data, case)
    weights = data.get(f"{case}/count_weights")
    x = data[f"{case}/input"]
    y = layer(x) if weights is None else layer(x, count_weights=weights)
    _check(y, data[f"{case}/output"])
    if f"{case}/vocab" in data.files:
        assert layer.get_vocabulary() == data[f"{case}/vocab"].tolist()
        assert layer.vocabulary_size() == len(data[f"{case}/vocab"])
    if getattr(layer, "output_mode", getattr(layer, "_output_mode", "int")) == "int":
        assert np.asarray(y).dtype in (np.int64, object)


@pytest.mark.parametrize("name,case", _cases())
def test_config_round_trip_keeps_the_vocabulary(name, case):
    data = _fixture(name)
    layer = _build(name, data, case)
    config = json.loads(json.dumps(layers.serialize(layer)))  # what a .keras file holds
    clone = layers.deserialize(config)
    x = data[f"{case}/input"]
    weights = data.get(f"{case}/count_weights")
    y = clone(x) if weights is None else clone(x, count_weights=weights)
    _check(y, data[f"{case}/output"])
    if hasattr(layer, "get_vocabulary"):
        assert clone.get_vocabulary() == layer.get_vocabulary()


def test_hashes_match_tensorflow():
    data = _fixture("hashing")
    strings = data["fingerprint63/input"].tolist()
    got = [fingerprint64(s.encode()) % (2**63 - 1) for s in strings]
    np.testing.assert_array_equal(got, data["fingerprint63/output"])
    got = [siphash24((133, 133), s.encode()) % 1000003 for s in strings]
    np.testing.assert_array_equal(got, data["salt/output"])
    # Reference values of SipHash-2-4 (the paper's test vector: key 00..0f, message 00..0e).
    key = (0x0706050403020100, 0x0F0E0D0C0B0A0908)
    assert siphash24(key, bytes(range(15))) == 0xA129CA6149BE45E5


def test_strings_as_str_bytes_objects_and_lists_agree():
    layer = layers.TextVectorization()
    texts = ["Hello, world", "héllo again", "world"]
    layer.adapt(texts)
    want = np.asarray(layer(np.array(texts)))
    for form in (
        texts,
        np.array([t.encode() for t in texts]),
        np.array([t.encode() for t in texts], dtype=object),
        np.array(texts, dtype=object)[:, None],
    ):
        np.testing.assert_array_equal(layer(form), want)


def test_adapt_orders_by_count_then_token_descending():
    layer = layers.StringLookup()
    layer.adapt(np.array(["b", "a", "c", "a", "b", "d"]))
    assert layer.get_vocabulary() == ["[UNK]", "b", "a", "d", "c"]
    ints = layers.IntegerLookup(max_tokens=4)
    ints.adapt(np.array([5, 3, 3, 9, 5, 1]))
    assert ints.get_vocabulary() == [-1, 5, 3, 9]


def test_adapt_on_a_generator_reads_steps_batches():
    def batches():
        yield np.array(["a a", "b"])
        yield np.array(["c c c"])
        raise AssertionError("read past steps")

    layer = layers.TextVectorization()
    layer.adapt(batches(), steps=1)
    assert layer.get_vocabulary() == ["", "[UNK]", "a", "b"]


def test_set_vocabulary_from_a_file(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("the\ncat\nsat\n", encoding="utf-8")
    layer = layers.TextVectorization(vocabulary=str(path), output_sequence_length=5)
    np.testing.assert_array_equal(layer(["The cat sat, the dog"]), [[2, 3, 4, 2, 1]])
    assert layer.vocabulary_size() == 5
    layer.set_vocabulary(["dog", "cat"])
    np.testing.assert_array_equal(layer(["The cat sat, the dog"]), [[1, 3, 1, 1, 2]])


def test_callable_standardize_and_split_get_numpy_strings():
    seen = {}

    def upper(x):
        seen["standardize"] = x.dtype.kind
        return np.char.upper(x)

    def on_dash(x):
        seen["split"] = x.dtype.kind
        return [s.split("-") for s in x.tolist()]

    layer = layers.TextVectorization(standardize=upper, split=on_dash)
    layer.adapt(["a-b-b", "c"])
    assert seen == {"standardize": "U", "split": "U"}
    assert layer.get_vocabulary() == ["", "[UNK]", "B", "C", "A"]
    np.testing.assert_array_equal(layer(["b-a-x"]), [[2, 4, 1]])


def test_registered_callables_survive_the_config():
    @keras.saving.register_keras_serializable(package="TextTest")
    def only_digits(x):
        return np.char.replace(np.char.replace(x, "a", ""), "b", "")

    layer = layers.TextVectorization(standardize=only_digits, vocabulary=["1", "2"])
    clone = layers.deserialize(json.loads(json.dumps(layers.serialize(layer))))
    np.testing.assert_array_equal(clone(["a1 b2 3"]), [[2, 3, 1]])


def test_scalar_and_empty_inputs():
    layer = layers.TextVectorization(vocabulary=["a", "b"])
    np.testing.assert_array_equal(layer("a b c"), [2, 3, 1])
    assert np.asarray(layer(np.array([], dtype=str))).shape == (0, 0)
    assert np.asarray(layer(["", ""])).shape == (2, 0)


def test_invert_gives_bytes_as_tensorflow():
    layer = layers.StringLookup(vocabulary=["x", "y"], invert=True)
    out = np.asarray(layer(np.array([[1, 2, 0, 7]])))
    assert out.dtype == object and out.tolist() == [[b"x", b"y", b"[UNK]", b"[UNK]"]]


@pytest.mark.parametrize(
    "make",
    [
        lambda: layers.TextVectorization(output_mode="dense"),
        lambda: layers.TextVectorization(standardize="upper"),
        lambda: layers.TextVectorization(split="comma"),
        lambda: layers.TextVectorization(ngrams="2"),
        lambda: layers.TextVectorization(output_mode="count", output_sequence_length=3),
        lambda: layers.StringLookup(max_tokens=1),
        lambda: layers.StringLookup(num_oov_indices=-1),
        lambda: layers.StringLookup(invert=True, output_mode="count"),
        lambda: layers.StringLookup(vocabulary=["a", "a"]),
        lambda: layers.StringLookup(vocabulary=["a", ""], mask_token=""),
        lambda: layers.StringLookup(vocabulary=["a", "b", "c"], max_tokens=3),
        lambda: layers.StringLookup(output_mode="tf_idf", vocabulary=["a"]),
        lambda: layers.IntegerLookup(vocabulary_dtype="int32"),
        lambda: layers.IntegerLookup(salt=3),
        lambda: layers.CategoryEncoding(),
        lambda: layers.CategoryEncoding(num_tokens=0),
        lambda: layers.CategoryEncoding(num_tokens=3, output_mode="int"),
        lambda: layers.Hashing(num_bins=0),
        lambda: layers.Hashing(num_bins=3, salt="pepper"),
    ],
)
def test_bad_arguments_raise_value_error(make):
    with pytest.raises(ValueError):
        make()


def test_call_errors():
    with pytest.raises(ValueError, match="num_oov_indices=0"):
        layers.StringLookup(vocabulary=["a"], num_oov_indices=0)(["a", "b"])
    with pytest.raises(RuntimeError, match="vocabulary"):
        layers.StringLookup(output_mode="multi_hot")(["a"])
    with pytest.raises(ValueError, match="last shape dimension must be 1"):
        layers.TextVectorization(vocabulary=["a"])(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="static vocabulary"):
        layers.StringLookup(vocabulary=["a"]).adapt(["a"])
    with pytest.raises(ValueError, match="count_weights"):
        layers.CategoryEncoding(3)([0, 1], count_weights=[1.0, 2.0])
    with pytest.raises(TypeError, match="strings"):
        layers.StringLookup(vocabulary=["a"])(np.array([1.5]))


def test_no_weights_and_no_gradient():
    layer = layers.TextVectorization(vocabulary=["a"])
    layer(["a"])
    assert layer.weights == [] and layer.count_params() == 0
    assert layer.backward(None, np.ones((1, 1), np.float32)) == (None, [])


def _text_data():
    good = ["great fun", "really great", "fun and great", "great great"]
    bad = ["awful mess", "really awful", "a mess", "awful awful"]
    return np.array(good + bad), np.array([1.0] * 4 + [0.0] * 4, np.float32)


@pytest.mark.parametrize("with_input", [True, False])
def test_model_on_string_inputs_trains_saves_and_loads(tmp_path, with_input):
    keras.utils.set_random_seed(1)
    x, y = _text_data()
    vectorize = layers.TextVectorization(output_sequence_length=3)
    vectorize.adapt(x)
    stack = [
        vectorize,
        layers.Embedding(vectorize.vocabulary_size(), 4),
        layers.GlobalAveragePooling1D(),
        layers.Dense(1, activation="sigmoid"),
    ]
    if with_input:
        stack.insert(0, keras.Input(shape=(1,), dtype="string"))
        x = x[:, None]
    model = keras.Sequential(stack)
    model.compile(keras.optimizers.Adam(0.05), "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=30, verbose=0)
    assert history.history["accuracy"][-1] == 1.0
    predictions = model.predict(x, verbose=0)
    model.save(tmp_path / "text.keras")
    loaded = keras.models.load_model(tmp_path / "text.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), predictions, rtol=1e-6)
    assert loaded.layers[0].get_vocabulary() == vectorize.get_vocabulary()


def test_string_inputs_to_a_numeric_model_are_refused():
    model = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="numeric"):
        model.fit(np.array([["a", "b"]]), np.zeros((1, 1)), verbose=0)


def test_in_dataset_map():
    x, y = _text_data()
    vectorize = layers.TextVectorization(output_mode="multi_hot")
    vectorize.adapt(x)
    ds = sd.Dataset.from_tensor_slices((x, y)).batch(4).map(lambda a, b: (vectorize(a), b))
    batches = list(ds.as_numpy_iterator())
    np.testing.assert_array_equal(np.asarray(batches[0][0]), np.asarray(vectorize(x[:4])))
    assert np.asarray(batches[1][0]).shape == (4, vectorize.vocabulary_size())


def test_gradients_flow_past_a_text_layer_under_a_tape():
    vectorize = layers.TextVectorization(vocabulary=["a", "b"])
    embedding = layers.Embedding(4, 2)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(embedding(vectorize(["a b", "b c"])))  # ids [[2, 3], [3, 1]]
    (grad,) = tape.gradient(loss, embedding.trainable_weights)
    np.testing.assert_array_equal(grad, [[0, 0], [1, 1], [1, 1], [2, 2]])


def test_the_folder_example_learns_its_topics(tmp_path):
    program = examples.load("text_classification_from_folder")
    keras.utils.set_random_seed(0)
    data = program.load_data(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == sorted(program.TOPICS)
    model = program.build_model(data[0])
    assert len(model.layers[0].get_vocabulary()) > len(program.FILLER)
    program.fit(model, data, epochs=8, verbose=0)
    assert program.test_accuracy(model, data, verbose=0) > 0.9
