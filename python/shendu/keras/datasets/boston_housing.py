"""Boston housing prices: keras.datasets.boston_housing.load_data(), from Keras's
boston_housing.npz.

Keras warns against this dataset outside lessons on ethics in data science: one of its 13
attributes encodes a racial assumption about house prices. california_housing.load_data(
version="small") is Keras's suggested replacement."""

from . import _download, _tabular

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/boston_housing.npz"
SHA256 = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """Returns ``(x_train, y_train), (x_test, y_test)``: the 506 rows of 13 house attributes
    and their median prices in k$, shuffled with ``np.random.RandomState(seed)``, the last
    ``test_split`` of them the test split. ``path`` is the file name under $SHENDU_DATA_DIR and
    Keras's cache folder."""
    _tabular.check_test_split(test_split)
    # ORIGIN and SHA256 are read at call time, so tests can point them at a local server.
    filename = _download.get_file(path, ORIGIN, SHA256, "Boston housing")
    x, y = _tabular.read_rows(filename, 13)
    return _tabular.shuffle_split(x, y, test_split, seed)
