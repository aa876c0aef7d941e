"""TensorBoard: event files of the logs (per epoch, and per batch with ``update_freq``) and of
weight histograms, written with the ``tensorboard`` package's event writer and protos (an
optional dependency: ``pip install 'shendu[tensorboard]'``)."""

import os
import time

import numpy as np

from ... import _device
from .base import Callback, is_chief

_MISSING = (
    "keras.callbacks.TensorBoard needs the tensorboard package, which writes the event files: "
    "pip install 'shendu[tensorboard]' (or pip install tensorboard)"
)


def _tensorboard():
    """The writer and protos, imported when a TensorBoard callback is made (not with shendu)."""
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError as e:
        raise ImportError(_MISSING) from e
    return EventFileWriter, event_pb2, summary_pb2


def _histogram(summary_pb2, values, bins=30):
    values = np.asarray(values, np.float64).reshape(-1)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return summary_pb2.HistogramProto()
    counts, edges = np.histogram(values, bins=bins)
    return summary_pb2.HistogramProto(
        min=float(values.min()),
        max=float(values.max()),
        num=float(values.size),
        sum=float(values.sum()),
        sum_squares=float((values * values).sum()),
        bucket_limit=edges[1:].tolist(),
        bucket=counts.astype(np.float64).tolist(),
    )


class _Writer:
    """One run's event file (log_dir/train or log_dir/validation)."""

    def __init__(self, folder, modules):
        event_file_writer, self._event_pb2, self._summary_pb2 = modules
        self._writer = event_file_writer(folder)

    def _write(self, value, step):
        summary = self._summary_pb2.Summary(value=[value])
        self._writer.add_event(
            self._event_pb2.Event(wall_time=time.time(), step=int(step), summary=summary)
        )

    def scalar(self, tag, value, step):
        self._write(self._summary_pb2.Summary.Value(tag=tag, simple_value=float(value)), step)

    def histogram(self, tag, values, step):
        histo = _histogram(self._summary_pb2, values)
        self._write(self._summary_pb2.Summary.Value(tag=tag, histo=histo), step)

    def flush(self):
        self._writer.flush()

    def close(self):
        self._writer.close()


class TensorBoard(Callback):
    """Writes event files that TensorBoard reads: under ``log_dir/train`` the training logs as
    ``epoch_<name>`` scalars at each epoch's end (and ``batch_<name>`` every ``update_freq``
    batches when it is "batch" or an int, counted over the whole fit) and, every
    ``histogram_freq`` epochs, a histogram of each weight (``<weight path>/histogram``); under
    ``log_dir/validation`` the ``val_`` logs as ``epoch_<name>``. The graph is not written."""

    def __init__(
        self,
        log_dir="logs",
        histogram_freq=0,
        write_graph=True,
        write_images=False,
        write_steps_per_second=False,
        update_freq="epoch",
        profile_batch=0,
        embeddings_freq=0,
        embeddings_metadata=None,
    ):
        super().__init__()
        self._modules = _tensorboard()
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and (
            isinstance(update_freq, bool) or not isinstance(update_freq, int) or update_freq < 1
        ):
            raise ValueError(
                f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive int, got "
                f"{update_freq!r}"
            )
        if (
            isinstance(histogram_freq, bool)
            or not isinstance(histogram_freq, int)
            or (histogram_freq < 0)
        ):
            raise ValueError(
                f"TensorBoard: histogram_freq must be a non-negative int, got {histogram_freq!r}"
            )
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.update_freq = update_freq
        self.write_graph = write_graph
        self._train = None
        self._validation = None
        self._global_train_batch = 0

    def _writer(self, run):
        return _Writer(os.path.join(self.log_dir, run), self._modules)

    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        if is_chief(self.model):
            self._train = self._writer("train")
            self._validation = self._writer("validation")

    def on_train_batch_end(self, batch, logs=None):
        self._global_train_batch += 1
        if self._train is None or self.update_freq == "epoch":
            return
        if self._global_train_batch % self.update_freq == 0:
            for name, value in (logs or {}).items():
                self._scalar(self._train, "batch_" + name, value, self._global_train_batch)

    def on_epoch_end(self, epoch, logs=None):
        if self._train is None:
            return
        for name, value in (logs or {}).items():
            if name.startswith("val_"):
                self._scalar(self._validation, "epoch_" + name[4:], value, epoch)
            else:
                self._scalar(self._train, "epoch_" + name, value, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            for weight in self.model.weights:
                path = weight.path.replace(":", "_")
                self._train.histogram(f"{path}/histogram", _device.to_host(weight.value), epoch)
        self._train.flush()
        self._validation.flush()

    @staticmethod
    def _scalar(writer, tag, value, step):
        if np.ndim(value) == 0:  # per-threshold or per-class arrays are left out
            writer.scalar(tag, value, step)

    def on_train_end(self, logs=None):
        for writer in (self._train, self._validation):
            if writer is not None:
                writer.close()
        self._train = self._validation = None
