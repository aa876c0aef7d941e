"""Keras's step methods: ``train_step`` / ``test_step`` / ``predict_step``, ``compute_loss`` and
``compute_metrics``, run by fit / evaluate / predict through a GradientTape.

fit uses them (one call per batch, logs = what the step returns) when the model computes with
``call()`` (a subclassed model) or when its class overrides ``train_step`` or ``test_step``;
any other model keeps the trainer's own step over its graph (same math, no Python per layer).
The default ``train_step`` is Keras's: forward under a tape, the compiled loss plus
``model.losses``, gradients of the trainable variables, ``optimizer.apply``, the metrics.
"""

from __future__ import annotations

import numpy as np

from ... import tape as _tape
from ...tensor import Tensor
from .data_adapters import unpack_x_y_sample_weight as _unpack


def _first_array(x):
    return _first_array(x[0]) if isinstance(x, (list, tuple)) else x


def _plain(value):
    """A log value as a Python float (metric results are 0-d tensors)."""
    return (
        float(np.asarray(value)) if isinstance(value, (Tensor, np.ndarray, np.generic)) else value
    )


class StepMethods:
    """The step methods of Trainer (see the module docstring)."""

    def _runs_step_methods(self) -> bool:
        cls = type(self)
        return (
            self._defines_call
            or cls.train_step is not StepMethods.train_step
            or cls.test_step is not StepMethods.test_step
        )

    def _call_model(self, x, training):
        if isinstance(x, list) and len(x) == 1:
            x = x[0]
        return self(x, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss of (y, y_pred), weighted by ``sample_weight`` when given, plus the
        regularization losses (recorded by an open tape, so their gradients follow)."""
        if self.loss is None:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        loss = self.loss(y, y_pred, sample_weight)
        for penalty in self.losses:
            loss = loss + penalty
        return loss

    def compute_metrics(self, x, y, y_pred, sample_weight=None) -> dict:
        """Updates the compiled metrics with this batch (the weighted ones with
        ``sample_weight``) and returns every metric's result."""
        self._resolve_metrics(np.shape(y), (None,) + np.shape(y_pred)[1:])
        for m in self._metrics:
            m.update_state(y, y_pred)
        for m in self._weighted_metrics:
            m.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self) -> dict:
        return {m.name: _plain(m.result()) for m in self.metrics}

    def train_step(self, data) -> dict:
        x, y, sample_weight = _unpack(data)
        with _tape.GradientTape() as tape:
            y_pred = self._call_model(x, True)
            loss = self.compute_loss(x, y, y_pred, sample_weight)
        self._loss_tracker.update_state(loss, sample_weight=len(_first_array(x)))
        variables = self.trainable_variables
        self.optimizer.apply(tape.gradient(loss, variables), variables)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data) -> dict:
        x, y, sample_weight = _unpack(data)
        y_pred = self._call_model(x, False)
        loss = self.compute_loss(x, y, y_pred, sample_weight, training=False)
        self._loss_tracker.update_state(loss, sample_weight=len(_first_array(x)))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        x, _, _ = _unpack(data)
        return self._call_model(x, False)

    def _step_logs(self, logs) -> None:
        """Keeps what a step method returned as the logs fit and evaluate report."""
        if not isinstance(logs, dict):
            raise TypeError(
                f"{type(self).__name__}.train_step / test_step must return a dict of logs, "
                f"got {type(logs).__name__}"
            )
        self._returned_logs = {k: _plain(v) for k, v in logs.items()}
