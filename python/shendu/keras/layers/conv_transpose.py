"""Conv2DTranspose: the transposed 2-D convolution over NHWC images (decoders, upsampling)."""

from __future__ import annotations

from ... import ops
from ..._padding import transpose_size
from . import arguments
from .base_conv import IMAGE_AXES, _BaseConv


class Conv2DTranspose(_BaseConv):
    """Transposed 2-D convolution: the input gradient of a Conv2D with the same kernel, strides
    and padding, so it grows images by the strides: ``activation(conv2d_transpose(x) + bias)``.

    Args:
        filters: the number of output channels.
        kernel_size: the window's (height, width), or one int for both.
        strides: the step between windows, (rows, columns) or one int.
        padding: "valid" (output ``(input - 1) * stride + kernel + output_padding``, by default
            ``max(kernel - stride, 0)`` of output padding) or "same" (output ``input * stride``).
        output_padding: None, or (rows, columns) or one int, each < its stride: the extra cells
            at the end of each axis ('same': output ``(input - 1) * stride + kernel % 2 +
            output_padding``).
        dilation_rate: 1 (dilated transposed convolutions are not supported).
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
            bias_regularizer: as in Conv2D.

    Input shape: ``(batch, height, width, channels)``.
    Output shape: ``(batch, new_height, new_width, filters)``. The kernel has shape
    ``(kernel_height, kernel_width, filters, channels)``, as in Keras.
    """

    _config_keys = (
        "filters",
        "kernel_size",
        "strides",
        "padding",
        "output_padding",
        "data_format",
        "dilation_rate",
        "activation",
        "use_bias",
    )

    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        output_padding=None,
        data_format=None,
        dilation_rate=(1, 1),
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
            (1, 1),  # the only one supported: dilation_rate is checked below
            activation,
            use_bias,
            {
                "kernel": (kernel_initializer, kernel_regularizer, kernel_constraint),
                "bias": (bias_initializer, bias_regularizer, bias_constraint),
            },
            activity_regularizer,
            **kwargs,
        )
        if arguments.pair("dilation_rate", dilation_rate) != (1, 1):
            raise ValueError(
                f"Conv2DTranspose: dilation_rate != 1 is not supported, got {dilation_rate!r}"
            )
        self.filters = arguments.positive_int("filters", filters)
        self.output_padding = arguments.output_padding(output_padding, self.strides)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            "kernel",
            self.kernel_size + (self.filters, self._channels(input_shape)),
            self.kernel_initializer,
            self.kernel_regularizer,
        )
        self.bias = self._add_bias(self.filters)

    def _convolve(self, x):
        bias = None if self.bias is None else self.bias.value
        args = (self.strides, self.padding, self.output_padding)
        return ops.conv2d_transpose(x, self.kernel.value, bias, *args), x

    def _convolve_backward(self, x, dz, need_dx):
        args = (self.strides, self.padding, self.output_padding, need_dx)
        return ops.conv2d_transpose_backward(dz, x, self.kernel.value, *args)

    def compute_output_shape(self, input_shape):
        arguments.input_ndim(self, input_shape, 4, IMAGE_AXES)
        n, h, w, _ = input_shape
        op = self.output_padding or (None, None)
        sizes = [
            None if size is None else transpose_size(size, k, s, p, self.padding)
            for size, k, s, p in zip((h, w), self.kernel_size, self.strides, op)
        ]
        return (n, *sizes, self.filters)
