"""Nadam, Adamax, Adagrad, Adadelta, Lion and Ftrl, as Keras 3 has them, each update one fused
in-place op on float32 weights. An Embedding's gradient (a RowGradient) updates as TF-Keras's
sparse gradients do: the squared (Adamax: absolute) gradient is taken per lookup, then summed."""

from __future__ import annotations

from ... import ops
from .. import row_gradient
from .base import Optimizer, _positive
from .basic import _unit


def _between(owner, name, value, low, high):
    value = float(value)
    if not low <= value <= high:
        raise ValueError(f"{owner}: `{name}` must be in [{low}, {high}], got {value!r}")
    return value


class Nadam(Optimizer):
    """Adam with Nesterov momentum, as ``keras.optimizers.Nadam``."""

    _slot_names = ("momentum", "velocity")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = _unit("Nadam", "beta_1", beta_1)
        self.beta_2 = _unit("Nadam", "beta_2", beta_2)
        self.epsilon = _positive("epsilon", epsilon)
        self._u_product = 1.0  # prod_{i <= step} beta_1 (1 - 0.5 * 0.96**i)

    def _begin_step(self, step):
        self._u_product *= self.beta_1 * (1.0 - 0.5 * 0.96**step)

    def _update(self, param, grad, slots, learning_rate, step):
        grad, grad_sq = row_gradient.dense_and_squares(grad)
        ops.nadam_update(
            param,
            grad,
            slots[0],
            slots[1],
            step,
            self._u_product,
            learning_rate,
            self.beta_1,
            self.beta_2,
            self.epsilon,
            grad_sq,
        )

    def _extra_state(self):
        return [self._u_product]

    def _set_extra_state(self, values):
        (self._u_product,) = (float(v) for v in values)

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }


class Adamax(Optimizer):
    """Adam with the infinity norm, as ``keras.optimizers.Adamax``."""

    _slot_names = ("momentum", "norm")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = _unit("Adamax", "beta_1", beta_1)
        self.beta_2 = _between("Adamax", "beta_2", beta_2, 0.0, 1.0)
        self.epsilon = _positive("epsilon", epsilon)

    def _update(self, param, grad, slots, learning_rate, step):
        grad, grad_abs = row_gradient.dense_and_abs(grad)
        ops.adamax_update(
            param,
            grad,
            slots[0],
            slots[1],
            step,
            learning_rate,
            self.beta_1,
            self.beta_2,
            self.epsilon,
            grad_abs,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }


class Adagrad(Optimizer):
    """Adagrad, as ``keras.optimizers.Adagrad``."""

    _slot_names = ("accumulator",)

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value = _positive(
            "initial_accumulator_value", initial_accumulator_value
        )
        self.epsilon = _positive("epsilon", epsilon)

    def _slot_initial(self, name):
        return self.initial_accumulator_value

    def _update(self, param, grad, slots, learning_rate, step):
        grad, grad_sq = row_gradient.dense_and_squares(grad)
        ops.adagrad_update(param, grad, slots[0], learning_rate, self.epsilon, grad_sq)

    def get_config(self):
        return {
            **super().get_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }


class Adadelta(Optimizer):
    """Adadelta, as ``keras.optimizers.Adadelta``."""

    _slot_names = ("accumulated_grad", "accumulated_delta_var")

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = _between("Adadelta", "rho", rho, 0.0, 1.0)
        self.epsilon = _positive("epsilon", epsilon)

    def _update(self, param, grad, slots, learning_rate, step):
        grad, grad_sq = row_gradient.dense_and_squares(grad)
        ops.adadelta_update(
            param, grad, slots[0], slots[1], learning_rate, self.rho, self.epsilon, grad_sq
        )

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Lion(Optimizer):
    """Lion (the sign of an interpolated momentum), as ``keras.optimizers.Lion``."""

    _slot_names = ("momentum",)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if not 0 < beta_1 <= 1:
            raise ValueError(
                "Argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer "
                f"degenerates to SignSGD. Received: beta_1={beta_1}."
            )
        self.beta_1 = float(beta_1)
        self.beta_2 = _between("Lion", "beta_2", beta_2, 0.0, 1.0)

    def _update(self, param, grad, slots, learning_rate, step):
        ops.lion_update(
            param, row_gradient.dense(grad), slots[0], learning_rate, self.beta_1, self.beta_2
        )

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}


class Ftrl(Optimizer):
    """Follow The Regularized Leader, as ``keras.optimizers.Ftrl``."""

    _slot_names = ("accumulator", "linear")

    def __init__(
        self,
        learning_rate=0.001,
        learning_rate_power=-0.5,
        initial_accumulator_value=0.1,
        l1_regularization_strength=0.0,
        l2_regularization_strength=0.0,
        l2_shrinkage_regularization_strength=0.0,
        beta=0.0,
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        for arg, value in (
            ("initial_accumulator_value", initial_accumulator_value),
            ("l1_regularization_strength", l1_regularization_strength),
            ("l2_regularization_strength", l2_regularization_strength),
            ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength),
        ):
            if value < 0.0:
                raise ValueError(f"`{arg}` needs to be positive or zero. Received: {arg}={value}.")
        if learning_rate_power > 0.0:
            raise ValueError(
                "`learning_rate_power` needs to be negative or zero. Received: "
                f"learning_rate_power={learning_rate_power}."
            )
        self.learning_rate_power = float(learning_rate_power)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.l1_regularization_strength = float(l1_regularization_strength)
        self.l2_regularization_strength = float(l2_regularization_strength)
        self.l2_shrinkage_regularization_strength = float(l2_shrinkage_regularization_strength)
        self.beta = float(beta)

    def _slot_initial(self, name):
        return self.initial_accumulator_value if name == "accumulator" else 0.0

    def _update(self, param, grad, slots, learning_rate, step):
        grad, grad_sq = row_gradient.dense_and_squares(grad)
        ops.ftrl_update(
            param,
            grad,
            slots[0],
            slots[1],
            learning_rate,
            self.learning_rate_power,
            self.l1_regularization_strength,
            self.l2_regularization_strength,
            self.l2_shrinkage_regularization_strength,
            self.beta,
            grad_sq,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta,
        }
