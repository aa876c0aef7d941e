"""Tools shared by the tests: gradient checks, thread counts, the Keras fixture models."""
