"""Reading the pickles inside Keras's dataset files without letting them run code.

CIFAR's batches are pickled dicts of NumPy arrays, bytes and lists, and the IMDB and Reuters npz
files keep their ragged sequences as object arrays, which NumPy stores as pickles. Unpickling
those needs NumPy's three array rebuilders and nothing else, so every other global a pickle names
(``os.system``, ``builtins.eval``, ...) is refused before it is looked up: a tampered file fails
with a ValueError naming it instead of running its payload.
"""

import io
import pickle
import zipfile
import zlib

import numpy as np

# NumPy's array rebuilder, wherever this NumPy keeps it; files name it by NumPy 1's or 2's path.
_RECONSTRUCT = np.empty(0).__reduce__()[0]
_ALLOWED = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
}


class _ArraysOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: only NumPy arrays may be unpickled from a "
                "dataset file (is the file corrupt or tampered with?)"
            ) from None


def load_pickle(f, where, encoding="ASCII"):
    """Unpickles one object from the binary file ``f``; ``where`` names it in errors."""
    try:
        return _ArraysOnlyUnpickler(f, encoding=encoding).load()
    # A damaged pickle can fail in the unpickler with almost any exception type.
    except Exception as e:
        raise ValueError(f"{where}: cannot read the pickled data: {e}") from None


def load_npz(filename):
    """Every array of an npz file as a dict; numeric arrays are read with pickles disabled and
    object arrays (ragged sequences) with only NumPy's array rebuilders allowed."""
    arrays = {}
    try:
        with open(filename, "rb") as f, zipfile.ZipFile(f) as archive:
            for member in archive.namelist():
                if member.endswith(".npy"):
                    with archive.open(member) as raw:
                        buffer = io.BytesIO(raw.read())
                    arrays[member[: -len(".npy")]] = _read_npy(buffer, f"{filename}:{member}")
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as e:
        raise ValueError(
            f"{filename} is not a valid npz file (truncated or corrupt?): {e}"
        ) from None
    return arrays


def _read_npy(f, where):
    try:
        version = np.lib.format.read_magic(f)
        # Format 3.0 differs from 2.0 only in the header's text encoding, not in its layout.
        read_header = (
            np.lib.format.read_array_header_1_0
            if version[0] == 1
            else np.lib.format.read_array_header_2_0
        )
        _, _, dtype = read_header(f)
        if not dtype.hasobject:
            f.seek(0)
            return np.lib.format.read_array(f, allow_pickle=False)
    except ValueError as e:
        raise ValueError(f"{where} is not a valid .npy array: {e}") from None
    array = load_pickle(f, where)
    if not isinstance(array, np.ndarray):
        raise ValueError(f"{where}: the pickled data is a {type(array).__name__}, not an array")
    return array
