"""Dataset.batch, padded_batch, unbatch and rebatch."""

import numpy as np

from . import args as checks
from . import cardinality as card
from . import structure
from .iteration import reading


def batch(
    self, batch_size, drop_remainder=False, num_parallel_calls=None, deterministic=None, name=None
):
    """Consecutive elements stacked along a new first axis, ``batch_size`` at a time; the last
    batch is smaller unless ``drop_remainder``. A component must have one shape within a batch
    (``padded_batch`` pads instead). ``num_parallel_calls`` and ``deterministic`` are accepted
    for tf's signature; stacking runs on the consumer's thread."""
    batch_size = checks.integer("batch", "batch_size", batch_size, minimum=1)
    drop_remainder = checks.boolean("batch", "drop_remainder", drop_remainder)
    batched = _batched(self, batch_size, drop_remainder, None, None, "BatchDataset")
    if self._rows is not None:
        batched._make_iterator = lambda: self._rows.batches(batch_size, drop_remainder)
    return batched


def padded_batch(
    self, batch_size, padded_shapes=None, padding_values=None, drop_remainder=False, name=None
):
    """Like ``batch``, with each component padded at the end of each axis: to the matching entry
    of ``padded_shapes`` (None or -1 there: the longest in the batch), or along every axis to
    the longest in the batch when ``padded_shapes`` is None. ``padding_values`` (0 for numbers,
    b"" for strings by default) is one scalar for all components or a structure like the
    elements'."""
    batch_size = checks.integer("padded_batch", "batch_size", batch_size, minimum=1)
    drop_remainder = checks.boolean("padded_batch", "drop_remainder", drop_remainder)
    if padding_values is not None and not structure.is_structure(padding_values):
        padding_values = _padding_value(padding_values)
    return _batched(
        self,
        batch_size,
        drop_remainder,
        padded_shapes,
        _Padding(padding_values),
        "PaddedBatchDataset",
    )


class _Padding:
    """Padding values per component: one scalar for all, or a structure like the elements'."""

    def __init__(self, values):
        self.values = values

    def per_component(self, element, count):
        if self.values is None or not structure.is_structure(self.values):
            return [self.values] * count
        try:
            leaves = structure.flatten_up_to(element, self.values)
        except (KeyError, TypeError, ValueError):
            raise ValueError(
                f"padded_batch: `padding_values` {self.values!r} does not have the structure "
                "of the elements"
            ) from None
        return [_padding_value(v) for v in leaves]


def _padding_value(value):
    value = structure.to_numpy(value)
    if np.ndim(value) != 0:
        raise ValueError(f"padded_batch: `padding_values` must be scalars, got {value!r}")
    return value


def _shapes_per_component(element, padded_shapes):
    try:
        shapes = structure.flatten_up_to(element, padded_shapes)
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            f"padded_batch: `padded_shapes` {padded_shapes!r} does not have the structure of "
            "the elements"
        ) from None
    return [_padded_shape(s) for s in shapes]


def _padded_shape(shape):
    dims = (shape,) if isinstance(shape, (int, np.integer)) or shape is None else shape
    try:
        return tuple(None if d is None or d == -1 else int(d) for d in dims)
    except (TypeError, ValueError):
        raise ValueError(
            f"padded_batch: each of `padded_shapes` must be a shape (ints, None or -1), "
            f"got {shape!r}"
        ) from None


def _batched(self, batch_size, drop_remainder, padded_shapes, padding, name):
    def combine(elements):
        first = elements[0]
        columns = list(zip(*(structure.flatten(e) for e in elements)))
        if padding is None:
            parts = [_stack(items, i) for i, items in enumerate(columns)]
        else:
            shapes = (
                [None] * len(columns)
                if padded_shapes is None
                else _shapes_per_component(first, padded_shapes)
            )
            values = padding.per_component(first, len(columns))
            parts = [
                _pad_stack(items, i, shape, value)
                for i, (items, shape, value) in enumerate(zip(columns, shapes, values))
            ]
        return structure.packer(first)(parts)

    def make_iterator():
        elements = []
        with reading(self) as iterator:
            for element in iterator:
                elements.append(element)
                if len(elements) == batch_size:
                    yield combine(elements)
                    elements = []
        if elements and not drop_remainder:
            yield combine(elements)

    def spec(input_spec):
        specs = structure.flatten(input_spec)
        shapes = (
            [s.shape for s in specs]
            if padded_shapes is None
            else _shapes_per_component(input_spec, padded_shapes)
        )
        leading = batch_size if drop_remainder else None
        return structure.pack_as(
            input_spec,
            [
                structure.TensorSpec(None if shape is None else (leading, *shape), s.dtype)
                for s, shape in zip(specs, shapes)
            ],
        )

    return self._derive(
        make_iterator, spec, card.batched(self._cardinality, batch_size, drop_remainder), name
    )


def _stack(items, component):
    if structure.dtype_of(items[0]) != structure.STRING:
        try:
            return np.stack(items)
        except ValueError:
            pass  # shapes differ: said below
    shape = np.shape(items[0])
    for j, item in enumerate(items):
        if np.shape(item) != shape:
            raise ValueError(
                f"Cannot batch tensors with different shapes in component {component}. First "
                f"element had shape {shape} and element {j} had shape {np.shape(item)}; use "
                "padded_batch to pad them."
            )
    return _object_array(items, shape)


def _object_array(items, shape):
    # np.stack would turn bytes into a fixed-width 'S' array; string components stay objects.
    out = np.empty((len(items), *shape), dtype=structure.STRING)
    for j, item in enumerate(items):
        out[j] = item
    return out


def _pad_stack(items, component, padded_shape, value):
    shapes = [np.shape(item) for item in items]
    rank = len(shapes[0])
    if any(len(s) != rank for s in shapes):
        raise ValueError(
            f"padded_batch: elements of component {component} have different ranks: {shapes}"
        )
    longest = tuple(max(dims) for dims in zip(*shapes)) if rank else ()
    if padded_shape is None:
        target = longest
    else:
        if len(padded_shape) != rank:
            raise ValueError(
                f"padded_batch: `padded_shapes` gives {padded_shape} for component {component}, "
                f"whose elements have rank {rank}"
            )
        for d, (want, have) in enumerate(zip(padded_shape, longest)):
            if want is not None and have > want:
                raise ValueError(
                    f"padded_batch: attempted to pad to a smaller size than the input element: "
                    f"component {component} has size {have} along axis {d}, `padded_shapes` "
                    f"gives {want}"
                )
        target = tuple(h if w is None else w for w, h in zip(padded_shape, longest))
    dtype = structure.dtype_of(items[0])
    if value is None:
        value = b"" if dtype == structure.STRING else 0
    out = np.full((len(items), *target), value, dtype=dtype)
    for j, item in enumerate(items):
        out[(j, *(slice(0, n) for n in np.shape(item)))] = item
    return out


def unbatch(self, name=None):
    """Each element split along its first axis into that many elements."""

    def make_iterator():
        with reading(self) as iterator:
            for element in iterator:
                leaves = structure.flatten(element)
                sizes = [len(leaf) if np.ndim(leaf) else None for leaf in leaves]
                if None in sizes or len(set(sizes)) != 1:
                    raise ValueError(
                        "unbatch: every component of an element needs the same first dimension, "
                        f"got shapes {[np.shape(leaf) for leaf in leaves]}"
                    )
                for i in range(sizes[0]):
                    yield structure.pack_as(element, [leaf[i] for leaf in leaves])

    def spec(input_spec):
        return structure.map_structure(
            lambda s: structure.TensorSpec(None if s.shape is None else s.shape[1:], s.dtype),
            input_spec,
        )

    return self._derive(make_iterator, spec, _unbatched_cardinality(self), "UnbatchDataset")


def _unbatched_cardinality(self):
    n = self._cardinality
    if n < 0:
        return n
    if self.has_static_spec:
        leading = {s.shape[0] if s.shape else None for s in structure.flatten(self.element_spec)}
        if len(leading) == 1 and None not in leading:
            return n * leading.pop()
    return card.UNKNOWN


def rebatch(self, batch_size, drop_remainder=False, name=None):
    """The same elements regrouped in batches of ``batch_size``: ``unbatch().batch(...)``."""
    batch_size = checks.integer("rebatch", "batch_size", batch_size, minimum=1)
    return unbatch(self).batch(batch_size, drop_remainder=drop_remainder)
