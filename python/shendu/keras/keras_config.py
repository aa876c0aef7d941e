"""Keras 3 layer and initializer configs as shendu's constructors take them.

Keras 3 writes keys into every layer config that change nothing for the float32, dense,
unquantized layers shendu runs: its dtype policy, InputLayer's ragged/optional flags, empty
constraints, quantization and LoRA settings. ``constructor_kwargs`` drops such a key when its
value is the one without effect, and maps a float32 ``DTypePolicy`` record to ``"float32"``.
Any other value, and any unknown key, reaches the constructor, which refuses it naming the key.
"""

from __future__ import annotations

_NONE = (None,)
_FALSE = (False, None)
_ZERO = (0, 0.0, None)

# Keras config keys with no effect here, and the values for which that holds.
_INERT = {
    "ragged": _FALSE,
    "optional": _FALSE,
    "quantization_config": _NONE,
    "lora_rank": _NONE,
    "lora_alpha": _NONE,
    "activity_regularizer": _NONE,
    "kernel_constraint": _NONE,
    "bias_constraint": _NONE,
    "recurrent_constraint": _NONE,
    "embeddings_constraint": _NONE,
    "zero_output_for_mask": _FALSE,
    "use_cudnn": ("auto", False, None),
    "stateful": _FALSE,
    "unroll": _FALSE,
    "dropout": _ZERO,
    "recurrent_dropout": _ZERO,
    "mask_zero": _FALSE,
    "sparse": _FALSE,
    # VarianceScaling's fans over chosen axes (None: the last two, as here).
    "input_axes": _NONE,
    "output_axes": _NONE,
}


def _dtype(value):
    """A dtype as shendu takes it: a DTypePolicy record ({"class_name": "DTypePolicy",
    "config": {"name": ...}}) becomes its name; other values are kept as they are."""
    if isinstance(value, dict) and value.get("class_name") in ("DTypePolicy", "FloatDTypePolicy"):
        config = value.get("config")
        if isinstance(config, dict) and isinstance(config.get("name"), str):
            return config["name"]
    return value


def _is_one_of(value, allowed) -> bool:
    # By type and value: 0 stands for no dropout, False does not.
    return any(value is a or (type(value) is type(a) and value == a) for a in allowed)


def constructor_kwargs(config: dict) -> dict:
    """``config`` without the keys whose values have no effect in shendu (see _INERT)."""
    return {
        key: _dtype(value) if key == "dtype" else value
        for key, value in config.items()
        if not (key in _INERT and _is_one_of(value, _INERT[key]))
    }
