"""The two kinds of tensor a layer sees: symbolic KerasTensors (functional API) and eager results
(``shendu.tensor.Tensor``, what calling a layer or model on data returns)."""

from __future__ import annotations

from ..tensor import Tensor, eager

__all__ = ["Tensor", "eager", "KerasTensor", "Node"]


class KerasTensor:
    """A symbolic tensor: a shape with None for the batch, and the node of the layer that made it."""

    def __init__(self, shape, dtype="float32", node=None, index=0, name=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = dtype
        self.node = node  # the Node whose output this is (None only while it is being made)
        self.index = index  # position among that node's outputs
        self.name = name

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"


class Node:
    """One call of a layer in a graph: which tensors went in and which came out."""

    def __init__(self, layer, inputs, outputs):
        self.layer = layer
        self.inputs = inputs  # KerasTensor or list of them, as the layer was called
        self.input_tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        self.outputs = outputs
        self.output_tensors = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        for i, t in enumerate(self.output_tensors):
            t.node, t.index = self, i
        layer._inbound_nodes.append(self)
