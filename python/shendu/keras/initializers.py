"""keras.initializers: Keras's weight initializers, drawn from keras.backend's random generator."""

from __future__ import annotations

import math

import numpy as np

from . import backend, keras_config, serialization


def _fans(shape):
    """Keras's fan_in / fan_out: conv kernels (kh, kw, in, out) count the receptive field."""
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    def __call__(self, shape, dtype=None):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**keras_config.constructor_kwargs(config))


class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return np.zeros(shape, np.float32)


class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return np.ones(shape, np.float32)


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = float(value)

    def __call__(self, shape, dtype=None):
        return np.full(shape, self.value, np.float32)

    def get_config(self):
        return {"value": self.value}


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype=None):
        rng = _generator(self.seed)
        return rng.uniform(self.minval, self.maxval, shape).astype(np.float32)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None):
        return _generator(self.seed).normal(self.mean, self.stddev, shape).astype(np.float32)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


def _generator(seed):
    return backend.random_generator() if seed is None else np.random.default_rng(seed)


def _truncated_normal(rng, shape, stddev):
    """Normal samples redrawn until within two standard deviations (as Keras's truncated_normal)."""
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2
    return out * stddev


class VarianceScaling(Initializer):
    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if scale <= 0:
            raise ValueError(f"scale: expected a positive value, got {scale!r}")
        if mode not in self._MODES:
            raise ValueError(f"mode: expected one of {self._MODES}, got {mode!r}")
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(
                f"distribution: expected one of {self._DISTRIBUTIONS}, got {distribution!r}"
            )
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = _fans(tuple(shape))
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        var = self.scale / max(1.0, n)
        rng = _generator(self.seed)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * var)
            out = rng.uniform(-limit, limit, shape)
        elif self.distribution == "untruncated_normal":
            out = rng.normal(0.0, math.sqrt(var), shape)
        else:  # the stddev of a normal truncated at 2 sigma is 0.8796 of the untruncated one
            out = _truncated_normal(rng, shape, math.sqrt(var) / 0.87962566103423978)
        return out.astype(np.float32)

    def get_config(self):
        return {
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "seed": self.seed,
        }


def _variance_scaling(name, scale, mode, distribution):
    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed}

    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config})


GlorotUniform = _variance_scaling("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _variance_scaling("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeUniform = _variance_scaling("HeUniform", 2.0, "fan_in", "uniform")
HeNormal = _variance_scaling("HeNormal", 2.0, "fan_in", "truncated_normal")
LecunUniform = _variance_scaling("LecunUniform", 1.0, "fan_in", "uniform")
LecunNormal = _variance_scaling("LecunNormal", 1.0, "fan_in", "truncated_normal")


def _orthonormal_columns(a: np.ndarray) -> np.ndarray:
    """Q of the QR decomposition of a (m x n, m >= n) with R's diagonal made positive, which is
    unique: Keras's np.linalg.qr(a) followed by q * sign(diag(r)).

    Householder reflections in elementwise NumPy rather than LAPACK: OpenBLAS's threads spin for
    ~0.13 s of CPU after a threaded call (measured after np.linalg.qr of 256 x 64), taking a core
    from the kernels just as fit starts. 2 m n^2 flops, ~1 ms for an LSTM's 256 x 64."""
    m, n = a.shape
    r = a.astype(np.float64)  # a copy
    reflectors = []
    for k in range(n):
        x = r[k:, k]
        alpha = -np.copysign(np.sqrt((x * x).sum()), x[0])
        v = x.copy()
        v[0] -= alpha
        length = np.sqrt((v * v).sum())
        if length == 0.0:  # x is zero: nothing to reflect
            reflectors.append(None)
            continue
        v /= length
        r[k:, k:] -= 2.0 * v[:, None] * (v[:, None] * r[k:, k:]).sum(axis=0)
        reflectors.append(v)
    q = np.eye(m, n)
    for k in reversed(range(n)):
        v = reflectors[k]
        if v is not None:
            q[k:, :] -= 2.0 * v[:, None] * (v[:, None] * q[k:, :]).sum(axis=0)
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


class Orthogonal(Initializer):
    """Keras's orthogonal initializer (QR of a normal matrix, signs fixed by R's diagonal)."""

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = gain, seed

    def __call__(self, shape, dtype=None):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: expected a shape of rank >= 2, got {tuple(shape)}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = _generator(self.seed).standard_normal((max(rows, cols), min(rows, cols)))
        q = _orthonormal_columns(a)
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape).astype(np.float32)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


_ALIASES = {
    "zeros": Zeros,
    "ones": Ones,
    "constant": Constant,
    "random_uniform": RandomUniform,
    "random_normal": RandomNormal,
    "uniform": RandomUniform,
    "normal": RandomNormal,
    "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform,
    "he_normal": HeNormal,
    "lecun_uniform": LecunUniform,
    "lecun_normal": LecunNormal,
    "orthogonal": Orthogonal,
    "variance_scaling": VarianceScaling,
}
_CLASSES = {cls.__name__: cls for cls in set(_ALIASES.values())}


def get(identifier) -> Initializer:
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _ALIASES.get(identifier) or _CLASSES.get(identifier)
        if cls is not None:
            return cls()
    if callable(identifier):
        return _Callable(identifier)
    raise ValueError(
        f"Unknown initializer: {identifier!r}. Accepted: {', '.join(repr(a) for a in _ALIASES)}."
    )


class _Callable(Initializer):
    """A plain function shape -> array used as an initializer."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, shape, dtype=None):
        return np.asarray(self.fn(shape), np.float32)


def serialize(initializer: Initializer) -> dict:
    return serialization.serialize_keras_object(initializer, "keras.initializers")


def deserialize(config: dict, custom_objects=None) -> Initializer:
    return serialization.deserialize_keras_object(
        config, _CLASSES, custom_objects, what="initializer"
    )


zeros, ones, constant = Zeros, Ones, Constant
glorot_uniform, glorot_normal, he_uniform, he_normal = (
    GlorotUniform,
    GlorotNormal,
    HeUniform,
    HeNormal,
)
orthogonal, random_uniform, random_normal = Orthogonal, RandomUniform, RandomNormal
