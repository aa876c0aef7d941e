"""Layer wrappers: Bidirectional (a recurrent layer run both ways) and TimeDistributed (a layer
applied to every step of a sequence)."""

from __future__ import annotations

import copy

from ... import _device
from .. import registry, serialization
from .layer import Layer

MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _serialize(layer) -> dict:
    return serialization.serialize_keras_object(layer, type(layer)._public_module)


def _deserialize(config, custom_objects=None):
    return serialization.deserialize_keras_object(
        config, registry.builtin_objects("layers"), custom_objects, what="layer"
    )


def _copy(layer, **changes):
    """A fresh layer of layer's class and config (no weights carried over), with changes."""
    record = _serialize(layer)
    record["config"].update(changes)
    record.pop("build_config", None)
    return _deserialize(record)


def _removeprefix(name, prefix):
    return name[len(prefix) :] if name.startswith(prefix) else name


class Bidirectional(Layer):
    """Runs a recurrent layer over the sequence forwards and a copy of it backwards, and merges
    their outputs.

    Args:
        layer: an LSTM, GRU or SimpleRNN (any layer with ``go_backwards``,
            ``return_sequences`` and ``return_state``); it is copied from its config, so the
            wrapper has fresh weights.
        merge_mode: "concat" (default), "sum", "mul", "ave", or None (a list of both outputs).
        backward_layer: the layer for the backward direction (default: a copy of ``layer``
            with ``go_backwards=True``); it must match ``layer``'s ``return_sequences`` and
            ``return_state`` and differ in ``go_backwards``.

    Weights: the forward layer's, then the backward layer's. The backward layer's outputs are
    flipped back to the input's order before merging (return_sequences). With a mask, masked
    steps of the merged sequence are zeros.

    Input shape: the layer's, ``(batch, timesteps, features)``. Output shape: the layer's output
    shape, with twice the units for "concat"; with return_state, the outputs are followed by
    the forward layer's states, then the backward layer's.
    """

    supports_masking = True

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(
                f"Please initialize `Bidirectional` layer with a `keras.layers.Layer` "
                f"instance. Received: {layer}"
            )
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(
                f"`backward_layer` need to be a `keras.layers.Layer` instance. "
                f"Received: {backward_layer}"
            )
        if merge_mode not in MERGE_MODES:
            raise ValueError(
                f"Invalid merge mode. Received: merge_mode={merge_mode!r}. It should be one of "
                '{"sum", "mul", "ave", "concat", None}'
            )
        if weights is not None:
            raise ValueError("Bidirectional: `weights` is not supported; use set_weights")
        super().__init__(**kwargs)
        self.forward_layer = _copy(layer, name="forward_" + _removeprefix(layer.name, "forward_"))
        if backward_layer is None:
            backward_layer = _copy(
                layer, go_backwards=True, name="backward_" + _removeprefix(layer.name, "backward_")
            )
        self.backward_layer = backward_layer
        if self.forward_layer.go_backwards == self.backward_layer.go_backwards:
            raise ValueError(
                "Forward layer and backward layer should have different `go_backwards` "
                f"value. Received: forward_layer.go_backwards "
                f"{self.forward_layer.go_backwards}, backward_layer.go_backwards="
                f"{self.backward_layer.go_backwards}"
            )
        for a in ("return_sequences", "return_state"):
            forward_value = getattr(self.forward_layer, a)
            backward_value = getattr(self.backward_layer, a)
            if forward_value != backward_value:
                raise ValueError(
                    "Forward layer and backward layer are expected to have the same value "
                    f'for attribute "{a}", got "{forward_value}" for forward layer and '
                    f'"{backward_value}" for backward layer'
                )
        # As Keras: masked steps of returned sequences are zeros, whatever the layers say.
        for inner in (self.forward_layer, self.backward_layer):
            if hasattr(inner, "zero_output_for_mask"):
                inner.zero_output_for_mask = inner.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences = self.forward_layer.return_sequences
        self.return_state = self.forward_layer.return_state
        # Its weights are its layers' (forward first), as Keras orders them and saves them.
        self._sublayers = [self.forward_layer, self.backward_layer]
        self._saved_sublayers = [
            ("forward_layer", self.forward_layer),
            ("backward_layer", self.backward_layer),
        ]

    def build(self, input_shape):
        self.forward_layer._maybe_build(input_shape)
        self.backward_layer._maybe_build(input_shape)

    def forward(self, x, training=False, mask=None):
        y, ctx_f = self.forward_layer._forward_masked(x, training, mask)
        y_rev, ctx_b = self.backward_layer._forward_masked(x, training, mask)
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = y_rev[:, ::-1]
        mode = self.merge_mode
        if mode == "concat":
            out = _device.array_module(y).concatenate([y, y_rev], axis=-1)
        elif mode == "sum":
            out = y + y_rev
        elif mode == "ave":
            out = (y + y_rev) / 2
        elif mode == "mul":
            out = y * y_rev
        else:
            out = [y, y_rev]
        outs = (out if mode is None else [out]) + states
        kept = (y, y_rev) if mode == "mul" else None
        return (outs if self.return_state or mode is None else out), (ctx_f, ctx_b, kept)

    def backward(self, ctx, dout):
        ctx_f, ctx_b, kept = ctx
        douts = list(dout) if self.return_state or self.merge_mode is None else [dout]
        count = len(douts) - (2 if self.merge_mode is None else 1)
        dstates = douts[len(douts) - count :] if count else []
        half = len(dstates) // 2
        dy, dy_rev = self._split(douts, kept)
        if self.return_sequences and dy_rev is not None:
            dy_rev = dy_rev[:, ::-1]
        grads = []
        dx = None
        for inner, inner_ctx, d, ds in (
            (self.forward_layer, ctx_f, dy, dstates[:half]),
            (self.backward_layer, ctx_b, dy_rev, dstates[half:]),
        ):
            dx_i, dw_i = inner.backward(inner_ctx, [d] + list(ds) if self.return_state else d)
            grads += list(dw_i)
            dx = dx_i if dx is None else dx + dx_i
        return dx, grads

    def _split(self, douts, kept):
        """The gradients of the two directions' outputs from those of the merged output."""
        mode = self.merge_mode
        if mode is None:
            return douts[0], douts[1]
        d = douts[0]
        if d is None:
            return None, None
        if mode == "concat":
            units = d.shape[-1] // 2
            return d[..., :units], d[..., units:]
        if mode == "sum":
            return d, d
        if mode == "ave":
            return d / 2, d / 2
        y, y_rev = kept
        return d * y_rev, d * y

    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.compute_output_shape(input_shape)
        states = []
        if self.return_state:
            shape, states = shape[0], list(shape[1:])
        if self.merge_mode == "concat":
            shape = tuple(shape[:-1]) + (None if shape[-1] is None else 2 * shape[-1],)
        outs = [tuple(shape), tuple(shape)] if self.merge_mode is None else [tuple(shape)]
        if self.return_state or self.merge_mode is None:
            return outs + states + states
        return outs[0]

    def compute_mask(self, inputs, mask=None):
        out = mask if self.return_sequences else None
        outs = [out, out] if self.merge_mode is None else [out]
        if self.return_state:
            return outs + [None] * (2 * self.forward_layer._state_count)
        return outs if self.merge_mode is None else out

    def get_config(self):
        return {
            **super().get_config(),
            "merge_mode": self.merge_mode,
            "layer": _serialize(self.forward_layer),
            "backward_layer": _serialize(self.backward_layer),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = copy.deepcopy(config)
        config["layer"] = _deserialize(config["layer"], custom_objects)
        if config.get("backward_layer") is not None:
            config["backward_layer"] = _deserialize(config["backward_layer"], custom_objects)
        return super().from_config(config)


class TimeDistributed(Layer):
    """Applies a layer to every step of a sequence: the steps are folded into the batch, so
    the layer runs forward and backward once over ``batch * timesteps`` samples.

    Args:
        layer: the layer to apply (Dense, Conv2D, ...); it sees inputs of shape
            ``(batch, ...)`` for a sequence ``(batch, timesteps, ...)``.

    A layer whose output depends on the whole batch (BatchNormalization while training) sees
    all the steps as one batch, where Keras runs it once per step.

    Input shape: ``(batch, timesteps, ...)``. Output shape: ``(batch, timesteps, ...)`` with the
    layer's output shape after the time axis.
    """

    supports_masking = True

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(
                f"Please initialize `TimeDistributed` layer with a `keras.layers.Layer` "
                f"instance. Received: {layer}"
            )
        super().__init__(**kwargs)
        self.layer = layer
        self._sublayers = [layer]
        self._saved_sublayers = [("layer", layer)]

    @staticmethod
    def _child_shape(input_shape):
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3:
            raise ValueError(
                "`TimeDistributed` Layer should be passed an `input_shape` with at least 3 "
                f"dimensions, received: {input_shape}"
            )
        return (input_shape[0], *input_shape[2:])

    def build(self, input_shape):
        self.layer._maybe_build(self._child_shape(input_shape))

    def forward(self, x, training=False, mask=None):
        if x.ndim < 3:
            raise ValueError(
                f"{self.name}: expected input of shape (batch, timesteps, ...), got {x.shape}"
            )
        n, t = x.shape[:2]
        folded = mask if mask is None else mask.reshape((n * t,) + mask.shape[2:])
        y, ctx = self.layer._forward_masked(x.reshape((n * t,) + x.shape[2:]), training, folded)
        return y.reshape((n, t) + y.shape[1:]), (ctx, x.shape)

    def backward(self, ctx, dy):
        inner_ctx, x_shape = ctx
        n, t = x_shape[:2]
        dx, dw = self.layer.backward(inner_ctx, dy.reshape((n * t,) + dy.shape[2:]))
        return (None if dx is None else dx.reshape(x_shape)), dw

    def compute_output_shape(self, input_shape):
        child = self.layer.compute_output_shape(self._child_shape(input_shape))
        return (child[0], input_shape[1], *child[1:])

    def get_config(self):
        return {**super().get_config(), "layer": _serialize(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = copy.deepcopy(config)
        config["layer"] = _deserialize(config["layer"], custom_objects)
        return super().from_config(config)
