"""StringLookup and IntegerLookup: vocabularies of tokens mapped to integer indices (and back),
learned by ``adapt`` in Keras's order or given, computed on the host with NumPy.

Index layout (Keras's): the mask token at 0 (int output only, when there is one), then
``num_oov_indices`` out-of-vocabulary indices, then the tokens. ``adapt`` orders tokens by how
often they occur, ties broken by the token itself, higher first, and keeps the first
``max_tokens``.
"""

from __future__ import annotations

import collections
import os

import numpy as np

from .categorical import (
    ENCODINGS,
    HostLayer,
    as_strings,
    check_mode,
    encode,
    encoded_shape,
    hash_buckets,
    host_array,
    map_unique,
    salt_pair,
)

# The id a masked input gets outside "int" output: dropped by every encoding.
_DROPPED = -1


class IndexLookup(HostLayer):
    """What StringLookup and IntegerLookup share (see their docstrings)."""

    def __init__(
        self,
        max_tokens,
        num_oov_indices,
        mask_token,
        oov_token,
        vocabulary=None,
        idf_weights=None,
        invert=False,
        output_mode="int",
        sparse=False,
        pad_to_max_tokens=False,
        oov_method="floormod",
        salt=None,
        has_input_vocabulary=None,
        vocabulary_size=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(
                f"If set, `max_tokens` must be greater than 1. Received: max_tokens={max_tokens}"
            )
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(
                f"If pad_to_max_tokens is True, must set `max_tokens`. Received: "
                f"max_tokens={max_tokens}"
            )
        if num_oov_indices < 0:
            raise ValueError(
                "`num_oov_indices` must be greater than or equal to 0. Received: "
                f"num_oov_indices={num_oov_indices}"
            )
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        check_mode("output_mode", output_mode, ("int",) + ENCODINGS + ("tf_idf",))
        if invert and output_mode != "int":
            raise ValueError(
                f"`output_mode` must be `'int'` when `invert` is true. Received: "
                f"output_mode={output_mode}"
            )
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(
                f"`oov_method` must be 'floormod' or 'farmhash'. Received: oov_method="
                f"{oov_method!r}"
            )
        if sparse:
            raise ValueError(f"{type(self).__name__}: sparse outputs are not supported by shendu")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(
                "`idf_weights` should only be set if `output_mode` is `'tf_idf'`. Received: "
                f"idf_weights={idf_weights} and output_mode={output_mode}"
            )
        self.invert = bool(invert)
        self.max_tokens = max_tokens
        self.num_oov_indices = int(num_oov_indices)
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.output_mode = output_mode
        self.sparse = False
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.oov_method = oov_method
        self.salt = salt
        self._has_input_vocabulary = (
            vocabulary is not None if has_input_vocabulary is None else has_input_vocabulary
        )
        if output_mode == "tf_idf" and self._has_input_vocabulary and idf_weights is None:
            raise ValueError(
                "When specifying the `vocabulary` argument, in TF-IDF output mode, the "
                "`idf_weights` argument must also be provided."
            )
        self._tokens = []  # the vocabulary without the mask and OOV tokens
        self._index = {}
        self._idf = None
        self.reset_state()
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # --- keys: what subclasses compare and count ------------------------------------------

    def _keys(self, x) -> np.ndarray:
        """x's values as the vocabulary's keys (str or int), same shape."""
        raise NotImplementedError

    def _key(self, value):
        return None if value is None else self._keys(np.asarray([value])).tolist()[0]

    # --- the vocabulary --------------------------------------------------------------------

    def _oov_start(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start(self) -> int:
        return self._oov_start() + self.num_oov_indices

    def vocabulary_size(self) -> int:
        """The size of the vocabulary, mask and OOV indices included."""
        return self._token_start() + len(self._tokens)

    def get_vocabulary(self, include_special_tokens=True) -> list:
        """The vocabulary; with ``include_special_tokens``, a term's position is its index."""
        if not include_special_tokens:
            return list(self._tokens)
        vocab = [self.oov_token] * self._token_start() + list(self._tokens)
        if self.mask_token is not None and self.output_mode == "int":
            vocab[0] = self.mask_token
        return vocab

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Sets the vocabulary (a list or 1-d array of terms, or a text file with one term a
        line), and for ``"tf_idf"`` output its idf weights. The mask and OOV tokens may lead
        the list in their positions; elsewhere they are an error, as are repeated terms."""
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError("`idf_weights` must be set if output_mode is 'tf_idf'.")
        elif idf_weights is not None:
            raise ValueError(
                "`idf_weights` should only be set if output_mode is `'tf_idf'`. Received: "
                f"output_mode={self.output_mode} and idf_weights={idf_weights}"
            )
        if isinstance(vocabulary, (str, os.PathLike)):
            if self.output_mode == "tf_idf":
                raise ValueError(
                    "output_mode `'tf_idf'` does not support loading a vocabulary from file."
                )
            self._set_tokens(self._read_file(vocabulary))
            return
        vocabulary = list(self._keys(host_array(vocabulary)).reshape(-1).tolist())
        if not vocabulary:
            raise ValueError(f"Cannot set an empty vocabulary. Received: vocabulary={vocabulary}")
        start = self._token_start()
        special = [self._key(self.mask_token)] * self._oov_start() + [
            self._key(self.oov_token)
        ] * self.num_oov_indices
        found_special = vocabulary[:start] == special
        tokens = vocabulary[start:] if found_special else vocabulary
        repeated = [t for t, n in collections.Counter(tokens).items() if n > 1]
        if repeated:
            raise ValueError(
                "The passed vocabulary has at least one repeated term. Please uniquify your "
                f"dataset. The repeated terms are: {repeated}"
            )
        for token, what, check in (
            (self.mask_token, "mask", True),
            (self.oov_token, "OOV", self.invert),
        ):
            if check and token is not None and self._key(token) in tokens:
                raise ValueError(
                    f"Found reserved {what} token at unexpected location in `vocabulary`. Note "
                    "that passed `vocabulary` does not need to include the OOV and mask tokens. "
                    "Either remove all mask and OOV tokens, or include them only at the start "
                    f"of the vocabulary in precisely this order: {special}. Received: "
                    f"{what.lower()}_token={token}"
                )
        if self.max_tokens is not None and start + len(tokens) > self.max_tokens:
            raise ValueError(
                "Attempted to set a vocabulary larger than the maximum vocab size. Received "
                f"vocabulary size is {start + len(tokens)}; `max_tokens` is {self.max_tokens}."
            )
        self._set_tokens(tokens)
        if idf_weights is not None:
            idf = np.asarray(host_array(idf_weights), np.float64)
            if idf.ndim != 1:
                raise ValueError(f"TF-IDF data must be a 1-index array. Received: {idf.shape}")
            if len(idf) != len(vocabulary):
                raise ValueError(
                    "`idf_weights` must be the same length as vocabulary. len(idf_weights) is "
                    f"{len(idf)}; len(vocabulary) is {len(vocabulary)}"
                )
            # Without special tokens given, their weight is the average (no document counts).
            front = 0 if found_special else start
            self._set_idf(idf, front, np.average(idf))

    def _read_file(self, path) -> list:
        if not os.path.exists(path):
            raise ValueError(f"Vocabulary file {path} does not exist.")
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return self._keys(np.array(lines, dtype=object)).tolist()

    def _set_tokens(self, tokens) -> None:
        self._tokens = list(tokens)
        start = self._token_start()
        self._index = {t: start + i for i, t in enumerate(self._tokens)}

    def _set_idf(self, idf, front, front_value) -> None:
        back = 0
        if self.pad_to_max_tokens and self.max_tokens is not None:
            back = self.max_tokens - front - len(idf)
        self._idf = np.pad(idf, (front, back), constant_values=(front_value, 0)).astype(np.float32)

    # --- adapt -----------------------------------------------------------------------------

    def reset_state(self) -> None:
        self._counts = collections.Counter()
        self._document_counts = collections.Counter()
        self._documents = 0

    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Learns the vocabulary (and for ``"tf_idf"`` the document frequencies) from data:
        an array or list (one sample a row), or a Dataset or other iterable of batches, of
        which ``steps`` are read when given. Each row of a batch is one document."""
        self.reset_state()
        for batch in _batches(data, steps):
            self.update_state(batch)
        self.finalize_state()

    def update_state(self, data) -> None:
        data = host_array(data)
        if data.ndim < 2:
            data = data.reshape(1, -1)  # a 1-d batch is one document, as Keras counts it
        self._count(list(self._keys(data).reshape(len(data), -1)))

    def _count(self, rows) -> None:
        """Adds rows of keys (one a document) to the counts."""
        if self._has_input_vocabulary:
            raise ValueError(
                f"Cannot adapt layer '{self.name}' after setting a static vocabulary via "
                "`vocabulary` argument or `set_vocabulary()` method."
            )
        for row in rows:
            row = row.tolist() if isinstance(row, np.ndarray) else row
            self._counts.update(row)
            if self.output_mode == "tf_idf":
                self._document_counts.update(set(row))
        self._documents += len(rows)

    def finalize_state(self) -> None:
        counts = dict(self._counts)
        if self._has_input_vocabulary or not counts:
            return
        for special in (self.mask_token, self.oov_token):
            if special is not None:
                counts.pop(self._key(special), None)
        ranked = sorted(counts, key=lambda t: (counts[t], t), reverse=True)
        if self.max_tokens:
            ranked = ranked[: self.max_tokens - self._token_start()]
        self._set_tokens(ranked)
        if self.output_mode == "tf_idf":
            frequency = np.array([self._document_counts[t] for t in ranked], np.float64)
            idf = np.log(1.0 + self._documents / (1.0 + frequency)).astype(np.float32)
            self._set_idf(idf, self._token_start(), np.mean(idf, dtype=np.float32))
        self.reset_state()

    # --- calling ---------------------------------------------------------------------------

    def _depth(self) -> int:
        return self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """The int64 indices of keys (an array of the vocabulary's keys); masked keys give 0
        in "int" output, else an id every encoding drops."""
        masked = self.output_mode == "int"
        mask_key = self._key(self.mask_token)
        oov_start, n_oov = self._oov_start(), self.num_oov_indices
        missing = []

        def index(key):
            if mask_key is not None and key == mask_key:
                return 0 if masked else _DROPPED
            found = self._index.get(key)
            if found is not None:
                return found
            if n_oov == 0:
                missing.append(key)
                return _DROPPED
            return oov_start + (self._oov_bucket(key) if n_oov > 1 else 0)

        ids = map_unique(keys, index)
        if missing:
            raise ValueError(
                "When `num_oov_indices=0` all inputs should be in vocabulary, found OOV "
                f"values {missing}, consider setting `num_oov_indices=1`."
            )
        return ids

    def _oov_bucket(self, key) -> int:
        return int(hash_buckets(np.array([key], dtype=object), self.num_oov_indices, self.salt)[0])

    def _check_ready(self) -> None:
        if self.output_mode != "int" and not self.pad_to_max_tokens and not self._tokens:
            raise RuntimeError(
                f"When using `output_mode={self.output_mode}` and `pad_to_max_tokens=False`, "
                "you must set the layer's vocabulary before calling it. Either pass a "
                "`vocabulary` argument to the layer, or call `adapt` with some sample data."
            )

    def encode_ids(self, ids) -> np.ndarray:
        """ids as the layer's output: themselves ("int"), or encoded per output_mode."""
        if self.output_mode == "int":
            return ids
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        out = encode(ids, mode, self._depth())
        return out * self._idf if self.output_mode == "tf_idf" else out

    def compute(self, x):
        self._check_ready()
        if self.invert:
            return self._invert(x)
        return self.encode_ids(self.lookup(self._keys(x)))

    def _invert(self, x) -> np.ndarray:
        if x.dtype.kind not in "iu":
            raise TypeError(f"{self.name}: invert=True takes integer indices, got {x.dtype}")
        vocab = self.get_vocabulary()
        table = np.array(vocab + [self.oov_token], dtype=object)
        out = table[np.where((x >= 0) & (x < len(vocab)), x, len(vocab))]
        if self.mask_token is not None:
            out[x == 0] = self.mask_token
        return self._values(out)

    def _values(self, tokens) -> np.ndarray:
        """Inverted lookups as output values."""
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        return encoded_shape(input_shape, self.output_mode, self._depth())

    def get_config(self):
        # The vocabulary travels in the config, adapted or given (Keras writes an adapted one
        # to the .keras file's assets instead).
        vocabulary = idf = None
        if self._tokens:
            vocabulary = list(self._tokens)
            if self._idf is not None:
                start = self._token_start()
                idf = self._idf[start : start + len(vocabulary)].tolist()
        return {
            **super().get_config(),
            "invert": self.invert,
            "max_tokens": self.max_tokens,
            "num_oov_indices": self.num_oov_indices,
            "oov_token": self.oov_token,
            "mask_token": self.mask_token,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
            "pad_to_max_tokens": self.pad_to_max_tokens,
            "vocabulary": vocabulary,
            "idf_weights": idf,
            "vocabulary_size": self.vocabulary_size(),
            "oov_method": self.oov_method,
            "salt": self.salt,
        }


def _batches(data, steps):
    """adapt's data as batches: an array or list is one batch of samples (a 1-d one a column
    of them); other iterables (Datasets, generators) give their batches."""
    if isinstance(data, (list, tuple, np.ndarray)) or hasattr(data, "numpy"):
        data = host_array(data)
        yield data.reshape(-1, 1) if data.ndim == 1 else data
        return
    for i, batch in enumerate(data):
        if steps is not None and i >= steps:
            break
        yield batch


class StringLookup(IndexLookup):
    """Maps strings to integer indices from a vocabulary (or, ``invert=True``, indices back to
    strings).

    Args:
        max_tokens: the largest vocabulary size, special tokens included (None: no limit).
        num_oov_indices: how many indices out-of-vocabulary strings share (by FarmHash64 of the
            string, as TensorFlow's ``to_hash_bucket_fast``; SipHash when ``salt`` is given).
        mask_token: a string that maps to index 0 (None: no mask).
        oov_token: what ``invert`` gives for unknown indices.
        vocabulary: a list or array of strings, or the path of a file with one a line.
        idf_weights: with ``output_mode="tf_idf"`` and a vocabulary, the weights of its terms.
        invert: map indices to strings.
        output_mode: ``"int"``, ``"one_hot"``, ``"multi_hot"``, ``"count"`` or ``"tf_idf"``.
        pad_to_max_tokens: encodings are ``max_tokens`` wide whatever the vocabulary's size.
        encoding: the text encoding of bytes inputs.
        salt: an integer or pair of integers keying the OOV hash.

    ``adapt(data)`` learns the vocabulary; ``get_vocabulary()``, ``set_vocabulary()`` and
    ``vocabulary_size()`` read and set it. Inverted outputs are bytes, as TensorFlow's.
    Input shape: any. Output shape: the input's ("int"), else as CategoryEncoding.
    """

    _string_input = True

    def __init__(
        self,
        max_tokens=None,
        num_oov_indices=1,
        mask_token=None,
        oov_token="[UNK]",
        vocabulary=None,
        idf_weights=None,
        invert=False,
        output_mode="int",
        pad_to_max_tokens=False,
        sparse=False,
        encoding="utf-8",
        name=None,
        salt=None,
        **kwargs,
    ):
        self.encoding = encoding
        super().__init__(
            max_tokens=max_tokens,
            num_oov_indices=num_oov_indices,
            mask_token=mask_token,
            oov_token=oov_token,
            vocabulary=vocabulary,
            idf_weights=idf_weights,
            invert=invert,
            output_mode=output_mode,
            pad_to_max_tokens=pad_to_max_tokens,
            sparse=sparse,
            name=name,
            salt=salt_pair(salt, "StringLookup"),
            **kwargs,
        )

    def _keys(self, x):
        return as_strings(x, self.encoding)

    def _values(self, tokens):
        return np.asarray(
            np.frompyfunc(lambda t: t.encode(self.encoding), 1, 1)(tokens), dtype=object
        ).reshape(tokens.shape)

    def get_config(self):
        return {**super().get_config(), "encoding": self.encoding}


class IntegerLookup(IndexLookup):
    """Maps integers to contiguous indices from a vocabulary (or, ``invert=True``, back).

    Args:
        max_tokens, mask_token, vocabulary, idf_weights, invert, output_mode,
        pad_to_max_tokens: as StringLookup's (the mask and OOV tokens are integers; the
            vocabulary a list, array or file of integers).
        num_oov_indices: how many indices unknown integers share: ``value % num_oov_indices``
            (``oov_method="farmhash"``: FarmHash64 of the decimal string, or SipHash with
            ``salt``).
        oov_token: what ``invert`` gives for unknown indices (default -1).
        vocabulary_dtype: only ``"int64"``.

    Input shape: any. Output shape: the input's ("int"), else as CategoryEncoding.
    """

    def __init__(
        self,
        max_tokens=None,
        num_oov_indices=1,
        mask_token=None,
        oov_token=-1,
        vocabulary=None,
        vocabulary_dtype="int64",
        idf_weights=None,
        invert=False,
        output_mode="int",
        sparse=False,
        pad_to_max_tokens=False,
        oov_method="floormod",
        salt=None,
        name=None,
        **kwargs,
    ):
        if vocabulary_dtype != "int64":
            raise ValueError(
                "Only `vocabulary_dtype='int64'` is supported at this time. Received: "
                f"vocabulary_dtype={vocabulary_dtype}"
            )
        if salt is not None and oov_method != "farmhash":
            raise ValueError(
                "`salt` can only be used when `oov_method='farmhash'`. Received: "
                f"oov_method={oov_method}"
            )
        super().__init__(
            max_tokens=max_tokens,
            num_oov_indices=num_oov_indices,
            mask_token=None if mask_token is None else int(mask_token),
            oov_token=None if oov_token is None else int(oov_token),
            vocabulary=vocabulary,
            idf_weights=idf_weights,
            invert=invert,
            output_mode=output_mode,
            sparse=sparse,
            pad_to_max_tokens=pad_to_max_tokens,
            oov_method=oov_method,
            salt=salt_pair(salt, "IntegerLookup"),
            name=name,
            **kwargs,
        )

    def _keys(self, x):
        x = host_array(x)
        if x.dtype.kind not in "iub" and not (x.dtype.kind == "O" and x.size == 0):
            raise TypeError(f"{self.name}: expected integers, got an array of dtype {x.dtype}")
        return x.astype(np.int64)

    def _oov_bucket(self, key) -> int:
        if self.oov_method == "floormod":
            return key % self.num_oov_indices
        return super()._oov_bucket(key)

    def _values(self, tokens):
        return tokens.astype(np.int64)

    def get_config(self):
        return {**super().get_config(), "vocabulary_dtype": "int64"}
