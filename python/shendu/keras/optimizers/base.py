"""keras.optimizers: SGD, Adam, RMSprop applying the fused in-place update ops to float32 weights."""

from __future__ import annotations

import numpy as np

from .. import _device, ops
from . import row_gradient, serialization


def _positive(name, value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, got {value!r}") from None
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}")
    return value


class Optimizer:
    """Keeps one set of slot arrays per variable (created on first use) and the step count."""

    _slot_names: tuple = ()

    def __init__(
        self,
        learning_rate=0.001,
        name=None,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema=False,
        **kwargs,
    ):
        kwargs.pop("ema_momentum", None)
        kwargs.pop("ema_overwrite_frequency", None)
        kwargs.pop("loss_scale_factor", None)
        kwargs.pop("gradient_accumulation_steps", None)
        if kwargs:
            raise ValueError(f"Argument(s) not recognized by {type(self).__name__}: {kwargs}")
        for arg, value in (
            ("weight_decay", weight_decay),
            ("clipnorm", clipnorm),
            ("clipvalue", clipvalue),
            ("global_clipnorm", global_clipnorm),
        ):
            if value is not None:
                raise ValueError(f"{type(self).__name__}: `{arg}` is not supported by shendu")
        if use_ema:
            raise ValueError(f"{type(self).__name__}: use_ema is not supported by shendu")
        self.name = name or type(self).__name__.lower()
        self.learning_rate = learning_rate
        self.iterations = 0
        self._slots: dict[int, list] = {}

    @property
    def learning_rate(self) -> float:
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        self._learning_rate = _positive("learning_rate", value)

    lr = learning_rate

    @property
    def built(self) -> bool:
        return bool(self._slots)

    def _slots_for(self, var):
        slots = self._slots.get(id(var))
        if slots is None:
            xp = _device.array_module(var.value)  # on the weight's device
            slots = [xp.zeros_like(var.value) for _ in self._active_slots()]
            self._slots[id(var)] = slots
        return slots

    def _active_slots(self) -> tuple:
        return self._slot_names

    def _place(self) -> None:
        """Moves the slots to the current device, with the weights they belong to."""
        for slots in self._slots.values():
            slots[:] = [_device.to_device(s) for s in slots]

    @property
    def variables(self) -> list:
        """Step count and learning rate (scalars, as Keras counts them), then the slots."""
        return [np.zeros(()), np.zeros(())] + [s for slots in self._slots.values() for s in slots]

    def apply(self, grads, variables) -> None:
        """One update of each variable with its gradient (None gradients are skipped). A
        RowGradient (an Embedding's) updates as TF-Keras's sparse gradients do (row_gradient)."""
        self.iterations += 1
        for var, grad in zip(variables, grads):
            if grad is not None:
                self._update(var.value, grad, self._slots_for(var))

    def apply_gradients(self, grads_and_vars) -> None:
        grads, variables = zip(*grads_and_vars)
        self.apply(grads, variables)

    def _update(self, param, grad, slots) -> None:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "learning_rate": self.learning_rate,
            "weight_decay": None,
            "clipnorm": None,
            "global_clipnorm": None,
            "clipvalue": None,
            "use_ema": False,
        }

    @classmethod
    def from_config(cls, config):
        config = {
            k: v
            for k, v in config.items()
            if k not in ("weight_decay", "clipnorm", "global_clipnorm", "clipvalue", "use_ema")
            or v not in (None, False)
        }
        return cls(**config)


class SGD(Optimizer):
    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name=None, **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.momentum = _positive("momentum", momentum)
        if self.momentum >= 1:
            raise ValueError(
                f"`momentum` must be a float between [0, 1). Received: momentum={momentum!r}"
            )
        self.nesterov = bool(nesterov)

    def _active_slots(self):
        return ("momentum",) if self.momentum else ()

    def _update(self, param, grad, slots):
        ops.sgd_update(
            param,
            row_gradient.dense(grad),
            slots[0] if slots else None,
            self.learning_rate,
            self.momentum,
            self.nesterov,
        )

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    _slot_names = ("m", "v")

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        name=None,
        **kwargs,
    ):
        super().__init__(learning_rate, name, **kwargs)
        if amsgrad:
            raise ValueError("Adam: amsgrad=True is not supported by shendu")
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)
        for arg, value in (("beta_1", self.beta_1), ("beta_2", self.beta_2)):
            if not 0 <= value < 1:
                raise ValueError(f"Adam: `{arg}` must be in [0, 1), got {value!r}")
        self.epsilon = _positive("epsilon", epsilon)

    def _update(self, param, grad, slots):
        grad, grad_sq = row_gradient.dense_and_squares(grad)
        ops.adam_update(
            param,
            grad,
            slots[0],
            slots[1],
            self.iterations,
            self.learning_rate,
            self.beta_1,
            self.beta_2,
            self.epsilon,
            grad_sq,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": False,
        }


class RMSprop(Optimizer):
    _slot_names = ("velocity",)

    def __init__(
        self,
        learning_rate=0.001,
        rho=0.9,
        momentum=0.0,
        epsilon=1e-7,
        centered=False,
        name=None,
        **kwargs,
    ):
        super().__init__(learning_rate, name, **kwargs)
        if momentum or centered:
            raise ValueError("RMSprop: momentum and centered=True are not supported by shendu")
        self.rho = float(rho)
        if not 0 <= self.rho < 1:
            raise ValueError(f"RMSprop: `rho` must be in [0, 1), got {rho!r}")
        self.epsilon = _positive("epsilon", epsilon)

    def _update(self, param, grad, slots):
        grad, grad_sq = row_gradient.dense_and_squares(grad)
        ops.rmsprop_update(
            param, grad, slots[0], self.learning_rate, self.rho, self.epsilon, grad_sq
        )

    def get_config(self):
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": 0.0,
            "epsilon": self.epsilon,
            "centered": False,
        }


_ALIASES = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop}
_CLASSES = {"SGD": SGD, "Adam": Adam, "RMSprop": RMSprop}


def get(identifier) -> Optimizer:
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _ALIASES.get(identifier.lower()) or _CLASSES.get(identifier)
        if cls is not None:
            return cls()
    raise ValueError(
        f"Could not interpret optimizer identifier: {identifier!r}. Accepted "
        f"optimizers: {', '.join(repr(a) for a in _ALIASES)}, or a "
        "keras.optimizers.Optimizer instance."
    )


def serialize(optimizer: Optimizer) -> dict:
    return serialization.serialize_keras_object(optimizer, "keras.optimizers")


def deserialize(config, custom_objects=None):
    # As Keras: built-in class names are matched in any case ("adam", "Adam", "ADAM").
    if isinstance(config, dict) and str(config.get("class_name")).lower() in _ALIASES:
        config = {**config, "class_name": _ALIASES[config["class_name"].lower()].__name__}
    return serialization.deserialize_keras_object(
        config, _CLASSES, custom_objects, what="optimizer"
    )
