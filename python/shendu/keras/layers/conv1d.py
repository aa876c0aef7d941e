"""Conv1D over (batch, steps, channels) sequences, on the 2-D convolution of one-row images."""

from __future__ import annotations

from ... import _device
from .. import activations
from . import arguments
from .convolutional import Conv2D, _out_size


def _check_sequence(layer, input_shape):
    if len(input_shape) != 3:
        raise ValueError(
            f"Input 0 of layer {layer.name!r} is incompatible with the layer: "
            f"expected ndim=3 (batch, steps, channels), found ndim={len(input_shape)}. "
            f"Full shape received: {tuple(input_shape)}"
        )


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

    def build(self, input_shape):
        _check_sequence(self, input_shape)
        if input_shape[-1] is None:
            raise ValueError(
                f"{self.name}: the channel dimension of the input must be known, got {input_shape}"
            )
        self.kernel = self.add_weight(
            "kernel",
            (self.kernel_size[1], self._group_channels(input_shape), self.filters),
            self.kernel_initializer,
            self.kernel_regularizer,
        )
        self.bias = (
            self.add_weight("bias", (self.filters,), self.bias_initializer, self.bias_regularizer)
            if self.use_bias
            else None
        )

    def _run(self, x, activation):
        left = self._causal_left()
        if left:
            x = _device.array_module(x).pad(x, ((0, 0), (left, 0), (0, 0)))
        y = activations.forward(activation, self._conv(x[:, None], self.kernel.value[None])[:, 0])
        return y, (x, y, activation)

    def backward(self, ctx, dy, need_dx=True):
        x, y, activation = ctx
        dz = activations.backward(activation, dy, y)
        dx, dw, db = self._conv_backward(dz[:, None], x[:, None], self.kernel.value[None], need_dx)
        if dx is not None:
            dx = dx[:, 0, self._causal_left() :]
        return dx, ([dw[0], db] if self.use_bias else [dw[0]])

    def compute_output_shape(self, input_shape):
        _check_sequence(self, input_shape)
        n, steps, _ = input_shape
        if steps is not None:
            steps += self._causal_left()
        k, s, d = self.kernel_size[1], self.strides[1], self.dilation_rate[1]
        return (n, _out_size(steps, k, s, self.padding, d), self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "kernel_size": [self.kernel_size[1]],
            "strides": [self.strides[1]],
            "padding": "causal" if self.causal else self.padding,
            "dilation_rate": [self.dilation_rate[1]],
        }
