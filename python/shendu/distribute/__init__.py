"""Data-parallel training over MPI processes, with TensorFlow's names (``tf.distribute``).

    strategy = shendu.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        model = keras.Sequential([...])
        model.compile(...)
    model.fit(x, y, batch_size=64 * strategy.num_replicas_in_sync)

and ``mpiexec -n 4 python train.py``. See strategy.py for the semantics.
"""

from .strategy import MultiWorkerMirroredStrategy, Strategy, get_strategy, has_strategy

__all__ = ["MultiWorkerMirroredStrategy", "Strategy", "get_strategy", "has_strategy"]
