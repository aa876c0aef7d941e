"""compile's losses and metrics per model output, as Keras 3's CompileLoss / CompileMetrics
spread them: a loss, loss weight or metric list given as a list (one entry per output, in
output order) or a dict (keyed by output name), a single loss applied to every output.

Names in the logs, as Keras 3 gives them: ``loss`` is the total (the sum of each output's loss
times its weight, plus the regularization penalties); with more than one loss, each output's
unweighted loss is logged as ``<output>_loss``; on a model with several outputs each metric is
logged as ``<output>_<metric>`` (``<output>_weighted_<metric>`` for a weighted metric named like
an unweighted one, ``_1``, ``_2``... for repeats). A single-output model logs ``loss`` and the
metric names alone.
"""

from __future__ import annotations

from .. import losses as losses_module
from .. import metrics as metrics_module


class OutputLoss:
    """One output's loss: ``index`` (its position among the model's outputs), the Loss,
    its weight (None: 1), the name its tracker logs under (or no tracker), and ``fused``: the
    output activation the loss takes the logits of (set when the trainer prepares)."""

    __slots__ = ("index", "loss", "weight", "tracker", "fused")

    def __init__(self, index, loss, weight, tracker):
        self.index, self.loss, self.weight, self.tracker = index, loss, weight, tracker
        self.fused = None


def _check_dict(value, keys, argument, exact):
    unknown = set(value) - set(keys)
    missing = set(keys) - set(value)
    if unknown or (exact and missing):
        raise ValueError(
            f"{argument}: a dict keyed by output name needs keys among {list(keys)}, got "
            f"{sorted(value)}"
        )


def is_config(value) -> bool:
    """Whether a dict is one object's serialized config rather than values keyed by output."""
    return isinstance(value, dict) and "class_name" in value


def per_output(value, keys, argument, exact=False):
    """``value`` as one entry per output: a list or tuple of as many entries, a dict keyed by
    output name (every name when ``exact``; missing ones are None), or anything else for every
    output."""
    if isinstance(value, dict) and not is_config(value):
        _check_dict(value, keys, argument, exact)
        return [value.get(k) for k in keys]
    if isinstance(value, (list, tuple)):
        if len(value) != len(keys):
            raise ValueError(
                f"{argument}: expected one entry per model output {list(keys)}, got "
                f"{len(value)} entries"
            )
        return list(value)
    return [value] * len(keys)


def resolve_losses(loss, loss_weights, keys, names):
    """The OutputLoss of each output that has a loss (None entries skip an output). ``keys``
    map the dicts of the arguments to outputs; ``names`` name the per-output trackers."""
    if loss is None:
        return []
    single = is_config(loss) or not isinstance(loss, (list, tuple, dict))
    losses = per_output(loss, keys, "loss", exact=True)
    if loss_weights is None:
        weights = [None] * len(keys)
    elif isinstance(loss_weights, (int, float)) and not isinstance(loss_weights, bool):
        if len(keys) > 1:
            raise ValueError(
                "compile: loss_weights is a number, which a single-output model takes; give "
                f"a list or dict for the outputs {list(keys)}, got {loss_weights!r}"
            )
        weights = [float(loss_weights)]
    elif isinstance(loss_weights, (list, tuple, dict)):
        weights = [_weight(w) for w in per_output(loss_weights, keys, "loss_weights", exact=single)]
    else:
        raise ValueError(
            f"compile: loss_weights must be a number, a list or a dict, got {loss_weights!r}"
        )
    entries = [
        OutputLoss(k, losses_module.get(spec), weight, None)
        for k, (spec, weight) in enumerate(zip(losses, weights))
        if spec is not None
    ]
    if len(entries) > 1:  # Keras tracks each output's loss only when there are several
        for e in entries:
            e.tracker = metrics_module.Mean(name=f"{names[e.index]}_loss")
    return entries


def _weight(w):
    if w is None:
        return None
    if isinstance(w, bool) or not isinstance(w, (int, float)):
        raise ValueError(f"loss_weights: expected numbers, got {w!r}")
    return float(w)


def check_metric_specs(specs, argument) -> None:
    """Fails at compile on a metric name that resolving would refuse."""
    if specs is None:
        return
    if not isinstance(specs, (list, tuple, dict)):
        raise ValueError(
            f"compile: expected {argument} to be a list, tuple, or dict, got {specs!r}"
        )
    for value in specs.values() if isinstance(specs, dict) else specs:
        for spec in value if isinstance(value, (list, tuple)) else [value]:
            if spec is not None:
                metrics_module.check(spec)


def _flat_specs(specs) -> list:
    if isinstance(specs, dict):
        return [s for key in sorted(specs) for s in _flat_specs(specs[key])]
    if isinstance(specs, (list, tuple)):
        return [s for value in specs for s in _flat_specs(value)]
    return [] if specs is None else [specs]


def metric_specs(specs, keys, argument) -> list:
    """The metric specs of each output (lists, or None): with one output, all of them; with
    several, a list of one entry (a spec or a list of specs) per output, or a dict of them
    keyed by output name."""
    if not specs:
        return [None] * len(keys)
    if len(keys) == 1:
        return [_flat_specs(specs)]
    if isinstance(specs, (list, tuple)) and len(specs) != len(keys):
        raise ValueError(
            f"compile: {argument} for a model with outputs {list(keys)} must be a list of one "
            f"entry per output or a dict keyed by output name, got {specs!r}"
        )
    return [
        None if value is None else (list(value) if isinstance(value, (list, tuple)) else [value])
        for value in per_output(specs, keys, argument)
    ]


def resolve_metrics(specs, weighted_specs, keys, losses, y_shapes, y_pred_shapes):
    """(metrics, weighted metrics, output index of each, in that order): the metric objects,
    named for the logs as Keras 3 names them. ``losses`` is each output's Loss (or None), which
    decides what 'accuracy' means with the target and output shapes."""
    prefix = len(keys) > 1
    taken = {}
    groups = ([], [])
    outputs = []
    for group, spec_lists, weighted in (
        (groups[0], specs, False),
        (groups[1], weighted_specs, True),
    ):
        for k, spec_list in enumerate(spec_lists):
            for spec in spec_list or ():
                m = metrics_module.get(spec, losses[k], y_shapes[k], y_pred_shapes[k])
                m.name = _log_name(m.name, keys[k] if prefix else None, weighted, taken)
                group.append(m)
                outputs.append(k)
    return groups[0], groups[1], outputs


def _log_name(name, output, weighted, taken) -> str:
    """Keras 3's CompileMetrics.result naming (``taken`` counts the names given so far)."""

    def prefixed(n):
        return n if output is None else f"{output}_{n}"

    full = prefixed(name)
    if full not in taken:
        taken[full] = 1
        return full
    if weighted:
        full = prefixed(f"weighted_{name}")
        if full not in taken:
            taken[full] = 1
            return full
    index = taken[full]
    taken[full] += 1
    return f"{full}_{index}"
