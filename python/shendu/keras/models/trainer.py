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
from . import compile_outputs, data_adapters, dense_stack, sample_weights
from .data_adapters import ArrayDataAdapter
from .data_adapters.array_adapter import pick, rows, take
from .epoch_iterator import EpochIterator, on_device, train_validation_split
from .steps import StepMethods


def _flat(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _as_numpy(x, name, strings=False):
    """x as a NumPy array of numbers (or, for a model's inputs, strings for a text layer)."""
    if isinstance(x, KerasTensor):
        raise ValueError(f"{name}: expected data, got a symbolic KerasTensor")
    x = _device.to_host(x.numpy() if hasattr(x, "numpy") else x)
    if x.dtype.kind not in ("biufOSU" if strings else "biuf"):
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
        self._metric_specs = []  # per output: the metric specs of compile (or None)
        self._weighted_metric_specs = []
        self._metrics = None  # resolved on the first batch (needs target and output shapes)
        self._weighted_metrics = []  # the same, counted with the sample weights
        self._metric_outputs = []  # the output each of _all_metrics reads
        self._output_losses = []  # compile_outputs.OutputLoss of each output with a loss
        self._loss_weight = None  # a single-output model's loss weight (None: 1)
        self._multi = False  # whether the model trains as several outputs (see _prepare)
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
        for name, value in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            compile_outputs.check_metric_specs(value, name)
        keys, names = self._output_keys_and_names()
        self._output_losses = compile_outputs.resolve_losses(loss, loss_weights, keys, names)
        self._multi = len(keys) > 1
        self.optimizer = optimizers_module.get(optimizer)
        if len(keys) == 1:  # the single-output path reads the Loss and its weight
            single = self._output_losses[0] if self._output_losses else None
            self.loss = None if single is None else single.loss
            self._loss_weight = None if single is None else single.weight
        else:  # as Keras: what compile was given
            self.loss = loss
            self._loss_weight = None
        self._metric_specs = compile_outputs.metric_specs(metrics, keys, "metrics")
        self._weighted_metric_specs = compile_outputs.metric_specs(
            weighted_metrics, keys, "weighted_metrics"
        )
        self._metrics = None
        self._weighted_metrics = []
        self._metric_outputs = []
        # The outputs fit needs targets for: those with a loss or a metric.
        self._targeted = {e.index for e in self._output_losses} | {
            k
            for k, specs in enumerate(zip(self._metric_specs, self._weighted_metric_specs))
            if any(specs)
        }
        self._compile_config = {
            "optimizer": optimizer,
            "loss": loss,
            "loss_weights": loss_weights,
            "metrics": metrics,
            "weighted_metrics": weighted_metrics,
        }
        self._compile_serial = next(_serials)
        if distribute.has_strategy():
            self._distribution = distribute.get_strategy()
        self.compiled = True

    def _output_keys_and_names(self):
        """How compile's dicts and the logs name the outputs: (keys, names), one each per
        output. Keys are a dict of outputs' keys, else the output layers' names, which also
        name the per-output losses. A model without a graph yet counts as one output."""
        if self._defines_call or not self.built:
            return [None], [None]
        names = self.output_names
        return (self._output_keys or names), names

    def get_compile_config(self):
        if not self.compiled:
            return None
        cfg = self._compile_config
        optimizer = cfg["optimizer"]
        loss = cfg["loss"]
        if not isinstance(loss, (str, list, tuple, dict)) and loss is not None:
            loss = self.loss  # an object or a function, as the Loss it became
        return {
            "optimizer": _plain(
                optimizer if isinstance(optimizer, str) else self.optimizer, optimizers_module
            ),
            "loss": _plain(loss, losses_module),
            "loss_weights": cfg["loss_weights"],
            **{
                key: _plain(_as_list(cfg[key]), metrics_module)
                for key in ("metrics", "weighted_metrics")
            },
            "run_eagerly": False,
            "steps_per_execution": 1,
            "jit_compile": False,
        }

    def compile_from_config(self, config):
        def metrics(key):
            return _unplain(config.get(key), metrics_module.deserialize)

        def loss(value):  # a loss object is saved as its record
            return losses_module.deserialize(value) if isinstance(value, dict) else value

        self.compile(
            optimizer=config.get("optimizer", "rmsprop"),
            loss=_unplain(config.get("loss"), loss),
            loss_weights=config.get("loss_weights"),
            metrics=metrics("metrics"),
            weighted_metrics=metrics("weighted_metrics"),
        )

    @property
    def _all_metrics(self) -> list:
        """The compiled metrics, then the weighted ones."""
        return list(self._metrics or []) + self._weighted_metrics

    @property
    def _trackers(self) -> list:
        """What the logs hold, in the order of evaluate's list: the loss, each output's loss
        (several outputs), then the metrics, in compile order for one output and by name for
        several (Keras lists the names it does not know from compile sorted)."""
        per_output = [e.tracker for e in self._output_losses if e.tracker is not None]
        if not self._multi:
            return [self._loss_tracker, *per_output, *self._all_metrics]
        ordered = sorted(self._all_metrics, key=lambda m: m.name)
        return [self._loss_tracker, *per_output, *ordered]

    @property
    def metrics_names(self) -> list:
        return [m.name for m in self._trackers]

    @property
    def metrics(self) -> list:
        return self._trackers

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
        xs = [_as_numpy(a, name, strings=True) for a in _flat(self._by_input_name(x, name))]
        if self._defines_call:  # its inputs are whatever its call() takes
            return [a if a.dtype.kind in "iuOSU" else a.astype(np.float32, copy=False) for a in xs]
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
            if a.dtype.kind in "OSU" and not self._string_input:
                raise ValueError(f"{name}: expected a numeric array, got dtype {a.dtype}")
            # Strings stay strings, for the text layer the input feeds.
            keep = a.dtype.kind in "OSU" or (keep_int and a.dtype.kind in "iu")
            out.append(a if keep else a.astype(np.float32, copy=False))
        return out

    def _raw_targets(self, y, name="y"):
        """The targets as NumPy arrays: one array, or for several outputs a list of one per
        output (None for an output that needs none) from a list or a dict keyed by output."""
        if y is None:
            raise ValueError(f"{name}: expected target data, got None")
        if not self._multi:
            return _as_numpy(y, name)
        keys = self._output_keys_and_names()[0]
        if not isinstance(y, (list, tuple, dict)):
            raise ValueError(
                f"{name}: model {self.name!r} has outputs {keys}; expected a list or a dict "
                f"of targets, got {type(y).__name__}"
            )
        ys = compile_outputs.per_output(y, keys, name)
        for k in sorted(self._targeted):
            if ys[k] is None:
                raise ValueError(f"{name}: no targets for output {keys[k]!r}, which has a loss")
        return [
            None if a is None else _as_numpy(a, f"{name}[{keys[k]!r}]") for k, a in enumerate(ys)
        ]

    def _targets(self, y):
        """Raw targets converted for the loss (dtype, shape) once per array."""
        if self._step_methods:  # the step method gets the targets as they are, as in Keras
            return y
        if not self._multi:
            return self.loss.prepare_targets(y, self.outputs[0].shape)
        losses = {e.index: e.loss for e in self._output_losses}
        return [
            a
            if a is None
            else losses[k].prepare_targets(a, self.outputs[k].shape)
            if k in losses
            else a.astype(np.float32, copy=False)
            for k, a in enumerate(y)
        ]

    def _sample_weights(self, sample_weight, class_weight, y, n):
        """The weights of ``n`` samples (see sample_weights.resolve); for several outputs one
        array for all of them, or a list of one per output (None: unweighted)."""
        if not self._multi:
            return sample_weights.resolve(sample_weight, class_weight, y, n)
        if class_weight is not None:
            raise ValueError("`class_weight` is only supported for Models with a single output.")
        if sample_weight is None:
            return None
        if not isinstance(sample_weight, (list, tuple, dict)):
            return sample_weights.checked(sample_weight, n)
        keys = self._output_keys_and_names()[0]
        return [
            None if w is None else sample_weights.checked(w, n, f"sample_weight[{k!r}]")
            for k, w in zip(keys, compile_outputs.per_output(sample_weight, keys, "sample_weight"))
        ]

    @staticmethod
    def _check_lengths(xs, y):
        ys = [a for a in (y if isinstance(y, list) else [y]) if a is not None]
        sizes = {len(a) for a in xs} | {len(a) for a in ys}
        if len(sizes) > 1:
            raise ValueError(
                "Data cardinality is ambiguous. Make sure all arrays contain the "
                f"same number of samples. 'x' sizes: "
                f"{', '.join(str(len(a)) for a in xs)}; 'y' sizes: "
                f"{', '.join(str(len(a)) for a in ys) or '-'}"
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
        """Sets the model up for training and evaluating; ``y_shape`` is the targets' shape
        (a list of them, or None each, for several outputs), which resolves the metrics."""
        if not self.compiled:
            raise ValueError(f"You must call `compile()` before using the model ({what}).")
        self._step_methods = self._runs_step_methods()
        if self._step_methods:
            if self._multi:
                raise NotImplementedError(
                    f"{what}: a model with several outputs trains through its graph; "
                    "overriding train_step / test_step is not supported for it"
                )
            if self._distribution.is_multi_worker:  # their tape's gradients are not summed
                raise NotImplementedError(
                    f"{what}: a model that trains through train_step / test_step (a subclassed "
                    "model, or one overriding them) cannot run under a multi-replica strategy; "
                    "build it with the functional API or Sequential"
                )
            if self._metrics is None and y_shape is not None and not self._defines_call:
                self._resolve_metrics(y_shape, self.outputs[0].shape)
            self._place()
            self._prepared = None
            return
        if self.loss is None:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        if self._multi and self._distribution.is_multi_worker:
            raise NotImplementedError(
                f"{what}: a model with several outputs cannot train under a multi-replica "
                "strategy yet; train it in one process"
            )
        if len(self.outputs) != (len(self._metric_specs) if self._multi else 1):
            raise ValueError(
                f"{what}: model {self.name!r} has {len(self.outputs)} outputs, but it was "
                "compiled for one; compile it again once its graph is built"
            )
        if self._metrics is None and y_shape is not None:
            pred = [t.shape for t in self.outputs]
            self._resolve_metrics(y_shape, pred if self._multi else pred[0])
        self._place()  # before the key: moving a weight bumps Variable.revision
        # Per batch in train_on_batch: redo the rest only when something it reads changed
        # (as in Keras, changing `trainable` takes effect at the next fit / train_on_batch).
        key = self._prepare_key()
        if key == self._prepared:
            return
        weights = self._weight_list()
        if self._multi:
            acts = self.output_activations()
            for e in self._output_losses:
                act = acts[e.index]
                e.fused = act if act is not None and act == e.loss.fuses else None
            self._logit_outputs = tuple(e.index for e in self._output_losses if e.fused)
            self._fused = None
        else:
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

    def _resolve_metrics(self, y_shape, y_pred_shape) -> None:
        """The metric objects of compile's names, once the target and output shapes are known
        (lists of them for several outputs), named for the logs (see compile_outputs)."""
        if self._metrics is not None:
            return
        if self._multi:
            keys = self._output_keys_and_names()[0]
            losses = [None] * len(keys)
            for e in self._output_losses:
                losses[e.index] = e.loss
            y_shapes, pred_shapes = y_shape, y_pred_shape
        else:
            keys, losses, y_shapes, pred_shapes = [None], [self.loss], [y_shape], [y_pred_shape]
        self._metrics, self._weighted_metrics, self._metric_outputs = (
            compile_outputs.resolve_metrics(
                self._metric_specs,
                self._weighted_metric_specs,
                keys,
                losses,
                [None if s is None else tuple(s) for s in y_shapes],
                [tuple(s) for s in pred_shapes],
            )
        )

    def _place(self) -> None:
        """Puts the weights and optimizer slots on the current device (one copy each when the
        device changed since the last call, else nothing)."""
        for w in self._weight_list():
            w._place()
        if self.optimizer is not None:
            self.optimizer._place()

    # --- steps ------------------------------------------------------------------------------

    def _loss_and_grad(self, xs, y, training, sample_weight=None):
        x = xs if len(xs) > 1 else xs[0]
        if self._multi:
            out, ctxs = self.forward(x, training, logits=self._logit_outputs)
            loss, dout = self._output_loss(y, out, sample_weight)
        else:
            if self._fused:
                out, ctxs = self.forward(x, training, logits=True)
                loss, dout = self.loss.compute_from_logits(y, out, sample_weight)
            else:
                out, ctxs = self.forward(x, training)
                loss, dout = self.loss.compute(y, out, sample_weight)
            if self._loss_weight is not None:
                loss, dout = loss * self._loss_weight, dout * np.float32(self._loss_weight)
        for _, w in self._regularized:
            loss += w.regularizer(w.value)
        for layer in self._activity:  # its backward adds the penalty's gradient
            loss += layer.activity_loss
        return loss, out, ctxs, dout

    def _output_loss(self, ys, outs, sample_weight):
        """The total of several outputs' losses times their weights, and the gradient for each
        output (None for those without a loss); each output's own fused op, on its logits where
        its loss takes them. Keeps the unweighted losses for the trackers (_output_values)."""
        douts = [None] * len(outs)
        values = []
        total = 0.0
        for e in self._output_losses:
            k = e.index
            sw = sample_weight[k] if isinstance(sample_weight, list) else sample_weight
            compute = e.loss.compute_from_logits if e.fused else e.loss.compute
            value, dout = compute(ys[k], outs[k], sw)
            values.append(value)
            if e.weight is not None:
                value, dout = value * e.weight, dout * np.float32(e.weight)
            total = total + value
            douts[k] = dout
        self._output_values = values
        return total, douts

    def _train_step(self, xs, y, sample_weight=None) -> None:
        if self._step_methods:
            self._step_logs(self.train_step(_step_data(xs, y, sample_weight)))
            return
        n = rows(y)
        if not n and not self._distribution.is_multi_worker:
            return  # nothing to learn from: no optimizer step (its moments would still move)
        if self._fused_step is _UNPLANNED:  # the fused step cannot hand its gradients out
            self._fused_step = (
                None if self._distribution.is_multi_worker else dense_stack.plan(self)
            )
        if self._fused_step is not None and sample_weight is None and n:
            self._fused_step(xs, y)  # the native step knows no weights: weighted batches skip it
            return
        strategy = self._distribution
        with _step_scope(), strategy.training_step(self) as sync:  # sync: None on one replica
            if n or not strategy.skips_empty_shards(self):
                loss, out, ctxs, dout = self._loss_and_grad(xs, y, True, sample_weight)
                hook = {} if sync is None else {"ready": sync.ready}
                _, grads = self.backward(ctxs, dout, need_dx=False, **hook)
                self._update_metrics(loss, y, out, sample_weight)
            else:  # this replica's shard of a last batch smaller than the replica count
                grads = [None] * len(self._weight_list())
            if sync is not None:
                grads = sync.finish(grads)
            for i, w in self._regularized:
                grads[i] = grads[i] + w.regularizer.gradient(w.value)
            self.optimizer.apply([grads[i] for i in self._train_idx], self._train_vars)

    def _test_step(self, xs, y, sample_weight=None) -> None:
        if self._step_methods:
            self._step_logs(self.test_step(_step_data(xs, y, sample_weight)))
            return
        if not rows(y):  # this replica's shard of a batch smaller than the replica count
            return
        with _step_scope():
            loss, out, _, _ = self._loss_and_grad(xs, y, False, sample_weight)
            self._update_metrics(loss, y, out, sample_weight)

    def _update_metrics(self, loss, y, out, sample_weight=None) -> None:
        if self._multi:
            self._update_output_metrics(loss, y, out, sample_weight)
            return
        self._loss_tracker._add_total(loss * len(y), len(y))
        for weights, group in ((None, self._metrics), (sample_weight, self._weighted_metrics)):
            for m in group:
                if self._fused:
                    m.update_from_logits(y, out, self._fused, weights)
                else:
                    m.update_state(y, out, weights)

    def _update_output_metrics(self, loss, ys, outs, sample_weight) -> None:
        """The trackers of several outputs: the total loss, each output's unweighted loss and
        each metric on its output (outputs are logits where the loss took them)."""
        n = rows(ys)
        self._loss_tracker._add_total(loss * n, n)
        fused = [None] * len(outs)
        for e, value in zip(self._output_losses, self._output_values):
            fused[e.index] = e.fused
            if e.tracker is not None:  # TF-Keras counts each batch once here (its traced
                e.tracker._add_total(value, 1)  # step sees no static batch size to weigh by)
        unweighted = len(self._metrics)
        for j, (m, k) in enumerate(zip(self._all_metrics, self._metric_outputs)):
            weights = None
            if j >= unweighted and sample_weight is not None:
                weights = sample_weight[k] if isinstance(sample_weight, list) else sample_weight
            if fused[k]:
                m.update_from_logits(ys[k], outs[k], fused[k], weights)
            else:
                m.update_state(ys[k], outs[k], weights)

    def _log_values(self) -> list:
        """The loss, then the metrics in compile order, read back from the device in one copy."""
        trackers = self._trackers
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
        batch_size = _batch_size(batch_size)
        verbose = _verbose(verbose)
        batches, val = self._fit_data(
            (x, y, sample_weight, class_weight, batch_size, steps_per_epoch, shuffle),
            validation_split,
            validation_data,
            (_batch_size(validation_batch_size or batch_size), validation_steps),
        )
        strategy = self._distribution
        strategy.begin(self, backend.random_generator())
        if batches.steps == 0 and epochs > initial_epoch:
            raise _no_batches(steps_per_epoch)
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
            step = -1
            for step, batch in batches.epoch():
                if batch_begin is not None:
                    batch_begin(step)
                self._train_step(*batch)
                if batch_end is not None:
                    batch_end(step, self._logs())
                if self.stop_training:
                    break
            if step < 0:  # an input of unknown length that gave no batch
                for iterator in (batches, val):
                    if iterator is not None:
                        iterator.close()
                raise _no_batches(steps_per_epoch)
            epoch_logs = self._logs()
            if val is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._evaluate_batches(val, cbs)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        for iterator in (batches, val):
            if iterator is not None:
                iterator.close()
        if epochs > 0:  # as Keras: with use_ema, the averages become the weights
            self.optimizer.finalize_variable_values(self.trainable_weights)
        cbs.on_train_end(epoch_logs)
        return self.history

    def _fit_data(self, data, validation_split, validation_data, validation_batching):
        """fit's training batches and validation batches (or None), with the model prepared
        for them. ``data`` is (x, y, sample_weight, class_weight, batch_size, steps, shuffle);
        ``validation_batching`` is (batch_size, steps)."""
        x, y, sample_weight, class_weight, batch_size, steps, shuffle = data
        if not 0 <= validation_split < 1:
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
        val = None
        if validation_data is not None:
            val = self._validation_batches(validation_data, *validation_batching)
        if not data_adapters.is_array_data(x):
            if validation_split:
                raise ValueError(
                    "validation_split is only supported for Tensors or NumPy arrays, "
                    f"got x of type {type(x).__name__}"
                )
            return self._batches_of(x, y, sample_weight, class_weight, steps, shuffle, "fit"), val
        xs, y, sw = self._array_parts(x, y, sample_weight, class_weight, "fit")
        if validation_data is None and validation_split:
            (*xs, y, sw), (*val_xs, val_y, val_sw) = train_validation_split(
                [*xs, y, sw], validation_split
            )
            val = self._array_batches(val_xs, val_y, val_sw, *validation_batching, "fit")
        return self._array_batches(xs, y, sw, batch_size, steps, "fit", shuffle), val

    def _array_parts(self, x, y, sample_weight, class_weight, what, name="x"):
        """Inputs (converted), targets (raw) and sample weights (or None) of arrays, checked."""
        xs = self._inputs(x, name)
        if y is None:
            raise ValueError(f"{what}: expected targets y, got None")
        y = self._raw_targets(y)
        self._check_lengths(xs, y)
        return xs, y, self._sample_weights(sample_weight, class_weight, y, rows(y))

    def _array_batches(self, xs, y, sw, batch_size, steps, what, shuffle=False):
        """The batches of arrays; under a strategy, this replica's part of each global batch."""
        self._prepare(what, _shape_of(y))
        shard = self._distribution.shard if self._distribution.is_multi_worker else None
        adapter = ArrayDataAdapter(xs, self._targets(y), sw, batch_size, steps, shuffle, shard)
        return EpochIterator(adapter)

    def _batches_of(self, x, y, sample_weight, class_weight, steps, shuffle, what):
        """The batches of a Dataset, generator or PyDataset, converted one by one."""
        self._refuse_batches_under_replicas(x, what)
        adapter = data_adapters.batch_adapter(x, y, sample_weight, class_weight, shuffle)
        return EpochIterator(adapter, steps, lambda *batch: self._convert_batch(what, *batch))

    def _refuse_batches_under_replicas(self, x, what) -> None:
        """Batches made elsewhere are not sharded: nothing makes every replica read the same
        batches in the same order, or the same number of them (a replica whose input ends first
        would leave the others waiting in a sum)."""
        if self._distribution.is_multi_worker:
            raise NotImplementedError(
                f"{what}: a {type(x).__name__} input cannot be split over the replicas of a "
                "multi-replica strategy; pass NumPy arrays (x, y), which every replica shards "
                "the same way"
            )

    def _convert_batch(self, what, x, y, sample_weight):
        """One batch of a Dataset, generator or PyDataset as (inputs, targets, weights)."""
        xs = self._inputs(x)
        if y is None:
            raise ValueError(
                f"{what}: the batches have no targets; expected (x, y) or (x, y, sample_weight)"
            )
        y = self._raw_targets(y)
        self._check_lengths(xs, y)
        self._prepare(what, _shape_of(y))
        return xs, self._targets(y), self._sample_weights(sample_weight, None, y, rows(y))

    def _by_input_name(self, x, name="x"):
        """A dict of inputs as the list in the model's input order: by the keys of a dict of
        inputs, else by input name (other keys are left out, as Keras does)."""
        if not isinstance(x, dict):
            return x
        if not self.built or self._defines_call:
            raise ValueError(f"{name}: a dict of inputs needs a model with named inputs")
        names = self._input_keys or [t.name for t in self.inputs]
        missing = [n for n in names if n not in x]
        if missing:
            raise ValueError(
                f"{name}: a dict of inputs needs one entry per model input {names}, got keys "
                f"{sorted(x)}"
            )
        return [x[n] for n in names]

    def _validation_batches(self, validation_data, batch_size, steps):
        if isinstance(validation_data, np.ndarray) or not isinstance(
            validation_data, (tuple, list)
        ):
            return self._batches_of(validation_data, None, None, None, steps, False, "fit")
        if len(validation_data) not in (2, 3):
            raise ValueError(
                "validation_data must be a tuple (x_val, y_val) or (x_val, y_val, "
                f"val_sample_weight), got a tuple of {len(validation_data)} items"
            )
        x, y, sw = data_adapters.unpack_x_y_sample_weight(validation_data)
        xs, y, sw = self._array_parts(x, y, sw, None, "fit", "validation_data x")
        return self._array_batches(xs, y, sw, batch_size, steps, "fit")

    def _evaluate_batches(self, batches, cbs) -> dict:
        batches.reset()
        self.reset_metrics()
        cbs.on_test_begin()
        # Batch logs wait for the device, and are collective over replicas.
        batch_end = self._distribution.any(cbs.listens("on_test_batch_end"))
        for step, batch in batches.epoch():
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
        batch_size = _batch_size(batch_size)
        if data_adapters.is_array_data(x):
            xs, y, sw = self._array_parts(x, y, sample_weight, None, "evaluate")
            batches = self._array_batches(xs, y, sw, batch_size, steps, "evaluate")
        else:
            batches = self._batches_of(x, y, sample_weight, None, steps, False, "evaluate")
        self._distribution.begin(self, backend.random_generator())
        cbs = self._callbacks(callbacks, _verbose(verbose), 1, batches.steps, history=False)
        logs = self._evaluate_batches(batches, cbs)
        batches.close()
        return logs if return_dict else _flatten_logs(logs, self.metrics_names)

    @_one_call_at_a_time
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        batch_size = _batch_size(batch_size)
        if not data_adapters.is_array_data(x):
            return self._predict_batches(x, steps, _verbose(verbose), callbacks)
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
        return self._predicted(outputs)

    def _predicted(self, outputs):
        """predict's return: the one output alone, or the outputs in the model's structure
        (a list, or a dict for a dict of outputs)."""
        if self._defines_call:
            return outputs if len(outputs) > 1 else outputs[0]
        return self._structured(outputs, self._output_keys, self._nested_outputs)

    def _predict_batches(self, x, steps, verbose, callbacks):
        """predict over a Dataset, generator or PyDataset: their batches' inputs (targets and
        weights ignored), the outputs concatenated."""
        self._refuse_batches_under_replicas(x, "predict")
        batches = EpochIterator(
            data_adapters.batch_adapter(x),
            steps,
            lambda x, y, sw: ([self._inputs(x)], None, None),
        )
        cbs = self._callbacks(callbacks, verbose, 1, batches.steps, history=False)
        cbs.on_predict_begin()
        self._place()
        parts = []
        for step, ((xs,), _, _) in batches.epoch():
            cbs.on_predict_batch_begin(step)
            out = _flat(self._predict_batch(xs))
            parts.append(out)
            cbs.on_predict_batch_end(step, {"outputs": out if len(out) > 1 else out[0]})
        batches.close()
        cbs.on_predict_end()
        if not parts:
            raise ValueError("predict: the input gave no batches")
        outputs = [np.concatenate(column) for column in zip(*parts)]
        return self._predicted(outputs)

    def _predict_batch(self, xs):
        if self._defines_call or type(self).predict_step is not StepMethods.predict_step:
            out = self.predict_step((xs if len(xs) > 1 else xs[0],))
            return [np.asarray(o) for o in out] if isinstance(out, list) else np.asarray(out)
        xs = [_device.to_device(a) for a in xs]
        out, _ = self.forward(xs if len(xs) > 1 else xs[0], False)
        return [_device.to_host(o) for o in out] if isinstance(out, list) else _device.to_host(out)

    def _batch(self, x, y, sample_weight, class_weight, what):
        """(inputs, targets, weights) of one train_on_batch call, converted and checked. An
        unweighted batch like the last one that needed no conversion (NumPy arrays of the same
        dtypes and trailing shapes, same model state) is taken as it is: a tiny model's step
        costs microseconds, and the checks would cost more than the step."""
        if (
            type(x) is np.ndarray
            and type(y) is np.ndarray
            and sample_weight is None
            and class_weight is None
            and self._batch_like == (x.dtype, x.shape[1:], y.dtype, y.shape[1:])
            and len(x) == len(y)
            and self._prepare_key() == self._prepared
        ):
            return [x], y, None
        xs = self._inputs(x)
        y_in = y
        y = self._raw_targets(y) if y is not None else None
        self._check_lengths(xs, y)
        self._prepare(what, None if y is None else _shape_of(y))
        sw = self._sample_weights(sample_weight, class_weight, y, len(xs[0]))
        self._distribution.begin(self, backend.random_generator())
        targets = self._targets(y)
        # Only conversions that returned the very arrays given are skipped next time: those
        # checked shapes and dtypes alone (label values are checked on every batch).
        self._batch_like = (
            (x.dtype, x.shape[1:], y.dtype, y.shape[1:])
            if len(xs) == 1 and xs[0] is x and y is not None and targets is y_in
            else None
        )
        return xs, targets, sw

    @_one_call_at_a_time
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        xs, y, sw = self._shard(*self._batch(x, y, sample_weight, class_weight, "train_on_batch"))
        fused = self._fused_step
        if (
            not return_dict
            and sw is None
            and fused is not None
            and fused is not _UNPLANNED
            and fused.counts_all_metrics
            and len(y)
        ):  # the same step and logs as below, without the general path's overhead
            return _keras_values(fused.logs_of_batch(xs[0], y))
        self.reset_metrics()  # as Keras 3: the returned loss/metrics are this batch's alone
        self._train_step(*on_device(xs, y, sw))
        return self._batch_result(return_dict)

    @_one_call_at_a_time
    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        xs, y, sw = self._shard(*self._batch(x, y, sample_weight, None, "test_on_batch"))
        self.reset_metrics()
        self._test_step(*on_device(xs, y, sw))
        return self._batch_result(return_dict)

    def _shard(self, xs, y, sw):
        """This replica's part of a global batch and its weights (all of it on one replica)."""
        if not self._distribution.is_multi_worker:
            return xs, y, sw
        n = rows(y)
        index = self._distribution.shard(slice(0, n), n)
        return take(xs, index), pick(y, index), pick(sw, index)

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
        out = self._predict_batch(xs)
        return self._predicted(out) if isinstance(out, list) and not self._defines_call else out

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


def _plain(value, module):
    """A compile argument as a .keras file records it: names as they are, objects as their
    configs, lists and dicts of them entry by entry."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v, module) for v in value]
    if isinstance(value, dict) and not compile_outputs.is_config(value):
        return {k: _plain(v, module) for k, v in value.items()}
    return module.serialize(module.get(value) if module is losses_module else value)


def _unplain(value, deserialize):
    if value is None:
        return None
    if isinstance(value, list):
        return [_unplain(v, deserialize) for v in value]
    if isinstance(value, dict) and not compile_outputs.is_config(value):
        return {k: _unplain(v, deserialize) for k, v in value.items()}
    return deserialize(value)


def _as_list(value):
    return list(value) if isinstance(value, tuple) else value


def _no_batches(steps_per_epoch) -> ValueError:
    """Keras 3 raises this at the end of an epoch without batches, whose logs are then empty."""
    return ValueError(
        "Unexpected result of `train_function` (Empty logs): fit got no training "
        f"batches (steps_per_epoch={steps_per_epoch!r})"
    )


def _shape_of(y):
    """The shape of the targets, or of each output's (None where an output has none)."""
    if isinstance(y, list):
        return [None if a is None else a.shape for a in y]
    return y.shape


def _step_data(xs, y, sample_weight):
    """A batch as the step methods take it, as Keras hands it over: (x, y), or (x, y,
    sample_weight) when the batch is weighted."""
    x = xs if len(xs) > 1 else xs[0]
    return (x, y) if sample_weight is None else (x, y, sample_weight)


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
