"""Dataset.from_tensor_slices, from_tensors, from_generator, range and zip."""

import builtins

import numpy as np

from . import args as checks
from . import cardinality as card
from . import structure
from .iteration import close
from .rows import Rows


def from_tensor_slices(cls, tensors, name=None):
    """One element per slice along the first axis of every component of ``tensors``."""
    element = structure.map_structure(structure.read_only, structure.normalize(tensors))
    leaves = structure.flatten(element)
    if not leaves:
        raise ValueError("from_tensor_slices: `tensors` has no components")
    for leaf in leaves:
        if np.ndim(leaf) == 0:
            raise ValueError(
                "from_tensor_slices: every component of `tensors` needs a first axis to slice, "
                f"got the scalar {leaf!r}"
            )
    n = len(leaves[0])
    if any(len(leaf) != n for leaf in leaves):
        raise ValueError(
            "from_tensor_slices: all components of `tensors` must have the same first "
            f"dimension, got {[len(leaf) for leaf in leaves]}"
        )

    spec = structure.map_structure(
        lambda leaf: structure.TensorSpec(np.shape(leaf)[1:], structure.dtype_of(leaf)), element
    )
    rows = Rows(element, leaves)
    dataset = cls(rows.elements, spec, n, "TensorSliceDataset")
    dataset._rows = rows
    return dataset


def from_tensors(cls, tensors, name=None):
    """A dataset of one element, ``tensors``."""
    element = structure.map_structure(structure.read_only, structure.normalize(tensors))
    return cls(lambda: iter((element,)), structure.spec_of(element), 1, "TensorDataset")


def from_generator(
    cls,
    generator,
    output_types=None,
    output_shapes=None,
    args=None,
    output_signature=None,
    name=None,
):
    """Elements from ``generator(*args)``, called anew on each pass. Each element must have the
    structure of ``output_signature`` (a structure of TensorSpec), or of ``output_types`` with
    ``output_shapes``; it is converted to the dtypes given and its shapes are checked."""
    checks.callable_("from_generator", "generator", generator)
    signature = _signature(output_types, output_shapes, output_signature)
    call_args = tuple(args) if args is not None else ()

    def make_iterator():
        iterator = iter(generator(*call_args))
        try:
            for value in iterator:
                yield structure.pack_as(
                    signature,
                    [
                        _conform(spec, v)
                        for spec, v in zip(
                            structure.flatten(signature), _leaves_like(signature, value)
                        )
                    ],
                )
        finally:
            close(iterator)

    return cls(make_iterator, signature, card.UNKNOWN, "FlatMapDataset")


def _signature(output_types, output_shapes, output_signature):
    if output_signature is not None:
        if output_types is not None or output_shapes is not None:
            raise TypeError(
                "from_generator: `output_types` and `output_shapes` cannot be given with "
                "`output_signature`"
            )
        for spec in structure.flatten(output_signature):
            if not isinstance(spec, structure.TensorSpec):
                raise TypeError(
                    "from_generator: `output_signature` must be a structure of TensorSpec, "
                    f"got {spec!r}"
                )
        return output_signature
    if output_types is None:
        raise TypeError(
            "from_generator: give `output_signature` (a structure of TensorSpec), or "
            "`output_types` with optional `output_shapes`"
        )
    types = structure.flatten(output_types)
    shapes = (
        [None] * len(types)
        if output_shapes is None
        else structure.flatten_up_to(output_types, output_shapes)
    )
    return structure.pack_as(
        output_types, [structure.TensorSpec(s, t) for t, s in zip(types, shapes)]
    )


def _leaves_like(signature, value):
    """``value``'s leaves, read along ``signature``'s structure; a generator may yield a list
    where the signature has a tuple."""
    if isinstance(signature, tuple) and isinstance(value, list):
        value = tuple(value)
    try:
        return structure.flatten_up_to(signature, value)
    except (KeyError, TypeError, ValueError):
        raise TypeError(
            f"`generator` yielded an element {value!r} that does not match the expected "
            f"structure {signature!r}"
        ) from None


def _conform(spec, value):
    if spec.dtype == structure.STRING:
        array = structure.to_numpy(value)
        array = np.asarray(array, dtype=object) if isinstance(array, bytes) else array
    else:
        try:
            array = np.asarray(value, dtype=spec.dtype)
        except (TypeError, ValueError):
            raise TypeError(
                "`generator` yielded an element that could not be converted to the expected "
                f"type. The expected type was {spec.dtype}, but the yielded element was "
                f"{value!r}."
            ) from None
    if not spec.is_compatible_with(array):
        raise ValueError(
            f"`generator` yielded an element of shape {array.shape} where an element of shape "
            f"{spec.shape} was expected."
        )
    return array[()] if array.ndim == 0 else array


def range_(cls, *bounds, output_type=np.int64, name=None):
    """Like Python's ``range(stop)`` / ``range(start, stop[, step])``, as int64 scalars."""
    if not 1 <= len(bounds) <= 3:
        raise TypeError(f"range: expected 1 to 3 bounds (start, stop, step), got {len(bounds)}")
    labels = ("stop",) if len(bounds) == 1 else ("start", "stop", "step")
    for label, value in zip(labels, bounds):
        checks.integer("range", label, value)
    if len(bounds) == 3 and bounds[2] == 0:
        raise ValueError("range: `step` must not be 0")
    values = builtins.range(*(int(b) for b in bounds))
    dtype = structure.as_dtype(output_type)

    def make_iterator():
        return (dtype.type(v) for v in values)

    return cls(make_iterator, structure.TensorSpec((), dtype), len(values), "RangeDataset")


def zip_(cls, *datasets, name=None):
    """Elements that pair up the elements of several datasets, nested as ``datasets`` is: a
    tuple of datasets (``zip(a, b)`` or ``zip((a, b))``) or a dict of them. It ends with the
    shortest dataset."""
    nest = datasets[0] if len(datasets) == 1 else datasets
    members = structure.flatten(nest)
    for member in members:
        if not isinstance(member, cls):
            raise TypeError(
                f"zip: `datasets` must be a (nested) tuple or dict of Datasets, got {member!r}"
            )

    def make_iterator():
        iterators = [iter(m) for m in members]
        try:
            while True:
                elements = []
                for iterator in iterators:
                    element = next(iterator, _END)
                    if element is _END:
                        return
                    elements.append(element)
                yield structure.pack_as(nest, elements)
        finally:
            for iterator in iterators:
                close(iterator)

    if all(m.has_static_spec for m in members):
        spec = structure.pack_as(nest, [m.element_spec for m in members])
    else:
        spec = lambda: structure.pack_as(nest, [m.element_spec for m in members])
    return cls(make_iterator, spec, card.zipped(m.cardinality() for m in members), "ZipDataset")


_END = object()
