"""What text_ and image_dataset_from_directory share, as Keras's dataset_utils: the file list
(class subfolders in sorted order, files walked in sorted order), the seeded shuffle of files,
the validation split and the label encodings."""

from __future__ import annotations

import os

import numpy as np

from ...data import Dataset

LABEL_MODES = ("int", "categorical", "binary", None)


def check_arguments(labels, label_mode, class_names, validation_split, subset, shuffle, seed):
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError(
                "`labels` argument should be a list/tuple of integer labels, of the same size "
                "as the number of files in the target directory, 'inferred' or None. "
                f"Received: labels={labels!r}"
            )
        if class_names:
            raise ValueError(
                "You can only pass `class_names` if `labels='inferred'`. Received: "
                f"labels={labels!r}, and class_names={class_names!r}"
            )
    if label_mode not in LABEL_MODES:
        raise ValueError(
            '`label_mode` argument must be one of "int", "categorical", "binary", or None. '
            f"Received: label_mode={label_mode!r}"
        )
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(
            f"`validation_split` must be between 0 and 1, received: {validation_split}"
        )
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(
            f'`subset` must be either "training", "validation" or "both", received: {subset!r}'
        )
    if validation_split and shuffle and seed is None:
        raise ValueError(
            "If using `validation_split` and shuffling the data, you must provide a `seed` "
            "argument, to make sure that there is no overlap between the training and "
            "validation subset."
        )


def _files(directory, follow_links, formats):
    """Files under ``directory`` with one of ``formats`` (lowercase suffixes), as paths relative
    to ``directory``: folders in sorted order, files sorted within each."""
    found = []
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links)):
        for name in sorted(files):
            if name.lower().endswith(formats):
                found.append(os.path.relpath(os.path.join(root, name), directory))
    return found


def index_directory(directory, labels, formats, class_names, shuffle, seed, follow_links, verbose):
    """(file paths, labels or None, class names or None), shuffled with RandomState(seed)."""
    if not os.path.isdir(directory):
        raise ValueError(f"directory: {directory!r} is not a directory")
    if labels == "inferred":
        subdirs = [
            d
            for d in sorted(os.listdir(directory))
            if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")
        ]
        if class_names is not None:
            if not set(class_names) <= set(subdirs):
                raise ValueError(
                    "The `class_names` passed did not match the names of the subdirectories "
                    f"of the target directory. Expected: {subdirs} (or a subset of it), but "
                    f"received: class_names={class_names}"
                )
            subdirs = list(class_names)
    else:
        subdirs = [""]
    paths, label_list = [], []
    for index, subdir in enumerate(subdirs):
        files = _files(os.path.join(directory, subdir), follow_links, formats)
        paths += [os.path.join(directory, subdir, f) for f in files]
        label_list += [index] * len(files)
    if labels == "inferred":
        class_names = subdirs
        labels = np.array(label_list, dtype=np.int32)
    elif labels is not None:
        if len(labels) != len(paths):
            raise ValueError(
                "Expected the lengths of `labels` to match the number of files in the target "
                f"directory. len(labels) is {len(labels)} while we found {len(paths)} files "
                f"in directory {directory}."
            )
        class_names = [str(label) for label in sorted(set(labels))]
        labels = np.asarray(labels)
    else:
        class_names = None
    if verbose:
        classes = "" if labels is None else f" belonging to {len(class_names)} classes"
        print(f"Found {len(paths)} files{classes}.")
    if shuffle:
        np.random.RandomState(seed).shuffle(paths)
        if labels is not None:
            np.random.RandomState(seed).shuffle(labels)
    return paths, labels, class_names


def split(paths, labels, validation_split, subset, verbose):
    """The training or validation part: the validation files are the last fraction."""
    if not validation_split:
        return paths, labels
    num_val = int(validation_split * len(paths))
    if subset == "training":
        if verbose:
            print(f"Using {len(paths) - num_val} files for training.")
        part = slice(0, len(paths) - num_val)
    else:
        if verbose:
            print(f"Using {num_val} files for validation.")
        part = slice(len(paths) - num_val, len(paths))
    return paths[part], None if labels is None else labels[part]


def encode_labels(labels, label_mode, num_classes):
    """int32 labels, float32 one-hot rows, or float32 (N, 1) for binary."""
    if label_mode == "binary":
        return labels.astype(np.float32)[:, None]
    if label_mode == "categorical":
        return np.eye(num_classes, dtype=np.float32)[labels]
    return labels.astype(np.int32) if labels.dtype.kind in "iub" else labels


def build(paths, labels, label_mode, class_names, load, batch_size, shuffle, seed):
    """The Dataset of ``load(path)`` (and its label), shuffled in a buffer of 8 batches when
    asked, batched, prefetched; ``class_names`` set on it."""
    path_ds = Dataset.from_tensor_slices(np.array(paths, dtype=object))
    if label_mode:
        encoded = encode_labels(labels, label_mode, len(class_names))
        ds = Dataset.zip((path_ds, Dataset.from_tensor_slices(encoded)))
    else:
        ds = path_ds
    if shuffle:
        ds = ds.shuffle(8 * batch_size if batch_size is not None else 1024, seed=seed)
    ds = ds.map((lambda p, y: (load(p), y)) if label_mode else load, num_parallel_calls=-1)
    if batch_size is not None:
        ds = ds.batch(batch_size)
    ds = ds.prefetch(-1)
    ds.class_names = class_names
    return ds


def from_directory(
    kind, directory, labels, label_mode, class_names, batch_size, shuffle, seed,
    validation_split, subset, follow_links, verbose, formats, load,
):  # fmt: skip
    """text_ / image_dataset_from_directory's common body: one Dataset, or [training,
    validation] for subset="both"."""
    check_arguments(labels, label_mode, class_names, validation_split, subset, shuffle, seed)
    if labels is None or label_mode is None:
        labels = label_mode = None
    if seed is None:
        seed = np.random.randint(1e6)
    paths, labels, class_names = index_directory(
        directory, labels, formats, class_names, shuffle, seed, follow_links, verbose
    )
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(
            'When passing `label_mode="binary"`, there must be exactly 2 class_names. '
            f"Received: class_names={class_names}"
        )
    subsets = ["training", "validation"] if subset == "both" else [subset]
    datasets = []
    for part in subsets:
        part_paths, part_labels = split(paths, labels, validation_split, part, verbose)
        if not part_paths:
            which = f"{part} " if subset == "both" else ""
            raise ValueError(
                f"No {which}{kind} files found in directory {directory}. Allowed formats: {formats}"
            )
        datasets.append(
            build(
                part_paths,
                part_labels,
                label_mode,
                class_names,
                load,
                batch_size,
                shuffle and part != "validation",
                seed,
            )
        )
    return datasets if subset == "both" else datasets[0]
