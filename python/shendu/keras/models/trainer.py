"""compile / fit / evaluate / predict: Keras 3's training loop over a model's forward/backward.

One training step is: forward (to the logits when the loss fuses the output activation), the
loss op, backward through the graph, regularizer gradients, and one fused optimizer update per
weight. A Sequential stack of Dense (+ Dropout) layers on the native backend runs that whole step
in one native call instead (``dense_stack``). fit and evaluate take their batches from an
``EpochIterator``; batch logs are built only when a callback reads them.

A model made or compiled inside a ``shendu.distribute`` strategy's scope trains as one replica
of many: the strategy shards the batches, sums the gradients and the metric totals over the
replicas and keeps output and files to rank 0 (``self._distribution``, whose hooks change
nothing for one replica).

Threads: a model runs one of fit / evaluate / predict / *_on_batch / save / load_weights at a time
(a per-model lock; a call from another thread waits for the running one to return). Keras makes
no promise for a model shared between threads; here sharing one costs ordering, never memory
safety. Separate models run in parallel, their kernels taking turns on the kernel thread pool.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import threading

import numpy as np

from ... import _config, _device, distribute, ops
from .. import backend, saving
from .. import callbacks as callbacks_module
from .. import losses as losses_module
from .. import metrics as metrics_module
from .. import optimizers as optimizers_module
from ..layers.layer import Variable
from ..layers.noise import ActivityRegularization
from ..tensors import KerasTensor
from . import dense_stack
from .epoch_iterator import EpochIterator, on_device, take, train_validation_split
from .steps import StepMethods


def _flat(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _as_numpy(x, name):
    if isinstance(x, KerasTensor):
        raise ValueError(f"{name}: expected data, got a symbolic KerasTensor")
    x = _device.to_host(x.numpy() if hasattr(x, "numpy") else x)
    if x.dtype.kind not in "biuf":
        raise ValueError(f"{name}: expected a numeric array, got dtype {x.dtype}")
    return x


def _step_scope():
    """Where a training or test step runs: on the GPU, inside the CUDA backend's training_step(),
    whose ops never wait for the device (the loss stays there; the targets were checked on the
    host when the fit or *_on_batch call converted them)."""
    if ops._cuda is None or _device.get_device() == "cpu":
        return contextlib.nullcontext()
    return ops._cuda.training_step()


def _one_call_at_a_time(method):
    """The method run under the model's lock (re-entrant: a callback may call the model)."""

    @functools.wraps(method)
    def serialized(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return serialized


_serials = itertools.count()  # compile() and graph builds, so _prepare knows what changed
_UNPLANNED = object()  # the fused step is planned at the first training step that needs it


class Trainer(StepMethods):
    def __init__(self):
        self.optimizer = None
        self.loss = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._compile_config = None
        self._metric_specs = []
        self._metrics = None  # resolved on the first batch (needs target and output shapes)
        self._loss_tracker = metrics_module.Mean(name="loss")
        self._fused_step = None
        self._compile_serial = None
        self._prepared = None  # what _prepare last set itself up for
        self._batch_like = None  # see _batch
        self._lock = threading.RLock()  # see _one_call_at_a_time
        self._distribution = distribute.get_strategy()
        self._step_methods = False  # whether fit runs train_step / test_step (see steps.py)
        self._returned_logs = None  # what the last step method returned
        self._initial_epoch = None  # set by BackupAndRestore to resume an interrupted fit

    # --- compile ------------------------------------------------------------------------------

    def compile(
        self,
        optimizer="rmsprop",
        loss=None,
        loss_weights=None,
        metrics=None,
        weighted_metrics=None,
        run_eagerly=False,
        steps_per_execution=1,
        jit_compile="auto",
        auto_scale_loss=True,
    ):
        if loss_weights is not None or weighted_metrics is not None:
            raise ValueError(
                "compile: loss_weights and weighted_metrics are not supported by shendu"
            )
        if isinstance(loss, (list, tuple, dict)):
            raise ValueError(
                f"compile: one loss for a single-output model is supported, got {loss!r}"
            )
        if isinstance(metrics, dict):
            raise ValueError("compile: pass metrics as a list, got a dict")
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = None if loss is None else losses_module.get(loss)
        specs = list(metrics or [])
        for m in specs:
            metrics_module.check(m)
        self._metric_specs = specs
        self._metrics = None
        self._compile_config = {"optimizer": optimizer, "loss": loss, "metrics": metrics}
        self._compile_serial = next(_serials)
        if distribute.has_strategy():
            self._distribution = distribute.get_strategy()
        self.compiled = True

    def get_compile_config(self):
        if not self.compiled:
            return None

        def plain(value, module):
            if value is None or isinstance(value, str):
                return value
            return module.serialize(value)

        cfg = self._compile_config
        return {
            "optimizer": plain(
                self.optimizer if not isinstance(cfg["optimizer"], str) else cfg["optimizer"],
                optimizers_module,
            ),
            "loss": plain(
                cfg["loss"] if isinstance(cfg["loss"], str) or cfg["loss"] is None else self.loss,
                losses_module,
            ),
            "metrics": None
            if cfg["metrics"] is None
            else [plain(m, metrics_module) for m in cfg["metrics"]],
            "loss_weights": None,
            "weighted_metrics": None,
            "run_eagerly": False,
            "steps_per_execution": 1,
            "jit_compile": False,
        }

    def compile_from_config(self, config):
        metrics = config.get("metrics")
        loss = config.get("loss")
        self.compile(
            optimizer=config.get("optimizer", "rmsprop"),
            # A loss object is saved as its record (a dict), which compile would take for
            # one loss per output.
            loss=losses_module.deserialize(loss) if isinstance(loss, dict) else loss,
            metrics=None if metrics is None else [metrics_module.deserialize(m) for m in metrics],
        )

    @property
    def metrics_names(self) -> list:
        return ["loss"] + [m.name for m in (self._metrics or [])]

    @property
    def metrics(self) -> list:
        return [self._loss_tracker] + list(self._metrics or [])

    def reset_metrics(self) -> None:
        for m in self.metrics:
            m.reset_state()

    # --- data -------------------------------------------------------------------------------

    def _ensure_built(self, xs) -> None:
        if not self.built:
            self.build(
                [(None,) + x.shape[1:] for x in xs] if len(xs) > 1 else (None,) + xs[0].shape[1:]
            )

    def _inputs(self, x, name="x"):
        """The model's input arrays, converted once and checked against the input shapes."""
        if x is None:
            raise ValueError(f"{name}: expected input data, got None")
        if isinstance(x, dict):
            raise ValueError(f"{name}: dict inputs are not supported; pass an array or a list")
        xs = [_as_numpy(a, name) for a in _flat(x)]
        if self._defines_call:  # its inputs are whatever its call() takes
            return [a if a.dtype.kind in "iu" else a.astype(np.float32, copy=False) for a in xs]
        self._ensure_built(xs)
        if len(xs) != len(self.inputs):
            raise ValueError(
                f"{name}: the model expects {len(self.inputs)} input array(s), got {len(xs)}"
            )
        keep_int = None  # walking the graph for it costs; only integer data needs the answer
        out = []
        for a, t in zip(xs, self.inputs):
            want = t.shape[1:]
            if a.ndim != len(t.shape) or any(
                w is not None and w != g for w, g in zip(want, a.shape[1:])
            ):
                raise ValueError(
                    f"{name}: input {t.name!r} of model {self.name!r} expects "
                    f"shape {t.shape}, but received data of shape {a.shape}"
                )
            if a.dtype.kind in "iu" and keep_int is None:
                keep_int = self._int_input
            out.append(a if keep_int and a.dtype.kind in "iu" else a.astype(np.float32, copy=False))
        return out

    def _targets(self, y, name="y"):
        if y is None:
            raise ValueError(f"{name}: expected target data, got None")
        y = _as_numpy(y, name)
        if self._step_methods:  # the step method gets the targets as they are, as in Keras
            return y
        return self.loss.prepare_targets(y, self.outputs[0].shape)

    @staticmethod
    def _check_lengths(xs, y):
        sizes = {len(a) for a in xs} | ({len(y)} if y is not None else set())
        if len(sizes) > 1:
            raise ValueError(
                "Data cardinality is ambiguous. Make sure all arrays contain the "
                f"same number of samples. 'x' sizes: "
                f"{', '.join(str(len(a)) for a in xs)}; 'y' sizes: "
                f"{len(y) if y is not None else '-'}"
            )

    def _prepare_key(self) -> tuple:
        return (
            self._compile_serial,
            self._graph_serial,
            _config.get_backend(),
            _device.get_device(),
            self._metrics is not None,
            Variable.revision,
        )

    def _prepare(self, what, y_shape=None) -> None:
        if not self.compiled:
            raise ValueError(f"You must call `compile()` before using the model ({what}).")
        self._step_methods = self._runs_step_methods()
        if self._step_methods:
            if self._metrics is None and y_shape is not None and not self._defines_call:
                self._resolve_metrics(y_shape, self.outputs[0].shape)
            self._place()
            self._prepared = None
            return
        if self.loss is None:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        if len(self.outputs) != 1:
            raise ValueError(
                "Training and evaluating are supported for single-output models "
                f"only; model {self.name!r} has {len(self.outputs)} outputs"
            )
        if self._metrics is None and y_shape is not None:
            self._metrics = [
                metrics_module.get(m, self.loss, y_shape, self.outputs[0].shape)
                for m in self._metric_specs
            ]
        self._place()  # before the key: moving a weight bumps Variable.revision
        # Per batch in train_on_batch: redo the rest only when something it reads changed
        # (as in Keras, changing `trainable` takes effect at the next fit / train_on_batch).
        key = self._prepare_key()
        if key == self._prepared:
            return
        weights = self._weight_list()
        act = self.output_activation()
        self._fused = act if act is not None and act == self.loss.fuses else None
        self._train_idx = [i for i, w in enumerate(weights) if w.trainable]
        self._train_vars = [weights[i] for i in self._train_idx]
        self._regularized = [
            (i, weights[i]) for i in self._train_idx if weights[i].regularizer is not None
        ]
        self._activity = _activity_layers(self)
        self._fused_step = _UNPLANNED
        self._prepared = key

    def _place(self) -> None:
        """Puts the weights and optimizer slots on the current device (one copy each when the
        device changed since the last call, else nothing)."""
        for w in self._weight_list():
            w._place()
        if self.optimizer is not None:
            self.optimizer._place()

    # --- steps ------------------------------------------------------------------------------

    def _loss_and_grad(self, xs, y, training):
        x = xs if len(xs) > 1 else xs[0]
        if self._fused:
            out, ctxs = self.forward(x, training, logits=True)
            loss, dout = self.loss.compute_from_logits(y, out)
        else:
            out, ctxs = self.forward(x, training)
            loss, dout = self.loss.compute(y, out)
        for _, w in self._regularized:
            loss += w.regularizer(w.value)
        for layer in self._activity:  # its backward adds the penalty's gradient
            loss += layer.activity_loss
        return loss, out, ctxs, dout

    def _train_step(self, xs, y) -> None:
        if self._step_methods:
            self._step_logs(self.train_step((xs if len(xs) > 1 else xs[0], y)))
            return
        if not len(y) and not self._distribution.is_multi_worker:
            return  # nothing to learn from: no optimizer step (its moments would still move)
        if self._fused_step is _UNPLANNED:  # the fused step cannot hand its gradients out
            self._fused_step = (
                None if self._distribution.is_multi_worker else dense_stack.plan(self)
            )
        if self._fused_step is not None and len(y):
            self._fused_step(xs, y)
            return
        with _step_scope():
            sync = self._distribution.gradient_sync(self)  # None on one replica
            if len(y) or sync is None:
                loss, out, ctxs, dout = self._loss_and_grad(xs, y, True)
                hook = {} if sync is None else {"ready": sync.ready}
                _, grads = self.backward(ctxs, dout, need_dx=False, **hook)
                self._update_metrics(loss, y, out)
            else:  # this replica's shard of a last batch smaller than the replica count
                grads = [None] * len(self._weight_list())
            if sync is not None:
                grads = sync.finish(grads)
            for i, w in self._regularized:
                grads[i] = grads[i] + w.regularizer.gradient(w.value)
            self.optimizer.apply([grads[i] for i in self._train_idx], self._train_vars)

    def _test_step(self, xs, y) -> None:
        if self._step_methods:
            self._step_logs(self.test_step((xs if len(xs) > 1 else xs[0], y)))
            return
        if not len(y):  # this replica's shard of a batch smaller than the replica count
            return
        with _step_scope():
            loss, out, _, _ = self._loss_and_grad(xs, y, False)
            self._update_metrics(loss, y, out)

    def _update_metrics(self, loss, y, out) -> None:
        self._loss_tracker._add_total(loss * len(y), len(y))
        for m in self._metrics:
            if self._fused:
                m.update_from_logits(y, out, self._fused)
            else:
                m.update_state(y, out)

    def _log_values(self) -> list:
        """The loss, then the metrics in compile order, read back from the device in one copy."""
        trackers = [self._loss_tracker, *self._metrics]
        if _device.get_device() == "cpu":  # the totals are host numbers: nothing to wait for
            if not self._distribution.is_multi_worker:
                return [m._value(m._total) for m in trackers]
            totals = [m._total for m in trackers]
        else:
            totals = _device.read_back([m._total for m in trackers])
        totals, counts = self._distribution.sum_totals(totals, [m._count for m in trackers])
        return [m._value(total, count) for m, total, count in zip(trackers, totals, counts)]

    def _logs(self) -> dict:
        if self._step_methods:
            logs = dict(self._returned_logs or {})
        else:
            logs = dict(zip(self.metrics_names, self._log_values()))
        # Keras 3 passes logs through tree.map_structure, which sorts dict keys: history,
        # progress bars and return_dict all show them alphabetically (accuracy before loss).
        return dict(sorted(logs.items()))

    def _callbacks(self, callbacks, verbose, epochs, steps, history):
        if isinstance(callbacks, callbacks_module.CallbackList):
            return callbacks
        return callbacks_module.CallbackList(
            callbacks,
            add_history=history,
            add_progbar=verbose != 0 and self._distribution.is_chief,
            model=self,
            verbose=verbose,
            epochs=epochs,
            steps=steps,
        )

    # --- fit / evaluate / predict --------------------------------------------------------

    @_one_call_at_a_time
    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        epochs=1,
        verbose="auto",
        callbacks=None,
        validation_split=0.0,
        validation_data=None,
        shuffle=True,
        class_weight=None,
        sample_weight=None,
        initial_epoch=0,
        steps_per_epoch=None,
        validation_steps=None,
        validation_batch_size=None,
        validation_freq=1,
    ):
        if class_weight is not None or sample_weight is not None:
            raise ValueError("fit: class_weight and sample_weight are not supported by shendu")
        batch_size = _batch_size(batch_size)
        verbose = _verbose(verbose)
        xs, y, val = self._fit_data(x, y, validation_split, validation_data)
        strategy = self._distribution
        strategy.begin(self, backend.random_generator())
        batches = EpochIterator(xs, y, batch_size, steps_per_epoch, shuffle, strategy.shard)
        if batches.steps == 0 and epochs > initial_epoch:
            # Keras 3 raises this at the end of the first epoch, whose logs are then empty.
            raise ValueError(
                "Unexpected result of `train_function` (Empty logs): fit got no training "
                f"batches (steps_per_epoch={steps_per_epoch!r})"
            )
        cbs = self._callbacks(callbacks, verbose, epochs, batches.steps, history=True)
        self.stop_training = False
        self._initial_epoch = None
        cbs.on_train_begin()
        initial_epoch = self._initial_epoch or initial_epoch
        # Hooks that no callback overrides are skipped, and then so are the batch logs (which
        # are collective over replicas: one listening replica makes every replica build them).
        batch_begin = cbs.on_train_batch_begin if cbs.listens("on_train_batch_begin") else None
        listens = strategy.any(cbs.listens("on_train_batch_end"))
        batch_end = cbs.on_train_batch_end if listens else None
        epoch_logs = {}
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cbs.on_epoch_begin(epoch)
            for step, batch in batches.epoch():
                if batch_begin is not None:
                    batch_begin(step)
                self._train_step(*batch)
                if batch_end is not None:
                    batch_end(step, self._logs())
                if self.stop_training:
                    break
            epoch_logs = self._logs()
            if val is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._evaluate_arrays(
                    val[0],
                    val[1],
                    _batch_size(validation_batch_size or batch_size),
                    cbs,
                    validation_steps,
                )
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        if epochs > 0:  # as Keras: with use_ema, the averages become the weights
            self.optimizer.finalize_variable_values(self.trainable_weights)
        cbs.on_train_end(epoch_logs)
        return self.history

    def _fit_data(self, x, y, validation_split, validation_data):
        """fit's training (xs, y) and validation (xs, y) or None, converted and checked, with
        the model prepared for them."""
        xs = self._inputs(x)
        if y is None:
            raise ValueError("fit: expected targets y, got None")
        y = _as_numpy(y, "y")
        self._check_lengths(xs, y)
        if not 0 <= validation_split < 1:
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
        val = None
        if validation_data is not None:
            val = self._validation_arrays(validation_data)
        elif validation_split:
            (xs, y), val = train_validation_split(xs, y, validation_split)
        self._prepare("fit", y.shape)
        y = self._targets(y)
        if val is not None:
            val = (val[0], self._targets(val[1], "validation y"))
        return xs, y, val

    def _validation_arrays(self, validation_data):
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError(
                "validation_data must be a tuple (x_val, y_val), got "
                f"{type(validation_data).__name__}"
            )
        if len(validation_data) == 3 and validation_data[2] is not None:
            raise ValueError("validation_data: sample weights are not supported by shendu")
        val = (
            self._inputs(validation_data[0], "validation_data x"),
            _as_numpy(validation_data[1], "validation_data y"),
        )
        self._check_lengths(*val)
        return val

    def _evaluate_arrays(self, xs, y, batch_size, cbs, steps=None) -> dict:
        self.reset_metrics()
        cbs.on_test_begin()
        # Batch logs wait for the device, and are collective over replicas.
        batch_end = self._distribution.any(cbs.listens("on_test_batch_end"))
        shard = self._distribution.shard
        for step, batch in EpochIterator(xs, y, batch_size, steps, shard=shard).epoch():
            cbs.on_test_batch_begin(step)
            self._test_step(*batch)
            if batch_end:
                cbs.on_test_batch_end(step, self._logs())
        logs = self._logs()
        cbs.on_test_end(logs)
        return logs

    @_one_call_at_a_time
    def evaluate(
        self,
        x=None,
        y=None,
        batch_size=None,
        verbose="auto",
        sample_weight=None,
        steps=None,
        callbacks=None,
        return_dict=False,
    ):
        if sample_weight is not None:
            raise ValueError("evaluate: sample_weight is not supported by shendu")
        batch_size = _batch_size(batch_size)
        xs = self._inputs(x)
        if y is None:
            raise ValueError("evaluate: expected targets y, got None")
        y = _as_numpy(y, "y")
        self._check_lengths(xs, y)
        self._prepare("evaluate", y.shape)
        self._distribution.begin(self, backend.random_generator())
        y = self._targets(y)
        count = math.ceil(len(y) / batch_size)
        if steps is not None:
            count = min(count, int(steps))
        cbs = self._callbacks(callbacks, _verbose(verbose), 1, count, history=False)
        logs = self._evaluate_arrays(xs, y, batch_size, cbs, steps)
        return logs if return_dict else _flatten_logs(logs, self.metrics_names)

    @_one_call_at_a_time
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        batch_size = _batch_size(batch_size)
        xs = self._inputs(x)
        self._check_lengths(xs, None)
        n = len(xs[0])
        count = math.ceil(n / batch_size)
        if steps is not None:
            count = min(count, int(steps))
        cbs = self._callbacks(callbacks, _verbose(verbose), 1, count, history=False)
        cbs.on_predict_begin()
        self._place()
        strategy = self._distribution
        strategy.begin(self, backend.random_generator())
        outputs = None
        for step in range(count):
            cbs.on_predict_batch_begin(step)
            index = slice(step * batch_size, (step + 1) * batch_size)
            part = take(xs, strategy.shard(index, n))
            out = strategy.gather(_flat(self._predict_batch(part)))  # NumPy, as Keras returns
            if outputs is None:
                outputs = [np.empty((n,) + o.shape[1:], np.float32) for o in out]
            for buf, o in zip(outputs, out):
                buf[index] = o
            cbs.on_predict_batch_end(step, {"outputs": out if len(out) > 1 else out[0]})
        cbs.on_predict_end()
        if outputs is None:  # empty input: shapes come from the graph
            outputs = [np.empty((0,) + tuple(t.shape[1:]), np.float32) for t in self.outputs]
        if steps is not None:
            outputs = [o[: min(n, count * batch_size)] for o in outputs]
        nested = len(outputs) > 1 if self._defines_call else self._nested_outputs
        return outputs if nested else outputs[0]

    def _predict_batch(self, xs):
        if self._defines_call or type(self).predict_step is not StepMethods.predict_step:
            out = self.predict_step((xs if len(xs) > 1 else xs[0],))
            return [np.asarray(o) for o in out] if isinstance(out, list) else np.asarray(out)
        xs = [_device.to_device(a) for a in xs]
        out, _ = self.forward(xs if len(xs) > 1 else xs[0], False)
        return [_device.to_host(o) for o in out] if isinstance(out, list) else _device.to_host(out)

    def _batch(self, x, y, what):
        """(inputs, targets) of one train_on_batch call, converted and checked. A batch like the
        last one that needed no conversion (NumPy arrays of the same dtypes and trailing shapes,
        same model state) is taken as it is: a tiny model's step costs microseconds, and the
        checks would cost more than the step."""
        if (
            type(x) is np.ndarray
            and type(y) is np.ndarray
            and self._batch_like == (x.dtype, x.shape[1:], y.dtype, y.shape[1:])
            and len(x) == len(y)
            and self._prepare_key() == self._prepared
        ):
            return [x], y
        xs = self._inputs(x)
        y_in = y
        y = _as_numpy(y, "y") if y is not None else None
        self._check_lengths(xs, y)
        self._prepare(what, None if y is None else y.shape)
        self._distribution.begin(self, backend.random_generator())
        targets = self._targets(y)
        # Only conversions that returned the very arrays given are skipped next time: those
        # checked shapes and dtypes alone (label values are checked on every batch).
        self._batch_like = (
            (x.dtype, x.shape[1:], y.dtype, y.shape[1:])
            if len(xs) == 1 and xs[0] is x and y is not None and targets is y_in
            else None
        )
        return xs, targets

    @_one_call_at_a_time
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        if sample_weight is not None or class_weight is not None:
            raise ValueError("train_on_batch: sample_weight and class_weight are not supported")
        xs, y = self._shard(*self._batch(x, y, "train_on_batch"))
        fused = self._fused_step
        if (
            not return_dict
            and fused is not None
            and fused is not _UNPLANNED
            and fused.counts_all_metrics
            and len(y)
        ):  # the same step and logs as below, without the general path's overhead
            return _keras_values(fused.logs_of_batch(xs[0], y))
        self.reset_metrics()  # as Keras 3: the returned loss/metrics are this batch's alone
        self._train_step(*on_device(xs, y))
        return self._batch_result(return_dict)

    @_one_call_at_a_time
    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        if sample_weight is not None:
            raise ValueError("test_on_batch: sample_weight is not supported by shendu")
        xs, y = self._shard(*self._batch(x, y, "test_on_batch"))
        self.reset_metrics()
        self._test_step(*on_device(xs, y))
        return self._batch_result(return_dict)

    def _shard(self, xs, y):
        """This replica's part of a global batch (all of it on one replica)."""
        if not self._distribution.is_multi_worker:
            return xs, y
        index = self._distribution.shard(slice(0, len(y)), len(y))
        return take(xs, index), y[index]

    def _batch_result(self, return_dict):
        """The logs of a *_on_batch call: the dict, or Keras's list (the loss, then the metrics
        in compile order) without building the dict."""
        if self._step_methods:
            logs = self._returned_logs or {}
            return dict(sorted(logs.items())) if return_dict else _keras_values(list(logs.values()))
        return self._logs() if return_dict else _keras_values(self._log_values())

    @_one_call_at_a_time
    def predict_on_batch(self, x):
        xs = self._inputs(x)
        self._place()
        return self._predict_batch(xs)

    # --- saving (delegated to keras.saving) ---------------------------------------------

    # One replica of many writes: the chief (the weights are the same on every replica).
    @_one_call_at_a_time
    def save(self, filepath, overwrite=True, **kwargs):
        if self._distribution.is_chief:
            saving.save_model(self, filepath, overwrite=overwrite, **kwargs)

    @_one_call_at_a_time
    def save_weights(self, filepath, overwrite=True):
        if self._distribution.is_chief:
            saving.save_weights(self, filepath, overwrite=overwrite)

    @_one_call_at_a_time
    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        saving.load_weights(self, filepath, **kwargs)


def _batch_size(batch_size) -> int:
    if batch_size is None:
        return 32
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, np.integer))
        or batch_size <= 0
    ):
        raise ValueError(f"batch_size: expected a positive integer, got {batch_size!r}")
    return int(batch_size)


def _verbose(verbose) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose: expected 'auto', 0, 1 or 2, got {verbose!r}")
    return int(verbose)


def _flatten_logs(logs: dict, names: list):
    """Keras's list return: the loss, then the metrics in compile order (not the logs' order)."""
    return _keras_values([logs[name] for name in names])


def _keras_values(values: list):
    """What Keras returns for the values in compile order: the loss alone when there is no
    metric, else the list."""
    return values[0] if len(values) == 1 else values


def _activity_layers(model) -> list:
    """The ActivityRegularization layers of a model and of the models nested in it."""
    found = []
    for layer in getattr(model, "layers", ()):
        if isinstance(layer, ActivityRegularization):
            found.append(layer)
        elif hasattr(layer, "layers"):
            found += _activity_layers(layer)
    return found
