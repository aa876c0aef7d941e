"""Datasets with Keras's load_data() interface."""

from . import mnist

__all__ = ["mnist"]
