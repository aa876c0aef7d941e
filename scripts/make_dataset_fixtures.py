"""Writes tests/data/keras_fixtures/datasets/<case>.npz from Keras's own dataset loaders, which
tests/keras/test_dataset_loaders.py holds shendu.keras.datasets to: for each case of
tests/helpers/dataset_cases.py, Keras reads the small generated files of
tests/helpers/dataset_files.py from its cache folder (a temporary $KERAS_HOME), and the fixture
keeps its flattened result and the origin, checksum and cache path Keras asked for.

Keras's get_file uses a cached file without downloading when no checksum is given, and checks it
against the checksum when one is: so each call gets the generated file's checksum in place of
Keras's own (which is recorded), and any download attempt fails the script.

CIFAR-10's loader sizes its training arrays for five batches of exactly 10,000 images; it is run
from its own source with that batch size replaced by the generated one.

Run with a TensorFlow 2.x / Keras 3 environment, from the repository root:
    python scripts/make_dataset_fixtures.py [case ...]
"""

import importlib
import inspect
import os
import pathlib
import shutil
import sys
import tempfile

sys.path[:0] = [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]

KERAS_HOME = tempfile.mkdtemp(prefix="keras-home-")
os.environ["KERAS_HOME"] = KERAS_HOME  # read when Keras is imported

import numpy as np  # noqa: E402
from keras.src.utils import file_utils  # noqa: E402

from tests.helpers.dataset_cases import CASES, FIXTURES, flatten, write_dataset  # noqa: E402

CIFAR10_BATCH = 2  # images per training batch in dataset_files.write_cifar10


def refuse_download(*args, **kwargs):
    raise AssertionError(f"Keras tried to download {args[0]}: its cached file was not used")


def offline_get_file(requests):
    """Keras's get_file, with the checksum of the file in the cache for Keras's checksum."""

    def get_file(fname=None, origin=None, file_hash=None, cache_subdir="datasets", **kwargs):
        cache_path = os.path.join(
            cache_subdir, fname + ("_archive" if kwargs.get("extract") else "")
        )
        target = os.path.join(KERAS_HOME, cache_path)
        assert os.path.isfile(target), f"{target} was not placed in Keras's cache"
        local_hash = None
        if file_hash is not None:
            local_hash = file_utils.hash_file(target, "sha256" if len(file_hash) == 64 else "md5")
        requests.append((origin, file_hash or "", os.path.relpath(target, KERAS_HOME)))
        return file_utils.get_file(
            fname, origin, file_hash=local_hash, cache_subdir=cache_subdir, **kwargs
        )

    return get_file


def cifar10_load_data(module):
    source = inspect.getsource(module.load_data)
    head, docstring, body = source[source.index("def load_data") :].split('"""', 2)
    assert body.count("10000") == 4 and body.count("= 50000") == 1, "Keras's loader changed"
    body = body.replace("50000", str(5 * CIFAR10_BATCH)).replace("10000", str(CIFAR10_BATCH))
    source = head + '"""' + docstring + '"""' + body
    namespace = dict(vars(module))
    exec(source, namespace)
    return namespace["load_data"]


def make(case):
    dataset, function, kwargs = CASES[case]
    write_dataset(dataset, pathlib.Path(KERAS_HOME) / "datasets", keras_layout=True)
    module = importlib.import_module(f"keras.src.datasets.{dataset}")
    requests = []
    module.get_file = offline_get_file(requests)
    loader = cifar10_load_data(module) if dataset == "cifar10" else getattr(module, function)
    data = flatten(loader(**kwargs))
    if requests:
        origins, hashes, cache_paths = zip(*requests)
        data.update(origins=np.array(origins), hashes=np.array(hashes))
        data["cache_paths"] = np.array(cache_paths)
    np.savez_compressed(os.path.join(FIXTURES, f"{case}.npz"), **data)


def main(cases):
    os.makedirs(FIXTURES, exist_ok=True)
    file_utils.urlretrieve = refuse_download
    try:
        for case in cases or CASES:
            make(case)
            print("wrote", case)
    finally:
        shutil.rmtree(KERAS_HOME)


if __name__ == "__main__":
    main(sys.argv[1:])
