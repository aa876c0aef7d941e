"""Conv2D and 2-D pooling over NHWC images (channels_last, as Keras's default)."""

from __future__ import annotations

from ... import _device, ops
from ..._padding import window_axis
from .. import activations, initializers, regularizers
from . import arguments
from .core import _Activated
from .layer import Layer

# The argmax of max pooling is a uint16 tap index (see ops.max_pool2d).
_MAX_POOL_CELLS = 65536


def _out_size(size, window, stride, padding, dilation=1):
    if size is None:
        return None
    return max(0, window_axis(size, (window - 1) * dilation + 1, stride, padding)[0])


def _split(x, groups):
    """x's last axis cut into `groups` equal contiguous parts."""
    xp = _device.array_module(x)
    return [xp.ascontiguousarray(part) for part in xp.split(x, groups, axis=-1)]


def _concat(parts):
    return _device.array_module(parts[0]).concatenate(parts, axis=-1)


def _check_image(layer, input_shape):
    if len(input_shape) != 4:
        raise ValueError(
            f"Input 0 of layer {layer.name!r} is incompatible with the layer: "
            f"expected ndim=4 (batch, height, width, channels), found "
            f"ndim={len(input_shape)}. Full shape received: {tuple(input_shape)}"
        )


class Conv2D(_Activated):
    """2-D convolution over NHWC images: ``activation(conv2d(inputs, kernel) + bias)``.

    Args:
        filters: the number of output channels.
        kernel_size: the window's (height, width), or one int for both.
        strides: the step between windows, (rows, columns) or one int.
        padding: "valid" (windows inside the image) or "same" (output size
            ``ceil(input / stride)``, zero padding split as TensorFlow does).
        dilation_rate: the step between the kernel's taps, (rows, columns) or one int; > 1 only
            with strides 1, as in Keras.
        groups: the number of channel groups: filters ``g * filters / groups`` onwards see only
            input channels ``g * channels / groups`` onwards (both must divide evenly).
        activation: "relu", "sigmoid", "tanh", "softmax", "linear" or None.
        use_bias, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer:
            as in Dense.

    Input shape: ``(batch, height, width, channels)``.
    Output shape: ``(batch, new_height, new_width, filters)``.
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        data_format=None,
        dilation_rate=(1, 1),
        groups=1,
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
        arguments.channels_last(data_format)
        arguments.refuse(
            type(self).__name__,
            activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint,
        )
        self.filters = arguments.positive_int("filters", filters)
        self.groups = arguments.positive_int("groups", groups)
        if self.filters % self.groups:
            raise ValueError(
                "The number of filters must be evenly divisible by the number of groups. "
                f"Received: groups={groups}, filters={filters}."
            )
        self.kernel_size = arguments.pair("kernel_size", kernel_size)
        self.strides = arguments.pair("strides", strides)
        self.padding = arguments.padding(padding)
        self.dilation_rate = arguments.dilation(dilation_rate, self.strides)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def build(self, input_shape):
        _check_image(self, input_shape)
        if input_shape[-1] is None:
            raise ValueError(
                f"{self.name}: the channel dimension of the input must be known, got {input_shape}"
            )
        self.kernel = self.add_weight(
            "kernel",
            self.kernel_size + (self._group_channels(input_shape), self.filters),
            self.kernel_initializer,
            self.kernel_regularizer,
        )
        self.bias = (
            self.add_weight("bias", (self.filters,), self.bias_initializer, self.bias_regularizer)
            if self.use_bias
            else None
        )

    def _group_channels(self, input_shape):
        """The input channels each group sees (the kernel's axis -2)."""
        if input_shape[-1] % self.groups:
            raise ValueError(
                "The number of input channels must be evenly divisible by the number of groups. "
                f"Received groups={self.groups}, but the input has {input_shape[-1]} channels "
                f"(full input shape is {tuple(input_shape)})."
            )
        return input_shape[-1] // self.groups

    def _conv(self, x, kernel):
        """conv2d(x, kernel) + bias, group by group (a conv2d on each group's channels)."""
        bias = None if self.bias is None else self.bias.value
        args = (self.strides, self.padding, self.dilation_rate)
        if self.groups == 1:
            return ops.conv2d(x, kernel, bias, *args)
        biases = [None] * self.groups if bias is None else _split(bias, self.groups)
        parts = zip(_split(x, self.groups), _split(kernel, self.groups), biases)
        return _concat([ops.conv2d(xg, kg, bg, *args) for xg, kg, bg in parts])

    def _conv_backward(self, dz, x, kernel, need_dx):
        """(dx, dw, db) of _conv."""
        args = (self.strides, self.padding, need_dx, self.dilation_rate)
        if self.groups == 1:
            return ops.conv2d_backward(dz, x, kernel, *args)
        parts = zip(*(_split(a, self.groups) for a in (dz, x, kernel)))
        dxs, dws, dbs = zip(*(ops.conv2d_backward(d, xg, kg, *args) for d, xg, kg in parts))
        return _concat(dxs) if need_dx else None, _concat(dws), _concat(dbs)

    def _run(self, x, activation):
        y = activations.forward(activation, self._conv(x, self.kernel.value))
        return y, (x, y, activation)

    # backward takes need_dx: a model's first layer skips the gradient of its input data.
    _can_skip_dx = True

    def backward(self, ctx, dy, need_dx=True):
        x, y, activation = ctx
        dz = activations.backward(activation, dy, y)
        dx, dw, db = self._conv_backward(dz, x, self.kernel.value, need_dx)
        return dx, ([dw, db] if self.use_bias else [dw])

    def compute_output_shape(self, input_shape):
        _check_image(self, input_shape)
        n, h, w, _ = input_shape
        return (
            n,
            _out_size(h, self.kernel_size[0], self.strides[0], self.padding, self.dilation_rate[0]),
            _out_size(w, self.kernel_size[1], self.strides[1], self.padding, self.dilation_rate[1]),
            self.filters,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": "channels_last",
            "dilation_rate": list(self.dilation_rate),
            "groups": self.groups,
            "activation": self.activation,
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
        }


class _Pooling2D(Layer):
    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        arguments.channels_last(data_format)
        self.pool_size = arguments.pair("pool_size", pool_size)
        self.strides = self.pool_size if strides is None else arguments.pair("strides", strides)
        self.padding = arguments.padding(padding)

    def compute_output_shape(self, input_shape):
        _check_image(self, input_shape)
        n, h, w, c = input_shape
        return (
            n,
            _out_size(h, self.pool_size[0], self.strides[0], self.padding),
            _out_size(w, self.pool_size[1], self.strides[1], self.padding),
            c,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": list(self.pool_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": "channels_last",
        }


class MaxPooling2D(_Pooling2D):
    """The maximum of each window of NHWC images, channel by channel.

    Args:
        pool_size: the window's (height, width), or one int for both.
        strides: the step between windows (default: pool_size).
        padding: "valid" or "same" (padding cells are never the maximum).

    Input shape: ``(batch, height, width, channels)``.
    Output shape: ``(batch, new_height, new_width, channels)``.
    """

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)
        cells = self.pool_size[0] * self.pool_size[1]
        if cells > _MAX_POOL_CELLS:
            raise ValueError(
                f"MaxPooling2D: pool_size {self.pool_size} has {cells} cells, at most "
                f"{_MAX_POOL_CELLS} are supported"
            )

    def forward(self, x, training=False):
        y, argmax = ops.max_pool2d(x, self.pool_size, self.strides, self.padding)
        return y, (argmax, x.shape)

    def backward(self, ctx, dy):
        argmax, x_shape = ctx
        dx = ops.max_pool2d_backward(
            dy, argmax, x_shape, self.pool_size, self.strides, self.padding
        )
        return dx, []


class AveragePooling2D(_Pooling2D):
    """The mean of each window of NHWC images, channel by channel.

    Args:
        pool_size: the window's (height, width), or one int for both.
        strides: the step between windows (default: pool_size).
        padding: "valid" or "same" (a window's mean counts only the input cells it covers).

    Input shape: ``(batch, height, width, channels)``.
    Output shape: ``(batch, new_height, new_width, channels)``.
    """

    def forward(self, x, training=False):
        return ops.avg_pool2d(x, self.pool_size, self.strides, self.padding), x.shape

    def backward(self, x_shape, dy):
        return ops.avg_pool2d_backward(dy, x_shape, self.pool_size, self.strides, self.padding), []


MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
