"""NumPy twins of every op in ``shendu.ops``: plain, readable, and the definition of correct.

Same signatures and return values as ``shendu.ops`` (see its docstrings for the contract). They
keep the input's float dtype, so they run in float64 for gradient checks.
"""

from __future__ import annotations

import numpy as np


def _float(x):
    """Float arrays keep their dtype (float64 for gradient checks); anything else becomes float32."""
    x = np.asarray(x)
    return x if x.dtype in (np.float32, np.float64) else x.astype(np.float32)


# --- matrix products, dense layers, activations ------------------------------------------------


def matmul(a, b, trans_a=False, trans_b=False):
    a, b = _float(a), _float(b)
    return (a.T if trans_a else a) @ (b.T if trans_b else b)


# --- convolution and pooling (NHWC) --------------------------------------------------------------


# --- recurrent layers ----------------------------------------------------------------------------


# --- embedding, dropout --------------------------------------------------------------------------


# --- losses --------------------------------------------------------------------------------------


# --- optimizers ----------------------------------------------------------------------------------
