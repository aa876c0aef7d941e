"""Conv2DTranspose: the transposed 2-D convolution over NHWC images (decoders, upsampling)."""

from __future__ import annotations

from ... import ops
from ..._padding import transpose_size
from .. import activations, initializers, regularizers
from . import arguments
from .convolutional import _check_image
from .core import _Activated


class Conv2DTranspose(_Activated):
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
        super().__init__(**kwargs)
        arguments.channels_last(data_format)
        arguments.refuse(
            "Conv2DTranspose",
            activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint,
        )
        if arguments.pair("dilation_rate", dilation_rate) != (1, 1):
            raise ValueError(
                f"Conv2DTranspose: dilation_rate != 1 is not supported, got {dilation_rate!r}"
            )
        self.filters = arguments.positive_int("filters", filters)
        self.kernel_size = arguments.pair("kernel_size", kernel_size)
        self.strides = arguments.pair("strides", strides)
        self.padding = arguments.padding(padding)
        self.output_padding = arguments.output_padding(output_padding, self.strides)
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
            self.kernel_size + (self.filters, input_shape[-1]),
            self.kernel_initializer,
            self.kernel_regularizer,
        )
        self.bias = (
            self.add_weight("bias", (self.filters,), self.bias_initializer, self.bias_regularizer)
            if self.use_bias
            else None
        )

    def _run(self, x, activation):
        z = ops.conv2d_transpose(
            x,
            self.kernel.value,
            None if self.bias is None else self.bias.value,
            self.strides,
            self.padding,
            self.output_padding,
        )
        y = activations.forward(activation, z)
        return y, (x, y, activation)

    _can_skip_dx = True

    def backward(self, ctx, dy, need_dx=True):
        x, y, activation = ctx
        dz = activations.backward(activation, dy, y)
        dx, dw, db = ops.conv2d_transpose_backward(
            dz, x, self.kernel.value, self.strides, self.padding, self.output_padding, need_dx
        )
        return dx, ([dw, db] if self.use_bias else [dw])

    def compute_output_shape(self, input_shape):
        _check_image(self, input_shape)
        n, h, w, _ = input_shape
        op = self.output_padding or (None, None)
        sizes = [
            None if size is None else transpose_size(size, k, s, p, self.padding)
            for size, k, s, p in zip((h, w), self.kernel_size, self.strides, op)
        ]
        return (n, *sizes, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "output_padding": None if self.output_padding is None else list(self.output_padding),
            "data_format": "channels_last",
            "dilation_rate": [1, 1],
            "activation": self.activation,
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
        }
