"""Embedding: integer ids -> rows of a trainable table."""

from __future__ import annotations

import numpy as np

from ... import ops
from .. import initializers, regularizers
from ..row_gradient import RowGradient
from . import arguments
from .layer import Layer


class Embedding(Layer):
    """Maps integer ids to dense vectors: row ``i`` of ``embeddings`` for id ``i``.

    Args:
        input_dim: the number of ids (ids are in ``[0, input_dim)``).
        output_dim: the size of each vector.
        embeddings_initializer: initializer of the table (Keras's "uniform": +-0.05).
        embeddings_regularizer: a penalty on the table, or None.
        mask_zero: id 0 is padding: the layer's output mask (``compute_mask``) is False where
            the id is 0, so masking layers downstream (LSTM, GRU, SimpleRNN, Bidirectional)
            skip those steps. Id 0 still has a row of the table.
        input_length: TF-Keras's way to give the sequence length.

    Input shape: ``(batch, ...)`` of integer ids. Output shape: ``(batch, ..., output_dim)``.
    """

    _int_input = True

    def __init__(
        self,
        input_dim,
        output_dim,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        embeddings_constraint=None,
        mask_zero=False,
        input_length=None,
        **kwargs,
    ):
        if input_length is not None and "input_shape" not in kwargs:  # TF-Keras's spelling
            kwargs["input_shape"] = (input_length,)
        super().__init__(**kwargs)
        arguments.refuse("Embedding", embeddings_constraint=embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.input_dim = arguments.positive_int("input_dim", input_dim)
        self.output_dim = arguments.positive_int("output_dim", output_dim)
        # Keras's "uniform" for embeddings is RandomUniform(-0.05, 0.05).
        self.embeddings_initializer = (
            initializers.RandomUniform()
            if embeddings_initializer == "uniform"
            else initializers.get(embeddings_initializer)
        )
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            "embeddings",
            (self.input_dim, self.output_dim),
            self.embeddings_initializer,
            self.embeddings_regularizer,
        )

    def forward(self, ids, training=False):
        if ids.dtype.kind not in "iu":
            ids = ids.astype(np.int64)
        return ops.embedding(ids, self.embeddings.value), ids

    def backward(self, ids, dy):
        # Integer ids have no gradient: None tells the model to stop here. The table's gradient
        # keeps each lookup's row, for the optimizers' per-lookup second moments.
        return None, [RowGradient(dy, ids, self.input_dim)]

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return inputs != 0

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "mask_zero": self.mask_zero,
        }
