"""Callbacks that write the model to files: ModelCheckpoint and BackupAndRestore."""

import json
import os
import shutil
import warnings

from .. import backend, saving
from ..atomic_file import atomic_write
from .base import Callback, is_chief
from .monitor import _MonitorCallback


class ModelCheckpoint(_MonitorCallback):
    """Saves the model (``model.save``) or its weights (``model.save_weights``) at the end of
    every epoch, or every ``save_freq`` batches. ``filepath`` may hold ``str.format`` fields
    filled from ``epoch`` (1-based), ``batch`` and the logs, e.g.
    ``ckpt/{epoch:02d}-{val_loss:.2f}.keras``; missing folders are created. With
    ``save_best_only`` only improvements of ``monitor`` are saved."""

    def __init__(
        self,
        filepath,
        monitor="val_loss",
        verbose=0,
        save_best_only=False,
        save_weights_only=False,
        mode="auto",
        save_freq="epoch",
        initial_value_threshold=None,
    ):
        super().__init__(monitor, mode)
        self.filepath = os.fspath(filepath)
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        if save_freq != "epoch" and (
            isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1
        ):
            raise ValueError(f"save_freq must be 'epoch' or a positive int, got {save_freq!r}")
        self.save_freq = save_freq
        if save_weights_only and not self.filepath.endswith(".weights.h5"):
            raise ValueError(
                "ModelCheckpoint with save_weights_only=True needs a filepath ending in "
                f"'.weights.h5', got filepath={self.filepath!r}"
            )
        if not save_weights_only and not self.filepath.endswith(".keras"):
            raise ValueError(
                "ModelCheckpoint needs a filepath ending in '.keras', got "
                f"filepath={self.filepath!r} "
                "(use save_weights_only=True with a '.weights.h5' path to save weights only)"
            )
        self.best = initial_value_threshold
        self._current_epoch = 0
        self._batches_since_save = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _save(self, epoch, batch, logs):
        logs = logs or {}
        filepath = self._format_path(epoch, batch, logs)
        if self.save_best_only and not self._improved(epoch, logs, filepath):
            return
        if self.verbose > 0 and not self.save_best_only:
            print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
        folder = os.path.dirname(filepath)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if os.path.isdir(filepath):
            raise IsADirectoryError(
                f"ModelCheckpoint: filepath {filepath!r} is an existing folder; give a file path"
            )
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)

    def _improved(self, epoch, logs, filepath):
        current = logs.get(self.monitor)
        if current is None:
            # As in Keras: warn and save anyway rather than silently never saving.
            warnings.warn(
                f"ModelCheckpoint can save the best model only with {self.monitor} available; "
                f"the logs have: {', '.join(logs) or '(none)'}. Saving anyway.",
                stacklevel=3,
            )
            return True
        best = self._worst() if self.best is None else self.best
        if self._is_improvement(current, best):
            if self.verbose > 0:
                print(
                    f"\nEpoch {epoch + 1}: {self.monitor} improved from {best:.5f} to "
                    f"{current:.5f}, saving model to {filepath}"
                )
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best:.5f}")
        return False

    def _format_path(self, epoch, batch, logs):
        fields = dict(logs)
        fields["epoch"] = epoch + 1
        if batch is not None:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except KeyError as e:
            raise KeyError(
                f"ModelCheckpoint: cannot fill filepath {self.filepath!r}: no value for {e}; "
                f"available: {', '.join(fields)}"
            ) from None


class BackupAndRestore(Callback):
    """Backs training up in ``backup_dir`` (the weights with the optimizer state in
    ``latest.weights.h5``, the epoch to resume at and the random generator's state in
    ``training_metadata.json``) at every epoch's end, or every ``save_freq`` batches. A fit
    started while a backup exists (one that was interrupted) restores it and resumes at that
    epoch; a fit that ends normally deletes the folder (unless ``delete_checkpoint=False``).
    With ``double_checkpoint`` the previous backup is kept as ``*.bkp`` and used when the
    latest cannot be read."""

    def __init__(
        self, backup_dir, save_freq="epoch", double_checkpoint=False, delete_checkpoint=True
    ):
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore: backup_dir must name a folder, got an empty value")
        if save_freq != "epoch" and (
            isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1
        ):
            raise ValueError(
                f"BackupAndRestore: save_freq must be 'epoch' or a positive int, got {save_freq!r}"
            )
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._weights_path = os.path.join(self.backup_dir, "latest.weights.h5")
        self._metadata_path = os.path.join(self.backup_dir, "training_metadata.json")
        self._current_epoch = 0
        self._last_batch_seen = 0
        self._batches_since_save = 0

    def on_train_begin(self, logs=None):
        if not self.model.built:
            raise ValueError(
                "To use the BackupAndRestore callback, your model must be built before you "
                f"call fit(); model {self.model.name!r} is not built."
            )
        try:
            self._restore(self._weights_path, self._metadata_path)
        except (OSError, ValueError):
            # A backup cut short: fall back on the previous one when there is one.
            if not os.path.exists(self._weights_path + ".bkp"):
                raise
            self._restore(self._weights_path + ".bkp", self._metadata_path + ".bkp")

    def _restore(self, weights_path, metadata_path):
        if os.path.exists(weights_path):
            saving.load_weights(self.model, weights_path, optimizer=True)
        if os.path.exists(metadata_path):
            with open(metadata_path, encoding="utf-8") as f:
                metadata = json.load(f)
            self.model._initial_epoch = self._current_epoch = int(metadata["epoch"])
            if "rng" in metadata:
                backend.random_generator().bit_generator.state = metadata["rng"]

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        # Keras counts batches across epochs: a batch index not above the last starts anew.
        added = batch + 1 if batch <= self._last_batch_seen else batch - self._last_batch_seen
        self._batches_since_save += added
        self._last_batch_seen = batch
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save()

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save()

    def _save(self):
        if not is_chief(self.model):
            return
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint:
            for path in (self._weights_path, self._metadata_path):
                if os.path.exists(path):
                    shutil.copyfile(path, path + ".bkp")
        self.model.save_weights(self._weights_path, overwrite=True)
        metadata = {
            "epoch": self._current_epoch,
            "batch": self._last_batch_seen,
            "rng": backend.random_generator().bit_generator.state,
        }

        def write(tmp):
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(metadata, f)

        atomic_write(self._metadata_path, write)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and is_chief(self.model) and os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)
