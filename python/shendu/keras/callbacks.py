"""Keras callbacks: Callback, CallbackList, History, ProgbarLogger, EarlyStopping, ModelCheckpoint,
LambdaCallback — with Keras 3's hooks, arguments and printed messages."""

import os
import warnings

import numpy as np

from .utils.progbar import Progbar


class Callback:
    """Base class: every hook is a no-op; ``model`` and ``params`` are set by ``fit``."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        pass

    def on_train_batch_end(self, batch, logs=None):
        pass

    def on_test_begin(self, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_test_batch_begin(self, batch, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass

    def on_predict_begin(self, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass

    def on_predict_batch_begin(self, batch, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass


_EPOCH_HOOKS = ("on_epoch_begin", "on_epoch_end")
_BATCH_HOOKS = tuple(
    f"on_{mode}_batch_{when}" for mode in ("train", "test", "predict") for when in ("begin", "end")
)
_RUN_HOOKS = tuple(
    f"on_{mode}_{when}" for mode in ("train", "test", "predict") for when in ("begin", "end")
)


class CallbackList(Callback):
    """Calls each hook on every callback in order. Adds a History and a ProgbarLogger at the end
    when asked and when the list has none, as Keras does; ``params`` go to every callback."""

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        super().__init__()
        if isinstance(callbacks, Callback):
            callbacks = [callbacks]
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(
                    f"callbacks must be keras.callbacks.Callback instances, got {type(cb).__name__}"
                )
        self._history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if add_progbar and not any(isinstance(cb, ProgbarLogger) for cb in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        self.set_model(model)
        self.set_params(params)

    def set_model(self, model):
        if model is None:
            return
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params):
        self.params = params
        if params:
            for cb in self.callbacks:
                cb.set_params(params)

    def __iter__(self):
        return iter(self.callbacks)

    def listens(self, hook) -> bool:
        """Whether any callback overrides ``hook`` (fit skips the others and their logs)."""
        base = getattr(Callback, hook)  # LambdaCallback sets hooks as instance attributes
        return any(
            getattr(getattr(cb, hook), "__func__", None) is not base for cb in self.callbacks
        )

    def _dispatch(self, hook, *args):
        logs = _pythonify(args[-1])
        for cb in self.callbacks:
            getattr(cb, hook)(*args[:-1], logs)


def _forwarder(hook, takes_index):
    if takes_index:

        def forward(self, index, logs=None):
            self._dispatch(hook, index, logs)
    else:

        def forward(self, logs=None):
            self._dispatch(hook, logs)

    forward.__name__ = hook
    return forward


for _hook in _EPOCH_HOOKS + _BATCH_HOOKS:
    setattr(CallbackList, _hook, _forwarder(_hook, True))
for _hook in _RUN_HOOKS:
    setattr(CallbackList, _hook, _forwarder(_hook, False))


def _pythonify(logs):
    """Logs as a new dict of Python floats (0-d arrays and NumPy scalars converted), so callbacks
    that keep them (History) never hold references to buffers the model reuses."""
    out = {}
    for key, value in (logs or {}).items():
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            out[key] = value
    return out


class History(Callback):
    """Records the epoch indices and each epoch's logs; ``fit`` returns it (``model.history``)."""

    def __init__(self):
        super().__init__()
        self.epoch = []
        self.history = {}

    def set_model(self, model):
        super().set_model(model)
        model.history = self

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


class ProgbarLogger(Callback):
    """Prints Keras's progress output: ``Epoch i/N`` (when N > 1), then the progress bar
    (verbose=1) or one line per epoch (verbose=2). Validation inside ``fit`` prints nothing;
    ``evaluate`` and ``predict`` get their own bar."""

    def __init__(self):
        super().__init__()
        self.verbose = 1
        self.epochs = 1
        self.target = None
        self.seen = 0
        self.progbar = None
        self._called_in_fit = False

    def set_params(self, params):
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def on_train_begin(self, logs=None):
        self._called_in_fit = True

    def on_epoch_begin(self, epoch, logs=None):
        self._new_bar()
        if self.verbose and self.epochs > 1:
            print(f"Epoch {epoch + 1}/{self.epochs}", flush=True)

    def on_train_batch_end(self, batch, logs=None):
        self._update(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finalize(logs)

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._new_bar()

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._update(batch, logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize(logs)

    def on_predict_begin(self, logs=None):
        self._new_bar()

    def on_predict_batch_end(self, batch, logs=None):
        self._update(batch, None)  # the batch's predictions are not metrics

    def on_predict_end(self, logs=None):
        self._finalize(None)

    def _new_bar(self):
        self.seen = 0
        self.progbar = Progbar(target=self.target, verbose=self.verbose, unit_name="step")

    def _update(self, batch, logs):
        if self.progbar is None:
            self._new_bar()
        self.seen = batch + 1
        if self.verbose == 1:
            self.progbar.update(self.seen, list((logs or {}).items()), finalize=False)

    def _finalize(self, logs):
        if self.progbar is None:
            self._new_bar()
        if self.target is None:  # unknown length: the first pass teaches it, as in Keras
            self.target = self.seen
            self.progbar.target = self.seen
        self.progbar.update(self.target, list((logs or {}).items()), finalize=True)


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


class ModelCheckpoint(_MonitorCallback):
    """Saves the model (``model.save``) or its weights (``model.save_weights``) at the end of
    every epoch, or every ``save_freq`` batches. ``filepath`` may hold ``str.format`` fields
    filled from ``epoch`` (1-based), ``batch`` and the logs, e.g.
    ``ckpt/{epoch:02d}-{val_loss:.2f}.keras``; missing folders are created. With
    ``save_best_only`` only improvements of ``monitor`` are saved."""

    def __init__(
        self,
        filepath,
        monitor="val_loss",
        verbose=0,
        save_best_only=False,
        save_weights_only=False,
        mode="auto",
        save_freq="epoch",
        initial_value_threshold=None,
    ):
        super().__init__(monitor, mode)
        self.filepath = os.fspath(filepath)
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        if save_freq != "epoch" and (
            isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1
        ):
            raise ValueError(f"save_freq must be 'epoch' or a positive int, got {save_freq!r}")
        self.save_freq = save_freq
        if save_weights_only and not self.filepath.endswith(".weights.h5"):
            raise ValueError(
                "ModelCheckpoint with save_weights_only=True needs a filepath ending in "
                f"'.weights.h5', got filepath={self.filepath!r}"
            )
        if not save_weights_only and not self.filepath.endswith(".keras"):
            raise ValueError(
                "ModelCheckpoint needs a filepath ending in '.keras', got "
                f"filepath={self.filepath!r} "
                "(use save_weights_only=True with a '.weights.h5' path to save weights only)"
            )
        self.best = initial_value_threshold
        self._current_epoch = 0
        self._batches_since_save = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _save(self, epoch, batch, logs):
        logs = logs or {}
        filepath = self._format_path(epoch, batch, logs)
        if self.save_best_only and not self._improved(epoch, logs, filepath):
            return
        if self.verbose > 0 and not self.save_best_only:
            print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
        folder = os.path.dirname(filepath)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if os.path.isdir(filepath):
            raise IsADirectoryError(
                f"ModelCheckpoint: filepath {filepath!r} is an existing folder; give a file path"
            )
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)

    def _improved(self, epoch, logs, filepath):
        current = logs.get(self.monitor)
        if current is None:
            # As in Keras: warn and save anyway rather than silently never saving.
            warnings.warn(
                f"ModelCheckpoint can save the best model only with {self.monitor} available; "
                f"the logs have: {', '.join(logs) or '(none)'}. Saving anyway.",
                stacklevel=3,
            )
            return True
        best = self._worst() if self.best is None else self.best
        if self._is_improvement(current, best):
            if self.verbose > 0:
                print(
                    f"\nEpoch {epoch + 1}: {self.monitor} improved from {best:.5f} to "
                    f"{current:.5f}, saving model to {filepath}"
                )
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best:.5f}")
        return False

    def _format_path(self, epoch, batch, logs):
        fields = dict(logs)
        fields["epoch"] = epoch + 1
        if batch is not None:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except KeyError as e:
            raise KeyError(
                f"ModelCheckpoint: cannot fill filepath {self.filepath!r}: no value for {e}; "
                f"available: {', '.join(fields)}"
            ) from None


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
