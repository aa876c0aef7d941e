"""Callbacks that watch one logged value: EarlyStopping and ReduceLROnPlateau."""

import warnings

import numpy as np

from .base import Callback

# Metric names whose improvement is a decrease / an increase, for mode="auto".
_DECREASING = (
    "loss",
    "mse",
    "mae",
    "mape",
    "msle",
    "mean_squared_error",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "crossentropy",
    "hinge",
    "error",
    "kl_divergence",
    "poisson",
    "cosine_proximity",
)
_INCREASING = ("acc", "accuracy", "auc", "precision", "recall", "f1_score", "top_k")


class _MonitorCallback(Callback):
    """What EarlyStopping and ModelCheckpoint share: a monitored log key and its direction."""

    def __init__(self, monitor, mode, min_delta=0.0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be one of 'auto', 'min', 'max', got {mode!r}")
        self.monitor = monitor
        self.mode = mode
        self.min_delta = abs(min_delta)
        self._direction = None

    def _resolve_direction(self):
        if self.mode != "auto":
            return self.mode == "min"
        name = self.monitor.removeprefix("val_")
        if name == "loss" or name.endswith("_loss") or any(k in name for k in _DECREASING):
            return True
        if any(k in name for k in _INCREASING):
            return False
        raise ValueError(
            f"{type(self).__name__}: cannot tell whether monitor={self.monitor!r} should be "
            "minimized or maximized; pass mode='min' or mode='max'"
        )

    @property
    def _lower_is_better(self):
        # Resolved on first use, so a bad monitor name fails at the first epoch end, as in Keras.
        if self._direction is None:
            self._direction = self._resolve_direction()
        return self._direction

    def _is_improvement(self, current, reference):
        if self._lower_is_better:
            return current + self.min_delta < reference
        return current - self.min_delta > reference

    def _worst(self):
        return np.inf if self._lower_is_better else -np.inf

    def _monitor_value(self, logs):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"{type(self).__name__} is conditioned on metric `{self.monitor}`, which is not "
                f"available. Available metrics are: {', '.join(logs) or '(none)'}",
                stacklevel=3,
            )
        return value


class EarlyStopping(_MonitorCallback):
    """Stops training (``model.stop_training = True``) when ``monitor`` has not improved by more
    than ``min_delta`` for ``patience`` epochs; with ``restore_best_weights`` the best epoch's
    weights are put back at the end. Epochs before ``start_from_epoch`` are not monitored."""

    def __init__(
        self,
        monitor="val_loss",
        min_delta=0,
        patience=0,
        verbose=0,
        mode="auto",
        baseline=None,
        restore_best_weights=False,
        start_from_epoch=0,
    ):
        super().__init__(monitor, mode, min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_epoch = 0
        self.best_weights = None

    def on_train_begin(self, logs=None):
        # Reset, so one instance can be passed to several fit() calls.
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_epoch = 0
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        current = self._monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.best is None:
            self.best = self._worst()
        if self.restore_best_weights and self.best_weights is None:
            # Until something improves, the first monitored epoch is the best one.
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            # Patience restarts only when the epoch also beats the baseline.
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(
                    "Restoring model weights from the end of the best epoch: "
                    f"{self.best_epoch + 1}."
                )
            self.model.set_weights(self.best_weights)


class ReduceLROnPlateau(_MonitorCallback):
    """Multiplies the optimizer's learning rate by ``factor`` when ``monitor`` has not improved
    by more than ``min_delta`` for ``patience`` epochs (never below ``min_lr``), then waits
    ``cooldown`` epochs before counting again. Adds ``learning_rate`` to the epoch logs."""

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        verbose=0,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
        **kwargs,
    ):
        super().__init__(monitor, mode, min_delta)
        if factor >= 1.0:
            raise ValueError(
                f"ReduceLROnPlateau does not support a factor >= 1.0, got factor={factor!r}"
            )
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0
        self.best = None

    def on_train_begin(self, logs=None):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        logs["learning_rate"] = float(optimizer.learning_rate)
        current = self._monitor_value(logs)
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.best is None or self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
            return
        if self.cooldown_counter > 0:
            return
        self.wait += 1
        if self.wait < self.patience:
            return
        old = float(optimizer.learning_rate)
        if old > np.float32(self.min_lr):
            # Keras keeps the rate in a float32 variable: the same rounding, the same sequence.
            new = float(np.float32(max(old * self.factor, self.min_lr)))
            optimizer.learning_rate = new
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
            self.cooldown_counter = self.cooldown
            self.wait = 0
