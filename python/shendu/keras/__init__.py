"""shendu.keras: a Keras-compatible API on shendu's kernels."""
