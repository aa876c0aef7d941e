"""The Keras MNIST convnet of mnist_cnn.py trained on several processes: the three strategy lines
(make the strategy, build and compile in its scope, scale the batch) are all that changes.

    mpiexec -n 2 python examples/mnist_distributed.py

Each process is one replica: it takes its shard of every global batch of 64 per replica, and
the gradients are averaged over the replicas before each update, so the run trains as one
process with the global batch. Only rank 0 prints. Without mpiexec it runs as one process.
"""

import mnist_cnn
import shendu as tf
from shendu import keras


def main():
    keras.utils.set_random_seed(0)
    data = mnist_cnn.load_data()
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        model = mnist_cnn.build_model()
    mnist_cnn.fit(model, data, batch_size=64 * strategy.num_replicas_in_sync)
    accuracy = mnist_cnn.test_accuracy(model, data, verbose=0)  # global: every rank agrees
    if not strategy.cluster_resolver.task_id:  # rank 0
        print(f"test accuracy: {accuracy:.4f}")


if __name__ == "__main__":
    main()
