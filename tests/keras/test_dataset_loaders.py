"""keras.datasets beyond MNIST held to Keras 3's own loaders: each loader reads small generated
files (tests/helpers/dataset_files.py) downloaded from a local HTTP server, from
$SHENDU_DATA_DIR or from Keras's cache, and must return what Keras returned for the same files
(tests/data/keras_fixtures/datasets/, frozen by scripts/make_dataset_fixtures.py); hostile and
malformed files are refused with errors naming them."""

import hashlib
import importlib
import os

import numpy as np
import pytest

from tests.helpers.dataset_cases import CASES, DATASETS, FIXTURES, flatten, write_dataset
from tests.helpers.file_server import serving

# For each file of a dataset: the module attributes holding its origin URL and its checksum.
REMOTE = {
    "cifar10": {"cifar-10-python.tar.gz": ("ORIGIN", "SHA256")},
    "cifar100": {"cifar-100-python.tar.gz": ("ORIGIN", "SHA256")},
    "imdb": {
        "imdb.npz": ("ORIGIN", "SHA256"),
        "imdb_word_index.json": ("WORD_INDEX_ORIGIN", "WORD_INDEX_MD5"),
    },
    "reuters": {
        "reuters.npz": ("ORIGIN", "SHA256"),
        "reuters_word_index.json": ("WORD_INDEX_ORIGIN", "WORD_INDEX_MD5"),
    },
    "boston_housing": {"boston_housing.npz": ("ORIGIN", "SHA256")},
    "california_housing": {"california_housing.npz": ("ORIGIN", "SHA256")},
}
FIRST_CASE = {}
for _case, (_dataset, _, _) in CASES.items():
    FIRST_CASE.setdefault(_dataset, _case)


def module(dataset):
    return importlib.import_module(f"shendu.keras.datasets.{dataset}")


def checksum(path, like):
    algorithm = hashlib.sha256 if len(like) == 64 else hashlib.md5
    return algorithm(path.read_bytes()).hexdigest()


def origins_and_hashes(dataset):
    """{origin URL: checksum ('' for none)} as the shendu module has them."""
    mod = module(dataset)
    if dataset == "fashion_mnist":
        return {mod.ORIGIN_FOLDER + name: "" for name in DATASETS[dataset]}
    return {getattr(mod, o): getattr(mod, h) for o, h in REMOTE[dataset].values()}


def point_at(monkeypatch, dataset, url, paths):
    """Sends the dataset's downloads to ``url`` and expects the checksums of ``paths``."""
    mod = module(dataset)
    if dataset == "fashion_mnist":
        monkeypatch.setattr(mod, "ORIGIN_FOLDER", f"{url}/")
        return
    for name, (origin_attr, hash_attr) in REMOTE[dataset].items():
        monkeypatch.setattr(mod, origin_attr, f"{url}/{name}")
        monkeypatch.setattr(mod, hash_attr, checksum(paths[name], getattr(mod, hash_attr)))


def run(case):
    dataset, function, kwargs = CASES[case]
    return getattr(module(dataset), function)(**kwargs)


def assert_matches_keras(case, result):
    with np.load(os.path.join(FIXTURES, f"{case}.npz")) as f:
        expected = {k: f[k] for k in f.files if k not in ("origins", "hashes", "cache_paths")}
    got = flatten(result)
    assert sorted(got) == sorted(expected)
    for key, want in expected.items():
        assert got[key].dtype == want.dtype, key
        np.testing.assert_array_equal(got[key], want, err_msg=key)
    if isinstance(result, tuple) and isinstance(result[0], tuple):
        for x, _ in result:
            if x.dtype == object:  # Keras's sequences: lists of Python ints
                assert all(type(s) is list and all(type(w) is int for w in s) for s in x)


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    """Isolated $SHENDU_DATA_DIR and $KERAS_HOME."""
    data, keras_home = tmp_path / "data", tmp_path / "keras_home"
    data.mkdir()
    monkeypatch.setenv("SHENDU_DATA_DIR", str(data))
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    return data, keras_home


def unreachable(monkeypatch, dataset, tmp_path):
    """Origins that fail if ever used."""
    mod = module(dataset)
    if dataset == "fashion_mnist":
        monkeypatch.setattr(mod, "ORIGIN_FOLDER", (tmp_path / "nowhere").as_uri() + "/")
        return
    for name, (origin_attr, _) in REMOTE[dataset].items():
        monkeypatch.setattr(mod, origin_attr, (tmp_path / "nowhere" / name).as_uri())


@pytest.mark.parametrize("case", sorted(CASES))
def test_download_matches_keras(case, dirs, tmp_path, monkeypatch, capsys):
    dataset = CASES[case][0]
    with np.load(os.path.join(FIXTURES, f"{case}.npz")) as f:
        keras_files = f["origins"].tolist() if "origins" in f.files else []
        keras_hashes = f["hashes"].tolist() if "origins" in f.files else []
        cache_paths = f["cache_paths"].tolist() if "origins" in f.files else []
    # Keras's origins and checksums, as Keras's loader asked for them.
    ours = origins_and_hashes(dataset)
    for origin, file_hash in zip(keras_files, keras_hashes):
        assert ours.get(origin) == file_hash, origin
    www = tmp_path / "www"
    www.mkdir()
    paths = write_dataset(dataset, www)
    _, keras_home = dirs
    with serving(www) as (url, hits):
        point_at(monkeypatch, dataset, url, paths)
        assert_matches_keras(case, run(case))
        assert len(hits) == len(keras_files)
        # Downloaded into Keras's cache under Keras's names, without partial files.
        for cache_path in cache_paths:
            assert (keras_home / cache_path).is_file(), cache_path
        listed = sorted(p.relative_to(keras_home).as_posix() for p in keras_home.rglob("*"))
        assert [p for p in listed if (keras_home / p).is_file()] == sorted(cache_paths)
        # A second call uses the cache.
        assert_matches_keras(case, run(case))
        assert len(hits) == len(keras_files)
    assert capsys.readouterr().out.count("Downloading data from") == len(keras_files)


@pytest.mark.parametrize("dataset", sorted(FIRST_CASE))
def test_files_in_shendu_data_dir_are_used_as_is(dataset, dirs, tmp_path, monkeypatch):
    data, keras_home = dirs
    user_names = {name: name for name in DATASETS[dataset]}
    if dataset == "fashion_mnist":  # its idx file names are MNIST's: they keep Keras's folder
        user_names = {name: f"fashion-mnist/{name}" for name in DATASETS[dataset]}
    paths = write_dataset(dataset, tmp_path / "made")
    for name, path in paths.items():
        (data / user_names[name]).parent.mkdir(parents=True, exist_ok=True)
        path.rename(data / user_names[name])
    unreachable(monkeypatch, dataset, tmp_path)
    for _, hash_attr in REMOTE.get(dataset, {}).values():
        monkeypatch.setattr(module(dataset), hash_attr, "0" * 64)  # not Keras's: used anyway
    case = FIRST_CASE[dataset]
    assert_matches_keras(case, run(case))
    assert not keras_home.exists()


@pytest.mark.parametrize("dataset", sorted(FIRST_CASE))
def test_keras_cache_is_used_without_download(dataset, dirs, tmp_path, monkeypatch):
    _, keras_home = dirs
    paths = write_dataset(dataset, keras_home / "datasets", keras_layout=True)
    unreachable(monkeypatch, dataset, tmp_path)
    for name, (_, hash_attr) in REMOTE.get(dataset, {}).items():
        mod = module(dataset)
        monkeypatch.setattr(mod, hash_attr, checksum(paths[name], getattr(mod, hash_attr)))
    case = FIRST_CASE[dataset]
    assert_matches_keras(case, run(case))
