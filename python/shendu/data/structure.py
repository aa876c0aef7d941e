"""Elements of a Dataset: nested tuples / namedtuples / dicts of NumPy values, and their specs.

As in tf.data, tuples and dicts are structure while a Python list is a value (it becomes one
array); dicts are flattened in sorted key order, as ``tf.nest`` does. Python numbers convert as
TensorFlow converts them (int -> int32, or int64 when out of int32's range; float -> float32;
bool -> bool); NumPy values keep their dtype. Strings become bytes: a string array is an object
array of ``bytes``, so indexing it gives ``bytes`` as tf's ``as_numpy_iterator`` does.
"""

import numpy as np

_INT32 = np.iinfo(np.int32)
STRING = np.dtype(object)  # the dtype shendu gives string values (tf.string)


class TensorSpec:
    """The shape (None for an unknown dimension) and dtype of one component of an element."""

    def __init__(self, shape, dtype=np.float32, name=None):
        # shape None: the rank is unknown too (a TensorShape(None) in tf).
        if shape is not None:
            shape = tuple(None if d is None or d == -1 else int(d) for d in shape)
        self.shape = shape
        self.dtype = as_dtype(dtype)
        self.name = name

    @classmethod
    def from_value(cls, value):
        return cls(np.shape(value), dtype_of(value))

    def is_compatible_with(self, value):
        shape = np.shape(value)
        if self.shape is None:
            return True
        return len(shape) == len(self.shape) and all(
            d is None or d == s for d, s in zip(self.shape, shape)
        )

    def __eq__(self, other):
        return (
            isinstance(other, TensorSpec)
            and self.shape == other.shape
            and self.dtype == other.dtype
        )

    def __hash__(self):
        return hash((self.shape, self.dtype))

    def __repr__(self):
        dtype = "string" if self.dtype == STRING else self.dtype.name
        return f"TensorSpec(shape={self.shape}, dtype={dtype}, name={self.name!r})"


def as_dtype(dtype):
    """np.dtype of a dtype-like; "string" (tf.string's name), str and bytes mean STRING."""
    if dtype in ("string", str, bytes, object):
        return STRING
    dtype = getattr(dtype, "as_numpy_dtype", dtype)
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype: expected a NumPy dtype or 'string', got {dtype!r}") from None
    return STRING if dtype.kind in "USO" else dtype


def dtype_of(value):
    if isinstance(value, (bytes, str)):
        return STRING
    dtype = np.asarray(value).dtype
    return STRING if dtype.kind in "USO" else dtype


def is_structure(value):
    return isinstance(value, (tuple, dict))


def flatten(structure):
    """The leaves of a nested structure, dict values in sorted key order."""
    if type(structure) is tuple and not any(isinstance(i, (tuple, dict)) for i in structure):
        return list(structure)  # the common (features, labels) element, without recursion
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in flatten(structure[key])]
    if isinstance(structure, tuple):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]


def flatten_up_to(shallow, value):
    """``value``'s parts at the leaves of ``shallow``'s structure (a leaf may hold a tuple, as
    a shape in ``output_shapes`` does under a leaf of ``output_types``)."""
    if isinstance(shallow, dict):
        return [leaf for key in sorted(shallow) for leaf in flatten_up_to(shallow[key], value[key])]
    if isinstance(shallow, tuple):
        if len(shallow) != len(value):
            raise ValueError(f"{value!r} does not have the structure of {shallow!r}")
        return [leaf for s, v in zip(shallow, value) for leaf in flatten_up_to(s, v)]
    return [value]


def pack_as(structure, leaves):
    """Rebuilds ``structure``'s nesting (same tuple / namedtuple / dict types) around ``leaves``."""
    it = iter(leaves)
    packed = _pack(structure, it)
    if next(it, _END) is not _END:
        raise ValueError("pack_as: more leaves than the structure has")
    return packed


def packer(structure):
    """A function that does ``pack_as(structure, leaves)``, quicker on a bare leaf or a flat
    tuple: sources and batching pack every element with one."""
    if not is_structure(structure):
        return lambda leaves: leaves[0]
    if type(structure) is tuple and not any(is_structure(i) for i in structure):
        return tuple
    return lambda leaves: pack_as(structure, leaves)


_END = object()


def _pack(structure, it):
    if isinstance(structure, dict):
        values = {key: _pack(structure[key], it) for key in sorted(structure)}
        return type(structure)((key, values[key]) for key in structure)
    if isinstance(structure, tuple):
        items = [_pack(item, it) for item in structure]
        return type(structure)(*items) if hasattr(structure, "_fields") else tuple(items)
    return next(it)


def same_structure(a, b):
    """True when ``a`` and ``b`` nest alike (tuple vs namedtuple and dict types included)."""
    if isinstance(a, dict):
        return (
            isinstance(b, dict)
            and type(a) is type(b)
            and sorted(a) == sorted(b)
            and all(same_structure(a[k], b[k]) for k in a)
        )
    if isinstance(a, tuple):
        return (
            type(a) is type(b)
            and len(a) == len(b)
            and all(same_structure(x, y) for x, y in zip(a, b))
        )
    return not is_structure(b)


def map_structure(fn, structure, *others):
    for other in others:
        if not same_structure(structure, other):
            raise ValueError(
                f"The two structures don't have the same nested structure: {structure!r} vs {other!r}"
            )
    leaves = zip(flatten(structure), *(flatten(o) for o in others))
    return packer(structure)([fn(*args) for args in leaves])


def normalize(element):
    """An element with each leaf converted to NumPy as tf.data converts it (see the module doc)."""
    return map_structure(to_numpy, element)


def to_numpy(value):
    if isinstance(value, np.ndarray):
        return _strings_as_bytes(value) if value.dtype.kind in "US" else value
    if isinstance(value, np.generic):
        return value.tobytes() if isinstance(value, np.bytes_) else _scalar_or_bytes(value)
    if isinstance(value, (bool, np.bool_)):
        return np.bool_(value)
    if isinstance(value, int):
        return np.int32(value) if _INT32.min <= value <= _INT32.max else np.int64(value)
    if isinstance(value, float):
        return np.float32(value)
    if isinstance(value, complex):
        return np.complex128(value)
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bytes):
        return value
    if isinstance(value, list):
        return _list_to_array(value)
    if hasattr(value, "__array__"):
        return to_numpy(np.asarray(value))
    raise TypeError(
        f"Cannot convert {value!r} (type {type(value).__name__}) to a NumPy value: elements "
        "must be numbers, strings, arrays, lists of them, or tuples / dicts of those"
    )


def _scalar_or_bytes(value):
    return value.item().encode() if isinstance(value, np.str_) else value


def _strings_as_bytes(array):
    out = np.empty(array.shape, dtype=STRING)
    flat = out.reshape(-1)
    for i, s in enumerate(array.reshape(-1).tolist()):
        flat[i] = s.encode() if isinstance(s, str) else s
    return out


def _list_to_array(values):
    try:
        array = np.array(values)
    except ValueError as e:
        raise ValueError(
            f"Can't convert non-rectangular Python sequence to an array: {e}"
        ) from None
    if (
        array.dtype == object
        and array.size
        and not all(isinstance(v, (str, bytes)) for v in array.reshape(-1))
    ):
        raise ValueError(f"Can't convert non-rectangular Python sequence to an array: {values!r}")
    if array.dtype.kind in "USO":
        return _strings_as_bytes(array)
    if _holds_numpy(values):
        return array  # NumPy values keep their dtype inside a list too
    if array.dtype == np.float64:
        return array.astype(np.float32)
    if array.dtype == np.int64 and (
        array.size == 0 or (_INT32.min <= array.min() and array.max() <= _INT32.max)
    ):
        return array.astype(np.int32)
    return array


def _holds_numpy(values):
    return any(
        isinstance(v, (np.ndarray, np.generic)) or (isinstance(v, list) and _holds_numpy(v))
        for v in values
    )


def read_only(value):
    """A read-only view of an array (scalars and bytes are immutable already): dataset elements
    share the caller's memory without letting a map function write into it."""
    if isinstance(value, np.ndarray):
        value = value.view()
        value.flags.writeable = False
    return value


def spec_of(element):
    return map_structure(TensorSpec.from_value, element)
