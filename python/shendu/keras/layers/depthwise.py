"""DepthwiseConv2D and SeparableConv2D (depthwise, then a pointwise 1x1 convolution) over NHWC
images: the Xception / MobileNet blocks."""

from __future__ import annotations

from ... import ops
from .. import activations, initializers, regularizers
from . import arguments
from .convolutional import _check_image, _out_size
from .core import _Activated


class _Depthwise(_Activated):
    """The arguments and depthwise kernel DepthwiseConv2D and SeparableConv2D share."""

    def _init_depthwise(
        self, kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate
    ):
        arguments.channels_last(data_format)
        self.kernel_size = arguments.pair("kernel_size", kernel_size)
        self.strides = arguments.pair("strides", strides)
        self.padding = arguments.padding(padding)
        self.dilation_rate = arguments.dilation(dilation_rate, self.strides)
        self.depth_multiplier = arguments.positive_int("depth_multiplier", depth_multiplier)

    def _window(self):
        return self.strides, self.padding, self.dilation_rate

    def _channels(self, input_shape):
        _check_image(self, input_shape)
        if input_shape[-1] is None:
            raise ValueError(
                f"{self.name}: the channel dimension of the input must be known, got {input_shape}"
            )
        return input_shape[-1]

    def _depthwise_shape(self, input_shape):
        n, h, w, c = input_shape
        return (
            n,
            _out_size(h, self.kernel_size[0], self.strides[0], self.padding, self.dilation_rate[0]),
            _out_size(w, self.kernel_size[1], self.strides[1], self.padding, self.dilation_rate[1]),
            None if c is None else c * self.depth_multiplier,
        )

    def _depthwise_config(self):
        return {
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "depth_multiplier": self.depth_multiplier,
            "data_format": "channels_last",
            "dilation_rate": list(self.dilation_rate),
            "activation": self.activation,
            "use_bias": self.use_bias,
        }

    _can_skip_dx = True


class DepthwiseConv2D(_Depthwise):
    """Depthwise 2-D convolution: each input channel convolved with its own
    ``depth_multiplier`` filters, ``activation(depthwise_conv2d(inputs, kernel) + bias)``.

    Args:
        kernel_size: the window's (height, width), or one int for both.
        strides: the step between windows, (rows, columns) or one int.
        padding: "valid" or "same", as in Conv2D.
        depth_multiplier: output channels per input channel; output channel ``c * M + m`` is
            input channel ``c`` through filter ``kernel[:, :, c, m]``.
        dilation_rate: the step between the kernel's taps; > 1 only with strides 1.
        activation, use_bias: as in Conv2D.
        depthwise_initializer / bias_initializer, depthwise_regularizer / bias_regularizer:
            the kernel's and the bias's initializers and penalties.

    Input shape: ``(batch, height, width, channels)``.
    Output shape: ``(batch, new_height, new_width, channels * depth_multiplier)``. The kernel has
    shape ``(kernel_height, kernel_width, channels, depth_multiplier)``.
    """

    def __init__(
        self,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        depth_multiplier=1,
        data_format=None,
        dilation_rate=(1, 1),
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        arguments.refuse(
            "DepthwiseConv2D",
            activity_regularizer=activity_regularizer,
            depthwise_constraint=depthwise_constraint,
            bias_constraint=bias_constraint,
        )
        self._init_depthwise(
            kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate
        )
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def build(self, input_shape):
        c = self._channels(input_shape)
        self.kernel = self.add_weight(
            "kernel",
            self.kernel_size + (c, self.depth_multiplier),
            self.depthwise_initializer,
            self.depthwise_regularizer,
        )
        self.bias = (
            self.add_weight(
                "bias", (c * self.depth_multiplier,), self.bias_initializer, self.bias_regularizer
            )
            if self.use_bias
            else None
        )

    def _run(self, x, activation):
        bias = None if self.bias is None else self.bias.value
        z = ops.depthwise_conv2d(x, self.kernel.value, bias, *self._window())
        y = activations.forward(activation, z)
        return y, (x, y, activation)

    def backward(self, ctx, dy, need_dx=True):
        x, y, activation = ctx
        dz = activations.backward(activation, dy, y)
        dx, dw, db = ops.depthwise_conv2d_backward(
            dz, x, self.kernel.value, self.strides, self.padding, need_dx, self.dilation_rate
        )
        return dx, ([dw, db] if self.use_bias else [dw])

    def compute_output_shape(self, input_shape):
        return self._depthwise_shape(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            **self._depthwise_config(),
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
        }


class SeparableConv2D(_Depthwise):
    """Depthwise separable 2-D convolution: a depthwise convolution (no bias), then a pointwise
    1x1 convolution mixing its channels into ``filters``,
    ``activation(conv2d(depthwise_conv2d(inputs, depthwise_kernel), pointwise_kernel) + bias)``.

    Args:
        filters: the number of output channels.
        kernel_size, strides, padding, depth_multiplier: the depthwise step's, as in
            DepthwiseConv2D.
        dilation_rate: the depthwise step's, as in DepthwiseConv2D.
        activation, use_bias: as in Conv2D.
        depthwise_initializer / pointwise_initializer / bias_initializer, and the matching
            regularizers: per weight.

    Input shape: ``(batch, height, width, channels)``.
    Output shape: ``(batch, new_height, new_width, filters)``. The weights are, in order,
    depthwise_kernel ``(kernel_height, kernel_width, channels, depth_multiplier)``,
    pointwise_kernel ``(1, 1, channels * depth_multiplier, filters)`` and bias ``(filters,)``.
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        data_format=None,
        dilation_rate=(1, 1),
        depth_multiplier=1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        pointwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        pointwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        pointwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        arguments.refuse(
            "SeparableConv2D",
            activity_regularizer=activity_regularizer,
            depthwise_constraint=depthwise_constraint,
            pointwise_constraint=pointwise_constraint,
            bias_constraint=bias_constraint,
        )
        self._init_depthwise(
            kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate
        )
        self.filters = arguments.positive_int("filters", filters)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def build(self, input_shape):
        c = self._channels(input_shape)
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel",
            self.kernel_size + (c, self.depth_multiplier),
            self.depthwise_initializer,
            self.depthwise_regularizer,
        )
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel",
            (1, 1, c * self.depth_multiplier, self.filters),
            self.pointwise_initializer,
            self.pointwise_regularizer,
        )
        self.bias = (
            self.add_weight("bias", (self.filters,), self.bias_initializer, self.bias_regularizer)
            if self.use_bias
            else None
        )

    def _run(self, x, activation):
        d = ops.depthwise_conv2d(x, self.depthwise_kernel.value, None, *self._window())
        bias = None if self.bias is None else self.bias.value
        z = ops.conv2d(d, self.pointwise_kernel.value, bias)  # 1x1: one GEMM over the cells
        y = activations.forward(activation, z)
        return y, (x, d, y, activation)

    def backward(self, ctx, dy, need_dx=True):
        x, d, y, activation = ctx
        dz = activations.backward(activation, dy, y)
        dd, dpw, db = ops.conv2d_backward(dz, d, self.pointwise_kernel.value)
        dx, ddw, _ = ops.depthwise_conv2d_backward(
            dd,
            x,
            self.depthwise_kernel.value,
            self.strides,
            self.padding,
            need_dx,
            self.dilation_rate,
        )
        return dx, ([ddw, dpw, db] if self.use_bias else [ddw, dpw])

    def compute_output_shape(self, input_shape):
        return (*self._depthwise_shape(input_shape)[:3], self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            **self._depthwise_config(),
            "filters": self.filters,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
        }
