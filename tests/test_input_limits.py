"""Inputs at the limits of sizes and memory: clear errors naming the argument, never a crash,
a wrapped size or a Python "internal error"."""

import numpy as np
import pytest
from shendu import ops


def test_an_array_too_large_to_convert_raises_memory_error():
    huge = np.broadcast_to(np.float64(1), (1 << 36, 1))  # 2^36 float32 cells: 256 GiB
    with pytest.raises(
        MemoryError, match=r"x: cannot convert the array of shape \(68719476736, 1\)"
    ):
        ops.relu(huge)
    with pytest.raises(MemoryError, match="ids: cannot convert"):
        ops.embedding(np.broadcast_to(np.int32(0), (1 << 36,)), np.ones((2, 3), np.float32))
