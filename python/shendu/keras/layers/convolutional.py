"""Conv2D and 2-D pooling over NHWC images (channels_last, as Keras's default)."""

from __future__ import annotations

from ... import _device, ops
from . import arguments
from .base_conv import IMAGE_AXES, _BaseConv, out_size
from .layer import Layer

# The argmax of max pooling is a uint16 tap index (see ops.max_pool2d).
_MAX_POOL_CELLS = 65536


def _split(x, groups):
    """x's last axis cut into `groups` equal contiguous parts."""
    xp = _device.array_module(x)
    return [xp.ascontiguousarray(part) for part in xp.split(x, groups, axis=-1)]


def _concat(parts):
    return _device.array_module(parts[0]).concatenate(parts, axis=-1)


class Conv2D(_BaseConv):
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

    _config_keys = (
        "filters",
        "kernel_size",
        "strides",
        "padding",
        "data_format",
        "dilation_rate",
        "groups",
        "activation",
        "use_bias",
    )

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
        super().__init__(
            kernel_size,
            strides,
            padding,
            data_format,
            dilation_rate,
            activation,
            use_bias,
            {
                "kernel": (kernel_initializer, kernel_regularizer, kernel_constraint),
                "bias": (bias_initializer, bias_regularizer, bias_constraint),
            },
            activity_regularizer,
            **kwargs,
        )
        self.filters = arguments.positive_int("filters", filters)
        self.groups = arguments.positive_int("groups", groups)
        if self.filters % self.groups:
            raise ValueError(
                "The number of filters must be evenly divisible by the number of groups. "
                f"Received: groups={groups}, filters={filters}."
            )

    def build(self, input_shape):
        self._channels(input_shape)
        self.kernel = self.add_weight(
            "kernel",
            self._kernel_window() + (self._group_channels(input_shape), self.filters),
            self.kernel_initializer,
            self.kernel_regularizer,
        )
        self.bias = self._add_bias(self.filters)

    def _kernel_window(self):
        """The kernel's leading axes: its taps along the input's spatial axes."""
        return self.kernel_size

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

    def _convolve(self, x):
        return self._conv(x, self.kernel.value), x

    def _convolve_backward(self, x, dz, need_dx):
        return self._conv_backward(dz, x, self.kernel.value, need_dx)

    def compute_output_shape(self, input_shape):
        return self._output_shape(input_shape, self.filters)


class _Pooling2D(Layer):
    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        arguments.channels_last(data_format)
        self.pool_size = arguments.pair("pool_size", pool_size)
        self.strides = self.pool_size if strides is None else arguments.pair("strides", strides)
        self.padding = arguments.padding(padding)

    def compute_output_shape(self, input_shape):
        arguments.input_ndim(self, input_shape, 4, IMAGE_AXES)
        n, h, w, c = input_shape
        return (
            n,
            out_size(h, self.pool_size[0], self.strides[0], self.padding),
            out_size(w, self.pool_size[1], self.strides[1], self.padding),
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
