"""BatchNormalization and LayerNormalization, on the fused kernels of shendu.ops."""

from __future__ import annotations

import math

import numpy as np

from ... import _device, ops
from .. import initializers, regularizers, replica_context
from . import arguments
from .layer import Layer


def _axis_index(layer, axis, ndim) -> int:
    """axis (negative counts from the end) as an index into a shape of ndim dimensions."""
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"{layer.name}: axis {axis} is out of bounds for an input of {ndim} dimensions"
        )
    return axis % ndim


def _scale_and_offset(layer, shape):
    """The layer's (gamma, beta) weights of ``shape``; None for gamma without scale, for beta
    without center."""
    gamma = (
        layer.add_weight("gamma", shape, layer.gamma_initializer, layer.gamma_regularizer)
        if layer.scale
        else None
    )
    beta = (
        layer.add_weight("beta", shape, layer.beta_initializer, layer.beta_regularizer)
        if layer.center
        else None
    )
    return gamma, beta


def _along(v, axis, ndim):
    """A per-channel vector shaped to broadcast along axis of an ndim array."""
    return v.reshape((-1,) + (1,) * (ndim - 1 - axis))


class BatchNormalization(Layer):
    """Normalizes each channel by its batch statistics while training, by its moving statistics
    at inference: ``(x - mean) / sqrt(variance + epsilon) * gamma + beta``.

    While training, ``moving = moving * momentum + batch * (1 - momentum)`` for the mean and the
    (biased) variance. As in Keras 3, a layer with ``trainable = False`` runs in inference mode
    and leaves its moving statistics alone.

    Under a ``shendu.distribute`` strategy with several replicas, each replica normalizes by its
    own shard's statistics and moves its moving statistics towards them; the replicas' moving
    statistics are then averaged after each step (as TensorFlow's MEAN aggregation of them: the
    plain mean over the replicas that held samples, whatever their shard sizes), so every
    replica holds the same. With ``synchronized=True`` the statistics are those of the global
    batch (each replica's per-channel count, sum and sum of squares summed over the replicas
    before normalizing, and the backward's per-channel sums likewise): training equals one
    process over the global batch. Without several replicas, ``synchronized`` changes nothing.

    Args:
        axis: the channel axis (default -1, channels last).
        momentum: the moving statistics' momentum.
        epsilon: added to the variance.
        center / scale: whether to learn beta / gamma.
        synchronized: whether training statistics span every replica's batch (see above).
        beta_initializer, gamma_initializer, moving_mean_initializer,
        moving_variance_initializer, beta_regularizer, gamma_regularizer: as Keras's.

    Weights: gamma, beta (trainable, when scale / center), moving_mean, moving_variance.
    Input shape: any, with a known size along axis. Output shape: the input's.
    """

    def __init__(
        self,
        axis=-1,
        momentum=0.99,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        renorm=False,
        renorm_clipping=None,
        renorm_momentum=0.99,
        synchronized=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        arguments.refuse(
            "BatchNormalization",
            beta_constraint=beta_constraint,
            gamma_constraint=gamma_constraint,
            renorm_clipping=renorm_clipping,
        )
        if renorm:
            raise ValueError(
                f"BatchNormalization: renorm=True is not supported by shendu, got renorm={renorm!r}"
            )
        self.synchronized = bool(synchronized)
        self.axis = arguments.integer("axis", axis)
        self.momentum = arguments.finite_float("momentum", momentum)
        self.epsilon = arguments.finite_float("epsilon", epsilon, minimum=0.0)
        self.center = bool(center)
        self.scale = bool(scale)
        self.renorm_momentum = renorm_momentum
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)

    def build(self, input_shape):
        axis = _axis_index(self, self.axis, len(input_shape))
        channels = input_shape[axis]
        if channels is None:
            raise ValueError(
                f"{self.name}: the input's size along axis {self.axis} must be known, got "
                f"input shape {tuple(input_shape)}"
            )
        shape = (channels,)
        self.gamma, self.beta = _scale_and_offset(self, shape)
        # Synchronized statistics are the same on every replica: nothing to average.
        aggregation = "none" if self.synchronized else "mean"
        self.moving_mean = self.add_weight(
            "moving_mean",
            shape,
            self.moving_mean_initializer,
            trainable=False,
            aggregation=aggregation,
        )
        self.moving_variance = self.add_weight(
            "moving_variance",
            shape,
            self.moving_variance_initializer,
            trainable=False,
            aggregation=aggregation,
        )

    def _affine(self):
        return (
            None if self.gamma is None else self.gamma.value,
            None if self.beta is None else self.beta.value,
        )

    def forward(self, x, training=False):
        gamma, beta = self._affine()
        if not (training and self.trainable):
            # Inference is a per-channel affine map; a preceding convolution could absorb it.
            mean, var = self.moving_mean.value, self.moving_variance.value
            y = ops.batch_norm(x, mean, var, gamma, beta, self.epsilon, self.axis)
            return y, (False, x, mean, var, None)
        group = replica_context.current() if self.synchronized else None
        if group is None:
            y, mean, var = ops.batch_norm_training(x, gamma, beta, self.epsilon, self.axis)
            sync, total = None, x.size
        else:
            mean, var, count, total = self._global_moments(x, group)
            y = ops.batch_norm(x, mean, var, gamma, beta, self.epsilon, self.axis)
            sync = (group, count, total)
        if total:  # an empty batch has no statistics to move towards
            m = self.momentum
            for moving, batch in ((self.moving_mean, mean), (self.moving_variance, var)):
                moving.value[...] = moving.value * m + batch * (1.0 - m)
        return y, (True, x, mean, var, sync)

    def _global_moments(self, x, group):
        """The channels' mean and (biased) variance over every replica's batch, and this
        replica's and the global count of values per channel. Each replica's per-channel count,
        sum and sum of squares go in one float64 allreduce, so E[x^2] - E[x]^2 keeps float32's
        precision; every replica gets the same bits, hence the same statistics."""
        xp = _device.array_module(x)
        axis = self.axis % x.ndim
        others = tuple(d for d in range(x.ndim) if d != axis)
        channels = x.shape[axis]
        x64 = _device.to_host(x).astype(np.float64)
        count = x.size // channels if channels else 0
        local = np.concatenate([[count], x64.sum(axis=others), np.square(x64).sum(axis=others)])
        summed = group.allreduce(local)
        total = summed[0]
        with np.errstate(invalid="ignore"):  # no values on any replica: NaN statistics
            mean = summed[1 : 1 + channels] / total
            var = np.maximum(summed[1 + channels :] / total - mean * mean, 0.0)
        return xp.asarray(mean.astype(x.dtype)), xp.asarray(var.astype(x.dtype)), count, total

    def backward(self, ctx, dy):
        batch_stats, x, mean, var, sync = ctx
        gamma, _ = self._affine()
        if batch_stats and sync is None:
            dx, dgamma, dbeta = ops.batch_norm_backward(
                dy, x, gamma, mean, var, self.epsilon, self.axis
            )
        else:  # given statistics (the moving ones, or the replicas'): y is affine in x
            xp = _device.array_module(x)
            axis = self.axis % x.ndim
            istd = 1 / xp.sqrt(var + x.dtype.type(self.epsilon))
            a = _along(istd if gamma is None else istd * gamma, axis, x.ndim)
            others = tuple(d for d in range(x.ndim) if d != axis)
            xhat = (x - _along(mean, axis, x.ndim)) * _along(istd, axis, x.ndim)
            dgamma, dbeta = (dy * xhat).sum(axis=others), dy.sum(axis=others)
            dx = dy * a
            if sync is not None:
                dx -= a * self._through_statistics(sync, dbeta, dgamma, xhat, axis)
        grads = [dgamma] if self.scale else []
        if self.center:
            grads.append(dbeta)
        return dx, grads + [None, None]  # the moving statistics are not trained

    @staticmethod
    def _through_statistics(sync, dbeta, dgamma, xhat, axis):
        """What the global statistics take off dy on its way to x: dx = a * (dy - this), with
        a = gamma / sqrt(var + epsilon), and this = (sum(dy) + xhat * sum(dy * xhat)) / count
        for one process. Over replicas the sums run over every replica's batch: the trainer's
        loss on a replica is the mean over its shard and the replicas' gradients are weighted
        by their share of the global batch (count / total) before they are summed, so the
        sums weigh each replica's dbeta and dgamma by its share (one float64 allreduce), and
        dividing by this replica's count (its share of total) gives what its backward returns."""
        group, count, total = sync
        xp = _device.array_module(xhat)
        share = count / total if total else 0.0
        local = np.concatenate([_device.to_host(dbeta), _device.to_host(dgamma)])
        summed = group.allreduce(local.astype(np.float64) * share)
        if not count:
            return xp.zeros_like(xhat)
        channels = len(dbeta)
        sum_dy = xp.asarray((summed[:channels] / count).astype(xhat.dtype))
        sum_dy_xhat = xp.asarray((summed[channels:] / count).astype(xhat.dtype))
        return _along(sum_dy, axis, xhat.ndim) + xhat * _along(sum_dy_xhat, axis, xhat.ndim)

    def compute_output_shape(self, input_shape):
        _axis_index(self, self.axis, len(input_shape))
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": None,
            "gamma_constraint": None,
            "synchronized": self.synchronized,
            "renorm": False,
            "renorm_clipping": None,
            "renorm_momentum": self.renorm_momentum,
        }


class LayerNormalization(Layer):
    """Normalizes each sample over ``axis``: ``(x - mean) / sqrt(variance + epsilon) * gamma +
    beta``, the statistics taken over the axes in ``axis`` for each position of the others.

    Args:
        axis: an axis or a list of axes (default -1).
        epsilon: added to the variance.
        center / scale: whether to learn beta / gamma.
        beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer: as Keras's.

    Weights: gamma, beta, of the input's sizes along axis.
    Input shape: any. Output shape: the input's.
    """

    def __init__(
        self,
        axis=-1,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        rms_scaling=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        arguments.refuse(
            "LayerNormalization", beta_constraint=beta_constraint, gamma_constraint=gamma_constraint
        )
        if rms_scaling:
            raise ValueError(
                "LayerNormalization: rms_scaling=True (deprecated in Keras) is not supported "
                "by shendu"
            )
        if isinstance(axis, (list, tuple)):
            self.axis = [arguments.integer("axis", a) for a in axis]
        else:
            self.axis = arguments.integer("axis", axis)
        self.epsilon = arguments.finite_float("epsilon", epsilon, minimum=0.0)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)

    def _axes(self, ndim):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        found = sorted({_axis_index(self, a, ndim) for a in axes})
        if len(found) != len(axes):
            raise ValueError(f"{self.name}: axis {self.axis} names an axis twice")
        return found

    def build(self, input_shape):
        axes = self._axes(len(input_shape))
        shape = tuple(input_shape[d] for d in axes)
        if None in shape:
            raise ValueError(
                f"{self.name}: the input's sizes along axis {self.axis} must be known, got "
                f"input shape {tuple(input_shape)}"
            )
        self.gamma, self.beta = _scale_and_offset(self, shape)

    def _order(self, ndim):
        """The permutation that moves the normalized axes last (None when they are last)."""
        axes = self._axes(ndim)
        if axes == list(range(ndim - len(axes), ndim)):
            return None
        return [d for d in range(ndim) if d not in axes] + axes

    def _rows(self, x, order):
        """x as (rows, normalized values), the normalized axes last."""
        xp = _device.array_module(x)
        moved = x if order is None else xp.ascontiguousarray(x.transpose(order))
        axes = self._axes(x.ndim)
        lead = math.prod(x.shape[d] for d in range(x.ndim) if d not in axes)
        return moved.reshape(lead, math.prod(x.shape[d] for d in axes)), moved.shape

    def _restore(self, rows, moved_shape, order):
        out = rows.reshape(moved_shape)
        if order is None:
            return out
        xp = _device.array_module(out)
        inverse = [order.index(d) for d in range(len(order))]
        return xp.ascontiguousarray(out.transpose(inverse))

    def forward(self, x, training=False):
        order = self._order(x.ndim)
        rows, moved_shape = self._rows(x, order)
        gamma = None if self.gamma is None else self.gamma.value.reshape(-1)
        beta = None if self.beta is None else self.beta.value.reshape(-1)
        y, mean, rstd = ops.layer_norm(rows, gamma, beta, self.epsilon)
        return self._restore(y, moved_shape, order), (rows, mean, rstd, moved_shape, order)

    def backward(self, ctx, dy):
        rows, mean, rstd, moved_shape, order = ctx
        dy_rows, _ = self._rows(dy, order)
        gamma = None if self.gamma is None else self.gamma.value.reshape(-1)
        dx, dgamma, dbeta = ops.layer_norm_backward(dy_rows, rows, gamma, mean, rstd)
        grads = [dgamma.reshape(self.gamma.shape)] if self.scale else []
        if self.center:
            grads.append(dbeta.reshape(self.beta.shape))
        return self._restore(dx, moved_shape, order), grads

    def compute_output_shape(self, input_shape):
        self._axes(len(input_shape))
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "rms_scaling": False,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": None,
            "gamma_constraint": None,
        }
