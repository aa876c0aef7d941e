"""keras.optimizers.Optimizer: the step count, the learning rate (a float or a schedule), one set
of slot arrays per weight, and Keras 3's options every optimizer has (clipping, decoupled weight
decay, a moving average of the weights)."""

from __future__ import annotations

import re

import numpy as np

from ... import _device, ops
from ...tensor import Tensor, raw
from .. import registry, row_gradient, serialization
from . import clipping, schedules


def _gradient_for(var, grad):
    """grad as what the update op takes with var.value: an array on the same device, of the same
    dtype and shape; an Embedding's RowGradient (or its sum over replicas) kept as it is."""
    value = var.value
    if isinstance(grad, row_gradient.SummedRows):
        return grad
    rows = isinstance(grad, row_gradient.RowGradient)
    if not rows and (isinstance(grad, Tensor) or not hasattr(grad, "dtype")):  # a tape's, a list
        grad = _device.array_module(value).asarray(raw(grad))
    if tuple(grad.shape) != tuple(value.shape):
        raise ValueError(
            f"gradient of shape {tuple(grad.shape)} for variable {var.name!r} of shape "
            f"{value.shape}"
        )
    if rows or grad.dtype == value.dtype:
        return grad
    return grad.astype(value.dtype)


def _positive(name, value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, got {value!r}") from None
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}")
    return value


def _optional_positive(name, value):
    return None if value is None else _positive(name, value)


class Optimizer:
    """The base of shendu's optimizers (Keras 3's arguments and defaults).

    ``learning_rate`` is a float, a ``keras.optimizers.schedules.LearningRateSchedule`` (called
    with ``iterations`` before each update) or a callable of no arguments. It stays settable:
    callbacks such as ``ReduceLROnPlateau`` and ``LearningRateScheduler`` assign a float, and a
    schedule may replace either; as in Keras, a float cannot replace a schedule (TypeError).
    Reading it gives the rate the next update uses, a float.

    Each update, in Keras's order: the gradients are clipped (``clipnorm`` per weight,
    ``global_clipnorm`` over all, or ``clipvalue``; at most one of them), the weights with a
    gradient decay (``weight_decay``: ``w -= w * weight_decay * learning_rate``, skipping those
    named in ``exclude_from_weight_decay``), then the optimizer's own fused update runs. With
    ``use_ema``, the optimizer keeps ``average = ema_momentum * average + (1 - ema_momentum) *
    w`` per weight (the first update copies ``w``), writes the averages into the weights every
    ``ema_overwrite_frequency`` updates, and ``fit`` writes them in at its end
    (``finalize_variable_values``).
    """

    _slot_names: tuple = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        registry.register_builtin("optimizers", cls)

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        if kwargs:
            raise ValueError(f"Argument(s) not recognized by {type(self).__name__}: {kwargs}")
        if loss_scale_factor is not None:
            raise ValueError(
                f"{type(self).__name__}: loss_scale_factor is not supported by shendu (it trains "
                f"in float32, where loss scaling changes nothing), got {loss_scale_factor!r}"
            )
        if gradient_accumulation_steps is not None:
            raise ValueError(
                f"{type(self).__name__}: gradient_accumulation_steps is not supported by shendu, "
                f"got {gradient_accumulation_steps!r}"
            )
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
                f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
            )
        self.weight_decay = _optional_positive("weight_decay", weight_decay)
        self.clipnorm = _optional_positive("clipnorm", clipnorm)
        self.clipvalue = _optional_positive("clipvalue", clipvalue)
        self.global_clipnorm = _optional_positive("global_clipnorm", global_clipnorm)
        self.use_ema = bool(use_ema)
        if self.use_ema:
            if not 0 <= ema_momentum <= 1:
                raise ValueError(
                    f"`ema_momentum` must be in the range [0, 1]. Received: ema_momentum="
                    f"{ema_momentum}"
                )
            if ema_overwrite_frequency and (
                not isinstance(ema_overwrite_frequency, int) or ema_overwrite_frequency < 1
            ):
                raise ValueError(
                    "`ema_overwrite_frequency` must be an integer >= 1 or None. Received: "
                    f"ema_overwrite_frequency={ema_overwrite_frequency}"
                )
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.name = name or type(self).__name__.lower()
        self._learning_rate = None
        self.learning_rate = learning_rate
        self.iterations = 0
        self._slots: dict[int, list] = {}
        self._averages: dict[int, object] = {}  # use_ema: the weights' moving averages
        self._exclude_ids: set[int] = set()
        self._exclude_pattern = None

    # --- learning rate ------------------------------------------------------------------------

    @property
    def learning_rate(self) -> float:
        rate = self._learning_rate
        if isinstance(rate, schedules.LearningRateSchedule):
            return float(rate(self.iterations))
        if callable(rate):
            return float(rate())
        return rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if callable(value):  # schedules included
            self._learning_rate = value
        elif isinstance(self._learning_rate, schedules.LearningRateSchedule):
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its "
                "`learning_rate` constructor argument, hence its learning rate is not settable. "
                "If you need the learning rate to be settable, you should instantiate the "
                "optimizer with a float `learning_rate` argument."
            )
        else:
            self._learning_rate = _positive("learning_rate", value)

    lr = learning_rate

    @property
    def has_rate_variable(self) -> bool:
        """Whether the rate is a stored number (Keras then saves it among the optimizer's
        variables) rather than a schedule or callable."""
        return not callable(self._learning_rate)

    # --- slots --------------------------------------------------------------------------------

    @property
    def built(self) -> bool:
        return bool(self._slots)

    def _active_slots(self) -> tuple:
        """The slot names per weight, in Keras's order."""
        return self._slot_names

    def _slot_initial(self, name) -> float:
        """The value a slot starts from (Keras's initializer for it)."""
        return 0.0

    def _slots_for(self, var):
        slots = self._slots.get(id(var))
        if slots is None:
            xp = _device.array_module(var.value)  # on the weight's device
            slots = []
            for name in self._active_slots():
                slot = xp.zeros_like(var.value)
                if self._slot_initial(name):
                    slot[...] = self._slot_initial(name)
                slots.append(slot)
            self._slots[id(var)] = slots
        return slots

    def _extra_state(self) -> list:
        """Scalars Keras keeps after the slots (Nadam's momentum product), as floats."""
        return []

    def _set_extra_state(self, values) -> None:
        """Restores what _extra_state gave."""

    def _place(self) -> None:
        """Moves the slots and averages to the current device, with the weights they belong to."""
        for slots in self._slots.values():
            slots[:] = [_device.to_device(s) for s in slots]
        for key, average in self._averages.items():
            self._averages[key] = _device.to_device(average)

    @property
    def variables(self) -> list:
        """Step count and learning rate (scalars, as Keras counts them), then the slots."""
        return [np.zeros(()), np.zeros(())] + [s for slots in self._slots.values() for s in slots]

    # --- weight decay -------------------------------------------------------------------------

    def exclude_from_weight_decay(self, var_list=None, var_names=None) -> None:
        """Keeps ``weight_decay`` off the weights in ``var_list`` and those whose name contains
        one of the regular expressions in ``var_names`` (e.g. ``["bias"]``); call it before the
        first update."""
        if self.built:
            raise ValueError(
                "`exclude_from_weight_decay()` can only be configured before the optimizer is "
                "built."
            )
        self._exclude_ids = {id(v) for v in var_list or ()}
        self._exclude_pattern = re.compile("|".join(set(var_names))) if var_names else None

    def _use_weight_decay(self, var) -> bool:
        if id(var) in self._exclude_ids:
            return False
        pattern = self._exclude_pattern
        return pattern is None or pattern.search(var.name) is None

    # --- updates ------------------------------------------------------------------------------

    def apply(self, grads, variables) -> None:
        """One update of each variable with its gradient (None gradients are skipped). Works on
        any float32 variables (a model's, or tf.Variables); gradients may be tensors or arrays
        on either device. A RowGradient (an Embedding's) updates as TF-Keras's sparse
        gradients do (row_gradient)."""
        grads, variables = list(grads), list(variables)
        if len(grads) != len(variables):
            raise ValueError(
                f"{type(self).__name__}.apply: got {len(grads)} gradients for "
                f"{len(variables)} variables"
            )
        present = [(_gradient_for(v, g), v) for g, v in zip(grads, variables) if g is not None]
        if present:
            rate = self.learning_rate
            grads = clipping.clip(
                [g for g, _ in present], self.clipnorm, self.global_clipnorm, self.clipvalue
            )
            if self.weight_decay is not None:
                for _, var in present:
                    if self._use_weight_decay(var):
                        ops.weight_decay_update(var.value, rate, self.weight_decay)
            self._begin_step(self.iterations + 1)
            for grad, (_, var) in zip(grads, present):
                self._update(var.value, grad, self._slots_for(var), rate, self.iterations + 1)
        if self.use_ema:
            self._update_averages(variables)
        self.iterations += 1

    def apply_gradients(self, grads_and_vars) -> None:
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def _begin_step(self, step) -> None:
        """Work done once per update before the weights' updates (Nadam's momentum product)."""

    def _update(self, param, grad, slots, learning_rate, step) -> None:
        raise NotImplementedError

    def _average_for(self, var):
        """The weight's moving average (use_ema), made on first use."""
        average = self._averages.get(id(var))
        if average is None:
            average = _device.array_module(var.value).zeros_like(var.value)
            self._averages[id(var)] = average
        return average

    def _update_averages(self, variables) -> None:
        momentum = self.ema_momentum if self.iterations else 0.0  # the first copies the weights
        for var in variables:
            ops.ema_update(self._average_for(var), var.value, momentum)
        frequency = self.ema_overwrite_frequency
        if frequency and (self.iterations + 1) % frequency == 0:
            self.finalize_variable_values(variables)

    def finalize_variable_values(self, var_list) -> None:
        """With ``use_ema``, writes each weight's moving average into it (fit does this after
        its last epoch)."""
        if not self.use_ema:
            return
        for var in var_list:
            average = self._averages.get(id(var))
            if average is not None:
                _device.array_module(var.value).copyto(var.value, average)

    # --- config -------------------------------------------------------------------------------

    def get_config(self) -> dict:
        rate = self._learning_rate
        if isinstance(rate, schedules.LearningRateSchedule):
            rate = schedules.serialize(rate)
        elif callable(rate):
            rate = self.learning_rate  # a plain callable is saved as its current value
        return {
            "name": self.name,
            "learning_rate": rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": None,
            "gradient_accumulation_steps": None,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"], custom_objects)
        return cls(**config)


def serialize(optimizer: Optimizer) -> dict:
    return serialization.serialize_keras_object(optimizer, "keras.optimizers")
