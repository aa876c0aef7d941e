"""Optimizer update cases shared by the CPU and GPU op tests: each is
``(update(module, state, grad, step), slot names)``, run on ``shendu.ops`` or ``shendu.reference``
with the state dict's arrays updated in place."""

import math

import numpy as np


def run_steps(module, update, state, grads):
    """Applies update(module, state, grad, step) for each grad on a copy of state; returns it."""
    state = {k: v.copy() for k, v in state.items()}
    for step, grad in enumerate(grads, start=1):
        assert update(module, state, grad, step) is None
    return state


def _sgd(momentum, nesterov):
    def update(module, s, grad, step):
        return module.sgd_update(s["param"], grad, s.get("velocity"), 0.05, momentum, nesterov)

    return update


def _adam(module, s, grad, step):
    return module.adam_update(s["param"], grad, s["m"], s["v"], step, 0.01, 0.8, 0.99, 1e-6)


def _rmsprop(module, s, grad, step):
    return module.rmsprop_update(s["param"], grad, s["avg_sq"], 0.01, 0.8, 1e-6)


def _u_product(step, beta_1=0.8):
    return math.prod(beta_1 * (1 - 0.5 * 0.96**i) for i in range(1, step + 1))


def _nadam(module, s, grad, step):
    u = _u_product(step)
    return module.nadam_update(s["param"], grad, s["m"], s["v"], step, u, 0.01, 0.8, 0.99, 1e-6)


def _adamax(module, s, grad, step):
    return module.adamax_update(s["param"], grad, s["m"], s["u"], step, 0.01, 0.8, 0.99, 1e-6)


def _adamax_given(module, s, grad, step, grad_abs):
    return module.adamax_update(
        s["param"], grad, s["m"], s["u"], step, 0.01, 0.8, 0.99, 1e-6, grad_abs=grad_abs
    )


def _adagrad(module, s, grad, step):
    return module.adagrad_update(s["param"], grad, s["accumulator"], 0.01, 1e-6)


def _adadelta(module, s, grad, step):
    return module.adadelta_update(s["param"], grad, s["acc_grad"], s["acc_delta"], 0.5, 0.9, 1e-6)


def _lion(module, s, grad, step):
    return module.lion_update(s["param"], grad, s["m"], 0.01, 0.8, 0.95)


def _ftrl(module, s, grad, step):
    return module.ftrl_update(
        s["param"], grad, s["accumulator"], s["linear"], 0.1, -0.5, 0.01, 0.02, 0.03, 0.1
    )


def _ftrl_power(module, s, grad, step):
    return module.ftrl_update(s["param"], grad, s["accumulator"], s["linear"], 0.1, -0.7)


def _weight_decay(module, s, grad, step):
    return module.weight_decay_update(s["param"], 0.01, 0.3)


def _ema(module, s, grad, step):
    return module.ema_update(s["average"], grad, 0.0 if step == 1 else 0.9)


def _with_squares(update, slots, key="grad_sq", fn=np.square):
    """The update given a squared (or absolute) gradient that differs from grad's own, as an
    Embedding's repeated lookups give."""

    def run(module, s, grad, step):
        extra = fn(grad) * np.float32(1.5) + np.float32(0.25)
        return update(module, s, grad, step, **{key: extra})

    return run, slots


def _kw(name, *args):
    def update(module, s, grad, step, **extra):
        return getattr(module, name)(s["param"], grad, *[s[a] for a in args], **extra)

    return update


CASES = {
    "sgd": (_sgd(0.0, False), []),
    "sgd_momentum": (_sgd(0.9, False), ["velocity"]),
    "sgd_nesterov": (_sgd(0.9, True), ["velocity"]),
    "adam": (_adam, ["m", "v"]),
    "rmsprop": (_rmsprop, ["avg_sq"]),
    "nadam": (_nadam, ["m", "v"]),
    "adamax": (_adamax, ["m", "u"]),
    "adagrad": (_adagrad, ["accumulator"]),
    "adadelta": (_adadelta, ["acc_grad", "acc_delta"]),
    "lion": (_lion, ["m"]),
    "ftrl": (_ftrl, ["accumulator", "linear"]),
    "ftrl_power": (_ftrl_power, ["accumulator", "linear"]),
    "weight_decay": (_weight_decay, []),
    "ema": (_ema, ["average"]),
    "adagrad_sq": _with_squares(_kw("adagrad_update", "accumulator"), ["accumulator"]),
    "adadelta_sq": _with_squares(
        _kw("adadelta_update", "acc_grad", "acc_delta"), ["acc_grad", "acc_delta"]
    ),
    "ftrl_sq": _with_squares(
        _kw("ftrl_update", "accumulator", "linear"), ["accumulator", "linear"]
    ),
    "adamax_abs": _with_squares(_adamax_given, ["m", "u"], "grad_abs", np.abs),
}
# The updates of the Keras optimizers added beside Keras's first three: the native kernels and
# the twins take the same float32 operations in the same order, so a step sequence agrees
# exactly (Ftrl takes its powers in double on both sides).
EXACT = [k for k in CASES if k not in ("sgd", "sgd_momentum", "sgd_nesterov", "adam", "rmsprop")]


def make_state(rng, shape, slots):
    state = {"param": rng.standard_normal(shape).astype(np.float32)}
    for slot in slots:  # nonzero initial slots: the update must read them, not assume zeros
        state[slot] = np.abs(rng.standard_normal(shape)).astype(np.float32) * 0.1
    return state
