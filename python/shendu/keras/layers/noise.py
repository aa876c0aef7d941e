"""Regularization layers that act only while training (SpatialDropout1D/2D, GaussianNoise,
GaussianDropout, AlphaDropout) and ActivityRegularization, whose penalty joins the loss."""

from __future__ import annotations

import numpy as np

from ... import _device, ops
from .. import backend
from . import arguments
from .layer import Layer


class _Random(Layer):
    """A layer drawing noise: from its own generator when seeded, else keras.backend's."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(seed)

    def _generator(self):
        return np.random.default_rng(backend.next_seed()) if self._rng is None else self._rng

    def _noise(self, draw, shape, dtype):
        """draw(generator, shape) made on the host, put on the device of the inputs."""
        return _device.to_device(draw(self._generator(), shape).astype(dtype, copy=False))

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


class _SpatialDropout(_Random):
    """Dropout of whole channels: one mask value per (sample, channel), shared by the steps or
    pixels, with the inverted scaling of Dropout (ops.dropout draws it)."""

    _ndim = 3

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = arguments.rate("rate", rate)

    def forward(self, x, training=False):
        if not training or self.rate == 0:
            return x, None
        if x.ndim != self._ndim:
            raise ValueError(f"{self.name}: expected a {self._ndim}-D input, got shape {x.shape}")
        seed = backend.next_seed() if self._rng is None else int(self._rng.integers(0, 2**32))
        ones = _device.array_module(x).ones((x.shape[0], x.shape[-1]), x.dtype)
        _, mask = ops.dropout(ones, self.rate, seed)
        mask = mask.reshape((x.shape[0],) + (1,) * (x.ndim - 2) + (x.shape[-1],))
        return x * mask, mask

    def backward(self, mask, dy):
        return (dy if mask is None else dy * mask), []

    def get_config(self):
        # Keras's spatial dropouts take no `trainable` argument (they hold no weights), so
        # their config leaves it out: Keras could not rebuild the layer with it.
        config = {**super().get_config(), "rate": self.rate}
        del config["trainable"]
        return config


class SpatialDropout1D(_SpatialDropout):
    """Drops whole feature channels of sequences while training (rate: their fraction).

    Input shape: ``(batch, steps, channels)``. Output shape: the input's.
    """


class SpatialDropout2D(_SpatialDropout):
    """Drops whole channels of NHWC images while training (rate: their fraction).

    Input shape: ``(batch, height, width, channels)``. Output shape: the input's.
    """

    _ndim = 4

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        arguments.channels_last(data_format)

    def get_config(self):
        return {**super().get_config(), "data_format": "channels_last"}


class GaussianNoise(_Random):
    """Adds zero-mean Gaussian noise of deviation ``stddev`` while training.

    Input shape: any. Output shape: the input's.
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, (int, float)) or stddev < 0:
            raise ValueError(f"`stddev` must be a float >= 0, got stddev={stddev!r}")
        self.stddev = float(stddev)

    def forward(self, x, training=False):
        if not training or self.stddev == 0:
            return x, None
        noise = self._noise(lambda g, s: g.normal(0.0, self.stddev, s), x.shape, x.dtype)
        return x + noise, None

    def backward(self, ctx, dy):
        return dy, []

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev}


class GaussianDropout(_Random):
    """Multiplies by Gaussian noise of mean 1 and deviation sqrt(rate / (1 - rate)) while
    training.

    Input shape: any. Output shape: the input's.
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = arguments.rate("rate", rate)

    def forward(self, x, training=False):
        if not training or self.rate == 0:
            return x, None
        std = (self.rate / (1.0 - self.rate)) ** 0.5
        noise = self._noise(lambda g, s: g.normal(1.0, std, s), x.shape, x.dtype)
        return x * noise, noise

    def backward(self, noise, dy):
        return (dy if noise is None else dy * noise), []

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


class AlphaDropout(_Random):
    """Dropout that keeps SELU's self-normalization: dropped units take SELU's negative
    saturation value, then an affine map restores the mean and variance (while training).

    Input shape: any. Output shape: the input's.
    """

    _ALPHA_P = -1.6732632423543772 * 1.0507009873554805

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        arguments.refuse("AlphaDropout", noise_shape=noise_shape)
        self.rate = arguments.rate("rate", rate)

    def forward(self, x, training=False):
        if not training or self.rate == 0:
            return x, None
        keep = self._noise(lambda g, s: g.uniform(size=s) >= self.rate, x.shape, x.dtype)
        p, alpha_p = 1.0 - self.rate, self._ALPHA_P
        a = (p + alpha_p**2 * p * self.rate) ** -0.5
        b = -a * alpha_p * self.rate
        y = a * (x * keep + alpha_p * (1 - keep)) + b
        return y.astype(x.dtype, copy=False), a * keep

    def backward(self, scale, dy):
        return (dy if scale is None else dy * scale), []

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "noise_shape": None}


class ActivityRegularization(Layer):
    """The identity, adding ``(l1 * sum(|x|) + l2 * sum(x**2)) / batch`` to the model's loss
    (in training and evaluation, as Keras), and its gradient to the input's.

    Input shape: any. Output shape: the input's.
    """

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("l1", l1), ("l2", l2)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"`{name}` must be a float >= 0, got {name}={value!r}")
        self.l1, self.l2 = float(l1), float(l2)
        self.activity_loss = 0.0  # the penalty of the last forward

    def forward(self, x, training=False):
        xp = _device.array_module(x)
        batch = max(x.shape[0], 1) if x.ndim else 1
        penalty = self.l1 * xp.abs(x).sum() + self.l2 * (x * x).sum()
        self.activity_loss = float(penalty) / batch
        return x, (x, batch)

    def backward(self, ctx, dy):
        x, batch = ctx
        xp = _device.array_module(x)
        grad = (self.l1 * xp.sign(x) + (2 * self.l2) * x) / batch
        return (dy + grad).astype(dy.dtype, copy=False), []

    def get_config(self):
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}
