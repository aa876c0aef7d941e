"""keras.utils.pad_sequences (also keras.preprocessing.sequence.pad_sequences)."""

import numpy as np

_SIDES = ("pre", "post")


def pad_sequences(
    sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0
):
    """Pads (or truncates) a list of sequences to one length, with Keras's semantics.

    Returns a ``(len(sequences), maxlen) + sample_shape`` array of ``dtype``; ``maxlen`` defaults to
    the longest sequence. ``padding``/``truncating`` ("pre" or "post") say on which side values are
    added or removed. Elements may themselves be arrays (all of one shape, the ``sample_shape``).
    """
    dtype = _check_arguments(sequences, maxlen, dtype, padding, truncating, value)
    lengths, sample_shape = _lengths_and_sample_shape(sequences, dtype)
    if maxlen is None:
        maxlen = max(lengths, default=0)

    out = np.full((len(sequences), maxlen) + sample_shape, value, dtype=dtype)
    if maxlen == 0:
        return out
    for idx, seq in enumerate(sequences):
        if not len(seq):
            continue
        kept = seq[-maxlen:] if truncating == "pre" else seq[:maxlen]
        kept = _as_array(kept, dtype, idx)
        if kept.shape[1:] != sample_shape:
            raise ValueError(
                f"pad_sequences: elements of the sequence at position {idx} have shape "
                f"{kept.shape[1:]}, "
                f"expected {sample_shape} (the shape of the first non-empty sequence's elements)"
            )
        if padding == "post":
            out[idx, : len(kept)] = kept
        else:
            out[idx, maxlen - len(kept) :] = kept
    return out


def _check_arguments(sequences, maxlen, dtype, padding, truncating, value):
    """The dtype as a NumPy dtype, once every argument is checked."""
    if not hasattr(sequences, "__len__"):
        raise ValueError(
            "pad_sequences: `sequences` must be a list of sequences, got "
            f"{type(sequences).__name__}"
        )
    if padding not in _SIDES:
        raise ValueError(f"pad_sequences: `padding` must be 'pre' or 'post', got {padding!r}")
    if truncating not in _SIDES:
        raise ValueError(f"pad_sequences: `truncating` must be 'pre' or 'post', got {truncating!r}")
    if maxlen is not None and (
        isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 0
    ):
        raise ValueError(f"pad_sequences: `maxlen` must be None or an int >= 0, got {maxlen!r}")
    dtype = np.dtype(dtype)
    if isinstance(value, str) and dtype.kind not in "OUS":
        raise ValueError(
            f"pad_sequences: `dtype` {dtype} cannot hold the string `value` {value!r}; "
            "use dtype=object for variable-length strings"
        )
    return dtype


def _lengths_and_sample_shape(sequences, dtype):
    lengths = []
    sample_shape = None
    for idx, seq in enumerate(sequences):
        if not hasattr(seq, "__len__"):
            raise ValueError(
                f"pad_sequences: sequence at position {idx} is not a sequence: {seq!r}"
            )
        if len(seq) and sample_shape is None:
            # The first non-empty sequence fixes the shape of one element; later ones must match.
            sample_shape = _as_array(seq, dtype, idx).shape[1:]
        lengths.append(len(seq))
    return lengths, sample_shape or ()


def _as_array(seq, dtype, idx):
    try:
        return np.asarray(seq, dtype=dtype)
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"pad_sequences: sequence at position {idx} cannot be converted to dtype {dtype}: {e}"
        ) from None
