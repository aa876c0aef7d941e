"""Data-parallel training over MPI processes, with TensorFlow's names (``tf.distribute``).

    strategy = shendu.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        model = keras.Sequential([...])
        model.compile(...)
    model.fit(x, y, batch_size=64 * strategy.num_replicas_in_sync)

and ``mpiexec -n 4 python train.py``. See strategy.py for the semantics. The replicas talk
through collectives.py (MPI through mpi4py, for NumPy arrays and Python objects) and, on the
CUDA device (``shendu.set_device("cuda")`` before making the strategy: one GPU per process, by
local rank), nccl.py (NCCL through CuPy, for CuPy arrays); buckets.py sums the gradients.
"""

from .strategy import MultiWorkerMirroredStrategy, Strategy, get_strategy, has_strategy

__all__ = ["MultiWorkerMirroredStrategy", "Strategy", "get_strategy", "has_strategy"]
