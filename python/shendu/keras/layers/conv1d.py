"""Conv1D over (batch, steps, channels) sequences, on the 2-D convolution of one-row images."""

from __future__ import annotations

from ... import _device
from . import arguments
from .base_conv import out_size
from .convolutional import Conv2D


class Conv1D(Conv2D):
    """1-D convolution over sequences: ``activation(conv1d(inputs, kernel) + bias)``.

    It runs as a 2-D convolution of images one row high (the kernel (1, kernel_size)), which takes
    the same kernels a dedicated 1-D path would: im2col and a GEMM for wide channels, the direct
    kernels for few.

    Args:
        filters: the number of output channels.
        kernel_size: the window's length (an int or a 1-tuple).
        strides: the step between windows.
        padding: "valid", "same" or "causal" (zeros before the sequence only, so ``output[t]``
            sees ``inputs[: t + 1]``; output length ``ceil(steps / strides)``).
        dilation_rate: the step between the kernel's taps; > 1 only with strides 1.
        groups: channel groups, as in Conv2D.
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
            bias_regularizer: as in Conv2D.

    Input shape: ``(batch, steps, channels)``. Output shape: ``(batch, new_steps, filters)``.
    The kernel has shape ``(kernel_size, channels, filters)``.
    """

    _ndim, _axes = 3, "(batch, steps, channels)"

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
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
        causal = isinstance(padding, str) and padding.lower() == "causal"
        super().__init__(
            filters,
            (1, arguments.single("kernel_size", kernel_size)),
            (1, arguments.single("strides", strides)),
            "valid" if causal else padding,
            data_format,
            (1, arguments.single("dilation_rate", dilation_rate)),
            groups,
            activation,
            use_bias,
            kernel_initializer,
            bias_initializer,
            kernel_regularizer,
            bias_regularizer,
            activity_regularizer,
            kernel_constraint,
            bias_constraint,
            **kwargs,
        )
        self.causal = causal

    def _causal_left(self):
        """The zeros a causal layer puts before the sequence: the dilated kernel's length - 1."""
        return (self.kernel_size[1] - 1) * self.dilation_rate[1] if self.causal else 0

    def _kernel_window(self):
        return self.kernel_size[1:]

    def _convolve(self, x):
        left = self._causal_left()
        if left:
            x = _device.array_module(x).pad(x, ((0, 0), (left, 0), (0, 0)))
        return self._conv(x[:, None], self.kernel.value[None])[:, 0], x

    def _convolve_backward(self, x, dz, need_dx):
        dx, dw, db = self._conv_backward(dz[:, None], x[:, None], self.kernel.value[None], need_dx)
        return (None if dx is None else dx[:, 0, self._causal_left() :]), dw[0], db

    def compute_output_shape(self, input_shape):
        arguments.input_ndim(self, input_shape, 3, self._axes)
        n, steps, _ = input_shape
        if steps is not None:
            steps += self._causal_left()
        k, s, d = self.kernel_size[1], self.strides[1], self.dilation_rate[1]
        return (n, out_size(steps, k, s, self.padding, d), self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "kernel_size": [self.kernel_size[1]],
            "strides": [self.strides[1]],
            "padding": "causal" if self.causal else self.padding,
            "dilation_rate": [self.dilation_rate[1]],
        }
