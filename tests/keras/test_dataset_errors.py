"""keras.datasets beyond MNIST: hostile pickles refused without running them, malformed files
and bad arguments refused with errors naming them, the advice given without network, and
IMDB/Reuters preprocessing against a line-by-line transcription of Keras's loops on random
options."""

import gzip
import hashlib
import json
import os
import pickle
import socket

import numpy as np
import pytest
from shendu.keras.datasets import (
    boston_housing,
    california_housing,
    cifar10,
    cifar100,
    fashion_mnist,
    imdb,
    reuters,
)

from tests.helpers.dataset_cases import write_dataset
from tests.helpers.dataset_files import python2_pickle, write_cifar10, write_idx_gz, write_tar_gz


@pytest.fixture
def data(tmp_path, monkeypatch):
    """$SHENDU_DATA_DIR (returned), an isolated Keras cache and origins that fail if used."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("SHENDU_DATA_DIR", str(folder))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    nowhere = (tmp_path / "nowhere").as_uri()
    for mod in (boston_housing, california_housing, cifar10, cifar100, imdb, reuters):
        monkeypatch.setattr(mod, "ORIGIN", f"{nowhere}/{mod.__name__}")
    for mod in (imdb, reuters):
        monkeypatch.setattr(mod, "WORD_INDEX_ORIGIN", f"{nowhere}/{mod.__name__}.json")
    monkeypatch.setattr(fashion_mnist, "ORIGIN_FOLDER", f"{nowhere}/")
    return folder


class RunsCommand:
    """Unpickling this would run a shell command (the classic pickle payload)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class EvaluatesCode(RunsCommand):
    def __reduce__(self):
        return (eval, (f"open({str(self.marker)!r}, 'w')",))


def cifar10_batches(data_batch_1):
    rng = np.random.default_rng(0)
    members = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        members[f"cifar-10-batches-py/{name}"] = python2_pickle(
            {b"labels": [1, 2], b"data": rng.integers(0, 256, (2, 3072), dtype=np.uint8)}
        )
    members["cifar-10-batches-py/data_batch_1"] = data_batch_1
    return members


@pytest.mark.parametrize("payload", [RunsCommand, EvaluatesCode])
@pytest.mark.parametrize(
    "dump",
    [python2_pickle, lambda obj: pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)],
    ids=["python2", "python3"],
)
def test_hostile_cifar_pickle_is_refused_without_running(data, tmp_path, payload, dump):
    marker = tmp_path / "pwned"
    hostile = dump({b"data": payload(marker), b"labels": [0]})
    write_tar_gz(data / "cifar-10-python.tar.gz", cifar10_batches(hostile))
    with pytest.raises(ValueError) as err:
        cifar10.load_data()
    message = str(err.value)
    assert f"{data / 'cifar-10-python.tar.gz'}:cifar-10-batches-py/data_batch_1" in message
    assert "refusing to load" in message and ("system" in message or "eval" in message)
    assert not marker.exists()


def test_hostile_imdb_object_array_is_refused_without_running(data, tmp_path):
    marker = tmp_path / "pwned"
    sequences = np.empty(2, dtype=object)
    sequences[:] = [[1, 2], RunsCommand(marker)]
    labels = np.array([0, 1])
    np.savez(data / "imdb.npz", x_train=sequences, y_train=labels, x_test=sequences, y_test=labels)
    with pytest.raises(ValueError, match=r"imdb\.npz:x_train\.npy: .*refusing to load .*system"):
        imdb.load_data()
    assert not marker.exists()


def write_raw_gz(path, raw):
    with gzip.open(path, "wb") as f:
        f.write(raw)


def test_malformed_fashion_mnist_files_are_refused(data):
    folder = data / "fashion-mnist"
    folder.mkdir()
    write_dataset("fashion_mnist", folder)
    labels = folder / "train-labels-idx1-ubyte.gz"
    write_raw_gz(labels, b"\x00\x00\x08\x03" + b"\x00" * 20)  # an images header on labels
    with pytest.raises(ValueError, match=f"{labels} is not an idx file of 1-dimensional"):
        fashion_mnist.load_data()
    write_raw_gz(labels, b"\x00\x00\x08\x01\x00\x00\x00\x07" + bytes(6))
    with pytest.raises(ValueError, match=r"header gives shape \(7,\) but it holds 6 values"):
        fashion_mnist.load_data()
    write_idx_gz(labels, np.arange(6))  # one label fewer than the 7 images
    with pytest.raises(ValueError, match=r"must hold 6 images of 28x28 pixels .* got shape \(7,"):
        fashion_mnist.load_data()
    labels.write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="not a valid gzip file"):
        fashion_mnist.load_data()


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda m: m.pop("cifar-10-batches-py/test_batch"), "lacks cifar-10-batches-py/test_batch"),
        (
            lambda m: m.update({"cifar-10-batches-py/data_batch_3": python2_pickle([1, 2])}),
            "data_batch_3 must hold a dict, got list",
        ),
        (
            lambda m: m.update(
                {
                    "cifar-10-batches-py/data_batch_2": python2_pickle(
                        {b"labels": [3, 10], b"data": np.zeros((2, 3072), np.uint8)}
                    )
                }
            ),
            r"data_batch_2: 'labels' must be in 0..9, got values 3..10",
        ),
        (
            lambda m: m.update(
                {
                    "cifar-10-batches-py/data_batch_2": python2_pickle(
                        {b"labels": [3], b"data": np.zeros((2, 3072), np.uint8)}
                    )
                }
            ),
            r"'labels' must be 2 integer labels, one per image",
        ),
        (
            lambda m: m.update(
                {
                    "cifar-10-batches-py/test_batch": python2_pickle(
                        {b"labels": [3], b"data": np.zeros((1, 1024), np.uint8)}
                    )
                }
            ),
            r"test_batch: 'data' must be an array of 3072 bytes per image, got \(1, 1024\)",
        ),
        (
            lambda m: m.update(
                {"cifar-10-batches-py/data_batch_5": b"\x80\x02}q\x00(U\x04data"}  # cut short
            ),
            "data_batch_5: cannot read the pickled data",
        ),
    ],
)
def test_malformed_cifar_archives_are_refused(data, change, match):
    members = cifar10_batches(cifar10_batches(b"")["cifar-10-batches-py/data_batch_2"])
    change(members)
    write_tar_gz(data / "cifar-10-python.tar.gz", members)
    with pytest.raises(ValueError, match=match):
        cifar10.load_data()


def test_corrupt_cifar_archive_and_coarse_labels_are_refused(data):
    archive = data / "cifar-100-python.tar.gz"
    write_dataset("cifar100", data)
    raw = archive.read_bytes()
    archive.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="python.tar.gz:cifar-100-python/train: cannot read the"):
        cifar100.load_data()
    archive.write_bytes(b"not an archive" * 40)
    with pytest.raises(ValueError, match="not a valid tar.gz archive"):
        cifar100.load_data()
    batch = {b"fine_labels": [99], b"coarse_labels": [20], b"data": np.zeros((1, 3072), np.uint8)}
    write_tar_gz(
        archive,
        {f"cifar-100-python/{n}": python2_pickle(batch) for n in ("train", "test")},
    )
    assert cifar100.load_data()[0][1].tolist() == [[99]]
    with pytest.raises(ValueError, match=r"'coarse_labels' must be in 0..19, got values 20..20"):
        cifar100.load_data(label_mode="coarse")


def test_malformed_sequence_and_table_files_are_refused(data):
    labels = np.array([0, 1])
    seqs = np.empty(2, dtype=object)
    seqs[:] = [[1, 2], [3]]
    np.savez(data / "imdb.npz", x_train=seqs, y_train=labels, x_test=seqs)
    with pytest.raises(ValueError, match=r"imdb\.npz lacks y_test \(it has: x_test, x_train"):
        imdb.load_data()
    np.savez(data / "imdb.npz", x_train=seqs, y_train=labels[:1], x_test=seqs, y_test=labels)
    with pytest.raises(ValueError, match=r"y_train must be 2 integer labels, one per sequence"):
        imdb.load_data()
    np.savez(data / "reuters.npz", x=np.array([1.5, 2.5]), y=labels)
    with pytest.raises(ValueError, match="x must hold sequences of integer word indices"):
        reuters.load_data()
    (data / "reuters.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ValueError, match="not a valid npz file"):
        reuters.load_data()
    np.savez(data / "boston_housing.npz", x=np.zeros((4, 12)), y=np.zeros(4))
    with pytest.raises(
        ValueError, match=r"x must be numbers of shape \(N, 13\), got float64 \(4, 12"
    ):
        boston_housing.load_data()
    np.savez(data / "california_housing.npz", x=np.zeros((4, 8)), y=np.zeros(3))
    with pytest.raises(
        ValueError, match=r"y must be 4 numbers, one per row of x, got float64 \(3,"
    ):
        california_housing.load_data()
    (data / "imdb_word_index.json").write_text(json.dumps(["the", "a"]))
    with pytest.raises(ValueError, match="must hold a json object of words, got list"):
        imdb.get_word_index()
    (data / "reuters_word_index.json").write_text("{'the': 1")
    with pytest.raises(ValueError, match="is not a valid json file"):
        reuters.get_word_index()


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: cifar100.load_data(label_mode="medium"), ValueError, "label_mode must be"),
        (lambda: california_housing.load_data(version="tiny"), ValueError, "version must be"),
        (lambda: boston_housing.load_data(test_split=1.0), ValueError, r"test_split must be in"),
        (lambda: california_housing.load_data(test_split=-0.1), ValueError, "test_split"),
        (lambda: reuters.load_data(test_split=1.5), ValueError, "test_split must be between"),
        (lambda: imdb.load_data(num_words="10"), TypeError, "num_words must be an integer or"),
        (lambda: imdb.load_data(skip_top=-1), ValueError, "skip_top must be >= 0, got -1"),
        (lambda: reuters.load_data(index_from=None), TypeError, "index_from must be an integer,"),
        (lambda: reuters.load_data(oov_char=2.0), TypeError, "oov_char must be an integer or"),
    ],
)
def test_bad_arguments_are_refused_before_any_download(data, call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_imdb_maxlen_that_keeps_nothing(data):
    write_dataset("imdb", data)
    with pytest.raises(ValueError, match="No training review is shorter than maxlen=1"):
        imdb.load_data(maxlen=1)


def test_no_network_says_where_to_put_each_file(data, tmp_path, monkeypatch):
    cache = tmp_path / "keras_home" / "datasets"
    with pytest.raises(OSError) as err:
        cifar10.load_data()
    message = str(err.value)
    assert "Could not download CIFAR-10" in message
    assert "put Keras's cifar-10-python.tar.gz (sha256 6d958be074577803" in message
    assert "$SHENDU_DATA_DIR/cifar-10-python.tar.gz" in message
    assert str(cache / "cifar-10-batches-py-target_archive") in message
    with pytest.raises(OSError, match=r"put Keras's imdb_word_index\.json \(md5 bfafd718b7"):
        imdb.get_word_index()
    with socket.socket() as s:  # a closed local port: an unreachable server
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(fashion_mnist, "ORIGIN_FOLDER", f"http://127.0.0.1:{port}/")
    with pytest.raises(OSError) as err:
        fashion_mnist.load_data()
    assert (
        "put Keras's train-labels-idx1-ubyte.gz at "
        "$SHENDU_DATA_DIR/fashion-mnist/train-labels-idx1-ubyte.gz or "
        f"{cache / 'fashion-mnist' / 'train-labels-idx1-ubyte.gz'}."
    ) in str(err.value)
    assert [p.name for p in cache.rglob("*") if p.is_file()] == []


def test_wrong_or_stale_files_are_fetched_and_verified(data, tmp_path, monkeypatch):
    monkeypatch.delenv("SHENDU_DATA_DIR")
    www = tmp_path / "www"
    www.mkdir()
    paths = write_dataset("imdb", www)
    monkeypatch.setattr(imdb, "WORD_INDEX_ORIGIN", paths["imdb_word_index.json"].as_uri())
    with pytest.raises(ValueError, match=f"has md5 [0-9a-f]{{32}}, expected {imdb.WORD_INDEX_MD5}"):
        imdb.get_word_index()
    cache = tmp_path / "keras_home" / "datasets"
    assert list(cache.iterdir()) == []
    # A cached archive that is not the expected one is downloaded again.
    write_cifar10(cache / "cifar-10-batches-py-target_archive", seed=1)
    new = write_dataset("cifar10", www)["cifar-10-python.tar.gz"]
    monkeypatch.setattr(cifar10, "ORIGIN", new.as_uri())
    monkeypatch.setattr(cifar10, "SHA256", hashlib.sha256(new.read_bytes()).hexdigest())
    with pytest.warns(UserWarning, match="expected sha256"):
        cifar10.load_data()
    assert (cache / "cifar-10-batches-py-target_archive").read_bytes() == new.read_bytes()


def keras_transcription(x_train, y_train, x_test, y_test, test_split, opts):
    """Keras 3's IMDB (x_test given) or Reuters (test_split given) loops, line for line."""
    rng = np.random.RandomState(opts["seed"])

    def shuffle(x, y):
        indices = np.arange(len(x))
        rng.shuffle(indices)
        return x[indices], y[indices]

    def encode(xs):
        start_char, index_from = opts["start_char"], opts["index_from"]
        if start_char is not None:
            return [[start_char] + [w + index_from for w in x] for x in xs]
        return [[w + index_from for w in x] for x in xs]

    def remove_long(xs, ys):
        if not opts["maxlen"]:
            return xs, ys
        kept = [(x, y) for x, y in zip(xs, ys) if len(x) < opts["maxlen"]]
        return [x for x, _ in kept], np.array([y for _, y in kept], ys.dtype)

    if x_test is None:
        xs, labels = remove_long(*((lambda x, y: (encode(x), y))(*shuffle(x_train, y_train))))
    else:
        x_train, y_train = shuffle(x_train, y_train)
        x_test, y_test = shuffle(x_test, y_test)
        x_train, y_train = remove_long(encode(x_train), y_train)
        x_test, y_test = remove_long(encode(x_test), y_test)
        xs, labels = x_train + x_test, np.concatenate([y_train, y_test])
    num_words = opts["num_words"] or max(max(x) for x in xs)
    skip_top, oov_char = opts["skip_top"], opts["oov_char"]
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]
    idx = len(x_train) if x_test is not None else int(len(xs) * (1 - test_split))
    return xs[:idx], labels[:idx], xs[idx:], labels[idx:]


@pytest.mark.parametrize("trial", range(12))
def test_sequence_options_follow_keras_loops(data, trial):
    rng = np.random.default_rng(trial)

    def sequences(n):
        out = np.empty(n, dtype=object)
        out[:] = [[int(w) for w in rng.integers(1, 60, rng.integers(1, 25))] for _ in range(n)]
        return out

    opts = {
        "num_words": [None, 0, 10, 35][rng.integers(4)],
        "skip_top": int(rng.integers(0, 6)),
        "maxlen": [None, 0, 15, 22][rng.integers(4)],
        "seed": int(rng.integers(0, 1000)),
        "start_char": [None, 1, 4][rng.integers(3)],
        "oov_char": [None, 2, 0][rng.integers(3)],
        "index_from": int(rng.integers(0, 5)),
    }
    x_train, x_test = sequences(int(rng.integers(30, 60))), sequences(int(rng.integers(30, 60)))
    y_train = rng.integers(0, 2, len(x_train)).astype(np.uint8)
    y_test = rng.integers(0, 2, len(x_test)).astype(np.uint8)
    np.savez(data / "imdb.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    test_split = float(rng.uniform(0.1, 0.6))
    np.savez(data / "reuters.npz", x=x_train, y=y_train)
    for got, want in (
        (imdb.load_data(**opts), keras_transcription(x_train, y_train, x_test, y_test, 0, opts)),
        (
            reuters.load_data(test_split=test_split, **opts),
            keras_transcription(x_train, y_train, None, None, test_split, opts),
        ),
    ):
        (gx_train, gy_train), (gx_test, gy_test) = got
        for g, w in ((gx_train, want[0]), (gx_test, want[2])):
            assert g.dtype == object and g.shape == (len(w),)
            assert [list(s) for s in g] == w
        for g, w in ((gy_train, want[1]), (gy_test, want[3])):
            assert g.dtype == np.uint8
            np.testing.assert_array_equal(g, w)
