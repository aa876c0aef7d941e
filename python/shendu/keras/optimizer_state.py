"""A compiled model's optimizer state as Keras 3 lays it out in weight files (optimizer/vars/<i>):
the step count (int64), the learning rate (float32), then for each trainable weight in the
model's order its slots in the optimizer's order (Adam: momentum, velocity; RMSprop: velocity;
SGD with momentum: momentum), so a file carries training on where it stopped in either library.
"""

from __future__ import annotations

import numpy as np

from .. import _device


def _optimizer(model):
    optimizer = getattr(model, "optimizer", None) if getattr(model, "compiled", False) else None
    return optimizer if optimizer is not None and hasattr(optimizer, "_active_slots") else None


def shapes_of(model):
    """The shapes of the model's optimizer variables, None when it has no optimizer."""
    optimizer = _optimizer(model)
    if optimizer is None:
        return None
    count = len(optimizer._active_slots())
    return [(), ()] + [w.shape for w in model.trainable_weights for _ in range(count)]


def variables_of(model):
    """The model's optimizer variables as arrays (zeros for slots not yet made), None when it
    has no optimizer."""
    optimizer = _optimizer(model)
    if optimizer is None:
        return None
    out = [np.int64(optimizer.iterations), np.float32(optimizer.learning_rate)]
    count = len(optimizer._active_slots())
    for w in model.trainable_weights:
        slots = optimizer._slots.get(id(w))
        if slots is None:
            out.extend(np.zeros(w.shape, np.float32) for _ in range(count))
        else:
            out.extend(_device.to_host(s, copy=True) for s in slots)
    return out


def assign(model, arrays) -> None:
    """Sets the model's optimizer state from ``arrays`` (checked against shapes_of)."""
    optimizer = _optimizer(model)
    count = len(optimizer._active_slots())
    optimizer.iterations = int(arrays[0])
    # The file holds the rate in float32: the current rate stays when it rounds to the same, so
    # a restored fit carries on with exactly the rate it had.
    if np.float32(optimizer.learning_rate) != np.float32(arrays[1]):
        optimizer.learning_rate = float(arrays[1])
    optimizer._slots.clear()
    if count == 0:
        return
    slots = arrays[2:]
    for i, w in enumerate(model.trainable_weights):
        optimizer._slots[id(w)] = [
            _device.to_device(np.ascontiguousarray(s, dtype=np.float32))
            for s in slots[i * count : (i + 1) * count]
        ]
