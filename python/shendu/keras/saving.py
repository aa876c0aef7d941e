"""Model and weight files, laid out like Keras 3's:

- ``.keras``: a zip archive holding ``config.json`` ({"module", "class_name", "config",
  "compile_config", "build_config"}), ``metadata.json`` and ``model.weights.h5``.
- ``.weights.h5``: an HDF5 file (h5py) with one group per layer, ``layers/<entry>/vars/<i>``, where
  ``<entry>`` is the layer's class in snake_case, numbered when repeated (``dense``, ``dense_1``,
  ...). Entries are named by position and class, not by ``layer.name``, so a fresh model of the
  same architecture (whose auto-generated names differ) loads the file, as in Keras.

Every write goes to a temporary file in the destination folder and is renamed over the target only
once complete (os.replace is atomic on POSIX and Windows), so an interrupted or failed save never
leaves a truncated file nor damages the one already there.
"""

import datetime
import io
import json
import os
import re
import tempfile
import zipfile

import numpy as np

from .. import __version__
from . import registry, serialization
from .registry import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)

__all__ = [
    "CustomObjectScope",
    "custom_object_scope",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "load_model",
    "load_weights",
    "register_keras_serializable",
    "save_model",
    "save_weights",
]

_CONFIG = "config.json"
_METADATA = "metadata.json"
_WEIGHTS = "model.weights.h5"


def save_model(model, filepath, overwrite=True):
    """Writes ``model`` (architecture, compile settings, weights) to a ``.keras`` archive."""
    path = _checked_path(filepath, (".keras",), "save_model")
    _check_overwrite(path, overwrite)
    compile_config = model.get_compile_config() if hasattr(model, "get_compile_config") else None
    config = {
        "module": "keras",
        "class_name": type(model).__name__,
        "config": model.get_config(),
        "compile_config": compile_config,
    }
    if hasattr(model, "get_build_config"):
        config["build_config"] = model.get_build_config()
    try:
        config_json = json.dumps(config)
    except (TypeError, ValueError) as e:
        raise ValueError(f"save_model: the model's config is not JSON-serializable: {e}") from None
    metadata = json.dumps(
        {
            "keras_version": "3",  # the file format followed; the writer is named below
            "shendu_version": __version__,
            "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
        }
    )
    weights = io.BytesIO()
    _write_weights(model, weights)

    def write(tmp):
        with zipfile.ZipFile(tmp, "w") as zf:
            zf.writestr(_METADATA, metadata)
            zf.writestr(_CONFIG, config_json)
            zf.writestr(_WEIGHTS, weights.getvalue())

    _atomic_write(path, write)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Rebuilds the model saved in a ``.keras`` archive, with its weights, compiled as it was
    when saved (unless ``compile=False``). ``safe_mode`` is accepted for Keras compatibility:
    shendu never deserializes code (lambdas), so every load is safe."""
    path = _checked_path(filepath, (".keras",), "load_model")
    _check_exists(path)
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            missing = [n for n in (_CONFIG, _WEIGHTS) if n not in names]
            if missing:
                raise ValueError(
                    f"load_model: {path!r} is not a Keras model archive: it has no "
                    f"{' or '.join(missing)} (it holds: {', '.join(sorted(names)) or 'nothing'})"
                )
            config = json.loads(zf.read(_CONFIG))
            weights = zf.read(_WEIGHTS)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as e:
        raise ValueError(
            f"load_model: {path!r} is not a valid .keras file (not a readable zip "
            f"archive; is it truncated or corrupt?): {e}"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"load_model: {path!r} has a corrupt {_CONFIG}: {e}") from None
    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        raise ValueError(f"load_model: {path!r} has a {_CONFIG} without 'class_name' and 'config'")

    # Found by name (registry): the model classes import this module, not the other way.
    model = serialization.deserialize_keras_object(
        {key: config.get(key) for key in ("class_name", "config", "registered_name")},
        registry.builtin_objects("layers"),
        custom_objects,
        what="model",
    )
    build_config = config.get("build_config")
    if build_config and not getattr(model, "built", True) and hasattr(model, "build_from_config"):
        model.build_from_config(build_config)
    _read_weights(model, io.BytesIO(weights), f"{path}/{_WEIGHTS}")
    if compile and config.get("compile_config") and hasattr(model, "compile_from_config"):
        model.compile_from_config(config["compile_config"])
    return model


def save_weights(model, filepath, overwrite=True):
    """Writes the weights of every layer of ``model`` to a ``.weights.h5`` file."""
    path = _checked_path(filepath, (".weights.h5",), "save_weights")
    _check_overwrite(path, overwrite)
    _atomic_write(path, lambda tmp: _write_weights(model, tmp))


def load_weights(model, filepath):
    """Loads weights saved by ``save_weights`` (``.weights.h5``) or inside a ``.keras`` archive
    into ``model``, which must have the same architecture. Nothing is changed unless every
    layer's weights match in count and shape."""
    path = _checked_path(filepath, (".weights.h5", ".keras"), "load_weights")
    _check_exists(path)
    if path.endswith(".keras"):
        try:
            with zipfile.ZipFile(path) as zf:
                source = io.BytesIO(zf.read(_WEIGHTS))
        except (zipfile.BadZipFile, EOFError, KeyError) as e:
            raise ValueError(f"load_weights: {path!r} is not a valid .keras file: {e}") from None
        _read_weights(model, source, f"{path}/{_WEIGHTS}")
    else:
        _read_weights(model, path, path)


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError("shendu.keras weight files need h5py: pip install h5py") from None
    return h5py


def _checked_path(filepath, extensions, who):
    try:
        path = os.fspath(filepath)
    except TypeError:
        raise TypeError(
            f"{who}: filepath must be a str or os.PathLike, got {type(filepath).__name__}"
        ) from None
    if not any(path.endswith(ext) for ext in extensions):
        hint = (
            " (legacy HDF5 '.h5' model files are not supported; use '.keras')"
            if path.endswith(".h5")
            else ""
        )
        raise ValueError(
            f"{who}: filepath must end in {' or '.join(repr(e) for e in extensions)}, "
            f"got {path!r}{hint}"
        )
    return path


def _check_exists(path):
    if not os.path.isfile(path):
        raise ValueError(
            f"File not found: {path!r}" + (" is a folder" if os.path.isdir(path) else "")
        )


def _check_overwrite(path, overwrite):
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path!r} exists and overwrite=False")


def _atomic_write(path, write):
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save to {path!r}: folder {folder!r} does not exist")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        # mkstemp makes the file private (0600); give it the mode a plain open() would have.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _snake_case(name):
    # Keras's naming rule: Dense -> dense, Conv2D -> conv2d, SimpleRNN -> simple_rnn.
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _entries(layers, prefix="layers/"):
    """(h5 group path, layer) for every weight-holding leaf layer, nested models expanded."""
    used = {}
    for layer in layers:
        base = _snake_case(type(layer).__name__)
        used[base] = used.get(base, -1) + 1
        entry = prefix + (base if used[base] == 0 else f"{base}_{used[base]}")
        inner = getattr(layer, "layers", None)
        if inner is not None:
            yield from _entries(inner, entry + "/layers/")
        else:
            yield entry, layer


def _write_weights(model, target):
    h5py = _h5py()
    with h5py.File(target, "w") as f:
        f.create_group("vars")  # the model's own variables: none, but Keras lays the group out
        for entry, layer in _entries(model.layers):
            group = f.create_group(entry + "/vars")
            for i, w in enumerate(layer.get_weights()):
                group.create_dataset(str(i), data=np.asarray(w))


def _read_weights(model, source, label):
    h5py = _h5py()
    try:
        f = h5py.File(source, "r")
    except OSError as e:
        raise ValueError(
            f"{label!r} is not a valid HDF5 weights file (truncated or corrupt?): {e}"
        ) from None
    with f:
        pending = []
        seen = set()
        for entry, layer in _entries(model.layers):
            seen.add(entry)
            expected = layer.get_weights()
            group = f.get(entry + "/vars")
            if group is None:
                if expected:
                    raise ValueError(
                        f"Layer '{layer.name}' ({type(layer).__name__}) has {len(expected)} "
                        "weights "
                        f"but {label!r} has no entry '{entry}' for it: the file was saved from a "
                        "different architecture (its layers: "
                        f"{', '.join(_file_entries(f)) or 'none'})"
                    )
                continue
            try:
                arrays = [np.asarray(group[str(i)][()]) for i in range(len(group))]
            except (KeyError, OSError) as e:
                raise ValueError(f"{label!r}: entry '{entry}' is corrupt: {e}") from None
            if len(arrays) != len(expected):
                raise ValueError(
                    f"Layer '{layer.name}' ({type(layer).__name__}) expects {len(expected)} "
                    "weights "
                    f"but {label!r} holds {len(arrays)} for it (entry '{entry}')"
                )
            for i, (got, want) in enumerate(zip(arrays, expected)):
                if got.shape != np.shape(want):
                    raise ValueError(
                        f"Layer '{layer.name}' ({type(layer).__name__}): weight {i} "
                        f"({_weight_name(layer, i)}) has shape {np.shape(want)} in the model but "
                        f"{got.shape} in {label!r} (entry '{entry}')"
                    )
            pending.append((layer, arrays))
        extra = [e for e in _file_entries(f) if e not in seen and _holds_weights(f[e])]
        if extra:
            raise ValueError(
                f"{label!r} holds weights for layers the model does not have: "
                f"{', '.join(extra)} (saved from a different architecture)"
            )
    # Only now that every layer matched: a mismatch must not leave the model half loaded.
    for layer, arrays in pending:
        layer.set_weights(arrays)


def _file_entries(f):
    """Paths of the leaf entries (groups with a 'vars' group) in a weights file."""
    found = []

    def visit(name, _obj):
        if name.endswith("/vars"):
            found.append(name[: -len("/vars")])

    f.visititems(visit)
    return found


def _holds_weights(entry_group):
    vars_group = entry_group.get("vars")
    return vars_group is not None and len(vars_group) > 0


def _weight_name(layer, i):
    weights = getattr(layer, "weights", None)
    try:
        return weights[i].name
    except (TypeError, IndexError, AttributeError):
        return f"#{i}"
