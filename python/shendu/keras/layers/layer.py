"""Layer: the base every Keras layer builds on, and Variable, the weights it owns.

A layer's math lives in two methods, so a model can run its graph forward and backward with one
Python call per layer:

* ``forward(inputs, training) -> (outputs, ctx)``: ctx holds whatever ``backward`` needs;
* ``backward(ctx, doutputs) -> (dinputs, grads)``: grads align with ``layer.weights``.

``__call__`` is the Keras entry point: on KerasTensors it records a graph node (functional API),
on arrays it runs ``forward`` in inference mode and returns a ``Tensor``.

Masks (Keras's protocol, for padded sequences): a layer that makes or passes on a mask says so in
``compute_mask(inputs, mask)``, which returns the mask of its outputs (by default the input mask
when ``supports_masking``, else None); a layer that uses one takes ``mask=`` in ``forward``, and
keeps in its ctx what its backward needs. Masks are (batch, steps) booleans; the graph runner
hands them along beside the values.
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from ... import _device
from ... import tape as _tape
from ...tensor import VariableBase
from .. import backend, initializers, keras_config, registry, regularizers
from ..tensors import KerasTensor, Node, eager
from . import arguments, taped


class Variable(VariableBase):
    """A float32 weight on the current device (shendu.set_device); optimizers update ``value`` in
    place, so its identity changes only when the model moves to another device (``_place``).
    It is also a ``tf.Variable``: tapes watch it when trainable, and it has the same operators
    and ``assign`` / ``assign_add`` / ``assign_sub``."""

    # Bumped whenever any variable's value array or trainable flag is replaced, so a model can
    # tell with one comparison that what it planned its training step for still holds.
    revision = 0
    # True for state a layer updates itself (moving statistics): never trainable.
    stateful = False
    # Keras's multi-replica aggregation: a non-trainable "mean" weight is averaged over the
    # replicas after each training step (state a layer's forward updates from its own shard).
    aggregation = "none"
    # The dtype weight files hold it in, as Keras 3 writes and expects it (int64 for counts).
    file_dtype = np.float32

    def __setattr__(self, name, value) -> None:
        if name in ("value", "trainable"):
            Variable.revision += 1
        object.__setattr__(self, name, value)

    def __init__(self, value, name, path, trainable=True, regularizer=None):
        # reshape: ascontiguousarray makes a 0-d value (a count, say) 1-d.
        value = np.ascontiguousarray(value, dtype=np.float32).reshape(np.shape(value))
        self.value = _device.to_device(value)
        self.name = name
        self.path = path
        self.trainable = trainable
        self.regularizer = regularizer

    def _place(self) -> None:
        """Moves the value to the current device (a no-op when it is there already)."""
        value = _device.to_device(self.value)
        if value is not self.value:  # assigning bumps Variable.revision
            self.value = value

    def __repr__(self) -> str:
        return f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype.name}>"


def _tracking_setattr(self, name, value) -> None:
    """Keras's attribute tracking, for classes that define call(): layers assigned to
    attributes (alone or in a list or tuple) become sublayers, whose weights are the layer's."""
    if not name.startswith("_"):
        found = [value] if isinstance(value, Layer) else None
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, Layer) for v in value):
            found = list(value)
        if found:
            sublayers = self.__dict__.setdefault("_sublayers", [])
            sublayers.extend(v for v in found if all(v is not k for k in sublayers))
    object.__setattr__(self, name, value)


def _penalty(w):
    """w's regularization penalty as a float32 tensor, recorded with its gradient."""
    value = eager(np.float32(_device.to_host(w.regularizer(w.value))))
    if _tape._active:
        _tape.record(
            f"{w.path}/regularizer",
            [w],
            [value],
            lambda douts, need: [w.regularizer.gradient(w.value) * float(douts[0])],
        )
    return value


def _map_shapes(fn, inputs):
    return [fn(v) for v in inputs] if isinstance(inputs, (list, tuple)) else fn(inputs)


def _flatten(inputs):
    return list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]


class Layer:
    """The base of every layer: it owns weights (``add_weight``), builds them for its first
    input shape, and computes ``forward`` / ``backward`` (see the module docstring).

    Args:
        name: the layer's name (default: the class name in snake case, numbered when taken).
        trainable: whether its weights are updated by training.
        dtype: only ``"float32"`` (or None).
        input_shape / batch_input_shape / batch_size / input_dim: on the first layer of a
            Sequential, the shape of the inputs it receives.

    Subclasses of shendu's own are found by name when deserialized (``registry``); users'
    subclasses register with ``keras.saving.register_keras_serializable``.
    """

    # Layers that take integer ids (Embedding) keep integer input arrays as they are.
    _int_input = False
    # Where Keras's API exports the class: the "module" of its serialized record.
    _public_module = "keras.layers"

    # Whether the class computes with call() (users' subclasses) rather than forward/backward.
    _defines_call = False

    # Keras's masking protocol (see the module docstring): whether compute_mask passes the input
    # mask on, and whether forward takes mask= (set per class from forward's signature).
    supports_masking = False
    _takes_mask = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        registry.register_builtin("layers", cls)
        if "forward" in cls.__dict__:
            cls._takes_mask = "mask" in inspect.signature(cls.forward).parameters
        if "call" in cls.__dict__ and "forward" not in cls.__dict__:
            # It computes with call(), even below a base that runs a graph (keras.Model): the
            # graph's forward/backward give way to the call-based ones.
            cls._defines_call = True
            cls._can_skip_dx = False
            cls.__setattr__ = _tracking_setattr
            for name in ("forward", "backward", "compute_output_shape"):
                if name not in cls.__dict__:
                    setattr(cls, name, Layer.__dict__[name])

    def __init__(
        self,
        name=None,
        trainable=True,
        dtype=None,
        input_shape=None,
        batch_input_shape=None,
        batch_size=None,
        input_dim=None,
        **kwargs,
    ):
        if kwargs:
            raise ValueError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}"
            )
        if dtype not in (None, "float32"):
            raise ValueError(f"dtype: only 'float32' is supported, got {dtype!r}")
        if name is not None and not isinstance(name, str):
            raise ValueError(f"name: expected a string, got {name!r}")
        self.name = name or backend.unique_name(backend.snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self.built = False
        self._weights: list[Variable] = []
        self._inbound_nodes: list[Node] = []
        self._build_input_shape = None
        # input_shape / input_dim on the first layer of a Sequential say what it receives.
        if input_dim is not None:
            input_shape = (input_dim,)
        if batch_input_shape is not None:
            self._batch_input_shape = arguments.shape_tuple(batch_input_shape, "batch_input_shape")
        elif input_shape is not None:
            self._batch_input_shape = (batch_size,) + arguments.shape_tuple(
                input_shape, "input_shape"
            )
        else:
            self._batch_input_shape = None

    # --- weights ----------------------------------------------------------------------------

    def add_weight(
        self,
        name=None,
        shape=None,
        initializer="glorot_uniform",
        regularizer=None,
        trainable=True,
        dtype=None,
        aggregation="none",
    ) -> Variable:
        """A new float32 weight of this layer. Takes Keras 3's keywords (``shape=``,
        ``initializer=``, ``name=``...); a shape given first, as Keras 3's positional order
        has it, is taken as the shape. ``aggregation`` ("none" or "mean"): how replicas of a
        ``shendu.distribute`` strategy combine the weight when it is not trainable ("mean":
        its forward updates it from the replica's own batch, and the replicas' values are
        averaged after each training step)."""
        if isinstance(name, (list, tuple)):
            name, shape = shape, name
        if shape is None:
            raise ValueError(f"{self.name}.add_weight: shape must be given")
        if dtype not in (None, "float32", np.float32):
            raise ValueError(f"add_weight: only dtype 'float32' is supported, got {dtype!r}")
        if aggregation not in (None, "none", "mean"):
            raise ValueError(
                f"add_weight: aggregation must be 'none' or 'mean', got {aggregation!r}"
            )
        name = name or ("variable" if not self._weights else f"variable_{len(self._weights)}")
        shape = tuple(int(d) for d in shape)
        value = initializers.get(initializer or "glorot_uniform")(shape)
        var = Variable(
            value,
            name,
            f"{self.name}/{name}",
            trainable and self._trainable,
            regularizers.get(regularizer),
        )
        # State such as moving statistics stays non-trainable whatever `layer.trainable` says.
        var.stateful = not trainable
        var.aggregation = aggregation or "none"
        self._weights.append(var)
        return var

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for w in self._weights:
            w.trainable = self._trainable and not w.stateful
        for layer in self.__dict__.get("_sublayers", ()):
            layer.trainable = value

    @property
    def weights(self) -> list:
        sublayers = self.__dict__.get("_sublayers")
        if not sublayers:
            return list(self._weights)
        seen, out = set(), []
        for w in self._weights + [w for layer in sublayers for w in layer.weights]:
            if id(w) not in seen:
                seen.add(id(w))
                out.append(w)
        return out

    @property
    def trainable_weights(self) -> list:
        return [w for w in self.weights if w.trainable]

    @property
    def non_trainable_weights(self) -> list:
        return [w for w in self.weights if not w.trainable]

    variables = weights
    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    @property
    def losses(self) -> list:
        """The regularization penalties of this layer's weights, as scalar tensors (a tape
        records them, so adding them to a loss adds their gradients)."""
        return [_penalty(w) for w in self.weights if w.regularizer is not None]

    def get_weights(self) -> list:
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights) -> None:
        own = self.weights
        weights = list(weights)
        if len(weights) != len(own):
            raise ValueError(
                f"Layer {self.name!r} expected {len(own)} weights "
                f"({', '.join(str(w.shape) for w in own) or 'none'}), but received "
                f"{len(weights)} input weights."
            )
        for var, value in zip(own, weights):
            if np.shape(value) != var.shape:  # np.shape: no host copy of a CuPy array
                raise ValueError(
                    f"Layer {self.name!r} weight {var.name!r} has shape {var.shape}, "
                    f"which is not compatible with the provided weight shape "
                    f"{np.shape(value)}."
                )
        for var, value in zip(own, weights):
            var.assign(value)

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(
                f"You tried to call count_params on layer {self.name!r}, but the "
                "layer isn't built. Build it first, e.g. by calling it on data."
            )
        return int(sum(math.prod(w.shape) for w in self.weights))

    # --- building and calling -----------------------------------------------------------------

    def build(self, input_shape) -> None:
        """Creates the weights for inputs of this shape (batch dimension None)."""

    def _maybe_build(self, input_shape) -> None:
        if not self.built:
            self.build(input_shape)
            self.built = True
            self._build_input_shape = input_shape

    def compute_output_shape(self, input_shape):
        if self._defines_call:
            return taped.output_shape_by_call(self, input_shape)
        return input_shape

    def call(self, inputs, training=None):
        """What a subclass computes, with tensor operations and layer calls (Keras's way to
        write a layer); its gradients come from GradientTape. Built-in layers define
        forward / backward instead."""
        raise NotImplementedError(f"{type(self).__name__} defines neither call nor forward")

    def forward(self, inputs, training=False):
        if self._defines_call:
            return taped.forward_by_call(self, inputs, training)
        raise NotImplementedError(f"{type(self).__name__} defines neither call nor forward")

    def backward(self, ctx, doutputs):
        if self._defines_call:
            return taped.backward_by_call(self, ctx, doutputs)
        raise NotImplementedError(f"{type(self).__name__} defines neither call nor forward")

    def compute_mask(self, inputs, mask=None):
        """The mask of this layer's outputs for inputs with this mask: the input mask itself
        when the layer supports masking (it keeps the steps as they are), else None."""
        return mask if self.supports_masking else None

    def _makes_mask(self) -> bool:
        """Whether compute_mask may give a mask when the inputs have none (a layer that
        overrides it: Embedding(mask_zero=True), Masking)."""
        return type(self).compute_mask is not Layer.compute_mask

    def _forward_masked(self, inputs, training, mask):
        """forward, given mask= when the layer takes one (and the mask is not None)."""
        if mask is not None and self._takes_mask:
            return self.forward(inputs, training, mask=mask)
        return self.forward(inputs, training)

    def output_activation(self):
        """The softmax/sigmoid this layer ends with, if a cross-entropy loss may take its logits."""
        return None

    def forward_logits(self, inputs, training=False):
        """forward without the final activation named by output_activation()."""
        raise NotImplementedError

    def __call__(self, inputs, training=None, mask=None, **kwargs):
        if kwargs:
            raise ValueError(f"{type(self).__name__}.__call__: unsupported arguments {kwargs}")
        if mask is None:  # eager tensors' masks, as Keras keeps them
            if isinstance(inputs, (list, tuple)):
                masks = [getattr(t, "_keras_mask", None) for t in inputs]
                mask = masks if any(m is not None for m in masks) else None
            else:
                mask = getattr(inputs, "_keras_mask", None)
        if any(isinstance(t, KerasTensor) for t in _flatten(inputs)):
            return self._call_symbolic(inputs)
        if self._defines_call:  # run as Python: a tape records the operations inside
            inputs = taped.as_call_input(inputs)
            self._maybe_build(_map_shapes(lambda a: (None,) + tuple(a.shape[1:]), inputs))
            return taped.run_call(self, inputs, bool(training))
        arrays = _map_shapes(self._as_array, inputs)
        self._maybe_build(_map_shapes(lambda a: (None,) + a.shape[1:], arrays))
        for w in self.weights:
            w._place()
        device_arrays = _map_shapes(_device.to_device, arrays)
        outputs, ctx = self._forward_masked(device_arrays, bool(training), mask)
        outputs = eager(_map_shapes(_device.to_host, outputs))
        if mask is not None or self._makes_mask():
            out_mask = self.compute_mask(device_arrays, mask)
            for out, m in zip(_flatten(outputs), _flatten(out_mask)):
                if m is not None:
                    out._keras_mask = _device.to_host(m)
        if _tape._active:
            taped.record_call(self, inputs, outputs, ctx)
        return outputs

    def _as_array(self, x):
        x = _device.to_host(x.numpy() if hasattr(x, "numpy") else x)
        if x.dtype.kind not in "biuf":
            raise TypeError(f"{self.name}: expected a numeric array, got dtype {x.dtype}")
        if self._int_input and x.dtype.kind in "iu":
            return x
        return x.astype(np.float32, copy=False)

    def _call_symbolic(self, inputs):
        if not all(isinstance(t, KerasTensor) for t in _flatten(inputs)):
            raise ValueError(
                f"{self.name}: mixing KerasTensors and arrays in one call is not supported"
            )
        input_shape = _map_shapes(lambda t: t.shape, inputs)
        self._maybe_build(input_shape)
        out_shape = self.compute_output_shape(input_shape)
        if isinstance(out_shape, list):
            outputs = [KerasTensor(s) for s in out_shape]
        else:
            outputs = KerasTensor(out_shape)
        Node(self, inputs, outputs)
        return outputs

    @property
    def output(self):
        if not self._inbound_nodes:
            raise AttributeError(
                f"Layer {self.name!r} has never been called and thus has no defined output."
            )
        return self._inbound_nodes[0].outputs

    @property
    def input(self):
        if not self._inbound_nodes:
            raise AttributeError(
                f"Layer {self.name!r} has never been called and thus has no defined input."
            )
        return self._inbound_nodes[0].inputs

    @property
    def input_shape(self):
        """The shape(s) of the inputs of the layer's first call (Keras 2's layer.input_shape)."""
        if self._inbound_nodes:
            return _map_shapes(lambda t: t.shape, self._inbound_nodes[0].inputs)
        if self.built and self._build_input_shape is not None:
            return self._build_input_shape
        raise AttributeError(f"Layer {self.name!r} has no defined input shape yet.")

    @property
    def output_shape(self):
        if self._inbound_nodes:
            return _map_shapes(lambda t: t.shape, self._inbound_nodes[0].outputs)
        if self.built:
            return self.compute_output_shape(self._build_input_shape)
        raise AttributeError(f"Layer {self.name!r} has no defined output shape yet.")

    # --- configuration --------------------------------------------------------------------------

    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self.trainable, "dtype": "float32"}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config):
        # Keras 3's configs carry keys without effect here (keras_config drops them).
        return cls(**keras_config.constructor_kwargs(config))

    def get_build_config(self):
        """The input shape the layer was built for, as Keras records it (None when unbuilt)."""
        shape = self._build_input_shape
        if not self.built or shape is None:
            return None
        return {"input_shape": [list(s) for s in shape] if isinstance(shape, list) else list(shape)}

    def build_from_config(self, config) -> None:
        shape = config["input_shape"]
        if shape and isinstance(shape[0], list):
            shape = [tuple(s) for s in shape]
        else:
            shape = tuple(shape)
        self._maybe_build(shape)
        if self._defines_call:  # its sublayers make their weights when first called
            taped.output_shape_by_call(self, shape)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"
