"""The inputs of the pipeline fixtures, made the same way by the tests and by
scripts/make_pipeline_fixtures.py (which runs under TensorFlow): weighted-loss cases, timeseries
settings, and small folders of text files and PNG images (written in plain Python, so both sides
read the very same bytes)."""

import pathlib
import struct
import zlib

import numpy as np

CLASSES = ("cats", "dogs", "eels")

# (name, loss class, kwargs, output shape, targets kind)
LOSSES = [
    ("mse", "MeanSquaredError", {}, (6, 3), "dense"),
    ("mse_3d", "MeanSquaredError", {}, (4, 5, 3), "dense"),
    ("bce", "BinaryCrossentropy", {}, (6, 3), "binary"),
    ("bce_logits", "BinaryCrossentropy", {"from_logits": True}, (6, 3), "binary"),
    ("cce", "CategoricalCrossentropy", {}, (6, 4), "onehot"),
    ("cce_logits", "CategoricalCrossentropy", {"from_logits": True}, (6, 4), "onehot"),
    ("scce", "SparseCategoricalCrossentropy", {}, (6, 4), "sparse"),
    ("scce_logits", "SparseCategoricalCrossentropy", {"from_logits": True}, (6, 4), "sparse"),
    ("scce_3d", "SparseCategoricalCrossentropy", {"from_logits": True}, (4, 5, 3), "sparse"),
]


def loss_case(name, shape, kind, from_logits):
    """(y_true, y_pred, sample_weight) of a loss case, the same arrays the test rebuilds."""
    rng = np.random.default_rng(len(name) * 7 + shape[-1])
    raw = rng.standard_normal(shape).astype(np.float32)
    if from_logits or kind == "dense":
        y_pred = raw
    elif kind == "binary":
        y_pred = (1 / (1 + np.exp(-raw))).astype(np.float32)
    else:
        e = np.exp(raw - raw.max(-1, keepdims=True))
        y_pred = (e / e.sum(-1, keepdims=True)).astype(np.float32)
    labels = rng.integers(0, shape[-1], shape[:-1])
    y_true = {
        "dense": rng.standard_normal(shape).astype(np.float32),
        "binary": (rng.random(shape) > 0.5).astype(np.float32),
        "onehot": np.eye(shape[-1], dtype=np.float32)[labels],
        "sparse": labels.astype(np.int64),
    }[kind]
    weights = rng.uniform(0, 2, shape[0]).astype(np.float32)
    weights[1] = 0.0
    if len(shape) == 3:  # Keras's losses broadcast (N, 1) weights over the time axis, not (N,)
        weights = weights[:, None]
    return y_true, y_pred, weights


TIMESERIES = [  # name: kwargs besides data and targets
    ("basic", dict(sequence_length=4, batch_size=3)),
    ("strided", dict(sequence_length=3, sequence_stride=2, sampling_rate=3, batch_size=4)),
    ("window", dict(sequence_length=5, start_index=3, end_index=27, batch_size=5)),
    ("unbatched", dict(sequence_length=2, sampling_rate=2, batch_size=None, end_index=10)),
]


def timeseries_data():
    data = np.arange(30 * 2, dtype=np.float32).reshape(30, 2)
    targets = np.arange(100, 130)
    return data, targets


def _png(pixels):
    """PNG bytes of an (H, W, 3) uint8 image (8-bit RGB, no filtering)."""
    h, w, _ = pixels.shape
    raw = b"".join(b"\0" + pixels[row].tobytes() for row in range(h))

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def write_text_folder(root):
    """root/<class>/<n>.txt: 3, 4 and 2 files, names that sort differently as text and numbers,
    a nested subfolder, and a non-.txt file that is skipped."""
    root = pathlib.Path(root)
    counts = {"cats": 3, "dogs": 4, "eels": 2}
    for k, name in enumerate(CLASSES):
        (root / name).mkdir(parents=True)
        for i in range(counts[name]):
            (root / name / f"{i * 5}.txt").write_text(f"{name} text {i} " + "x" * (i + k))
    (root / "dogs" / "deeper").mkdir()
    (root / "dogs" / "deeper" / "a.txt").write_text("a nested dog")
    (root / "cats" / "notes.md").write_text("not a sample")
    return root


def image_pixels(k, i, shape=(6, 8, 3)):
    rng = np.random.default_rng(100 * k + i)
    return rng.integers(0, 256, shape, dtype=np.uint8)


def write_image_folder(root):
    """root/<class>/<i>.png: 3 small RGB images per class (6x8 pixels)."""
    root = pathlib.Path(root)
    for k, name in enumerate(CLASSES):
        (root / name).mkdir(parents=True)
        for i in range(3):
            (root / name / f"img{i}.png").write_bytes(_png(image_pixels(k, i)))
    return root
