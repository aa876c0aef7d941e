"""SGD, Adam, AdamW and RMSprop, each update one fused in-place op on float32 weights."""

from __future__ import annotations

from ... import ops
from .. import row_gradient
from .base import Optimizer, _positive


def _unit(owner, name, value):
    """A decay factor in [0, 1)."""
    value = float(value)
    if not 0 <= value < 1:
        raise ValueError(f"{owner}: `{name}` must be in [0, 1), got {value!r}")
    return value


class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum, as ``keras.optimizers.SGD``."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.momentum = _positive("momentum", momentum)
        if self.momentum >= 1:
            raise ValueError(
                f"`momentum` must be a float between [0, 1). Received: momentum={momentum!r}"
            )
        self.nesterov = bool(nesterov)

    def _active_slots(self):
        return ("momentum",) if self.momentum else ()

    def _update(self, param, grad, slots, learning_rate, step):
        ops.sgd_update(
            param,
            row_gradient.dense(grad),
            slots[0] if slots else None,
            learning_rate,
            self.momentum,
            self.nesterov,
        )

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam, as ``keras.optimizers.Adam`` (``amsgrad`` is not supported)."""

    _slot_names = ("m", "v")

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if amsgrad:
            raise ValueError(f"{type(self).__name__}: amsgrad=True is not supported by shendu")
        self.beta_1 = _unit(type(self).__name__, "beta_1", beta_1)
        self.beta_2 = _unit(type(self).__name__, "beta_2", beta_2)
        self.epsilon = _positive("epsilon", epsilon)

    def _update(self, param, grad, slots, learning_rate, step):
        grad, grad_sq = row_gradient.dense_and_squares(grad)
        ops.adam_update(
            param,
            grad,
            slots[0],
            slots[1],
            step,
            learning_rate,
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


class AdamW(Adam):
    """Adam with decoupled weight decay (``weight_decay`` defaults to 0.004), as
    ``keras.optimizers.AdamW``."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, **kwargs):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, **kwargs)


class RMSprop(Optimizer):
    """RMSprop, as ``keras.optimizers.RMSprop`` (``momentum`` and ``centered`` are not
    supported)."""

    _slot_names = ("velocity",)

    def __init__(
        self,
        learning_rate=0.001,
        rho=0.9,
        momentum=0.0,
        epsilon=1e-7,
        centered=False,
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if momentum or centered:
            raise ValueError("RMSprop: momentum and centered=True are not supported by shendu")
        self.rho = _unit("RMSprop", "rho", rho)
        self.epsilon = _positive("epsilon", epsilon)

    def _update(self, param, grad, slots, learning_rate, step):
        grad, grad_sq = row_gradient.dense_and_squares(grad)
        ops.rmsprop_update(param, grad, slots[0], learning_rate, self.rho, self.epsilon, grad_sq)

    def get_config(self):
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": 0.0,
            "epsilon": self.epsilon,
            "centered": False,
        }
