"""Small files in the formats of Keras's dataset downloads, made deterministically, so that
scripts/make_dataset_fixtures.py (run under TF-Keras) and tests/keras/test_dataset_loaders.py
read the same data: the gzipped idx files of Fashion-MNIST, the tar.gz of Python 2 pickles of
CIFAR, the npz files (ragged object arrays for IMDB and Reuters) and the json word indexes."""

import gzip
import io
import json
import pickle
import struct
import tarfile

import numpy as np


def write_idx_gz(path, array):
    """An idx file (uint8 data, big-endian int32 dimensions), gzipped."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + np.ascontiguousarray(array, np.uint8).tobytes())


def write_fashion_mnist(folder, seed=0):
    """Keras's four Fashion-MNIST files, 7 training and 3 test images, into ``folder``."""
    rng = np.random.default_rng(seed)
    for split, n in (("train", 7), ("t10k", 3)):
        write_idx_gz(folder / f"{split}-labels-idx1-ubyte.gz", rng.integers(0, 10, n))
        write_idx_gz(folder / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))


class _Python2Pickler(pickle._Pickler):
    """Protocol 2 written as Python 2 wrote CIFAR's batches: str and bytes both as Python 2
    byte strings (so they load as bytes with encoding="bytes") and NumPy 1's module path."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj):
        data = obj.encode("latin-1") if isinstance(obj, str) else obj
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    def save_py2_global(self, obj, name=None):
        module = pickle.whichmodule(obj, obj.__qualname__)
        module = {"numpy._core.multiarray": "numpy.core.multiarray"}.get(module, module)
        self.write(pickle.GLOBAL + f"{module}\n{obj.__qualname__}\n".encode())
        self.memoize(obj)

    dispatch[bytes] = save_py2_str
    dispatch[str] = save_py2_str
    dispatch[type] = save_py2_global
    dispatch[type(len)] = save_py2_global


def python2_pickle(obj):
    buffer = io.BytesIO()
    _Python2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


def write_tar_gz(path, members):
    """A tar.gz holding ``members``: {name inside the archive: bytes}."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _images(rng, n):
    # Few grey levels keep the frozen outputs small; every axis still differs.
    return (rng.integers(0, 8, (n, 3072)) * 32 + rng.integers(0, 2, (n, 3072))).astype(np.uint8)


def write_cifar10(path, seed=0):
    """cifar-10-python.tar.gz: five training batches of 2 images and a test batch of 3."""
    rng = np.random.default_rng(seed)
    members = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        n = 3 if name == "test_batch" else 2
        batch = {
            b"batch_label": f"batch {i}".encode(),
            b"labels": [int(v) for v in rng.integers(0, 10, n)],
            b"data": _images(rng, n),
            b"filenames": [f"img_{i}_{k}.png".encode() for k in range(n)],
        }
        members[f"cifar-10-batches-py/{name}"] = python2_pickle(batch)
    members["cifar-10-batches-py/batches.meta"] = python2_pickle(
        {b"label_names": [b"airplane", b"automobile"], b"num_cases_per_batch": 2}
    )
    write_tar_gz(path, members)


def write_cifar100(path, seed=0):
    """cifar-100-python.tar.gz: a training batch of 5 images and a test batch of 3."""
    rng = np.random.default_rng(seed)
    members = {}
    for name, n in (("train", 5), ("test", 3)):
        fine = rng.integers(0, 100, n)
        batch = {
            b"filenames": [f"{name}_{k}.png".encode() for k in range(n)],
            b"batch_label": f"{name} batch".encode(),
            b"fine_labels": [int(v) for v in fine],
            b"coarse_labels": [int(v) // 5 for v in fine],
            b"data": _images(rng, n),
        }
        members[f"cifar-100-python/{name}"] = python2_pickle(batch)
    members["cifar-100-python/meta"] = python2_pickle({b"fine_label_names": [b"apple"]})
    write_tar_gz(path, members)


def _sequences(rng, n, vocabulary):
    """An object array of Python lists of word ranks, as IMDB's and Reuters's npz files hold."""
    sequences = np.empty(n, dtype=object)
    for i in range(n):
        sequences[i] = [int(w) for w in rng.integers(1, vocabulary, rng.integers(1, 13))]
    return sequences


def write_imdb(path, seed=0):
    """imdb.npz: 11 training and 9 test reviews over 40 word ranks."""
    rng = np.random.default_rng(seed)
    np.savez(
        path,
        x_train=_sequences(rng, 11, 40),
        y_train=rng.integers(0, 2, 11),
        x_test=_sequences(rng, 9, 40),
        y_test=rng.integers(0, 2, 9),
    )


def write_reuters(path, seed=0):
    """reuters.npz: 17 newswires over 40 word ranks with topics 0..45."""
    rng = np.random.default_rng(seed)
    np.savez(path, x=_sequences(rng, 17, 40), y=rng.integers(0, 46, 17))


def write_word_index(path, n=40):
    with open(path, "w", encoding="utf-8") as f:
        json.dump({f"word{i}": i for i in range(1, n)}, f)


def write_boston_housing(path, seed=0):
    rng = np.random.default_rng(seed)
    np.savez(path, x=rng.standard_normal((23, 13)), y=rng.uniform(5, 50, 23))


def write_california_housing(path, seed=0):
    """More than the 600 rows that version="small" keeps."""
    rng = np.random.default_rng(seed)
    np.savez(
        path,
        x=rng.standard_normal((613, 8)).astype(np.float32),
        y=rng.uniform(1e4, 5e5, 613).astype(np.float32),
    )
