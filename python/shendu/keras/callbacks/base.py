"""The callback machinery: Callback, CallbackList, History and ProgbarLogger, with Keras 3's hooks
and printed progress."""

from ..utils.progbar import Progbar


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


def is_chief(model) -> bool:
    """Whether this process writes files: always, except on the replicas other than rank 0 of
    a distribute strategy the model trains under."""
    strategy = getattr(model, "_distribution", None)
    return strategy is None or strategy.is_chief


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
