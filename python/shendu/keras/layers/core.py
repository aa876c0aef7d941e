"""Core layers: InputLayer / Input, Dense, Activation, Softmax, Dropout, Flatten, Reshape."""

from __future__ import annotations

import math

import numpy as np

from ... import _device, ops
from .. import activations, backend, initializers, regularizers
from ..tensors import KerasTensor, Node
from . import arguments
from .layer import Layer


class InputLayer(Layer):
    """The entry of a model: a symbolic tensor of a given shape (``keras.Input`` makes one).

    Args:
        shape: the shape of one sample, without the batch dimension (None for any size).
        batch_size: a fixed batch size, or None.
        dtype: the data's dtype (float32 by default; integer ids for an Embedding; "string"
            for a text layer such as TextVectorization).
        batch_shape: the full shape, batch dimension included, instead of shape/batch_size.
        name: the layer's name.

    Output shape: ``(batch_size,) + shape``.
    """

    def __init__(
        self,
        shape=None,
        batch_size=None,
        dtype=None,
        sparse=None,
        batch_shape=None,
        name=None,
        input_tensor=None,
        **kwargs,
    ):
        if "input_shape" in kwargs:  # the TF-Keras spelling
            shape = kwargs.pop("input_shape")
        if "batch_input_shape" in kwargs:
            batch_shape = kwargs.pop("batch_input_shape")
        super().__init__(name=name or backend.unique_name("input_layer"), **kwargs)
        arguments.refuse("InputLayer", input_tensor=input_tensor)
        if sparse:
            raise ValueError("InputLayer: sparse inputs are not supported by shendu")
        if batch_shape is not None:
            self.batch_shape = arguments.shape_tuple(batch_shape, "batch_shape")
        elif shape is not None:
            self.batch_shape = (batch_size,) + arguments.shape_tuple(shape, "shape")
        else:
            raise ValueError("You must pass a `shape` argument to Input / InputLayer.")
        self.input_dtype = _dtype_name(dtype)
        self.built = True
        Node(self, [], KerasTensor(self.batch_shape, self.input_dtype, name=self.name))

    def forward(self, inputs, training=False):
        return inputs, None

    def backward(self, ctx, doutputs):
        return doutputs, []

    def get_config(self):
        return {
            "batch_shape": list(self.batch_shape),
            "dtype": self.input_dtype,
            "sparse": False,
            "name": self.name,
        }


def _dtype_name(dtype) -> str:
    """An input's dtype name: float32 by default, "string" for text (Keras's name)."""
    if dtype is None:
        return "float32"
    if dtype in ("string", str, bytes):
        return "string"
    return np.dtype(dtype).name


def Input(
    shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None, tensor=None
):
    """keras.Input: a symbolic tensor to build a functional model (or start a Sequential) from."""
    layer = InputLayer(
        shape=shape,
        batch_size=batch_size,
        dtype=dtype,
        sparse=sparse,
        batch_shape=batch_shape,
        name=name,
        input_tensor=tensor,
    )
    return layer.output


def _fusable(activation):
    """The activation, when it is the softmax/sigmoid whose logits a cross-entropy may take."""
    return activation if activation in ("softmax", "sigmoid") else None


class _Activated(Layer):
    """A layer computing activation(z) for a z of its own: subclasses define _run(x, activation)
    returning (y, ctx), and backward(ctx, dy[, need_dx]), for the activations their kernels fuse
    (activations.EPILOGUE). The others run after the kernel (run linear) and are undone before the
    subclass's backward, which every subclass's backward is wrapped in. forward_logits stops at z
    for a loss that fuses the activation."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "backward" in cls.__dict__:
            cls._linear_backward = cls.__dict__["backward"]
            cls.backward = _Activated._backward

    def forward(self, x, training=False):
        if self.activation in activations.EPILOGUE:
            return self._run(x, self.activation)
        z, ctx = self._run(x, "linear")
        y = activations.forward(self.activation, z)
        return y, _After(ctx, z, y)

    def _backward(self, ctx, dy, **kwargs):
        if type(ctx) is _After:
            dy = activations.backward(self.activation, dy, ctx.y, ctx.z)
            ctx = ctx.inner
        return self._linear_backward(ctx, dy, **kwargs)

    def forward_logits(self, x, training=False):
        return self._run(x, "linear")

    def output_activation(self):
        return _fusable(self.activation)


class _After:
    """The context of an activation applied after a layer's kernel: z in, y out."""

    __slots__ = ("inner", "z", "y")

    def __init__(self, inner, z, y):
        self.inner, self.z, self.y = inner, z, y


class Dense(_Activated):
    """A fully connected layer: ``activation(inputs @ kernel + bias)``.

    Args:
        units: the size of the output's last dimension.
        activation: "relu", "sigmoid", "tanh", "softmax", "linear" or None.
        use_bias: whether to add a bias vector.
        kernel_initializer / bias_initializer: initializers of the weights.
        kernel_regularizer / bias_regularizer: penalties on the weights, or None.

    Input shape: ``(batch, ..., input_dim)``. Output shape: ``(batch, ..., units)``.
    """

    supports_masking = True

    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        arguments.refuse(
            "Dense",
            activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint,
        )
        self.units = arguments.positive_int("units", units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def build(self, input_shape):
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ValueError(
                f"{self.name}: the last dimension of the input must be known, got "
                f"input shape {input_shape}"
            )
        self.kernel = self.add_weight(
            "kernel", (in_dim, self.units), self.kernel_initializer, self.kernel_regularizer
        )
        self.bias = (
            self.add_weight("bias", (self.units,), self.bias_initializer, self.bias_regularizer)
            if self.use_bias
            else None
        )

    def _run(self, x, activation):
        lead = x.shape[:-1]
        x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        y = ops.dense(
            x2, self.kernel.value, None if self.bias is None else self.bias.value, activation
        )
        return y.reshape(lead + (self.units,)), (x2, y, activation, x.shape)

    # backward takes need_dx: a model's first layer skips the gradient of its input data.
    _can_skip_dx = True

    def backward(self, ctx, dy, need_dx=True):
        x2, y, activation, x_shape = ctx
        dx, dw, db = ops.dense_backward(
            dy.reshape(y.shape), x2, self.kernel.value, y, activation, need_dx
        )
        return (None if dx is None else dx.reshape(x_shape)), ([dw, db] if self.use_bias else [dw])

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": self.activation,
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
        }


class Activation(Layer):
    """Applies an activation to its input.

    Args:
        activation: an activation's name (see ``keras.activations``: "relu", "gelu", "silu",
            "softmax" over the last axis ...) or one of its functions.

    Input shape: any. Output shape: the input's.
    """

    supports_masking = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def forward(self, x, training=False):
        y = activations.forward(self.activation, x)
        return y, (x, y)

    def forward_logits(self, x, training=False):
        return x, None

    def output_activation(self):
        return _fusable(self.activation)

    def backward(self, ctx, dy):
        if ctx is None:
            return dy, []
        x, y = ctx
        return activations.backward(self.activation, dy, y, x), []

    def get_config(self):
        return {**super().get_config(), "activation": self.activation}


class Softmax(Activation):
    """Softmax over one axis.

    Args:
        axis: the axis to normalize over (default: the last).

    Input shape: any. Output shape: the input's.
    """

    def __init__(self, axis=-1, **kwargs):
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise ValueError(f"Softmax: axis must be an int, got axis={axis!r}")
        super().__init__("softmax", **kwargs)
        self.axis = int(axis)

    def _last(self, x) -> bool:
        return self.axis in (-1, x.ndim - 1)

    def forward(self, x, training=False):
        if self._last(x):
            return super().forward(x, training)
        xp = _device.array_module(x)
        y = xp.moveaxis(
            ops.softmax(xp.ascontiguousarray(xp.moveaxis(x, self.axis, -1))), -1, self.axis
        )
        return y, (x, y)

    def backward(self, ctx, dy):
        if ctx is None or self._last(dy):
            return super().backward(ctx, dy)
        xp = _device.array_module(dy)
        last = [xp.ascontiguousarray(xp.moveaxis(a, self.axis, -1)) for a in (dy, ctx[1])]
        return xp.moveaxis(ops.softmax_backward(*last), -1, self.axis), []

    def forward_logits(self, x, training=False):
        return (x, None) if self._last(x) else self.forward(x, training)

    def output_activation(self):
        return "softmax" if self.axis == -1 else None

    def compute_output_shape(self, input_shape):
        if not -len(input_shape) <= self.axis < len(input_shape):
            raise ValueError(
                f"{self.name}: axis={self.axis} is out of range for input shape {input_shape}"
            )
        return input_shape

    def get_config(self):
        config = super().get_config()
        del config["activation"]
        return {**config, "axis": self.axis}


class Dropout(Layer):
    """Zeroes a ``rate`` fraction of its inputs while training, scaling the rest by
    ``1 / (1 - rate)``; the identity at inference.

    Args:
        rate: the fraction to drop, in [0, 1).
        seed: seeds this layer's own masks (else they come from keras.backend's generator).

    Input shape: any. Output shape: the input's.
    """

    supports_masking = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        arguments.refuse("Dropout", noise_shape=noise_shape)
        self.rate = arguments.rate("rate", rate)
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(seed)

    def forward(self, x, training=False):
        if not training or self.rate == 0:
            return x, None
        y, mask = ops.dropout(x, self.rate, self._next_seed())
        return y, mask

    def _next_seed(self) -> int:
        """The mask seed of one training step (also drawn by the fused Dense-stack step)."""
        return backend.next_seed() if self._rng is None else int(self._rng.integers(0, 2**32))

    def backward(self, mask, dy):
        return (dy if mask is None else dy * mask), []

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": None}


class Flatten(Layer):
    """Flattens every sample to one dimension.

    Input shape: ``(batch, d1, d2, ...)``. Output shape: ``(batch, d1 * d2 * ...)``.
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(
                f"Flatten: only data_format='channels_last' is supported, got {data_format!r}"
            )

    def forward(self, x, training=False):
        # The size spelled out: NumPy cannot infer a -1 next to a batch of 0 rows.
        return x.reshape(x.shape[0], math.prod(x.shape[1:])), x.shape

    def backward(self, x_shape, dy):
        return dy.reshape(x_shape), []

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if None in rest else math.prod(rest))

    def get_config(self):
        return {**super().get_config(), "data_format": "channels_last"}


class Reshape(Layer):
    """Reshapes every sample to ``target_shape``.

    Args:
        target_shape: the new shape of one sample, without the batch dimension; one entry may be
            -1, inferred from the size.

    Input shape: ``(batch, ...)``. Output shape: ``(batch,) + target_shape``.
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in target_shape) > 1 or any(d < -1 or d == 0 for d in target_shape):
            raise ValueError(
                f"Reshape: target_shape must hold positive sizes and at most one -1, "
                f"got {target_shape}"
            )
        self.target_shape = target_shape

    def _resolve(self, input_shape):
        size = math.prod(input_shape[1:]) if None not in input_shape[1:] else None
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if size is None:
                return tuple(None if d == -1 else d for d in self.target_shape)
            if size % known:
                raise ValueError(
                    f"{self.name}: cannot reshape input of shape {input_shape} to "
                    f"{self.target_shape}"
                )
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if size is not None and size != known:
            raise ValueError(
                f"{self.name}: total size of the input {input_shape} differs from "
                f"target_shape {self.target_shape}"
            )
        return self.target_shape

    def forward(self, x, training=False):
        return x.reshape((x.shape[0],) + self._resolve(x.shape)), x.shape

    def backward(self, x_shape, dy):
        return dy.reshape(x_shape), []

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolve(tuple(input_shape))

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}
