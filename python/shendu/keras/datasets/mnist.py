"""MNIST: keras.datasets.mnist.load_data() and the small sample shipped inside shendu.

load_data() looks for the file, in order:
1. ``$SHENDU_DATA_DIR/<path>``: a file the user put there is used as is (any number of images);
2. Keras's cache, ``$KERAS_HOME/datasets/<path>`` (``~/.keras/datasets/`` by default), where a
   file is used when its sha256 is that of Keras's mnist.npz;
3. otherwise it downloads Keras's mnist.npz into that cache, checking the sha256 before the file
   gets its final name, so an interrupted or tampered download is never used.
"""

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
import warnings
import zipfile

import numpy as np

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
_KEYS = ("x_train", "y_train", "x_test", "y_test")
_SAMPLE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    "data",
    "mnist_sample.npz",
)
_TIMEOUT_S = 60
_CHUNK = 1 << 20


def load_data(path="mnist.npz"):
    """Returns ``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 28, 28) with pixel
    values 0..255 and uint8 labels 0..9 (N,), 60,000 training and 10,000 test images for Keras's
    file. ``path`` is the file name, relative to $SHENDU_DATA_DIR and to the Keras cache folder."""
    return _read_npz(_locate(path))


def load_sample():
    """The 5,000-digit real MNIST sample shipped inside shendu (4,000 train / 1,000 test), in
    load_data()'s format; no network needed. shendu/data/README.md gives its origin and
    licence."""
    return _read_npz(_SAMPLE)


def _locate(path):
    # ORIGIN and SHA256 are read at call time, so tests can point them at a local server.
    origin, sha256 = ORIGIN, SHA256
    user_dir = os.environ.get("SHENDU_DATA_DIR")
    if user_dir:
        candidate = os.path.join(os.path.expanduser(user_dir), path)
        if os.path.isfile(candidate):
            return candidate
    cache_dir = _cache_dir()
    cached = os.path.join(cache_dir, path)
    if os.path.isfile(cached):
        if _sha256(cached) == sha256:
            return cached
        # As Keras's get_file does: a cached file that is not the expected one is fetched again.
        warnings.warn(
            f"{cached} does not have the expected sha256 (incomplete or changed file); "
            "downloading it again",
            stacklevel=3,
        )
    os.makedirs(os.path.dirname(cached) or ".", exist_ok=True)
    _download(origin, cached, sha256, path)
    return cached


def _cache_dir():
    keras_home = os.path.expanduser(os.environ.get("KERAS_HOME", os.path.join("~", ".keras")))
    if not os.access(
        keras_home if os.path.isdir(keras_home) else os.path.dirname(keras_home), os.W_OK
    ):
        # Keras falls back to /tmp/.keras when the home folder is read-only.
        keras_home = os.path.join(tempfile.gettempdir(), ".keras")
    return os.path.join(keras_home, "datasets")


def _download(origin, dest, sha256, path):
    """Streams ``origin`` into a temporary file beside ``dest``, hashing as it goes, and renames
    it to ``dest`` only when the sha256 matches."""
    print(f"Downloading data from {origin}", flush=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dest), prefix=".mnist-", suffix=".part")
    digest = hashlib.sha256()
    try:
        try:
            with (
                os.fdopen(fd, "wb") as out,
                urllib.request.urlopen(origin, timeout=_TIMEOUT_S) as src,
            ):
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise OSError(
                f"Could not download MNIST from {origin} ({getattr(e, 'reason', e)}). Without "
                f"network access, put Keras's mnist.npz (sha256 {sha256}) at "
                f"$SHENDU_DATA_DIR/{path} or {dest}, or use "
                "shendu.keras.datasets.mnist.load_sample() for the 5,000-digit sample shipped "
                "with shendu."
            ) from e
        if digest.hexdigest() != sha256:
            raise ValueError(
                f"The file downloaded from {origin} has sha256 {digest.hexdigest()}, expected "
                f"{sha256}: it is incomplete or not Keras's mnist.npz, so it was not kept. "
                f"Retry, or put a verified copy at {dest}."
            )
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _sha256(filename):
    digest = hashlib.sha256()
    with open(filename, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _read_npz(filename):
    # The file is opened here, not by np.load: NumPy leaks its own handle when the zip is corrupt.
    try:
        with open(filename, "rb") as f, np.load(f, allow_pickle=False) as data:
            files = list(data.files)
            arrays = {k: data[k] for k in _KEYS if k in files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise ValueError(
            f"{filename} is not a valid npz file (truncated or corrupt?): {e}"
        ) from None
    missing = [k for k in _KEYS if k not in arrays]
    if missing:
        raise ValueError(
            f"{filename} is not an MNIST npz file: it lacks {', '.join(missing)} "
            f"(it has: {', '.join(files) or 'nothing'})"
        )
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28) or x.dtype != np.uint8:
            raise ValueError(
                f"{filename}: x_{split} must be uint8 images of shape (N, 28, 28), "
                f"got {x.dtype} {x.shape}"
            )
        if y.ndim != 1 or y.dtype.kind not in "iu" or len(y) != len(x):
            raise ValueError(
                f"{filename}: y_{split} must be integer labels of shape ({len(x)},), "
                f"got {y.dtype} {y.shape}"
            )
        if len(y) and (y.min() < 0 or y.max() > 9):
            raise ValueError(
                f"{filename}: y_{split} labels must be digits 0..9, got values {y.min()}..{y.max()}"
            )
    return ((arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"]))
