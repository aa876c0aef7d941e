"""Keras 3's op nodes in functional model configs.

Keras records every operation a functional model applies to its symbolic tensors, among them
the masks its layers compute: Embedding(mask_zero=True) as ``NotEqual(ids, 0)``, Masking as
``Any(NotEqual(x, mask_value), axis=-1)``, merges of masked tensors as ExpandDims, ZerosLike,
LogicalOr and Concatenate ops. Their results reach the layers that use a mask only as ``mask``
arguments. shendu passes masks on itself (Layer.compute_mask) while the model runs, so these
nodes and arguments are left out when a model is rebuilt. Any other op node, one whose result a
layer computes with or that is an output, and a mask given to a layer with no layer upstream
that makes masks (one passed explicitly), are refused with a ValueError naming them.
"""

from __future__ import annotations

from ..layers.embedding import Embedding
from ..layers.masking import Masking


def is_op(entry) -> bool:
    """Whether a functional config's entry is a Keras op node rather than a layer."""
    return str(entry.get("module") or "").startswith("keras.src.ops")


def _sources(value) -> list:
    """The names of the nodes whose tensors a node argument reads (nested lists and dicts)."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            return [value["config"]["keras_history"][0]]
        return [name for v in value.values() for name in _sources(v)]
    if isinstance(value, (list, tuple)):
        return [name for v in value for name in _sources(v)]
    return []


def _refuse_op(entry, use):
    raise ValueError(
        f"the model applies the Keras op {entry['class_name']!r} ({entry['module']}, node "
        f"{entry['name']!r}) to its tensors, {use}; shendu rebuilds layers only (and leaves "
        "out the mask computations Keras records): rebuild the model with layers in place of "
        "keras.ops calls"
    )


def _check_mask_source(entry, created, by_name):
    """A layer's ``mask`` argument is the mask shendu passes on only when some layer upstream
    makes masks (Embedding(mask_zero=True), Masking)."""
    seen, todo = set(), _sources(entry["inbound_nodes"][0]["args"])
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        layer = created[name]
        if isinstance(layer, Masking) or (isinstance(layer, Embedding) and layer.mask_zero):
            return
        for node in by_name[name]["inbound_nodes"]:
            todo.extend(_sources(node["args"]))
    raise ValueError(
        f"layer {entry['name']!r} is given a mask computed by Keras ops, but no layer before it "
        "makes a mask (Embedding(mask_zero=True), Masking): a mask passed explicitly to a layer "
        "is not supported"
    )


def layer_entries(entries, created, outputs) -> list:
    """The layer entries of a functional config (``entries``; ``created``: the built object of
    each by name; ``outputs``: the output layers' histories), without Keras's mask op nodes
    and the ``mask`` arguments that read them."""
    ops = {e["name"]: e for e in entries if is_op(e)}
    if not ops:
        return entries
    by_name = {e["name"]: e for e in entries}
    for history in outputs:
        if history[0] in ops:
            _refuse_op(ops[history[0]], "whose result is a model output")
    kept = []
    for entry in entries:
        if entry["name"] in ops:
            continue
        nodes = []
        for node in entry["inbound_nodes"]:
            kwargs = dict(node.get("kwargs") or {})
            for name in _sources(node["args"]):
                if name in ops:
                    _refuse_op(ops[name], f"and layer {entry['name']!r} computes with its result")
            mask = kwargs.pop("mask", None)
            if mask is not None:
                if not all(name in ops for name in _sources(mask)):
                    raise ValueError(
                        f"layer {entry['name']!r} is given a mask explicitly (the output of "
                        f"{', '.join(repr(n) for n in _sources(mask))}), which shendu's "
                        "functional models do not pass on"
                    )
                _check_mask_source(entry, created, by_name)
            for key, value in kwargs.items():
                if _sources(value):
                    raise ValueError(
                        f"layer {entry['name']!r} is called with the tensor argument {key!r}, "
                        "which shendu's functional models do not pass on"
                    )
            nodes.append({**node, "kwargs": kwargs})
        kept.append({**entry, "inbound_nodes": nodes})
    return kept
