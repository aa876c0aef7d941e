"""State that layers update in their training forward (BatchNormalization's moving statistics),
averaged over the replicas once per training step so that every replica holds the same.

Each replica moves such state towards its own shard's statistics; TensorFlow's strategies
aggregate it with ``VariableAggregation.MEAN``, and so does this: every weight that is not
trainable and was made with ``aggregation="mean"`` goes into one float64 buffer, followed by 1
for a replica that held samples in the step (0 for an empty shard, whose forward moved nothing),
and after one allreduce each weight becomes the sum over the replicas that held samples divided
by their number. The update is linear and every replica starts from the same values, so this
equals averaging the replicas' own moving averages at the end, as TensorFlow reads them.

Float64 sums of a few float32 values are exact, so state no replica changed (a frozen layer)
comes back bit for bit, and every replica divides the same sums: all hold the same bits.
"""

from __future__ import annotations

import numpy as np

from .. import _device


class StateAverage:
    """The averaged state of one model.

    Args:
        weights: the model's weights.
        collectives: where the sum runs (see collectives.py).
    """

    def __init__(self, weights, collectives):
        self._collectives = collectives
        self.weights = [w for w in weights if not w.trainable and w.aggregation == "mean"]
        sizes = [int(w.value.size) for w in self.weights]
        self._offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int).tolist()
        self._buffer = np.empty(self._offsets[-1] + 1, np.float64)

    def average(self, held_samples: bool) -> None:
        """Replaces each weight by its mean over the replicas that held samples this step
        (collective: every replica calls it, once per training step)."""
        if not self.weights:
            return
        for k, w in enumerate(self.weights):
            part = self._buffer[self._offsets[k] : self._offsets[k + 1]]
            if held_samples:
                part[...] = _device.to_host(w.value).ravel()
            else:
                part.fill(0.0)
        self._buffer[-1] = 1.0 if held_samples else 0.0
        summed = self._collectives.allreduce(self._buffer)
        replicas = summed[-1]
        if not replicas:
            return
        for k, w in enumerate(self.weights):
            mean = summed[self._offsets[k] : self._offsets[k + 1]] / replicas
            w.value[...] = _device.array_module(w.value).asarray(
                mean.astype(np.float32).reshape(w.value.shape)
            )
