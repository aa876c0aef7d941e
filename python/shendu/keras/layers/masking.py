"""Masking: marks the steps of a sequence whose features all equal a padding value."""

from __future__ import annotations

import numpy as np

from .layer import Layer


class Masking(Layer):
    """Masks the steps of a sequence whose features all equal ``mask_value``: their outputs
    are zeros, and the output mask (``compute_mask``) is False there, so masking layers
    downstream (LSTM, GRU, SimpleRNN, Bidirectional) skip them.

    Args:
        mask_value: the padding value.

    Input shape: ``(batch, timesteps, features)``. Output shape: the same.
    """

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float, np.number)):
            raise TypeError(f"mask_value: expected a number, got {mask_value!r}")
        self.mask_value = float(mask_value)

    def compute_mask(self, inputs, mask=None):
        return (inputs != self.mask_value).any(axis=-1)

    def forward(self, x, training=False):
        keep = (x != self.mask_value).any(axis=-1, keepdims=True)
        return x * keep, keep

    def backward(self, keep, dy):
        return dy * keep, []

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
