"""Where a dataset's file comes from: the one place that finds, downloads and verifies it.

get_file() looks, in order:
1. ``$SHENDU_DATA_DIR/<name>``: a file the user put there is used as is;
2. Keras's cache, ``$KERAS_HOME/datasets/<cache_name>`` (``~/.keras/datasets/`` by default), where
   a file is used when its checksum is that of Keras's file (any file, where Keras has none);
3. otherwise it downloads the file into that cache, checking the checksum before the file gets
   its final name, so an interrupted or tampered download is never used, and Keras finds the
   same file in its cache afterwards.

Checksums are hex digests, sha256 or md5 told apart by their length as Keras's get_file does.
"""

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
import warnings

_TIMEOUT_S = 60
_CHUNK = 1 << 20


def get_file(name, origin, file_hash, title, *, cache_name=None, advice=""):
    """The local path of the file that Keras caches as ``cache_name`` (default ``name``) and
    downloads from ``origin``; ``name`` is its path relative to $SHENDU_DATA_DIR. ``title`` names
    the dataset in messages and ``advice`` ends the message given when it cannot be downloaded."""
    user_dir = os.environ.get("SHENDU_DATA_DIR")
    if user_dir:
        candidate = os.path.join(os.path.expanduser(user_dir), name)
        if os.path.isfile(candidate):
            return candidate
    cached = os.path.join(cache_dir(), cache_name or name)
    if os.path.isfile(cached):
        if file_hash is None or hash_file(cached, file_hash) == file_hash:
            return cached
        # As Keras's get_file does: a cached file that is not the expected one is fetched again.
        warnings.warn(
            f"{cached} does not have the expected {_algorithm(file_hash)} (incomplete or "
            "changed file); downloading it again",
            stacklevel=3,
        )
    os.makedirs(os.path.dirname(cached), exist_ok=True)
    _download(origin, cached, file_hash, name, title, advice)
    return cached


def cache_dir():
    """Keras's dataset cache: ``$KERAS_HOME/datasets``, ``~/.keras/datasets`` by default."""
    keras_home = os.path.expanduser(os.environ.get("KERAS_HOME", os.path.join("~", ".keras")))
    if not os.access(
        keras_home if os.path.isdir(keras_home) else os.path.dirname(keras_home), os.W_OK
    ):
        # Keras falls back to /tmp/.keras when the home folder is read-only.
        keras_home = os.path.join(tempfile.gettempdir(), ".keras")
    return os.path.join(keras_home, "datasets")


def hash_file(filename, like_hash):
    """The hex digest of the file, with the algorithm of ``like_hash``."""
    digest = _hasher(like_hash)
    with open(filename, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _algorithm(file_hash):
    return "sha256" if len(file_hash) == 64 else "md5"


def _hasher(file_hash):
    # md5 only matches the checksums Keras publishes for its word indexes, not as a safeguard.
    return hashlib.sha256() if len(file_hash) == 64 else hashlib.md5(usedforsecurity=False)


def _download(origin, dest, file_hash, name, title, advice):
    """Streams ``origin`` into a temporary file beside ``dest``, hashing as it goes, and renames
    it to ``dest`` only when the checksum matches."""
    print(f"Downloading data from {origin}", flush=True)
    base = os.path.basename(name)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dest), prefix=f".{base}-", suffix=".part")
    digest = _hasher(file_hash) if file_hash else None
    checksum = f" ({_algorithm(file_hash)} {file_hash})" if file_hash else ""
    try:
        try:
            with (
                os.fdopen(fd, "wb") as out,
                urllib.request.urlopen(origin, timeout=_TIMEOUT_S) as src,
            ):
                while chunk := src.read(_CHUNK):
                    if digest:
                        digest.update(chunk)
                    out.write(chunk)
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise OSError(
                f"Could not download {title} from {origin} ({getattr(e, 'reason', e)}). Without "
                f"network access, put Keras's {base}{checksum} at $SHENDU_DATA_DIR/{name} or "
                f"{dest}{advice}."
            ) from e
        if digest and digest.hexdigest() != file_hash:
            raise ValueError(
                f"The file downloaded from {origin} has {_algorithm(file_hash)} "
                f"{digest.hexdigest()}, expected {file_hash}: it is incomplete or not Keras's "
                f"{base}, so it was not kept. Retry, or put a verified copy at {dest}."
            )
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
