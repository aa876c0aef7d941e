"""SimpleRNN, LSTM and GRU over whole sequences (N, T, features), one op call each way."""

from __future__ import annotations

import numpy as np

from ... import _device, ops
from .. import activations, backend, initializers, regularizers
from . import arguments
from .layer import Layer

# The activations the recurrent kernels implement (shendu.ops.lstm), by their Keras names.
CELL_ACTIVATIONS = ("tanh", "sigmoid", "relu", "hard_sigmoid", "linear")


def _cell_activation(kind, argument, identifier):
    """The canonical name of a cell activation, refused unless the kernels implement it."""
    name = activations.get(identifier)
    if name not in CELL_ACTIVATIONS:
        raise ValueError(
            f"{kind}: {argument}={identifier!r} is not one the recurrent kernels implement; "
            f"accepted: {', '.join(repr(a) for a in CELL_ACTIVATIONS)}"
        )
    return name


class _RNN(Layer):
    """What the three recurrent layers share; subclasses say how many gates and which op."""

    _gates = 1
    _state_count = 1  # LSTM returns two states (h, c)
    # Keras keeps a recurrent layer's weights in its cell: weight files hold them under
    # layers/<entry>/cell/vars.
    _weights_group = "cell/vars"
    supports_masking = True

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        seed=None,
        zero_output_for_mask=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        kind = type(self).__name__
        arguments.refuse(
            kind,
            activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
        )
        self.activation = _cell_activation(kind, "activation", activation)
        self.recurrent_activation = _cell_activation(
            kind, "recurrent_activation", recurrent_activation
        )
        if stateful:
            raise ValueError(f"{kind}: stateful=True is not supported by shendu")
        self.units = arguments.positive_int("units", units)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.dropout = arguments.rate("dropout", dropout)
        self.recurrent_dropout = arguments.rate("recurrent_dropout", recurrent_dropout)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.unroll = bool(unroll)  # no effect: the kernels loop over time either way
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(seed)

    def build(self, input_shape):
        arguments.input_ndim(self, input_shape, 3, "(batch, timesteps, features)")
        width = self._gates * self.units
        self.kernel = self.add_weight(
            "kernel", (input_shape[-1], width), self.kernel_initializer, self.kernel_regularizer
        )
        self.recurrent_kernel = self.add_weight(
            "recurrent_kernel",
            (self.units, width),
            self.recurrent_initializer,
            self.recurrent_regularizer,
        )
        self.bias = (
            self.add_weight("bias", self._bias_shape(), self._bias_init, self.bias_regularizer)
            if self.use_bias
            else None
        )

    def _bias_shape(self):
        return (self._gates * self.units,)

    def _bias_init(self, shape):
        return self.bias_initializer(shape)

    def _mask(self, shape, rate, like):
        """A dropout mask on the device of array `like`."""
        seed = backend.next_seed() if self._rng is None else int(self._rng.integers(0, 2**32))
        xp = _device.array_module(like)
        return ops.dropout(xp.ones(shape, np.float32), rate, seed)[1]

    def forward(self, x, training=False, mask=None):
        if x.ndim != 3:
            raise ValueError(
                f"{self.name}: expected input of shape (batch, timesteps, features), got {x.shape}"
            )
        steps = None  # the (N, T) step mask, as float32 (see ops.lstm)
        if mask is not None:
            steps = _device.array_module(x).ascontiguousarray(mask, dtype=np.float32)
            if steps.shape != x.shape[:2]:
                raise ValueError(
                    f"{self.name}: expected a mask of shape {x.shape[:2]} (batch, timesteps), "
                    f"got {steps.shape}"
                )
        if self.go_backwards:
            x = x[:, ::-1]
            steps = None if steps is None else steps[:, ::-1]
        drop = None
        if training and self.dropout > 0:  # one mask per sequence, the same at every step
            drop = self._mask((x.shape[0], 1, x.shape[2]), self.dropout, x)
            x = x * drop
        bias = None if self.bias is None else self.bias.value
        stepwise = training and self.recurrent_dropout > 0
        if stepwise:
            hs, states, cache = self._run_dropped(x, bias, steps)
        else:
            hs, states, cache = self._run(
                x, self.kernel.value, self.recurrent_kernel.value, bias, mask=steps
            )
        out = hs if self.return_sequences else states[0]
        # Masked steps repeat the step before (the kernels carry the states); with
        # zero_output_for_mask their outputs are zeros instead.
        keep = None
        if steps is not None and self.zero_output_for_mask:
            keep = steps[:, :, None] if self.return_sequences else steps[:, -1:]
            out = out * keep
        ctx = (x, cache, drop, stepwise, steps, keep)
        return ([out] + states if self.return_state else out), ctx

    def _run_dropped(self, x, bias, steps):
        """Recurrent dropout: as Keras, h_{t-1} is multiplied by one mask per sequence before
        step t, so the op runs one step at a time with the masked state as its initial state.
        A masked step (steps) keeps the undropped states, so it is applied here, around the op."""
        n, count = x.shape[:2]
        xp = _device.array_module(x)
        rmask = self._mask((n, self.units), self.recurrent_dropout, x)
        states = [xp.zeros((n, self.units), np.float32) for _ in range(self._state_count)]
        hs, step_caches = [], []
        for t in range(count):
            init = [states[0] * rmask] + states[1:]
            h_t, new_states, cache = self._run(
                x[:, t : t + 1], self.kernel.value, self.recurrent_kernel.value, bias, init
            )
            keep = None if steps is None else steps[:, t : t + 1] != 0
            if keep is not None:
                new_states = [xp.where(keep, s, p) for s, p in zip(new_states, states)]
                h_t = new_states[0][:, None]
            states = new_states
            hs.append(h_t)
            step_caches.append((cache, init, keep))
        return xp.concatenate(hs, axis=1), states, (rmask, step_caches)

    def _grad_dropped(self, dhs, dstates, x, dropped_cache):
        rmask, step_caches = dropped_cache
        xp = _device.array_module(x)
        n = x.shape[0]
        dstates = [xp.zeros((n, self.units), np.float32) if d is None else d for d in dstates]
        dx = xp.empty_like(x)
        dk = dr = db = None
        for t in reversed(range(x.shape[1])):
            cache, init, keep = step_caches[t]
            dh_t = dhs[:, t : t + 1]
            passed = [0.0] * self._state_count
            if keep is not None:  # a masked row's gradients skip the op
                dh_sum = dstates[0] + dh_t[:, 0]
                passed = [xp.where(keep, 0.0, d) for d in [dh_sum] + dstates[1:]]
                dh_t = xp.where(keep[:, None], dh_t, 0.0)
                dstates = [xp.where(keep, d, 0.0) for d in dstates]
            dx_t, dk_t, dr_t, db_t, dinit = self._grad(dh_t, dstates, x[:, t : t + 1], cache, init)
            dx[:, t : t + 1] = dx_t
            dk, dr, db = (dk_t, dr_t, db_t) if dk is None else (dk + dk_t, dr + dr_t, db + db_t)
            dstates = [d + p for d, p in zip([dinit[0] * rmask] + dinit[1:], passed)]
        return dx, dk, dr, db

    def backward(self, ctx, dout):
        x, cache, drop, stepwise, steps, keep = ctx
        if self.return_state:
            dout, dstates = dout[0], list(dout[1:])
        else:
            dstates = [None] * self._state_count
        if keep is not None and dout is not None:
            dout = dout * keep
        xp = _device.array_module(x)
        if self.return_sequences:
            dhs = dout if dout is not None else xp.zeros(x.shape[:2] + (self.units,), np.float32)
        else:
            dhs = xp.zeros(x.shape[:2] + (self.units,), np.float32)
            if dout is not None:
                dstates[0] = dout if dstates[0] is None else dstates[0] + dout
        if stepwise:
            dx, dk, dr, db = self._grad_dropped(dhs, dstates, x, cache)
        else:
            dx, dk, dr, db, _ = self._grad(dhs, dstates, x, cache, mask=steps)
        if drop is not None:
            dx = dx * drop
        if self.go_backwards:
            dx = dx[:, ::-1]
        return dx, ([dk, dr, db] if self.use_bias else [dk, dr])

    def compute_mask(self, inputs, mask=None):
        """The input mask for every step's output (return_sequences), none for a last output
        or the states."""
        out = mask if self.return_sequences else None
        return [out] + [None] * self._state_count if self.return_state else out

    def compute_output_shape(self, input_shape):
        n, t = input_shape[0], input_shape[1]
        out = (n, t, self.units) if self.return_sequences else (n, self.units)
        if self.return_state:
            return [out] + [(n, self.units)] * self._state_count
        return out

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": False,
            "unroll": self.unroll,
            "seed": self.seed,
            "zero_output_for_mask": self.zero_output_for_mask,
        }


class SimpleRNN(_RNN):
    """A fully connected recurrent layer: ``h_t = activation(x_t @ kernel + h_{t-1} @
    recurrent_kernel + bias)``, the whole sequence in one kernel call.

    Args:
        units: the size of the state h.
        activation: "tanh" (default), "sigmoid", "relu", "hard_sigmoid" or "linear" (None).
        use_bias, kernel_initializer, recurrent_initializer, bias_initializer, and the matching
            regularizers: as in Keras.
        dropout / recurrent_dropout: fractions of the inputs / states dropped while training.
        return_sequences: return every step's output, not only the last.
        return_state: also return the final state.
        go_backwards: run over the sequence in reverse.

    Input shape: ``(batch, timesteps, features)``. Output shape: ``(batch, units)``, or
    ``(batch, timesteps, units)`` with return_sequences; with return_state, a list
    ``[output, h]``.
    """

    def __init__(self, units, activation="tanh", **kwargs):
        super().__init__(units, activation=activation, **kwargs)

    def _run(self, x, kernel, recurrent_kernel, bias, init=(None,), mask=None):
        hs, h, cache = ops.simple_rnn(
            x, kernel, recurrent_kernel, bias, init[0], mask, self.activation
        )
        return hs, [h], cache

    def _grad(self, dhs, dstates, x, cache, init=(None,), mask=None):
        dx, dk, dr, db, dh0 = ops.simple_rnn_backward(
            dhs,
            dstates[0],
            x,
            self.kernel.value,
            self.recurrent_kernel.value,
            cache,
            init[0],
            mask,
            self.activation,
        )
        return dx, dk, dr, db, [dh0]


class LSTM(_RNN):
    """Long short-term memory (Hochreiter & Schmidhuber), Keras's gate layout (i, f, c, o),
    the whole sequence in one kernel call.

    Args:
        units: the size of the states h and c.
        activation: of the candidate and of the cell state's output, "tanh" by default.
        recurrent_activation: of the gates i, f, o, "sigmoid" by default. Either may be "tanh",
            "sigmoid", "relu", "hard_sigmoid" or "linear" (None).
        unit_forget_bias: start the forget gate's bias at 1.
        use_bias, kernel_initializer, recurrent_initializer, bias_initializer, the matching
            regularizers, dropout, recurrent_dropout, return_sequences, return_state,
            go_backwards: as in SimpleRNN.

    Input shape: ``(batch, timesteps, features)``. Output shape: ``(batch, units)``, or
    ``(batch, timesteps, units)`` with return_sequences; with return_state, a list
    ``[output, h, c]``.
    """

    _gates = 4
    _state_count = 2

    def __init__(self, units, unit_forget_bias=True, **kwargs):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _bias_init(self, shape):
        bias = self.bias_initializer(shape)
        if self.unit_forget_bias:  # Keras: the forget gate's bias starts at one
            bias[self.units : 2 * self.units] = 1.0
        return bias

    def _run(self, x, kernel, recurrent_kernel, bias, init=(None, None), mask=None):
        hs, h, c, cache = ops.lstm(
            x,
            kernel,
            recurrent_kernel,
            bias,
            init[0],
            init[1],
            mask,
            self.activation,
            self.recurrent_activation,
        )
        return hs, [h, c], cache

    def _grad(self, dhs, dstates, x, cache, init=(None, None), mask=None):
        dx, dk, dr, db, dh0, dc0 = ops.lstm_backward(
            dhs,
            dstates[0],
            dstates[1],
            x,
            self.kernel.value,
            self.recurrent_kernel.value,
            cache,
            init[0],
            init[1],
            mask,
            self.activation,
            self.recurrent_activation,
        )
        return dx, dk, dr, db, [dh0, dc0]

    def get_config(self):
        return {
            **super().get_config(),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        }


class GRU(_RNN):
    """Gated recurrent unit (gates z, r, h), the whole sequence in one kernel call.

    Args:
        units: the size of the state h.
        activation: of the candidate, "tanh" by default.
        recurrent_activation: of the gates z and r, "sigmoid" by default. Either may be "tanh",
            "sigmoid", "relu", "hard_sigmoid" or "linear" (None).
        reset_after: True (Keras 2+'s default): r scales the candidate's recurrent term
            ``h_{t-1} @ U_h + b_rec``; the bias is (2, 3 * units), input and recurrent rows.
            False (the classic GRU): r scales h_{t-1} before that product, ``(r * h_{t-1}) @ U_h``;
            the bias is (3 * units,), the input projection's only.
        use_bias, kernel_initializer, recurrent_initializer, bias_initializer, the matching
            regularizers, dropout, recurrent_dropout, return_sequences, return_state,
            go_backwards: as in SimpleRNN.

    Input shape: ``(batch, timesteps, features)``. Output shape: ``(batch, units)``, or
    ``(batch, timesteps, units)`` with return_sequences; with return_state, a list
    ``[output, h]``.
    """

    _gates = 3

    def __init__(self, units, reset_after=True, **kwargs):
        super().__init__(units, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        if self.reset_after:
            return (2, 3 * self.units)  # row 0: input bias, row 1: recurrent bias
        return (3 * self.units,)

    def _options(self):
        return self.reset_after, self.activation, self.recurrent_activation

    def _run(self, x, kernel, recurrent_kernel, bias, init=(None,), mask=None):
        hs, h, cache = ops.gru(x, kernel, recurrent_kernel, bias, init[0], mask, *self._options())
        return hs, [h], cache

    def _grad(self, dhs, dstates, x, cache, init=(None,), mask=None):
        dx, dk, dr, db, dh0 = ops.gru_backward(
            dhs,
            dstates[0],
            x,
            self.kernel.value,
            self.recurrent_kernel.value,
            cache,
            init[0],
            mask,
            *self._options(),
        )
        return dx, dk, dr, db, [dh0]

    def get_config(self):
        return {
            **super().get_config(),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "reset_after": self.reset_after,
        }
