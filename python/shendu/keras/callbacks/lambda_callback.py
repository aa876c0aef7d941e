"""Callbacks made of plain functions or one rule: LambdaCallback, LearningRateScheduler,
TerminateOnNaN."""

import math

import numpy as np

from .base import _BATCH_HOOKS, _EPOCH_HOOKS, _RUN_HOOKS, Callback

# Keras's older batch hook names, which mean the training batch hooks.
_BATCH_ALIASES = {"on_batch_begin": "on_train_batch_begin", "on_batch_end": "on_train_batch_end"}


class LambdaCallback(Callback):
    """A callback made of plain functions: ``on_epoch_end=lambda epoch, logs: ...`` etc.
    Epoch and batch hooks take ``(index, logs)``; begin/end of train, test and predict take
    ``(logs)``."""

    def __init__(
        self,
        on_epoch_begin=None,
        on_epoch_end=None,
        on_train_begin=None,
        on_train_end=None,
        on_train_batch_begin=None,
        on_train_batch_end=None,
        **kwargs,
    ):
        super().__init__()
        hooks = dict(
            on_epoch_begin=on_epoch_begin,
            on_epoch_end=on_epoch_end,
            on_train_begin=on_train_begin,
            on_train_end=on_train_end,
            on_train_batch_begin=on_train_batch_begin,
            on_train_batch_end=on_train_batch_end,
            **kwargs,
        )
        known = set(_EPOCH_HOOKS + _BATCH_HOOKS + _RUN_HOOKS) | set(_BATCH_ALIASES)
        for name, fn in hooks.items():
            name = _BATCH_ALIASES.get(name, name)
            if name not in known:
                raise ValueError(
                    f"LambdaCallback: unknown hook {name!r}; accepted: {', '.join(sorted(known))}"
                )
            if fn is not None:
                if not callable(fn):
                    raise TypeError(
                        f"LambdaCallback: {name} must be callable, got {type(fn).__name__}"
                    )
                # An instance attribute shadows the no-op method of the same name.
                setattr(self, name, fn)


class LearningRateScheduler(Callback):
    """Sets the optimizer's learning rate at each epoch's start to ``schedule(epoch, lr)``
    (or ``schedule(epoch)``, Keras's older form); adds ``learning_rate`` to the epoch logs."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                f"LearningRateScheduler: schedule must be callable, got {type(schedule).__name__}"
            )
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        try:
            learning_rate = self.schedule(epoch, float(optimizer.learning_rate))
        except TypeError:  # the one-argument form
            learning_rate = self.schedule(epoch)
        if not isinstance(learning_rate, (float, np.float32, np.float64)):
            raise ValueError(
                f"The output of the `schedule` function should be a float. Got: {learning_rate!r}"
            )
        optimizer.learning_rate = float(learning_rate)
        if self.verbose > 0:
            print(
                f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                f"{learning_rate}."
            )

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class TerminateOnNaN(Callback):
    """Stops training at the first batch whose loss is NaN or infinite (or, with
    ``raise_error``, raises RuntimeError there)."""

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(loss):
            return
        if self.raise_error:
            raise RuntimeError(
                f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                "Terminating training immediately."
            )
        print(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True
