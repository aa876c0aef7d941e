"""Sequential: a linear stack of layers, run as a chain graph once its input shape is known."""

from __future__ import annotations

from .. import backend
from ..layers import deserialize, serialize
from ..layers.core import InputLayer
from ..layers.layer import Layer
from ..tensors import KerasTensor
from .functional import Model


class Sequential(Model):
    """A linear stack of layers, each reading the previous one's output.

    Args:
        layers: the layers, in order; the first may be a ``keras.Input``, or carry
            ``input_shape``, so the model is built at once (else it is built by its first call,
            ``build(input_shape)`` or ``fit``).
        name: the model's name.

    ``add`` and ``pop`` change the stack; training, saving and the rest are Model's.
    """

    def __init__(self, layers=None, name=None, trainable=True, **kwargs):
        super().__init__(
            name=name or backend.unique_name("sequential"), trainable=trainable, **kwargs
        )
        self._stack: list[Layer] = []
        self._input_layer = None
        self.built = False
        for layer in layers or []:
            self.add(layer, rebuild=False)
        if self._input_layer is not None and self._stack:
            self._rebuild()

    def add(self, layer, rebuild=True) -> None:
        if isinstance(layer, KerasTensor) and isinstance(layer.node.layer, InputLayer):
            layer = layer.node.layer
        if isinstance(layer, InputLayer):
            if self._stack or self._input_layer is not None:
                raise ValueError("Sequential: an Input / InputLayer can only be the first layer")
            self._input_layer = layer
            return
        if not isinstance(layer, Layer):
            raise ValueError(
                f"Only instances of keras.layers.Layer can be added to a Sequential "
                f"model. Received: {layer!r} (of type {type(layer).__name__})"
            )
        if any(layer is other for other in self._stack):
            raise ValueError(f"Layer {layer.name!r} is already in this Sequential model")
        if not self._stack and self._input_layer is None and layer._batch_input_shape:
            self._input_layer = InputLayer(batch_shape=layer._batch_input_shape)
        self._stack.append(layer)
        self.built = False
        if rebuild and self._input_layer is not None:
            self._rebuild()

    def pop(self):
        if not self._stack:
            raise TypeError("There are no layers in the model.")
        layer = self._stack.pop()
        self.built = False
        if self._input_layer is not None and self._stack:
            self._rebuild()
        return layer

    def build(self, input_shape=None) -> None:
        if self._input_layer is None:
            if input_shape is None:
                raise ValueError("Sequential.build: you must provide an input_shape")
            if isinstance(input_shape, list):
                raise ValueError(
                    f"Sequential models take a single input, got input shapes {input_shape}"
                )
            self._input_layer = InputLayer(batch_shape=tuple(input_shape))
        if not self._stack:
            raise ValueError(f"Sequential model {self.name!r} has no layers")
        self._rebuild()

    def _rebuild(self) -> None:
        # Keras builds a Sequential by creating an unnamed Functional, which takes the next
        # "functional" name: a later keras.Model(...) is named functional_<n> accordingly.
        backend.unique_name("functional")
        x = self._input_layer.output
        for layer in self._stack:
            x = layer(x)
            if isinstance(x, list):
                raise ValueError(
                    f"All layers in a Sequential model should have a single output "
                    f"tensor; layer {layer.name!r} has {len(x)}. Use the "
                    "functional API for multi-output layers."
                )
        self._build_graph(self._input_layer.output, x)

    @property
    def layers(self) -> list:
        return list(self._stack)

    @property
    def inputs(self):
        return getattr(self, "_graph_inputs", None)

    @inputs.setter
    def inputs(self, value):
        self._graph_inputs = value

    def get_config(self) -> dict:
        layers = [serialize(layer) for layer in self._stack]
        if self._input_layer is not None:
            layers.insert(0, serialize(self._input_layer))
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": "float32",
            "layers": layers,
        }
        if self._input_layer is not None:
            config["build_input_shape"] = list(self._input_layer.batch_shape)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for entry in config["layers"]:
            model.add(deserialize(entry, custom_objects), rebuild=False)
        if model._input_layer is None and config.get("build_input_shape"):
            model._input_layer = InputLayer(batch_shape=config["build_input_shape"])
        if model._input_layer is not None and model._stack:
            model._rebuild()
        return model
