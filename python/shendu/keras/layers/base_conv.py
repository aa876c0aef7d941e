"""What the convolution layers share, as Keras's BaseConv: the window arguments, the activation,
the weights' initializers and regularizers, the input checks and get_config."""

from __future__ import annotations

from ..._padding import window_axis
from .. import activations, initializers, regularizers
from . import arguments
from .core import _Activated

IMAGE_AXES = "(batch, height, width, channels)"


def out_size(size, window, stride, padding, dilation=1):
    """The number of windows along an axis of ``size`` cells (None when the size is unknown)."""
    if size is None:
        return None
    return max(0, window_axis(size, (window - 1) * dilation + 1, stride, padding)[0])


class _BaseConv(_Activated):
    """A convolution over NHWC images (or sequences, for Conv1D): ``activation(z)``, where the
    subclass's ``_convolve(x)`` returns ``(z, ctx)`` and ``_convolve_backward(ctx, dz, need_dx)``
    returns ``(dx, *kernel_gradients, bias_gradient)``.

    __init__ takes the Keras arguments every convolution has; ``weights`` maps each weight's
    argument prefix ("kernel", "depthwise", "pointwise", "bias"), in Keras's config order, to its
    ``(initializer, regularizer, constraint)`` arguments, which become the attributes
    ``<prefix>_initializer`` and ``<prefix>_regularizer``.
    """

    # get_config's keys before the weights', in Keras's order: attributes of the same name
    # (tuples written as lists).
    _config_keys = ()
    # The input's rank and axes, for the error on another rank.
    _ndim, _axes = 4, IMAGE_AXES
    # backward takes need_dx: a model's first layer skips the gradient of its input data.
    _can_skip_dx = True

    def __init__(
        self,
        kernel_size,
        strides,
        padding,
        data_format,
        dilation_rate,
        activation,
        use_bias,
        weights,
        activity_regularizer,
        **kwargs,
    ):
        super().__init__(**kwargs)
        arguments.channels_last(data_format)
        arguments.refuse(
            type(self).__name__,
            activity_regularizer=activity_regularizer,
            **{f"{w}_constraint": constraint for w, (_, _, constraint) in weights.items()},
        )
        self.kernel_size = arguments.pair("kernel_size", kernel_size)
        self.strides = arguments.pair("strides", strides)
        self.padding = arguments.padding(padding)
        self.data_format = "channels_last"
        self.dilation_rate = arguments.dilation(dilation_rate, self.strides)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self._weight_prefixes = tuple(weights)
        for w, (initializer, _, _) in weights.items():
            setattr(self, f"{w}_initializer", initializers.get(initializer))
        for w, (_, regularizer, _) in weights.items():
            setattr(self, f"{w}_regularizer", regularizers.get(regularizer))

    def _channels(self, input_shape):
        """The input's channel count, which the kernels' shapes need."""
        arguments.input_ndim(self, input_shape, self._ndim, self._axes)
        if input_shape[-1] is None:
            raise ValueError(
                f"{self.name}: the channel dimension of the input must be known, got {input_shape}"
            )
        return input_shape[-1]

    def _add_bias(self, units):
        """The bias of ``units`` values, or None without use_bias."""
        if not self.use_bias:
            return None
        return self.add_weight("bias", (units,), self.bias_initializer, self.bias_regularizer)

    def _run(self, x, activation):
        z, ctx = self._convolve(x)
        y = activations.forward(activation, z)
        return y, (ctx, y, activation)

    def backward(self, ctx, dy, need_dx=True):
        ctx, y, activation = ctx
        dz = activations.backward(activation, dy, y)
        dx, *grads, db = self._convolve_backward(ctx, dz, need_dx)
        return dx, (grads + [db] if self.use_bias else grads)

    def _output_shape(self, input_shape, channels):
        """The output's shape for NHWC images: the windows along the height and width."""
        arguments.input_ndim(self, input_shape, 4, IMAGE_AXES)
        n, h, w, _ = input_shape
        k, s, d = self.kernel_size, self.strides, self.dilation_rate
        return (
            n,
            out_size(h, k[0], s[0], self.padding, d[0]),
            out_size(w, k[1], s[1], self.padding, d[1]),
            channels,
        )

    def get_config(self):
        config = super().get_config()
        for key in self._config_keys:
            value = getattr(self, key)
            config[key] = list(value) if isinstance(value, tuple) else value
        for w in self._weight_prefixes:
            config[f"{w}_initializer"] = initializers.serialize(getattr(self, f"{w}_initializer"))
        for w in self._weight_prefixes:
            config[f"{w}_regularizer"] = regularizers.serialize(getattr(self, f"{w}_regularizer"))
        return config
