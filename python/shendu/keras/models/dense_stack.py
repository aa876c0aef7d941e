"""The native fused training step of a Sequential stack of Dense layers (each optionally followed
by a Dropout): one ``shendu._cpu.DenseStack.step`` call per batch runs forward, loss, backward,
regularizer gradients and the optimizer update with the GIL released, on workspaces it keeps.

``plan(model)`` gives the step for a compiled model, or None when the model does not qualify (other
layers, a loss on probabilities that Keras does not fuse, an optimizer or regularizer it does not
know, frozen weights, several outputs or a loss weight, the reference backend, the CUDA device);
the trainer then runs the per-layer path. The step updates the layers' own weight arrays and the
optimizer's own slot arrays in place, so both paths can take turns on one model.
"""

from __future__ import annotations

import math

from ... import _config, _cpu, _device
from .. import activations, losses, optimizers, regularizers
from .. import metrics as metrics_module
from ..layers.core import Dense, Dropout

# The op the per-layer path calls for (loss class, from_logits), on logits when the model's
# output activation is fused into the loss, on the activated output otherwise.
_ON_LOGITS = {
    losses.BinaryCrossentropy: "sigmoid_binary_cross_entropy",
    losses.CategoricalCrossentropy: "softmax_cross_entropy",
    losses.SparseCategoricalCrossentropy: "sparse_softmax_cross_entropy",
}
_OPTIMIZERS = {optimizers.SGD: "sgd", optimizers.Adam: "adam", optimizers.RMSprop: "rmsprop"}


def _native_optimizer(opt) -> bool:
    """Whether the step runs this optimizer natively: one of _OPTIMIZERS (exactly: AdamW is
    an Adam) without the options it does not implement (clipping, weight decay, averages)."""
    return type(opt) in _OPTIMIZERS and not (
        opt.clipnorm or opt.clipvalue or opt.global_clipnorm or opt.weight_decay or opt.use_ema
    )


def _loss_op(loss, fused):
    kind = type(loss)
    if getattr(loss, "label_smoothing", 0) or loss.reduction != "sum_over_batch_size":
        return None  # the native step takes the plain targets and the mean
    if fused or getattr(loss, "from_logits", False):
        return _ON_LOGITS.get(kind)
    if kind is losses.MeanSquaredError:
        return "mean_squared_error"
    if kind is losses.BinaryCrossentropy:
        return "binary_cross_entropy"
    return None  # cross-entropy on probabilities: the per-layer path renormalizes and clips


def _penalty(var):
    reg = var.regularizer
    if reg is None:
        return None
    if type(reg) not in (regularizers.L1L2, regularizers.L1, regularizers.L2):
        raise LookupError
    return (reg.l1, reg.l2)


def _native_metric(metric, fused, sparse):
    """(kind, cut) when the step counts the metric itself, else None (counted in NumPy)."""
    kind = type(metric)
    if kind is metrics_module.BinaryAccuracy and not sparse:
        if fused == "sigmoid":  # sigmoid(z) > t  <=>  z > log(t / (1 - t)), as the metric does
            return ("binary_accuracy", math.log(metric.threshold / (1 - metric.threshold)))
        if fused is None:
            return ("binary_accuracy", metric.threshold)
        return None
    if kind is metrics_module.SparseCategoricalAccuracy and sparse:
        return ("sparse_categorical_accuracy", 0.0)  # softmax keeps the argmax
    if kind is metrics_module.CategoricalAccuracy and not sparse:
        return ("categorical_accuracy", 0.0)
    return None


def _stack(model):
    """[(dense, dropout or None)] for Dense layers each followed by at most one Dropout."""
    pairs = []
    for layer in getattr(model, "_stack", None) or ():
        if type(layer) is Dense and layer.activation in activations.EPILOGUE:
            pairs.append([layer, None])
        elif type(layer) is Dropout and pairs and pairs[-1][1] is None:
            pairs[-1][1] = layer
        else:
            return None
    if not pairs or pairs[-1][1] is not None:
        return None
    return pairs


class FusedStep:
    """One fit / train_on_batch step of the model through its DenseStack."""

    def __init__(self, model, native, dropouts, native_metrics, other_metrics):
        self._model = model
        self._native = native
        self._dropouts = dropouts
        self._native_metrics = native_metrics  # [(metric, values per sample)], compile order
        self._other_metrics = other_metrics
        # train_on_batch can take logs_of_batch: every metric is counted natively.
        self.counts_all_metrics = not other_metrics

    def _step(self, x, y) -> tuple:
        opt = self._model.optimizer
        rate = opt.learning_rate  # a schedule's value at the step count before this update
        opt.iterations += 1
        seeds = [d._next_seed() for d in self._dropouts] if self._dropouts else None
        return self._native.step(x, y, rate, opt.iterations, seeds)

    def logs_of_batch(self, x, y) -> list:
        """train_on_batch's step (counts_all_metrics, a non-empty batch): the step, then each
        tracker restarted at this batch's totals (what reset_metrics and __call__ do), and the
        logged values (loss, then the metrics in compile order). For a tiny model the
        trainer's general path costs more than the native step itself."""
        result = self._step(x, y)
        n = len(y)
        logs = [self._model._loss_tracker._restart(result[0] * n, n)]
        for (metric, per_sample), hits in zip(self._native_metrics, result[1:]):
            logs.append(metric._restart(hits, n * per_sample))
        return logs

    def __call__(self, xs, y) -> None:
        model = self._model
        result = self._step(xs[0], y)
        n = len(y)
        model._loss_tracker._add_total(result[0] * n, n)
        for (metric, per_sample), hits in zip(self._native_metrics, result[1:]):
            metric._add_total(hits, n * per_sample)
        if self._other_metrics:
            out = self._native.output()
            fused = model._fused
            for metric in self._other_metrics:
                if fused:
                    metric.update_from_logits(y, out, fused)
                else:
                    metric.update_state(y, out)


def plan(model):
    """The model's FusedStep, or None if it does not qualify. The trainer plans again after
    compile(), a graph change, a backend switch or a change of `trainable`; optimizer settings
    other than the learning rate (read every step, a schedule's value included) are taken when
    the step is planned."""
    if _config.get_backend() != "native" or _device.get_device() != "cpu":
        return None
    if len(model.outputs) != 1 or model._loss_weight not in (None, 1.0):
        return None  # the native step computes one unweighted loss
    pairs = _stack(model)
    if pairs is None or not _native_optimizer(model.optimizer):
        return None
    if len(model.inputs[0].shape) != 2:
        return None
    return _build(model, pairs)


def _build(model, pairs):
    fused = model._fused
    loss_op = _loss_op(model.loss, fused)
    if loss_op is None or any(not w.trainable for w in model.weights):
        return None
    opt = model.optimizer
    try:
        layers = []
        for k, (dense, dropout) in enumerate(pairs):
            last = k == len(pairs) - 1
            bias = dense.bias
            layers.append(
                {
                    "kernel": dense.kernel.value,
                    "kernel_slots": opt._slots_for(dense.kernel),
                    "kernel_penalty": _penalty(dense.kernel),
                    "bias": None if bias is None else bias.value,
                    "bias_slots": [] if bias is None else opt._slots_for(bias),
                    "bias_penalty": None if bias is None else _penalty(bias),
                    "activation": "linear" if last and fused else dense.activation,
                    "dropout": 0.0 if dropout is None else dropout.rate,
                }
            )
    except LookupError:  # a regularizer other than L1L2
        return None
    config = {
        "name": _OPTIMIZERS[type(opt)],
        **{
            k: v
            for k, v in opt.get_config().items()
            if k in ("momentum", "nesterov", "beta_1", "beta_2", "rho", "epsilon")
        },
    }
    sparse = loss_op == "sparse_softmax_cross_entropy"
    units = pairs[-1][0].units
    native_metrics, counted, other = [], [], []
    for metric in model._all_metrics:
        spec = _native_metric(metric, fused, sparse)
        if spec is None:
            other.append(metric)
        else:
            native_metrics.append(spec)
            counted.append((metric, units if spec[0] == "binary_accuracy" else 1))
    native = _cpu.DenseStack(layers, loss_op, config, native_metrics)
    dropouts = [d for _, d in pairs if d is not None and d.rate > 0]
    return FusedStep(model, native, dropouts, counted, other)
