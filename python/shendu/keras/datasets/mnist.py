"""MNIST: keras.datasets.mnist.load_data() and the small sample shipped inside shendu."""
