"""Single layers held to TF-Keras by tests/data/keras_fixtures/layers/<case>.npz: each builder
takes a Keras module (TensorFlow's or shendu's) so scripts/make_layer_fixtures.py (run with
TensorFlow) and tests/keras/test_layers_vs_tf.py build the same layer from the same text.

A fixture holds the inputs x0.., the upstream gradient r (the test differentiates sum(y * r)),
TF's output y, input gradients dx0.. and, for layers with weights, the weights w0.. set into
the layer and their gradients dw0.."""

from __future__ import annotations

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "data", "keras_fixtures", "layers")

_SEQ = [(3, 7, 5)]
_IMG = [(2, 5, 6, 3)]


def _act(name):
    return lambda k: k.layers.Activation(name)


# name: (builder, input shapes, weight shapes)
CASES = {
    **{
        f"activation_{a}": (_act(a), [(4, 9)], [])
        for a in (
            "gelu",
            "silu",
            "swish",
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
    },
    "dense_gelu": (lambda k: k.layers.Dense(4, activation="gelu"), [(5, 6)], [(6, 4), (4,)]),
    "conv2d_silu": (
        lambda k: k.layers.Conv2D(2, 3, padding="same", activation="silu"),
        _IMG,
        [(3, 3, 3, 2), (2,)],
    ),
    "relu_default": (lambda k: k.layers.ReLU(), [(4, 9)], []),
    "relu_options": (
        lambda k: k.layers.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.25),
        [(4, 9)],
        [],
    ),
    "relu_max6": (lambda k: k.layers.ReLU(max_value=0.7), [(4, 9)], []),
    "leaky_relu_layer": (lambda k: k.layers.LeakyReLU(), [(4, 9)], []),
    "elu_layer": (lambda k: k.layers.ELU(alpha=0.6), [(4, 9)], []),
    "prelu": (lambda k: k.layers.PReLU(), [(3, 4, 5)], [(4, 5)]),
    "prelu_shared": (lambda k: k.layers.PReLU(shared_axes=[1, 2]), _IMG, [(1, 1, 3)]),
    "softmax_axis1": (lambda k: k.layers.Softmax(axis=1), _SEQ, []),
    "max_pool1d": (lambda k: k.layers.MaxPooling1D(2), _SEQ, []),
    "max_pool1d_same_3s2": (lambda k: k.layers.MaxPooling1D(3, 2, padding="same"), _SEQ, []),
    "avg_pool1d": (lambda k: k.layers.AveragePooling1D(2), _SEQ, []),
    "avg_pool1d_same_3s2": (lambda k: k.layers.AveragePooling1D(3, 2, padding="same"), _SEQ, []),
    "global_avg_pool1d": (lambda k: k.layers.GlobalAveragePooling1D(), _SEQ, []),
    "global_max_pool1d": (lambda k: k.layers.GlobalMaxPooling1D(), _SEQ, []),
    "global_avg_pool2d_keepdims": (
        lambda k: k.layers.GlobalAveragePooling2D(keepdims=True),
        _IMG,
        [],
    ),
    "global_max_pool2d": (lambda k: k.layers.GlobalMaxPooling2D(), _IMG, []),
    "upsampling1d": (lambda k: k.layers.UpSampling1D(3), _SEQ, []),
    "upsampling2d_nearest": (lambda k: k.layers.UpSampling2D((2, 3)), _IMG, []),
    "upsampling2d_bilinear": (
        lambda k: k.layers.UpSampling2D((2, 3), interpolation="bilinear"),
        _IMG,
        [],
    ),
    "zero_padding1d": (lambda k: k.layers.ZeroPadding1D((1, 2)), _SEQ, []),
    "zero_padding2d": (lambda k: k.layers.ZeroPadding2D(((1, 0), (2, 1))), _IMG, []),
    "cropping1d": (lambda k: k.layers.Cropping1D((2, 1)), _SEQ, []),
    "cropping2d": (lambda k: k.layers.Cropping2D(((1, 2), (0, 1))), _IMG, []),
    "repeat_vector": (lambda k: k.layers.RepeatVector(3), [(4, 5)], []),
    "permute": (lambda k: k.layers.Permute((2, 1)), _SEQ, []),
    "multiply": (lambda k: k.layers.Multiply(), [(4, 5)] * 3, []),
    "subtract": (lambda k: k.layers.Subtract(), [(4, 5)] * 2, []),
    "average": (lambda k: k.layers.Average(), [(4, 5)] * 3, []),
    "maximum": (lambda k: k.layers.Maximum(), [(4, 5)] * 3, []),
    "minimum": (lambda k: k.layers.Minimum(), [(4, 5)] * 2, []),
    "dot_2d": (lambda k: k.layers.Dot(axes=1), [(4, 5)] * 2, []),
    "dot_3d": (lambda k: k.layers.Dot(axes=(2, 2)), [(3, 4, 5), (3, 6, 5)], []),
    "dot_3d_normalize": (
        lambda k: k.layers.Dot(axes=(1, 2), normalize=True),
        [(3, 5, 4), (3, 6, 5)],
        [],
    ),
    "activity_regularization": (
        lambda k: k.layers.ActivityRegularization(l1=0.01, l2=0.02),
        [(4, 6)],
        [],
    ),
}
