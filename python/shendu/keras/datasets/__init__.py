"""Datasets with Keras's load_data() interface."""
