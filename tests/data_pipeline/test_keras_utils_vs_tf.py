"""keras.utils's Datasets from arrays and folders held to TF-Keras's frozen answers
(scripts/make_pipeline_fixtures.py -> tests/data/keras_fixtures/pipeline/), plus split_dataset
and normalize against their definitions."""

import pathlib
import random

import numpy as np
import pytest
from shendu import keras
from shendu.keras.utils import image_dataset

from tests.helpers import pipeline_cases
from tests.helpers.pipeline_cases import TIMESERIES, timeseries_data

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "data/keras_fixtures/pipeline"


def _load(name):
    with np.load(FIXTURES / f"{name}.npz") as f:
        return dict(f)


@pytest.fixture(scope="module")
def ts():
    return _load("timeseries")


@pytest.fixture(scope="module")
def dirs():
    return _load("directories")


@pytest.mark.parametrize("with_targets", [True, False], ids=["xy", "x"])
@pytest.mark.parametrize("name, kwargs", TIMESERIES, ids=[c[0] for c in TIMESERIES])
def test_timeseries_windows_match_tf(ts, name, kwargs, with_targets):
    data, targets = timeseries_data()
    ds = keras.utils.timeseries_dataset_from_array(
        data, targets if with_targets else None, **kwargs
    )
    tag = f"{name}_{'xy' if with_targets else 'x'}"
    batches = [b if with_targets else (b,) for b in ds]
    assert len(batches) == ts[f"{tag}_count"] == ds.cardinality()
    windows = np.concatenate([b[0].reshape((-1,) + b[0].shape[-2:]) for b in batches])
    np.testing.assert_array_equal(windows, ts[f"{tag}_x"])
    assert windows.dtype == data.dtype
    sizes = [len(b[0]) if kwargs["batch_size"] else 1 for b in batches]
    assert sizes == list(ts[f"{tag}_sizes"])
    if with_targets:
        got = np.concatenate([np.reshape(b[1], (-1,)) for b in batches])
        np.testing.assert_array_equal(got, ts[f"{tag}_y"])


def test_timeseries_shuffle_is_seeded_and_keeps_every_window():
    data, targets = timeseries_data()

    def pairs(seed):
        ds = keras.utils.timeseries_dataset_from_array(
            data, targets, 4, batch_size=5, shuffle=True, seed=seed
        )
        return [(tuple(w[:, 0]), t) for xb, yb in ds for w, t in zip(xb, yb)]

    first = pairs(3)
    assert first == pairs(3) and first != pairs(4)
    assert sorted(first) == sorted((tuple(data[s : s + 4, 0]), targets[s]) for s in range(27))
    for window, target in first:  # the target is the first step's, as Keras pairs them
        assert target == 100 + int(window[0]) // 2


def test_timeseries_arguments_are_checked():
    data, _ = timeseries_data()
    for kwargs, match in (
        (dict(sampling_rate=0), "sampling_rate"),
        (dict(sequence_stride=30), "sequence_stride"),
        (dict(start_index=-1), "start_index"),
        (dict(start_index=5, end_index=4), "end_index"),
    ):
        with pytest.raises(ValueError, match=match):
            keras.utils.timeseries_dataset_from_array(data, None, 3, **kwargs)


def _texts(ds):
    return [(t.decode(), y) for tb, yb in ds for t, y in zip(tb, yb)]


def test_text_dataset_lists_files_and_labels_as_tf(tmp_path, dirs):
    root = pipeline_cases.write_text_folder(tmp_path / "text")
    ds = keras.utils.text_dataset_from_directory(root, shuffle=False, batch_size=4, verbose=False)
    texts, labels = zip(*_texts(ds))
    assert list(texts) == list(dirs["text_contents"])
    np.testing.assert_array_equal(labels, dirs["text_labels"])
    assert ds.class_names == list(dirs["text_class_names"])
    assert next(iter(ds))[1].dtype == np.int32
    ds = keras.utils.text_dataset_from_directory(
        root, label_mode="categorical", shuffle=False, max_length=7, batch_size=None, verbose=False
    )
    assert [t.decode() for t, _ in ds] == list(dirs["text_short"])
    np.testing.assert_array_equal(np.array([y for _, y in ds]), dirs["text_onehot"])
    ds = keras.utils.text_dataset_from_directory(
        root, label_mode="binary", class_names=["dogs", "cats"], shuffle=False, verbose=False
    )
    ((tb, yb),) = list(ds)
    assert [t.decode() for t in tb] == list(dirs["text_binary_contents"])
    np.testing.assert_array_equal(yb, dirs["text_binary_labels"])
    assert yb.dtype == np.float32 and yb.shape == (len(tb), 1)


def test_text_dataset_validation_split_picks_tfs_files(tmp_path, dirs):
    root = pipeline_cases.write_text_folder(tmp_path / "text")
    train, val = keras.utils.text_dataset_from_directory(
        root, validation_split=0.3, subset="both", seed=7, verbose=False
    )
    for tag, part in (("train", train), ("val", val)):
        got = sorted(_texts(part))
        assert [t for t, _ in got] == list(dirs[f"text_{tag}_contents"])
        assert [int(y) for _, y in got] == list(dirs[f"text_{tag}_labels"])
    one = keras.utils.text_dataset_from_directory(
        root, validation_split=0.3, subset="validation", seed=7, verbose=False
    )
    assert sorted(_texts(one)) == sorted(_texts(val))


def test_text_dataset_arguments_are_checked(tmp_path):
    root = pipeline_cases.write_text_folder(tmp_path / "text")
    with pytest.raises(ValueError, match="seed"):
        keras.utils.text_dataset_from_directory(root, validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match="label_mode"):
        keras.utils.text_dataset_from_directory(root, label_mode="sparse")
    with pytest.raises(ValueError, match="exactly 2"):
        keras.utils.text_dataset_from_directory(root, label_mode="binary", verbose=False)
    with pytest.raises(ValueError, match="class_names"):
        keras.utils.text_dataset_from_directory(root, class_names=["cats", "cows"])


IMAGE_CASES = {
    "same": dict(image_size=(6, 8)),
    "bilinear": dict(image_size=(4, 5)),
    "up": dict(image_size=(9, 11)),
    "nearest": dict(image_size=(4, 5), interpolation="nearest"),
    "crop": dict(image_size=(4, 4), crop_to_aspect_ratio=True),
}


@pytest.mark.parametrize("tag", IMAGE_CASES)
def test_image_dataset_pixels_and_labels_match_tf(tmp_path, dirs, tag):
    pytest.importorskip("PIL")
    root = pipeline_cases.write_image_folder(tmp_path / "images")
    ds = keras.utils.image_dataset_from_directory(
        root, shuffle=False, batch_size=5, verbose=False, **IMAGE_CASES[tag]
    )
    batches = list(ds)
    x = np.concatenate([b[0] for b in batches])
    assert x.dtype == np.float32
    np.testing.assert_allclose(x, dirs[f"image_{tag}_x"], rtol=1e-5, atol=1e-3)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), dirs[f"image_{tag}_y"])
    assert ds.class_names == list(dirs["image_class_names"])


def test_image_dataset_modes_and_formats(tmp_path):
    pytest.importorskip("PIL")
    root = pipeline_cases.write_image_folder(tmp_path / "images")
    gray = keras.utils.image_dataset_from_directory(
        root, color_mode="grayscale", image_size=(6, 8), batch_size=None, shuffle=False,
        label_mode=None, verbose=False,
    )  # fmt: skip
    first = next(iter(gray))
    assert first.shape == (6, 8, 1)
    rgb = pipeline_cases.image_pixels(0, 0).astype(np.float64)
    expected = rgb @ [0.299, 0.587, 0.114]  # Pillow's "L" conversion, rounded
    np.testing.assert_allclose(first[:, :, 0], expected, atol=1.0)
    first = next(iter(keras.utils.image_dataset_from_directory(
        root, image_size=(6, 8), data_format="channels_first", shuffle=False, verbose=False
    )))[0]  # fmt: skip
    assert first.shape == (9, 3, 6, 8)  # all 9 images in one batch of 32


def test_image_dataset_without_pillow_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(image_dataset, "Image", None)
    with pytest.raises(ImportError, match="pip install"):
        keras.utils.image_dataset_from_directory(tmp_path)


def test_split_dataset_shuffles_with_pythons_seeded_random():
    x = np.arange(20).reshape(10, 2)
    y = np.arange(10) * 10
    left, right = keras.utils.split_dataset((x, y), left_size=0.6, shuffle=True, seed=4)
    order = list(range(10))
    random.Random(4).shuffle(order)
    got = [(tuple(a), int(b)) for a, b in left] + [(tuple(a), int(b)) for a, b in right]
    assert got == [(tuple(x[i]), int(y[i])) for i in order]
    assert left.cardinality() == 6 and right.cardinality() == 4
    left, right = keras.utils.split_dataset(keras.utils.normalize(x, axis=0), right_size=3)
    assert left.cardinality() == 7 and right.cardinality() == 3
    with pytest.raises(ValueError, match="empty"):
        keras.utils.split_dataset(x, left_size=10)
    with pytest.raises(ValueError, match="At least one"):
        keras.utils.split_dataset(x)


def test_normalize_divides_by_the_norm_and_leaves_zero_rows():
    x = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, -1.0]])
    np.testing.assert_allclose(
        keras.utils.normalize(x), [[0.6, 0.8], [0, 0], [2**-0.5, -(2**-0.5)]]
    )
    np.testing.assert_allclose(keras.utils.normalize(x, axis=0, order=1), x / [4.0, 5.0])
