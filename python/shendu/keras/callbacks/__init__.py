"""keras.callbacks: the hooks fit / evaluate / predict call, and Keras 3's callbacks with their
arguments, decisions and printed messages. Callbacks that write files write them on the chief
replica only under a distribute strategy, and replace files atomically."""

from .base import Callback, CallbackList, History, ProgbarLogger
from .checkpoint import BackupAndRestore, ModelCheckpoint
from .csv_logger import CSVLogger
from .lambda_callback import LambdaCallback, LearningRateScheduler, TerminateOnNaN
from .monitor import EarlyStopping, ReduceLROnPlateau
from .tensorboard import TensorBoard

__all__ = [
    "Callback",
    "CallbackList",
    "History",
    "ProgbarLogger",
    "EarlyStopping",
    "ReduceLROnPlateau",
    "ModelCheckpoint",
    "BackupAndRestore",
    "CSVLogger",
    "LambdaCallback",
    "LearningRateScheduler",
    "TerminateOnNaN",
    "TensorBoard",
]
