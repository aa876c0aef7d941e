"""Freezes TF-Keras's text and category preprocessing layers into
tests/data/keras_fixtures/text/*.npz, which tests/keras/test_text_layers.py holds shendu's layers to.

Run from the repository root with a Python that has TensorFlow:

    python scripts/make_text_fixtures.py

One file per layer class. Each case stores, under ``<case>/``: ``kwargs`` (the constructor
arguments as JSON), ``input`` and ``output`` (the layer's result on it), and for adapted layers
``adapt`` (the data; with ``adapt_batch`` in the JSON, adapted as a Dataset of that batch size)
and ``vocab`` (``get_vocabulary()``). Strings are stored as fixed-width unicode arrays.
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "keras_fixtures", "text")

TEXTS = np.array(
    [
        "The cat sat on the mat.",
        "The dog ate my homework!",
        "A cat, a dog; and a bird?",
        "  Hello\tWORLD  hello \n",
        "Ünïcode ÉCOLE café, naïve Café",
        "non\u00a0breaking space and a cat",
        "it's 3:30 -- time's up (really) [ok] {x} a_b",
        "the the the cat cat dog",
        "",
    ]
)
QUERIES = np.array(
    [
        "the cat ate the bird",
        "An unknown zebra!",
        "hello hello HELLO world",
        "café ÉCOLE",
        "",
        "dog dog cat the mat sat on a very long line of words here",
    ]
)

CATEGORIES = np.array(
    [
        ["red", "green", "blue"],
        ["red", "red", "yellow"],
        ["blue", "green", "red"],
        ["", "blue", "purple"],
    ]
)
CATEGORY_QUERIES = np.array([["red", "black", ""], ["white", "blue", "green"]])

INTEGERS = np.array([[12, 3, 3], [7, 12, 12], [3, 0, 42], [9, 12, 7]])
INTEGER_QUERIES = np.array([[12, 5, 0], [42, 100, 7], [-1, 3, 9]])

TEXT_CASES = {
    "default": {},
    "seq_len_3": {"output_sequence_length": 3},
    "seq_len_12": {"output_sequence_length": 12},
    "max_tokens": {"max_tokens": 8},
    "ngrams_2": {"ngrams": 2},
    "ngrams_1_3": {"ngrams": [1, 3], "output_sequence_length": 10},
    "lower": {"standardize": "lower"},
    "strip_punctuation": {"standardize": "strip_punctuation"},
    "no_standardize": {"standardize": None},
    "character": {"split": "character", "output_sequence_length": 8},
    "multi_hot": {"output_mode": "multi_hot"},
    "multi_hot_padded": {"output_mode": "multi_hot", "max_tokens": 20, "pad_to_max_tokens": True},
    "count": {"output_mode": "count", "max_tokens": 10},
    "count_ngrams": {"output_mode": "count", "ngrams": 2},
    "tf_idf": {"output_mode": "tf_idf"},
    "tf_idf_max": {"output_mode": "tf_idf", "max_tokens": 9, "pad_to_max_tokens": True},
    "dataset": {"adapt_batch": 4},
    "dataset_tf_idf": {"output_mode": "tf_idf", "adapt_batch": 2},
    "vocabulary": {"vocabulary": ["cat", "the", "dog", "hello"], "output_sequence_length": 6},
    "vocabulary_multi_hot": {"vocabulary": ["cat", "the", "dog"], "output_mode": "multi_hot"},
    "vocabulary_tf_idf": {
        "vocabulary": ["cat", "the", "dog"],
        "idf_weights": [0.5, 0.25, 2.0],
        "output_mode": "tf_idf",
    },
}
TEXT_SPLIT_NONE = {
    "split_none": {"split": None},
    "split_none_multi_hot": {"split": None, "output_mode": "multi_hot"},
}

STRING_CASES = {
    "default": {},
    "mask": {"mask_token": ""},
    "two_oov": {"num_oov_indices": 2},
    "no_oov_custom_token": {"oov_token": "?", "max_tokens": 4},
    "one_hot": {"output_mode": "one_hot", "column": 0},
    "multi_hot": {"output_mode": "multi_hot"},
    "multi_hot_mask": {"output_mode": "multi_hot", "mask_token": ""},
    "count": {"output_mode": "count", "max_tokens": 6, "pad_to_max_tokens": True},
    "tf_idf": {"output_mode": "tf_idf"},
    "dataset_tf_idf": {"output_mode": "tf_idf", "adapt_batch": 2, "flat": True},
    "vocabulary": {"vocabulary": ["green", "red", "blue"]},
    "vocabulary_specials": {"vocabulary": ["", "[UNK]", "green", "red"], "mask_token": ""},
    "invert": {"vocabulary": ["green", "red", "blue"], "invert": True, "mask_token": ""},
    "invert_adapted": {"invert": True},
    "salt": {"num_oov_indices": 3, "salt": 9},
}

INTEGER_CASES = {
    "default": {},
    "mask": {"mask_token": 0},
    "two_oov": {"num_oov_indices": 2},
    "max_tokens": {"max_tokens": 3},
    "multi_hot": {"output_mode": "multi_hot"},
    "count": {"output_mode": "count"},
    "one_hot": {"output_mode": "one_hot", "column": 1},
    "tf_idf": {"output_mode": "tf_idf"},
    "vocabulary": {"vocabulary": [42, 7, 3]},
    "invert": {"vocabulary": [42, 7, 3], "invert": True},
    "farmhash": {"num_oov_indices": 3, "oov_method": "farmhash"},
    "farmhash_salt": {"num_oov_indices": 3, "oov_method": "farmhash", "salt": [5, 6]},
}

CATEGORY_CASES = {
    "one_hot_rank1": ({"num_tokens": 5, "output_mode": "one_hot"}, np.array([3, 2, 0, 1, 4])),
    "one_hot_column": ({"num_tokens": 4, "output_mode": "one_hot"}, np.array([[3], [0], [1]])),
    "multi_hot": ({"num_tokens": 4}, np.array([[0, 1], [0, 0], [1, 2], [3, 1]])),
    "multi_hot_rank1": ({"num_tokens": 6}, np.array([1, 1, 4])),
    "count": ({"num_tokens": 5, "output_mode": "count"}, np.array([[0, 1, 1], [4, 4, 4]])),
}


def _words(seed, n):
    rng = np.random.default_rng(seed)
    alphabet = list("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789 _-.é€😀")
    out = []
    for k in range(n):
        length = k if k < 140 else int(rng.integers(0, 300))
        out.append("".join(rng.choice(alphabet, length)))
    return np.array(out)


HASH_STRINGS = _words(0, 200)


def _unicode(values):
    return np.array([v.decode("utf-8") if isinstance(v, bytes) else v for v in values])


def _save(name, cases):
    os.makedirs(OUT, exist_ok=True)
    np.savez_compressed(os.path.join(OUT, name + ".npz"), **cases)
    print(name, len(cases))


def _adapt(layer, data, batch):
    if batch:
        layer.adapt(tf.data.Dataset.from_tensor_slices(data).batch(batch))
    else:
        layer.adapt(data)


def _lookup_cases(cls, cases, adapt_data, queries, strings):
    out = {}
    for case, kwargs in cases.items():
        batch = kwargs.get("adapt_batch")
        flat = kwargs.get("flat", False)
        column = kwargs.get("column")
        args = {k: v for k, v in kwargs.items() if k not in ("adapt_batch", "flat", "column")}
        layer = cls(**args)
        data = adapt_data.reshape(-1) if flat else adapt_data
        if "vocabulary" not in args:
            _adapt(layer, data, batch)
        x = queries if column is None else queries[:, column]
        if args.get("invert"):
            x = np.array([[0, 1, 2], [3, 4, 1]])
        y = layer(x).numpy()
        out[f"{case}/kwargs"] = np.array(json.dumps(kwargs))
        out[f"{case}/adapt"] = data
        out[f"{case}/input"] = x
        out[f"{case}/output"] = _unicode(y.reshape(-1)).reshape(y.shape) if y.dtype == object else y
        vocab = layer.get_vocabulary()
        out[f"{case}/vocab"] = np.array(vocab) if strings or args.get("invert") else np.array(vocab)
    return out


def text_vectorization():
    out = {}
    for cases, data, queries in (
        (TEXT_CASES, TEXTS, QUERIES),
        (TEXT_SPLIT_NONE, TEXTS[:, None], QUERIES[:, None]),
    ):
        for case, kwargs in cases.items():
            args = {k: v for k, v in kwargs.items() if k != "adapt_batch"}
            if isinstance(args.get("ngrams"), list):
                args["ngrams"] = tuple(args["ngrams"])
            layer = tf.keras.layers.TextVectorization(**args)
            if "vocabulary" not in args:
                _adapt(layer, data, kwargs.get("adapt_batch"))
            out[f"{case}/kwargs"] = np.array(json.dumps(kwargs))
            out[f"{case}/adapt"] = data
            out[f"{case}/input"] = queries
            out[f"{case}/output"] = layer(queries).numpy()
            out[f"{case}/vocab"] = np.array(layer.get_vocabulary())
    _save("text_vectorization", out)


def hashing():
    out = {}
    ints = np.array([0, 1, -1, 7, 42, 123456789012, -98765])
    floats = np.array([0.5, -1.7, 3.0, 1e6])
    for case, kwargs, x in (
        ("strings", {"num_bins": 1000003}, HASH_STRINGS),
        ("strings_2d", {"num_bins": 7}, HASH_STRINGS[:40].reshape(10, 4)),
        ("mask", {"num_bins": 5, "mask_value": ""}, HASH_STRINGS[:30]),
        ("ints", {"num_bins": 11}, ints),
        ("ints_mask", {"num_bins": 11, "mask_value": 0}, ints),
        ("floats", {"num_bins": 13}, floats),
        ("salt", {"num_bins": 1000003, "salt": 133}, HASH_STRINGS),
        ("salt_pair", {"num_bins": 97, "salt": [1, 2**40 + 5]}, HASH_STRINGS[:60]),
        ("multi_hot", {"num_bins": 6, "output_mode": "multi_hot"}, HASH_STRINGS[:12].reshape(3, 4)),
        ("count", {"num_bins": 6, "output_mode": "count"}, HASH_STRINGS[:12].reshape(3, 4)),
        ("one_hot", {"num_bins": 6, "output_mode": "one_hot"}, HASH_STRINGS[:5]),
    ):
        layer = tf.keras.layers.Hashing(**kwargs)
        out[f"{case}/kwargs"] = np.array(json.dumps(kwargs))
        out[f"{case}/input"] = x
        out[f"{case}/output"] = layer(x).numpy()
    fast = tf.strings.to_hash_bucket_fast(HASH_STRINGS, 2**63 - 1).numpy()
    out["fingerprint63/input"] = HASH_STRINGS
    out["fingerprint63/output"] = fast
    _save("hashing", out)


def category_encoding():
    out = {}
    for case, (kwargs, x) in CATEGORY_CASES.items():
        layer = tf.keras.layers.CategoryEncoding(**kwargs)
        out[f"{case}/kwargs"] = np.array(json.dumps(kwargs))
        out[f"{case}/input"] = x
        out[f"{case}/output"] = layer(x).numpy()
    weights = np.array([[0.5, 1.0, 2.0], [1.0, 0.25, 0.25]], np.float32)
    layer = tf.keras.layers.CategoryEncoding(num_tokens=5, output_mode="count")
    out["count_weights/kwargs"] = np.array(json.dumps({"num_tokens": 5, "output_mode": "count"}))
    out["count_weights/input"] = CATEGORY_CASES["count"][1]
    out["count_weights/count_weights"] = weights
    out["count_weights/output"] = layer(CATEGORY_CASES["count"][1], count_weights=weights).numpy()
    _save("category_encoding", out)


def main():
    text_vectorization()
    _save(
        "string_lookup",
        _lookup_cases(
            tf.keras.layers.StringLookup, STRING_CASES, CATEGORIES, CATEGORY_QUERIES, True
        ),
    )
    _save(
        "integer_lookup",
        _lookup_cases(
            tf.keras.layers.IntegerLookup, INTEGER_CASES, INTEGERS, INTEGER_QUERIES, False
        ),
    )
    category_encoding()
    hashing()


if __name__ == "__main__":
    main()
