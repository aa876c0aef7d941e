"""The elementwise activations of ``shendu.ops.activation``, written once over an array module:
NumPy for the reference twins, CuPy for the GPU ones. Keras 3's definitions; the derivatives are
those TF's gradients take, the open interval at each kink (as TF's Relu6Grad)."""

from __future__ import annotations

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
_SQRT_HALF = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327
_SQRT_2_OVER_PI = 0.7978845608028654
_GELU_CUBIC = 0.044715

# The alpha each name reads, with Keras's function default (None picks it): elu's alpha and
# leaky_relu's negative slope.
DEFAULT_ALPHA = {"elu": 1.0, "leaky_relu": 0.2}

NAMES = (
    "gelu",
    "gelu_approximate",
    "silu",
    "elu",
    "selu",
    "softplus",
    "softsign",
    "hard_sigmoid",
    "hard_silu",
    "leaky_relu",
    "exponential",
    "relu6",
    "mish",
)


def check(name, alpha) -> float:
    """The alpha to use for ``name``; ValueError/TypeError naming a bad name or alpha."""
    if not isinstance(name, str) or name not in NAMES:
        err = ValueError if isinstance(name, str) else TypeError
        raise err(f"name: expected one of {', '.join(map(repr, NAMES))}, got {name!r}")
    if alpha is None:
        return DEFAULT_ALPHA.get(name, 0.0)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha != alpha:
        raise TypeError(f"alpha: expected a finite float, got {alpha!r}")
    if abs(alpha) == float("inf"):
        raise ValueError(f"alpha: expected a finite float, got {alpha!r}")
    return float(alpha)


def _sigmoid(xp, x):
    e = xp.exp(-xp.abs(x))  # never overflows
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _softplus(xp, x):
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


def _relu6(xp, x):
    return xp.minimum(xp.maximum(x, 0), 6)


def _gelu_tanh(xp, x):
    return xp.tanh(_SQRT_2_OVER_PI * (x + _GELU_CUBIC * x * x * x))


def _inside(x, low, high):
    return (x > low) & (x < high)


def forward(xp, erf, name, x, alpha):
    """y = name(x) in x's dtype; erf: the array module's error function."""
    if name == "gelu":
        return 0.5 * x * (1 + erf(x * _SQRT_HALF))
    if name == "gelu_approximate":
        return 0.5 * x * (1 + _gelu_tanh(xp, x))
    if name == "silu":
        return x * _sigmoid(xp, x)
    if name == "elu":
        return xp.where(x > 0, x, alpha * xp.expm1(xp.minimum(x, 0)))
    if name == "selu":
        return SELU_SCALE * xp.where(x > 0, x, SELU_ALPHA * xp.expm1(xp.minimum(x, 0)))
    if name == "softplus":
        return _softplus(xp, x)
    if name == "softsign":
        return x / (1 + xp.abs(x))
    if name == "hard_sigmoid":
        return _relu6(xp, x + 3) / 6
    if name == "hard_silu":
        return x * (_relu6(xp, x + 3) / 6)
    if name == "leaky_relu":
        return xp.where(x > 0, x, alpha * x)
    if name == "exponential":
        return xp.exp(x)
    if name == "relu6":
        return _relu6(xp, x)
    return x * xp.tanh(_softplus(xp, x))  # mish


def derivative(xp, erf, name, x, y, alpha):
    """dy/dx at x, given y = name(x)."""
    if name == "gelu":
        return 0.5 * (1 + erf(x * _SQRT_HALF)) + x * _INV_SQRT_2PI * xp.exp(-0.5 * x * x)
    if name == "gelu_approximate":
        t = _gelu_tanh(xp, x)
        slope = _SQRT_2_OVER_PI * (1 + 3 * _GELU_CUBIC * x * x)
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * slope
    if name == "silu":
        s = _sigmoid(xp, x)
        return s * (1 + x * (1 - s))
    if name == "elu":
        return xp.where(x > 0, 1, alpha * xp.exp(xp.minimum(x, 0)))
    if name == "selu":
        return SELU_SCALE * xp.where(x > 0, 1, SELU_ALPHA * xp.exp(xp.minimum(x, 0)))
    if name == "softplus":
        return _sigmoid(xp, x)
    if name == "softsign":
        return 1 / (1 + xp.abs(x)) ** 2
    if name == "hard_sigmoid":
        return xp.where(_inside(x, -3, 3), 1 / 6, 0)
    if name == "hard_silu":
        return _relu6(xp, x + 3) / 6 + xp.where(_inside(x, -3, 3), x / 6, 0)
    if name == "leaky_relu":
        return xp.where(x > 0, 1, alpha)
    if name == "exponential":
        return y
    if name == "relu6":
        return xp.where(_inside(x, 0, 6), 1, 0)
    t = xp.tanh(_softplus(xp, x))  # mish
    return t + x * (1 - t * t) * _sigmoid(xp, x)
