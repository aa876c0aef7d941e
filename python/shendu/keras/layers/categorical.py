"""Preprocessing layers for categories, computed on the host with NumPy: CategoryEncoding and
Hashing, and the base they share with the lookup and text layers.

These layers take strings (NumPy ``str``/``bytes``/object arrays, or lists) or integers, have no
weights and no gradient, and are callables on NumPy values, so they also serve in
``Dataset.map``. Inside a model, their numeric outputs go to the current device for the layers
after them; their string inputs stay on the host.
"""

from __future__ import annotations

import numpy as np

from ... import _device
from ..tensors import KerasTensor, eager
from .layer import Layer
from .string_hash import fingerprint64, siphash24

ENCODINGS = ("one_hot", "multi_hot", "count")


def host_array(x) -> np.ndarray:
    """x (a tensor, list, CuPy or NumPy array) as a NumPy array."""
    x = x.numpy() if hasattr(x, "numpy") else x
    return _device.to_host(x) if _device._is_cupy(x) else np.asarray(x)


def as_strings(x, encoding="utf-8") -> np.ndarray:
    """An object array of ``str`` of x's shape: bytes are decoded with ``encoding``."""
    x = host_array(x)
    if x.dtype.kind == "U":
        return x.astype(object)
    if x.dtype.kind not in "OS":
        raise TypeError(f"expected strings (str or bytes), got an array of dtype {x.dtype}")

    def text(v):
        if isinstance(v, bytes):
            return v.decode(encoding)
        if isinstance(v, str):
            return v
        raise TypeError(f"expected strings (str or bytes), got {v!r}")

    return np.asarray(np.frompyfunc(text, 1, 1)(x), dtype=object).reshape(x.shape)


def map_unique(keys: np.ndarray, fn, dtype=np.int64) -> np.ndarray:
    """fn applied to each distinct value of keys (once each), laid out in keys' shape."""
    if keys.size == 0:
        return np.zeros(keys.shape, dtype)
    if keys.dtype == object:  # strings: a dict beats sorting Python objects (np.unique)
        cache = {}

        def value(key):
            found = cache.get(key)
            if found is None:
                found = cache[key] = fn(key)
            return found

        flat = keys.reshape(-1).tolist()
        return np.fromiter(map(value, flat), dtype, len(flat)).reshape(keys.shape)
    unique, inverse = np.unique(keys.reshape(-1), return_inverse=True)
    values = np.array([fn(k) for k in unique.tolist()], dtype=dtype)
    return values[inverse].reshape(keys.shape)


def encode(ids, output_mode, depth, count_weights=None) -> np.ndarray:
    """Keras's ``encode_categorical_inputs``: ids in [0, depth) as float32 one-hot rows
    (``(..., 1)`` inputs lose their last axis), or per-sample ``multi_hot`` / ``count`` vectors
    (a 1-d input is one sample). Ids outside [0, depth) count for nothing."""
    ids = np.asarray(ids)
    if ids.ndim == 0:
        ids = ids.reshape(1)
    if output_mode == "one_hot":
        if ids.ndim > 1 and ids.shape[-1] == 1:
            ids = ids[..., 0]
        flat = ids.reshape(-1)
        out = np.zeros((flat.size, depth), np.float32)
        valid = np.nonzero((flat >= 0) & (flat < depth))[0]
        out[valid, flat[valid]] = 1.0
        return out.reshape(ids.shape + (depth,))
    if ids.ndim > 2:
        raise ValueError(
            f"When output_mode is not 'int', maximum supported output rank is 2. Received "
            f"output_mode {output_mode} and input shape {ids.shape}, which would result in "
            f"output rank {ids.ndim}."
        )
    rows = ids.reshape(1, -1) if ids.ndim == 1 else ids
    valid = (rows >= 0) & (rows < depth)
    slots = (np.arange(rows.shape[0])[:, None] * depth + rows)[valid]
    weights = None
    if count_weights is not None:
        weights = np.broadcast_to(np.asarray(count_weights, np.float64), rows.shape)[valid]
    out = np.bincount(slots, weights, minlength=rows.shape[0] * depth)
    if output_mode == "multi_hot":
        out = out > 0
    out = out.reshape(rows.shape[0], depth).astype(np.float32)
    return out[0] if ids.ndim == 1 else out


def encoded_shape(input_shape, output_mode, depth) -> tuple:
    """The shape ``encode`` gives for inputs of this shape."""
    input_shape = tuple(input_shape)
    if not input_shape:
        return (depth,)
    if output_mode == "one_hot" and (len(input_shape) == 1 or input_shape[-1] != 1):
        return input_shape + (depth,)
    return input_shape[:-1] + (depth,)


def check_mode(name, output_mode, allowed):
    if output_mode not in allowed:
        raise ValueError(
            f"Invalid value for argument `output_mode`. Expected one of {allowed}. "
            f"Received: output_mode={output_mode!r}"
        )


class HostLayer(Layer):
    """A preprocessing layer computed with NumPy on the host (subclasses define ``compute``):
    no weights, no gradient (``backward`` gives None for the inputs), inputs of any dtype."""

    # Integer ids reach compute as they are (a model does not cast them to float32); layers
    # that take strings say so, for a model to keep its string inputs as they are.
    _int_input = True
    _string_input = False

    def __init__(self, dtype=None, **kwargs):
        # Keras's preprocessing layers name their output dtype ("int64", "string"); shendu's
        # follow the layer's mode, so the argument is kept only for the config.
        self._dtype_arg = dtype if isinstance(dtype, str) else None
        super().__init__(**kwargs)

    def __call__(self, inputs, training=None, mask=None, **kwargs):
        if isinstance(inputs, (list, tuple)) and not any(
            isinstance(t, KerasTensor) for t in inputs
        ):
            inputs = np.asarray(inputs)  # a list of values is one input, not several
        return super().__call__(inputs, training, mask, **kwargs)

    def _as_array(self, x):
        return host_array(x)

    def compute(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def forward(self, x, training=False):
        y = self.compute(host_array(x))
        return (y if y.dtype.kind in "OSU" else _device.to_device(y)), None

    def backward(self, ctx, dy):
        return None, []

    def get_config(self):
        config = super().get_config()
        if self._dtype_arg is not None:
            config["dtype"] = self._dtype_arg
        return config


class CategoryEncoding(HostLayer):
    """Encodes integer category ids (in ``[0, num_tokens)``) as float32 vectors.

    Args:
        num_tokens: the number of categories (the output's last dimension).
        output_mode: ``"multi_hot"`` (default; which ids occur in each sample), ``"one_hot"``
            (one vector per id; a last axis of size 1 is replaced) or ``"count"`` (how often
            each id occurs, weighted by ``count_weights`` when the call passes them).
        sparse: only False.

    Input shape: ``(batch, ids)`` or ``(ids,)`` (one sample). Output shape:
    ``(batch, num_tokens)``; one_hot: ``input_shape + (num_tokens,)``.
    """

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        check_mode("output_mode", output_mode, ENCODINGS)
        if num_tokens is None:
            raise ValueError(
                "num_tokens must be set to use this layer. If the number of tokens is not "
                "known beforehand, use the IntegerLookup layer instead."
            )
        if isinstance(num_tokens, bool) or not isinstance(num_tokens, (int, np.integer)):
            raise TypeError(f"`num_tokens` must be an integer. Received: num_tokens={num_tokens}")
        if num_tokens < 1:
            raise ValueError(f"`num_tokens` must be >= 1. Received: num_tokens={num_tokens}.")
        if sparse:
            raise ValueError("CategoryEncoding: sparse outputs are not supported by shendu")
        self.num_tokens = int(num_tokens)
        self.output_mode = output_mode
        self.sparse = False

    def __call__(self, inputs, count_weights=None, **kwargs):
        if count_weights is None or isinstance(inputs, KerasTensor):
            return super().__call__(inputs, **kwargs)
        if self.output_mode != "count":
            raise ValueError(
                "`count_weights` is not used when `output_mode` is not `'count'`. "
                f"Received `count_weights={count_weights}`."
            )
        return eager(self.compute(host_array(inputs), host_array(count_weights)))

    def compute(self, x, count_weights=None):
        if x.dtype.kind not in "iub":
            raise TypeError(f"{self.name}: expected integer category ids, got dtype {x.dtype}")
        return encode(x, self.output_mode, self.num_tokens, count_weights)

    def compute_output_shape(self, input_shape):
        return encoded_shape(input_shape, self.output_mode, self.num_tokens)

    def get_config(self):
        return {
            **super().get_config(),
            "num_tokens": self.num_tokens,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
        }


def salt_pair(salt, what):
    """Keras's salt: an integer k as (k, k), or a pair of integers."""
    if salt is None:
        return None
    if isinstance(salt, (tuple, list)) and len(salt) == 2:
        return [int(s) for s in salt]
    if isinstance(salt, (int, np.integer)) and not isinstance(salt, bool):
        return [int(salt), int(salt)]
    raise ValueError(
        f"The `salt` argument for `{what}` can only be a tuple of size 2 integers, or a single "
        f"integer. Received: salt={salt}."
    )


def hash_keys(values, encoding="utf-8") -> np.ndarray:
    """The strings TensorFlow hashes for values: strings as they are, integers in decimal,
    floats truncated to integers first."""
    values = host_array(values)
    if values.dtype.kind == "f":
        values = values.astype(np.int64)
    if values.dtype.kind in "iub":
        return values.astype(np.int64)
    return as_strings(values, encoding)


def hash_buckets(keys, num_buckets, salt=None, encoding="utf-8") -> np.ndarray:
    """``tf.strings.to_hash_bucket_fast`` (FarmHash64) of keys, or with a salt
    ``to_hash_bucket_strong`` (SipHash-2-4), as int64 bucket ids in [0, num_buckets)."""

    def bucket(key):
        data = (str(key) if isinstance(key, int) else key).encode(encoding)
        h = fingerprint64(data) if salt is None else siphash24(salt, data)
        return h % num_buckets

    return map_unique(keys, bucket)


class Hashing(HostLayer):
    """Hashes strings or integers into ``num_bins`` buckets, with TensorFlow's hash functions
    (FarmHash Fingerprint64, or SipHash-2-4 keyed by ``salt``), so bucket ids match Keras's.

    Args:
        num_bins: the number of buckets (with ``mask_value``, one of them, bucket 0, is kept
            for the mask).
        mask_value: a value that goes to bucket 0.
        salt: an integer or a pair of integers: hash with SipHash under this key.
        output_mode: ``"int"`` (bucket ids, int64), ``"one_hot"``, ``"multi_hot"`` or
            ``"count"`` (float32 encodings, as CategoryEncoding).
        sparse: only False.

    Integers are hashed as their decimal strings, floats truncated to integers first.
    Input shape: any. Output shape: the input's (int), else as CategoryEncoding.
    """

    _string_input = True

    def __init__(
        self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False, **kwargs
    ):
        super().__init__(**kwargs)
        if num_bins is None or isinstance(num_bins, bool) or num_bins <= 0:
            raise ValueError(
                "The `num_bins` for `Hashing` cannot be `None` or non-positive values. "
                f"Received: num_bins={num_bins}."
            )
        check_mode("output_mode", output_mode, ("int",) + ENCODINGS)
        if sparse:
            raise ValueError("Hashing: sparse outputs are not supported by shendu")
        self.num_bins = int(num_bins)
        self.mask_value = mask_value
        self.salt = salt_pair(salt, "Hashing")
        self.output_mode = output_mode
        self.sparse = False

    def compute(self, x):
        if self.output_mode == "one_hot" and x.ndim and x.shape[-1] == 1:
            x = x[..., 0]
        bins = self.num_bins
        mask = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            mask = self._is_mask(x)
        ids = hash_buckets(hash_keys(x), bins, self.salt)
        if mask is not None:
            ids = np.where(mask, 0, ids + 1)
        if self.output_mode == "int":
            return ids
        return encode(ids, self.output_mode, self.num_bins)

    def _is_mask(self, x):
        if x.dtype.kind in "OSU":
            return as_strings(x) == (
                self.mask_value.decode() if isinstance(self.mask_value, bytes) else self.mask_value
            )
        return x == self.mask_value

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        return encoded_shape(input_shape, "multi_hot", self.num_bins)

    def get_config(self):
        return {
            **super().get_config(),
            "num_bins": self.num_bins,
            "salt": self.salt,
            "mask_value": self.mask_value,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
        }
