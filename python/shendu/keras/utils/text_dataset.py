"""keras.utils.text_dataset_from_directory."""

from __future__ import annotations

from . import directory_index


def text_dataset_from_directory(
    directory,
    labels="inferred",
    label_mode="int",
    class_names=None,
    batch_size=32,
    max_length=None,
    shuffle=True,
    seed=None,
    validation_split=None,
    subset=None,
    follow_links=False,
    verbose=True,
):
    """A Dataset of the ``.txt`` files under ``directory`` (their contents as bytes, at most
    ``max_length`` of them), with labels from the class subfolders, as Keras's.

    Files are listed class folder by class folder (sorted), shuffled with
    ``np.random.RandomState(seed)`` when ``shuffle``; the last ``validation_split`` of them is
    the ``"validation"`` subset (``subset="both"`` gives both Datasets). Elements are batches
    of ``batch_size`` strings (object arrays of bytes, as tf.string) with their labels:
    ``label_mode`` "int" (int32), "categorical" (float32 one-hot), "binary" (float32, (N, 1)) or
    None (no labels). The Dataset's ``class_names`` lists the classes in label order. Within
    the listing, batches are also shuffled in a buffer of 8 batches (tf.data's order differs).
    """

    def load(path):
        with open(path, "rb") as f:
            text = f.read()
        return text if max_length is None else text[:max_length]

    return directory_index.from_directory(
        "text", directory, labels, label_mode, class_names, batch_size, shuffle, seed,
        validation_split, subset, follow_links, verbose, (".txt",), load,
    )  # fmt: skip
