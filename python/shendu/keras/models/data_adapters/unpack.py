"""How a batch made elsewhere (a Dataset element, a generator's or a PyDataset's item) splits
into inputs, targets and sample weights, as Keras's ``unpack_x_y_sample_weight``."""

from __future__ import annotations


def unpack_x_y_sample_weight(data):
    """``(x, y, sample_weight)`` of ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``;
    the missing parts are None. A list counts as a tuple; anything else (an array, a dict of
    named inputs) is ``x`` alone."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) in (1, 2, 3):
        return tuple(data) + (None,) * (3 - len(data))
    raise ValueError(
        "Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, "
        f"found a tuple of {len(data)} items"
    )
