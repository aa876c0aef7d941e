"""TextVectorization: strings to token indices or token-count vectors, as Keras 3 computes them
(standardize, split, n-grams, then a StringLookup with mask "" and OOV "[UNK]"), on the host.

Keras runs these steps with TensorFlow's string ops; the same results come from Python here:
``tf.strings.lower`` lowercases ASCII letters only, the punctuation stripped is Keras's regex
class (all 32 ASCII punctuation characters), and ``tf.strings.split`` splits on ASCII
whitespace only (a no-break space stays inside a token).
"""

from __future__ import annotations

import re

import numpy as np

from .. import registry
from .categorical import ENCODINGS, HostLayer, as_strings, check_mode, encode, host_array
from .lookup import StringLookup, _batches

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# Keras's r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']': ",-\." is the range , - .
_PUNCTUATION = str.maketrans("", "", "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'")
_WHITESPACE = re.compile("[ \t\n\v\f\r]+")


def _function_record(fn):
    """A registered function as Keras serializes it."""
    return {
        "module": fn.__module__,
        "class_name": "function",
        "config": fn.__name__,
        "registered_name": registry.get_registered_name(fn),
    }


def _function(value, what):
    """A standardize/split argument from a config: a name, or a function's record."""
    if not isinstance(value, dict):
        return value
    fn = registry.get_registered_object(value.get("registered_name") or value.get("config"))
    if fn is None:
        raise ValueError(
            f"Unknown {what} function {value.get('registered_name')!r}: register it with "
            "keras.saving.register_keras_serializable"
        )
    return fn


def _ngrams(tokens, widths):
    """``tf.strings.ngrams(tokens, widths, separator=" ")``: each width's n-grams in order."""
    return [
        " ".join(tokens[i : i + width]) for width in widths for i in range(len(tokens) - width + 1)
    ]


class TextVectorization(HostLayer):
    """Turns strings into sequences of token indices (``output_mode="int"``) or per-string
    vectors over the vocabulary (``"multi_hot"``, ``"count"``, ``"tf_idf"``).

    Each string is standardized, split into tokens, combined into n-grams, then looked up in
    the vocabulary: index 0 is the mask (padding, ``""``) and 1 the OOV token ``"[UNK]"`` in
    "int" output; the other modes have no mask index.

    Args:
        max_tokens: the largest vocabulary size, the two special tokens included.
        standardize: ``"lower_and_strip_punctuation"`` (default), ``"lower"``,
            ``"strip_punctuation"``, None, or a callable taking and returning a NumPy array of
            str.
        split: ``"whitespace"`` (default), ``"character"``, None (each string is one token), or
            a callable taking a 1-d NumPy array of str and returning a list of token lists.
        ngrams: None, an integer n (1- to n-grams), or a tuple of n-gram widths.
        output_mode: ``"int"``, ``"multi_hot"``, ``"count"`` or ``"tf_idf"`` (``"one_hot"``
            with ``split=None``).
        output_sequence_length: "int" output only: pad with 0 or truncate each sequence to this
            length (None: pad to the longest in the batch).
        pad_to_max_tokens: vectors are ``max_tokens`` wide whatever the vocabulary's size.
        vocabulary: a list of strings or the path of a file with one a line (else ``adapt``).
        idf_weights: with ``"tf_idf"`` and a vocabulary, the weights of its terms.
        encoding: the text encoding of bytes inputs.

    ``adapt(data)`` (arrays, lists, Datasets or other iterables of batches) learns the
    vocabulary by frequency, ties broken by the token, higher first, as Keras orders it.
    Input shape: ``(batch,)`` or ``(batch, 1)`` strings. Output shape: ``(batch,
    output_sequence_length)`` (int), else ``(batch, vocabulary size)``.
    """

    _string_input = True

    def __init__(
        self,
        max_tokens=None,
        standardize="lower_and_strip_punctuation",
        split="whitespace",
        ngrams=None,
        output_mode="int",
        output_sequence_length=None,
        pad_to_max_tokens=False,
        vocabulary=None,
        idf_weights=None,
        sparse=False,
        ragged=False,
        encoding="utf-8",
        name=None,
        **kwargs,
    ):
        standardize = _function(standardize, "standardize")
        split = _function(split, "split")
        if not (
            standardize in (None, "lower_and_strip_punctuation", "lower", "strip_punctuation")
            or callable(standardize)
        ):
            raise ValueError(
                "`standardize` must be one of None, 'lower_and_strip_punctuation', 'lower', "
                f"'strip_punctuation' or a callable. Received: standardize={standardize!r}"
            )
        if not (split in (None, "whitespace", "character") or callable(split)):
            raise ValueError(
                "`split` must be one of None, 'whitespace', 'character' or a callable. "
                f"Received: split={split!r}"
            )
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        check_mode("output_mode", output_mode, ("int",) + ENCODINGS + ("tf_idf",))
        if isinstance(ngrams, list):
            ngrams = tuple(ngrams)
        if not (
            ngrams is None
            or (isinstance(ngrams, int) and not isinstance(ngrams, bool))
            or (isinstance(ngrams, tuple) and all(isinstance(n, int) for n in ngrams))
        ):
            raise ValueError(
                f"`ngrams` must be None, an integer, or a tuple of integers. Received: "
                f"ngrams={ngrams}"
            )
        if output_mode == "int" and not (
            output_sequence_length is None or isinstance(output_sequence_length, int)
        ):
            raise ValueError(
                "`output_sequence_length` must be either None or an integer when `output_mode` "
                f"is 'int'. Received: output_sequence_length={output_sequence_length}"
            )
        if output_mode != "int" and output_sequence_length is not None:
            raise ValueError(
                "`output_sequence_length` must not be set if `output_mode` is not 'int'. "
                f"Received output_sequence_length={output_sequence_length}."
            )
        if output_mode == "one_hot" and split is not None:
            raise ValueError("TextVectorization: output_mode='one_hot' needs split=None")
        if ragged or sparse:
            raise ValueError("TextVectorization: ragged and sparse outputs are not supported")
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        kwargs.pop("vocabulary_size", None)
        super().__init__(name=name, **kwargs)
        self._standardize = standardize
        self._split = split
        self._ngrams_arg = ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self._output_mode = output_mode
        self._output_sequence_length = output_sequence_length
        self._encoding = encoding
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens,
            vocabulary=vocabulary,
            idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens,
            mask_token="",
            output_mode=output_mode,
            has_input_vocabulary=has_input_vocabulary,
            encoding=encoding,
        )

    # --- the vocabulary --------------------------------------------------------------------

    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Learns the vocabulary (and for ``"tf_idf"`` the document frequencies) from strings:
        an array or list, or a Dataset or other iterable of batches (``steps`` of them when
        given)."""
        self.reset_state()
        for batch in _batches(data, steps):
            self.update_state(batch)
        self.finalize_state()

    def update_state(self, data) -> None:
        tokens = self._preprocess(host_array(data))
        if isinstance(tokens, np.ndarray):  # split=None: a 1-d batch is one document
            tokens = list(tokens.reshape(1 if tokens.ndim < 2 else len(tokens), -1))
        self._lookup_layer._count(tokens)

    def finalize_state(self) -> None:
        self._lookup_layer.finalize_state()

    def reset_state(self) -> None:
        self._lookup_layer.reset_state()

    def get_vocabulary(self, include_special_tokens=True) -> list:
        """The vocabulary; with ``include_special_tokens``, a term's position is its index."""
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self) -> int:
        """The size of the vocabulary, the mask and OOV tokens included."""
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Sets the vocabulary (a list of strings or a file with one a line) and, for
        ``"tf_idf"``, its idf weights."""
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights)

    # --- calling ---------------------------------------------------------------------------

    def _standardized(self, strings):
        if callable(self._standardize):
            out = self._standardize(strings.astype(str))
            return as_strings(np.asarray(out), self._encoding)
        lower = self._standardize in ("lower", "lower_and_strip_punctuation")
        strip = self._standardize in ("strip_punctuation", "lower_and_strip_punctuation")

        def clean(s):
            if lower:
                s = s.translate(_ASCII_LOWER)
            return s.translate(_PUNCTUATION) if strip else s

        if not (lower or strip) or strings.size == 0:
            return strings
        return np.asarray(np.frompyfunc(clean, 1, 1)(strings), dtype=object).reshape(strings.shape)

    def _preprocess(self, x):
        """Standardized strings, split into token lists (one per string) when splitting, and
        combined into n-grams (split=None: an array of the strings' shape)."""
        strings = self._standardized(as_strings(x, self._encoding))
        if self._split is None:
            if self._ngrams is None:
                return strings
            rows = strings.reshape(-1, strings.shape[-1]) if strings.ndim else strings[None]
            return [_ngrams(list(r), self._ngrams) for r in rows]
        if strings.ndim > 1:
            if strings.shape[-1] != 1:
                raise ValueError(
                    "When using `TextVectorization` to tokenize strings, the input rank must be "
                    "1 or the last shape dimension must be 1. Received: "
                    f"inputs.shape={strings.shape} with rank={strings.ndim}"
                )
            strings = strings[..., 0]
        strings = strings.reshape(-1)
        if self._split == "whitespace":
            rows = [[t for t in _WHITESPACE.split(s) if t] for s in strings.tolist()]
        elif self._split == "character":
            rows = [list(s) for s in strings.tolist()]
        else:
            rows = [
                [t.decode(self._encoding) if isinstance(t, bytes) else str(t) for t in r]
                for r in self._split(strings.astype(str))
            ]
        if self._ngrams is not None:
            rows = [_ngrams(r, self._ngrams) for r in rows]
        return rows

    def compute(self, x):
        lookup = self._lookup_layer
        lookup._check_ready()
        scalar = x.ndim == 0
        tokens = self._preprocess(x[None] if scalar and self._split is not None else x)
        if isinstance(tokens, np.ndarray):  # split=None, no n-grams: strings keep their shape
            ids = lookup.lookup(tokens)
            if self._output_mode != "int":
                return lookup.encode_ids(ids)
            return self._fit_length(ids)
        lengths = [len(r) for r in tokens]
        flat = np.array([t for r in tokens for t in r], dtype=object)
        ids = lookup.lookup(flat)
        # Rows padded to the longest: with 0 ("int", the mask index), else with -1, an id
        # the encodings drop.
        width = max(lengths, default=0)
        pad = 0 if self._output_mode == "int" else -1
        rows = np.full((len(tokens), width), pad, np.int64)
        rows[np.arange(width) < np.array(lengths, np.int64)[:, None]] = ids
        if self._output_mode != "int":
            out = encode(
                rows,
                "count" if self._output_mode == "tf_idf" else self._output_mode,
                lookup._depth(),
            )
            return out * lookup._idf if self._output_mode == "tf_idf" else out
        out = self._fit_length(rows)
        return out[0] if scalar else out

    def _fit_length(self, ids):
        """ids truncated or padded with 0 along the last axis to output_sequence_length."""
        length = self._output_sequence_length
        if length is None or ids.ndim == 0:
            return ids
        ids = ids[..., :length]
        pad = [(0, 0)] * (ids.ndim - 1) + [(0, length - ids.shape[-1])]
        return np.pad(ids, pad)

    def compute_output_shape(self, input_shape):
        if self._output_mode == "int":
            if self._split is None and self._ngrams is None:
                shape = tuple(input_shape)
                return shape[:-1] + (self._output_sequence_length,) if shape else shape
            return (input_shape[0], self._output_sequence_length)
        depth = self._lookup_layer._depth()
        if self._split is None and self._ngrams is None:
            return self._lookup_layer.compute_output_shape(input_shape)
        return (input_shape[0], depth)

    def get_config(self):
        lookup = self._lookup_layer.get_config()

        def named(fn):
            return _function_record(fn) if callable(fn) else fn

        return {
            **super().get_config(),
            "max_tokens": lookup["max_tokens"],
            "standardize": named(self._standardize),
            "split": named(self._split),
            "ngrams": self._ngrams_arg,
            "output_mode": self._output_mode,
            "output_sequence_length": self._output_sequence_length,
            "pad_to_max_tokens": lookup["pad_to_max_tokens"],
            "sparse": False,
            "ragged": False,
            "vocabulary": lookup["vocabulary"],
            "idf_weights": lookup["idf_weights"],
            "encoding": self._encoding,
            "vocabulary_size": self.vocabulary_size(),
        }
