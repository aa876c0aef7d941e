"""DepthwiseConv2D and SeparableConv2D (depthwise, then a pointwise 1x1 convolution) over NHWC
images: the Xception / MobileNet blocks."""

from __future__ import annotations

from ... import ops
from . import arguments
from .base_conv import _BaseConv


class DepthwiseConv2D(_BaseConv):
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

    _config_keys = (
        "kernel_size",
        "strides",
        "padding",
        "depth_multiplier",
        "data_format",
        "dilation_rate",
        "activation",
        "use_bias",
    )

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
        super().__init__(
            kernel_size,
            strides,
            padding,
            data_format,
            dilation_rate,
            activation,
            use_bias,
            {
                "depthwise": (depthwise_initializer, depthwise_regularizer, depthwise_constraint),
                "bias": (bias_initializer, bias_regularizer, bias_constraint),
            },
            activity_regularizer,
            **kwargs,
        )
        self.depth_multiplier = arguments.positive_int("depth_multiplier", depth_multiplier)

    def build(self, input_shape):
        c = self._channels(input_shape)
        self.kernel = self.add_weight(
            "kernel",
            self.kernel_size + (c, self.depth_multiplier),
            self.depthwise_initializer,
            self.depthwise_regularizer,
        )
        self.bias = self._add_bias(c * self.depth_multiplier)

    def _convolve(self, x):
        bias = None if self.bias is None else self.bias.value
        args = (self.strides, self.padding, self.dilation_rate)
        return ops.depthwise_conv2d(x, self.kernel.value, bias, *args), x

    def _convolve_backward(self, x, dz, need_dx):
        args = (self.strides, self.padding, need_dx, self.dilation_rate)
        return ops.depthwise_conv2d_backward(dz, x, self.kernel.value, *args)

    def compute_output_shape(self, input_shape):
        c = input_shape[-1]
        return self._output_shape(input_shape, None if c is None else c * self.depth_multiplier)


class SeparableConv2D(_BaseConv):
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

    _config_keys = (
        "kernel_size",
        "strides",
        "padding",
        "depth_multiplier",
        "data_format",
        "dilation_rate",
        "activation",
        "use_bias",
        "filters",
    )

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
        super().__init__(
            kernel_size,
            strides,
            padding,
            data_format,
            dilation_rate,
            activation,
            use_bias,
            {
                "depthwise": (depthwise_initializer, depthwise_regularizer, depthwise_constraint),
                "pointwise": (pointwise_initializer, pointwise_regularizer, pointwise_constraint),
                "bias": (bias_initializer, bias_regularizer, bias_constraint),
            },
            activity_regularizer,
            **kwargs,
        )
        self.depth_multiplier = arguments.positive_int("depth_multiplier", depth_multiplier)
        self.filters = arguments.positive_int("filters", filters)

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
        self.bias = self._add_bias(self.filters)

    def _convolve(self, x):
        args = (self.strides, self.padding, self.dilation_rate)
        d = ops.depthwise_conv2d(x, self.depthwise_kernel.value, None, *args)
        bias = None if self.bias is None else self.bias.value
        return ops.conv2d(d, self.pointwise_kernel.value, bias), (x, d)  # 1x1: one GEMM

    def _convolve_backward(self, ctx, dz, need_dx):
        x, d = ctx
        dd, dpw, db = ops.conv2d_backward(dz, d, self.pointwise_kernel.value)
        args = (self.strides, self.padding, need_dx, self.dilation_rate)
        dx, ddw, _ = ops.depthwise_conv2d_backward(dd, x, self.depthwise_kernel.value, *args)
        return dx, ddw, dpw, db

    def compute_output_shape(self, input_shape):
        return self._output_shape(input_shape, self.filters)
