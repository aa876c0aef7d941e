"""shendu.nn: TensorFlow-style activation functions (tf.nn.softmax etc.) on arrays."""

from .keras.activations import relu, sigmoid, softmax, tanh

__all__ = ["relu", "sigmoid", "softmax", "tanh"]
