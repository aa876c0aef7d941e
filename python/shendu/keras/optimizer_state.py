"""A compiled model's optimizer state as Keras 3 lays it out in weight files (optimizer/vars/<i>):
the step count (int64); the learning rate (float32) unless it is a schedule; with ``use_ema``,
each trainable weight's moving average; then for each trainable weight in the model's order its
slots in the optimizer's order (Adam: momentum, velocity; RMSprop: velocity; SGD with momentum:
momentum; ...); then the optimizer's scalars (Nadam: its momentum product). A file so carries
training on where it stopped in either library.
"""

from __future__ import annotations

import numpy as np

from .. import _device


def _optimizer(model):
    optimizer = getattr(model, "optimizer", None) if getattr(model, "compiled", False) else None
    return optimizer if optimizer is not None and hasattr(optimizer, "_active_slots") else None


def _head(optimizer) -> int:
    """How many scalars come before the per-weight arrays."""
    return 2 if optimizer.has_rate_variable else 1


def shapes_of(model):
    """The shapes of the model's optimizer variables, None when it has no optimizer."""
    optimizer = _optimizer(model)
    if optimizer is None:
        return None
    weights = model.trainable_weights
    count = len(optimizer._active_slots())
    averages = [w.shape for w in weights] if optimizer.use_ema else []
    slots = [w.shape for w in weights for _ in range(count)]
    extra = [() for _ in optimizer._extra_state()]
    return [()] * _head(optimizer) + averages + slots + extra


def variables_of(model):
    """The model's optimizer variables as arrays (slots not yet made at their initial value),
    None when it has no optimizer."""
    optimizer = _optimizer(model)
    if optimizer is None:
        return None
    out = [np.int64(optimizer.iterations)]
    if optimizer.has_rate_variable:
        out.append(np.float32(optimizer.learning_rate))
    names = optimizer._active_slots()
    weights = model.trainable_weights
    if optimizer.use_ema:
        for w in weights:
            average = optimizer._averages.get(id(w))
            made = average is not None
            out.append(_device.to_host(average, copy=True) if made else np.zeros(w.shape, "f4"))
    for w in weights:
        slots = optimizer._slots.get(id(w))
        if slots is None:
            out.extend(np.full(w.shape, optimizer._slot_initial(n), np.float32) for n in names)
        else:
            out.extend(_device.to_host(s, copy=True) for s in slots)
    out.extend(np.float32(v) for v in optimizer._extra_state())
    return out


def _placed(array):
    return _device.to_device(np.ascontiguousarray(array, dtype=np.float32))


def assign(model, arrays) -> None:
    """Sets the model's optimizer state from ``arrays`` (checked against shapes_of)."""
    optimizer = _optimizer(model)
    weights = model.trainable_weights
    optimizer.iterations = int(arrays[0])
    # The file holds the rate in float32: the current rate stays when it rounds to the same, so
    # a restored fit carries on with exactly the rate it had.
    if optimizer.has_rate_variable and np.float32(optimizer.learning_rate) != np.float32(arrays[1]):
        optimizer.learning_rate = float(arrays[1])
    rest = list(arrays[_head(optimizer) :])
    optimizer._averages.clear()
    if optimizer.use_ema:
        for w, average in zip(weights, rest):
            optimizer._averages[id(w)] = _placed(average)
        rest = rest[len(weights) :]
    optimizer._slots.clear()
    count = len(optimizer._active_slots())
    if count:
        for i, w in enumerate(weights):
            optimizer._slots[id(w)] = [_placed(s) for s in rest[i * count : (i + 1) * count]]
    optimizer._set_extra_state(rest[len(weights) * count :])
