"""California housing prices: keras.datasets.california_housing.load_data(), from Keras's
california_housing.npz."""

from . import _download, _tabular

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/california_housing.npz"
SHA256 = "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"
_SMALL_ROWS = 600


def load_data(version="large", path="california_housing.npz", test_split=0.2, seed=113):
    """Returns ``(x_train, y_train), (x_test, y_test)``: rows of 8 census block-group
    features (median income, house age, rooms, bedrooms, population, occupancy, latitude,
    longitude) and their median house values in dollars; 20,640 rows for ``version="large"``,
    the first 600 for ``"small"``. They are shuffled with ``np.random.RandomState(seed)``, the
    last ``test_split`` of them the test split. ``path`` is the file name under
    $SHENDU_DATA_DIR and Keras's cache folder."""
    if version not in ("large", "small"):
        raise ValueError(f'version must be "small" or "large", got {version!r}')
    _tabular.check_test_split(test_split)
    # ORIGIN and SHA256 are read at call time, so tests can point them at a local server.
    filename = _download.get_file(path, ORIGIN, SHA256, "California housing")
    x, y = _tabular.read_rows(filename, 8)
    if version == "small":
        x, y = x[:_SMALL_ROWS], y[:_SMALL_ROWS]
    return _tabular.shuffle_split(x, y, test_split, seed)
