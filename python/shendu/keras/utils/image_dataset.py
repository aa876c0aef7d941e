"""keras.utils.image_dataset_from_directory: images decoded by Pillow (the optional ``images``
extra), resized as tf.image.resize does (half-pixel centers, no antialiasing)."""

from __future__ import annotations

import numpy as np

from . import directory_index

try:
    from PIL import Image
except ImportError:  # an optional dependency: only this function needs it
    Image = None

FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_MODES = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}


def _source_positions(out_size, in_size):
    """tf.image.resize's sampling positions along one axis (half-pixel centers)."""
    return (np.arange(out_size, dtype=np.float64) + 0.5) * (in_size / out_size) - 0.5


def resize(image, size, interpolation="bilinear"):
    """An (H, W, C) float32 image resized to ``size`` (height, width), as tf.image.resize with
    ``method`` "bilinear" or "nearest"."""
    out = image.astype(np.float32, copy=False)
    for axis, (new, old) in enumerate(zip(size, image.shape[:2])):
        if new == old:
            continue
        pos = _source_positions(new, old)
        if interpolation == "nearest":
            index = np.minimum(np.floor(pos + 0.5), old - 1).astype(np.int64)
            out = np.take(out, index, axis=axis)
            continue
        lo = np.floor(pos)
        frac = (pos - lo).astype(np.float32)
        i0 = np.clip(lo, 0, old - 1).astype(np.int64)
        i1 = np.clip(np.ceil(pos), 0, old - 1).astype(np.int64)
        shape = [1, 1, 1]
        shape[axis] = new
        a, b = np.take(out, i0, axis=axis), np.take(out, i1, axis=axis)
        out = a + (b - a) * frac.reshape(shape)
    return out


def _center_crop_box(height, width, target):
    """Keras's crop_to_aspect_ratio: the largest centered box with the target's aspect."""
    crop_h = max(min(height, int(width * target[0] / target[1])), 1)
    crop_w = max(min(width, int(height * target[1] / target[0])), 1)
    top, left = int((height - crop_h) / 2), int((width - crop_w) / 2)
    return slice(top, top + crop_h), slice(left, left + crop_w)


def image_dataset_from_directory(
    directory,
    labels="inferred",
    label_mode="int",
    class_names=None,
    color_mode="rgb",
    batch_size=32,
    image_size=(256, 256),
    shuffle=True,
    seed=None,
    validation_split=None,
    subset=None,
    interpolation="bilinear",
    follow_links=False,
    crop_to_aspect_ratio=False,
    pad_to_aspect_ratio=False,
    data_format=None,
    verbose=True,
):
    """A Dataset of the images under ``directory`` (.bmp, .gif, .jpeg, .jpg, .png), with labels
    from the class subfolders, as Keras's.

    Images are decoded with Pillow (``pip install shendu[images]``), converted to
    ``color_mode`` ("grayscale", "rgb" or "rgba"), cropped to the aspect ratio of
    ``image_size`` when ``crop_to_aspect_ratio``, resized to ``image_size`` (height, width)
    with ``interpolation`` "bilinear" or "nearest", and given as float32 batches of shape
    (batch, height, width, channels) (``data_format="channels_first"``: channels before
    height). Listing, shuffling, ``validation_split`` / ``subset``, ``label_mode`` and
    ``class_names`` work as in ``text_dataset_from_directory``.
    """
    if Image is None:
        raise ImportError(
            "image_dataset_from_directory needs Pillow to decode images: install it with "
            "`pip install pillow` (or `pip install shendu[images]`)."
        )
    if color_mode not in _MODES:
        raise ValueError(
            '`color_mode` must be one of {"rgb", "rgba", "grayscale"}. '
            f"Received: color_mode={color_mode!r}"
        )
    if interpolation not in ("bilinear", "nearest"):
        raise ValueError(
            '`interpolation` must be "bilinear" or "nearest" in shendu. '
            f"Received: interpolation={interpolation!r}"
        )
    if pad_to_aspect_ratio:
        raise ValueError("image_dataset_from_directory: pad_to_aspect_ratio is not supported")
    if data_format not in (None, "channels_last", "channels_first"):
        raise ValueError(
            '`data_format` must be "channels_last" or "channels_first". '
            f"Received: data_format={data_format!r}"
        )
    image_size = tuple(image_size)
    if len(image_size) != 2 or any(not isinstance(s, int) or s < 1 for s in image_size):
        raise ValueError(
            f"`image_size` must be (height, width) of positive ints, got {image_size!r}"
        )

    def load(path):
        with Image.open(path) as img:
            pixels = np.asarray(img.convert(_MODES[color_mode]), dtype=np.float32)
        if pixels.ndim == 2:
            pixels = pixels[:, :, None]
        if crop_to_aspect_ratio:
            pixels = pixels[_center_crop_box(*pixels.shape[:2], image_size)]
        pixels = resize(pixels, image_size, interpolation)
        return pixels.transpose(2, 0, 1) if data_format == "channels_first" else pixels

    return directory_index.from_directory(
        "image", directory, labels, label_mode, class_names, batch_size, shuffle, seed,
        validation_split, subset, follow_links, verbose, FORMATS, load,
    )  # fmt: skip
