"""GradientTape: reverse-mode differentiation of the operations run while a tape records.

How it works
------------
Every differentiable operation in shendu (the tensor functions of ``shendu.math`` and
``shendu.nn``, the operators of ``Tensor`` and ``Variable``, Keras layer and model calls, Keras
loss objects) computes its result eagerly, then calls ``record(name, inputs, outputs,
backward)``. When no tape is active that costs one check. When a tape is active and one of the
inputs is *watched* by it (a trainable variable, a tensor passed to ``watch``, or the output of
an operation the tape recorded) the tape appends a node: the input and output objects and a
``backward(douts, need) -> dinputs`` closure that holds whatever the gradient needs (for a
layer, the ``ctx`` its ``forward`` returned). Objects are told apart by identity, and the tape
keeps them alive while it holds their nodes.

``tape.gradient(target, sources)`` walks the nodes once in reverse. It first marks which
values depend on a source, so a node is asked only for the input gradients that lead to a
source (``need``): a model call whose input is data asks ``Model.backward`` for its weight
gradients alone (``need_dx=False``), exactly as ``fit`` does, so a custom training loop costs
about what ``fit`` costs and produces the same gradients bit for bit.

Gradients are values, not recorded operations, so second-order gradients (a tape inside
another) are not supported: a gradient computed while an outer tape records is an operation
that the outer tape cannot differentiate, and differentiating through it raises the clear
``NoGradientError`` that names it. Operations without a gradient (argmax, comparisons, integer
arithmetic, NumPy functions called on tensors) raise the same error only when a gradient
actually has to pass through them.
"""

from __future__ import annotations

import contextlib

import numpy as np

from .tensor import eager as _wrap
from .tensor import raw as _raw

_active: list = []  # the tapes recording now, innermost last


class NoGradientError(ValueError):
    """A gradient had to pass through an operation that shendu cannot differentiate."""


class _Node:
    __slots__ = ("name", "inputs", "outputs", "backward")

    def __init__(self, name, inputs, outputs, backward):
        self.name, self.inputs, self.outputs, self.backward = name, inputs, outputs, backward


def _is_trainable_variable(x) -> bool:
    return getattr(x, "_is_variable", False) and x.trainable


def recording() -> bool:
    """Whether any tape records now (the cheap check every operation makes first)."""
    return bool(_active)


def record(name, inputs, outputs, backward) -> None:
    """Records an operation on every active tape that watches one of its inputs.

    inputs / outputs: lists of objects (tensors, variables; None or constants are fine).
    backward(douts, need): douts align with outputs (None where no gradient arrived, at least
    one is set); need[i] says whether inputs[i] needs its gradient; returns the input gradients
    (None where not needed or not differentiable). backward=None marks an operation without a
    gradient: differentiating through it raises NoGradientError naming it.
    """
    for tape in _active:
        if tape._recording and tape._watches_any(inputs):
            tape._add(_Node(name, inputs, outputs, backward))


@contextlib.contextmanager
def isolated():
    """A block whose operations no open tape records (a layer's private tape runs in one)."""
    global _active
    outer, _active = _active, []
    try:
        yield
    finally:
        _active = outer


def _structure_flatten(x) -> list:
    if isinstance(x, dict):
        return [leaf for k in sorted(x) for leaf in _structure_flatten(x[k])]
    if isinstance(x, (list, tuple)):
        return [leaf for v in x for leaf in _structure_flatten(v)]
    return [x]


def _structure_pack(x, leaves):
    """leaves (an iterator) laid out like the nested structure x."""
    if isinstance(x, dict):
        return {k: _structure_pack(x[k], leaves) for k in sorted(x)}
    if isinstance(x, (list, tuple)):
        packed = [_structure_pack(v, leaves) for v in x]
        return packed if isinstance(x, list) else tuple(packed)
    return next(leaves)


class GradientTape:
    """Records operations run inside ``with GradientTape() as tape:`` for ``tape.gradient``.

    Args:
        persistent: allow more than one ``gradient`` call (else the tape frees its records
            after the first).
        watch_accessed_variables: watch every trainable variable an operation reads (default);
            with False only what ``watch`` names is watched.

    See the module docstring for what is recorded and how gradients are computed.
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self._persistent = bool(persistent)
        self._watch_variables = bool(watch_accessed_variables)
        self._nodes: list[_Node] = []
        self._watched: dict[int, object] = {}  # id -> object (kept alive, so ids stay unique)
        self._recording = False
        self._used = False

    def __enter__(self):
        self._recording = True
        _active.append(self)
        return self

    def __exit__(self, *exc):
        self._recording = False
        _active.remove(self)
        return False

    def _watches(self, x) -> bool:
        return id(x) in self._watched or (self._watch_variables and _is_trainable_variable(x))

    def _watches_any(self, inputs) -> bool:
        return any(self._watches(x) for x in inputs)

    def _add(self, node) -> None:
        self._nodes.append(node)
        for x in node.inputs:
            if _is_trainable_variable(x):
                self._watched.setdefault(id(x), x)
        for y in node.outputs:
            self._watched[id(y)] = y

    def watch(self, tensor) -> None:
        """Watches a tensor (or a nested structure of them) so gradients w.r.t. it exist."""
        for x in _structure_flatten(tensor):
            self._watched[id(x)] = x

    def watched_variables(self) -> list:
        return [x for x in self._watched.values() if getattr(x, "_is_variable", False)]

    def reset(self) -> None:
        """Forgets everything recorded so far (the tape keeps recording if it is open)."""
        self._nodes.clear()
        self._watched.clear()

    def stop_recording(self):
        """A context in which operations are not recorded on this tape."""
        return _Paused(self)

    def gradient(self, target, sources, output_gradients=None, unconnected_gradients="none"):
        """Gradients of target (a tensor, or a structure of them: their sum) w.r.t. sources.

        sources: a variable or tensor, or a nested list/tuple/dict of them; the result has the
        same structure, with None for a source the target does not depend on (zeros with
        ``unconnected_gradients="zero"``). output_gradients: the upstream gradient(s) of target
        (default ones).
        """
        if unconnected_gradients not in ("none", "zero"):
            raise ValueError(
                f"unconnected_gradients: expected 'none' or 'zero', got {unconnected_gradients!r}"
            )
        if self._used and not self._persistent:
            raise RuntimeError(
                "A non-persistent GradientTape can only be used to compute one set of "
                "gradients (or jacobians); create it with persistent=True for more"
            )
        self._used = True
        targets = _structure_flatten(target)
        source_list = _structure_flatten(sources)
        for s in source_list:
            if s is None:
                raise ValueError("tape.gradient: a source is None")
        if output_gradients is None:
            seeds = [None] * len(targets)
        else:
            seeds = _structure_flatten(output_gradients)
            if len(seeds) != len(targets):
                raise ValueError(
                    f"output_gradients: expected {len(targets)} gradient(s) for the targets, "
                    f"got {len(seeds)}"
                )
        grads = self._backward(targets, seeds, source_list)
        results = []
        for s in source_list:
            g = grads.get(id(s))
            if g is None and unconnected_gradients == "zero":
                g = np.zeros(s.shape, dtype=_dtype_of(s))
            results.append(None if g is None else _wrap(g))
        if _active:  # a gradient taken while an outer tape records: a value it cannot trace
            record(
                "gradient (second order)",
                targets + source_list,
                [r for r in results if r is not None],
                None,
            )
        if not self._persistent:
            self._nodes, self._watched = [], {}
        return _structure_pack(sources, iter(results))

    def _backward(self, targets, seeds, sources) -> dict:
        nodes = self._nodes
        # Which values lead to a source: only their gradients are computed.
        depends = {id(s) for s in sources if self._watches(s)}
        live = []
        for node in nodes:
            if any(id(x) in depends for x in node.inputs):
                depends.update(id(y) for y in node.outputs)
                live.append(node)
        grads: dict[int, object] = {}
        for t, seed in zip(targets, seeds):
            if id(t) not in depends:
                continue
            value = np.ones(np.shape(t), dtype=_dtype_of(t)) if seed is None else _raw(seed)
            _accumulate(grads, id(t), value)
        for node in reversed(live):
            douts = [grads.get(id(y)) for y in node.outputs]
            if all(d is None for d in douts):
                continue
            need = [id(x) in depends and _float_like(x) for x in node.inputs]
            if not any(need):
                continue
            if node.backward is None:
                raise NoGradientError(
                    f"tape.gradient: no gradient is defined for operation {node.name!r}, "
                    "which lies between the target and a source (use shendu.stop_gradient "
                    "on its inputs if no gradient should flow there)"
                )
            dins = node.backward(douts, need)
            for x, d, n in zip(node.inputs, dins, need):
                if n and d is not None:
                    _accumulate(grads, id(x), d)
        return grads


class _Paused:
    def __init__(self, tape):
        self.tape = tape

    def __enter__(self):
        self.tape._recording = False

    def __exit__(self, *exc):
        self.tape._recording = True
        return False


def _dtype_of(x):
    return np.dtype(getattr(x, "dtype", np.float32))


def _float_like(x) -> bool:
    return x is not None and _dtype_of(x).kind in "fc"


def _accumulate(grads, key, value) -> None:
    old = grads.get(key)
    grads[key] = value if old is None else old + value
