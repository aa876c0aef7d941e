"""The layers behind tests/data/keras_fixtures/conv/: each builder takes a Keras module
(TensorFlow's or shendu's), so scripts/make_conv_fixtures.py (run with TensorFlow) and
tests/keras/test_conv_vs_tf.py build the same layer from the same text. Weights are
keras_fixture_cases.synthetic_weights of the shapes TF reports."""

from __future__ import annotations

import os

from tests.helpers.keras_fixture_cases import FIXTURES as _ROOT_FIXTURES

FIXTURES = os.path.join(_ROOT_FIXTURES, "conv")
BATCH = 2
ADAM_LEARNING_RATE = 0.01

# name: (input shape without the batch, builder of the layer)
CASES = {
    "conv1d_valid": ((7, 3), lambda k: k.layers.Conv1D(4, 3)),
    "conv1d_same_s2_relu": (
        (8, 3),
        lambda k: k.layers.Conv1D(4, 3, strides=2, padding="same", activation="relu"),
    ),
    "conv1d_causal_d2_tanh": (
        (9, 4),
        lambda k: k.layers.Conv1D(5, 3, padding="causal", dilation_rate=2, activation="tanh"),
    ),
    "conv1d_same_d3": ((10, 2), lambda k: k.layers.Conv1D(4, 2, padding="same", dilation_rate=3)),
    "conv1d_groups2_causal": (
        (8, 4),
        lambda k: k.layers.Conv1D(6, 3, padding="causal", groups=2, activation="relu"),
    ),
    "conv2d_groups3_same_s2": (
        (7, 6, 6),
        lambda k: k.layers.Conv2D(3, 3, strides=2, padding="same", groups=3),
    ),
    "conv2d_dilated_same_relu": (
        (9, 8, 3),
        lambda k: k.layers.Conv2D(4, 3, padding="same", dilation_rate=2, activation="relu"),
    ),
    "conv2d_dilated_valid": (
        (9, 10, 5),
        lambda k: k.layers.Conv2D(6, (3, 2), dilation_rate=(2, 3), use_bias=False),
    ),
    "conv2d_transpose_same_s2_relu": (
        (5, 4, 3),
        lambda k: k.layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu"),
    ),
    "conv2d_transpose_valid_s2": ((4, 5, 6), lambda k: k.layers.Conv2DTranspose(3, 3, strides=2)),
    "conv2d_transpose_same_k4_op1": (
        (3, 4, 2),
        lambda k: k.layers.Conv2DTranspose(4, 4, strides=2, padding="same", output_padding=1),
    ),
    "conv2d_transpose_valid_k2s3_nobias": (
        (3, 3, 4),
        lambda k: k.layers.Conv2DTranspose(2, 2, strides=3, use_bias=False),
    ),
    "depthwise_same_relu": (
        (6, 7, 5),
        lambda k: k.layers.DepthwiseConv2D(3, padding="same", activation="relu"),
    ),
    "depthwise_s2_m2": (
        (7, 6, 3),
        lambda k: k.layers.DepthwiseConv2D((3, 2), strides=2, depth_multiplier=2),
    ),
    "depthwise_dilated_same_m2": (
        (9, 8, 3),
        lambda k: k.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, dilation_rate=2),
    ),
    "separable_dilated_valid": (
        (9, 10, 4),
        lambda k: k.layers.SeparableConv2D(5, (3, 2), dilation_rate=(2, 3), activation="relu"),
    ),
    "separable_same_relu": (
        (6, 6, 4),
        lambda k: k.layers.SeparableConv2D(6, 3, padding="same", activation="relu"),
    ),
    "separable_s2_m2_nobias": (
        (7, 7, 3),
        lambda k: k.layers.SeparableConv2D(5, 3, strides=2, depth_multiplier=2, use_bias=False),
    ),
}
