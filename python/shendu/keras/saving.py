"""Model and weight files, laid out like Keras 3's:

- ``.keras``: a zip archive holding ``config.json`` ({"module", "class_name", "config",
  "compile_config", "build_config"}), ``metadata.json`` and ``model.weights.h5``.
- ``.weights.h5``: an HDF5 file (h5py) with one group per layer, ``layers/<entry>/vars/<i>``, where
  ``<entry>`` is the layer's class in snake_case, numbered when repeated (``dense``, ``dense_1``,
  ...). Entries are named by position and class, not by ``layer.name``, so a fresh model of the
  same architecture (whose auto-generated names differ) loads the file, as in Keras.

Every write goes to a temporary file in the destination folder, flushed to disk and renamed over
the target only once complete (atomic_file), so an interrupted or failed save never leaves a
truncated file nor damages the one already there.

Loading treats files as untrusted (file_checks): a file can only fill a model with its own
numbers, never run code, read other files or allocate more than the model needs, and every
failure to read one is a ValueError naming the file.
"""

import contextlib
import datetime
import io
import json
import math
import os
import re
import zipfile

import numpy as np

from .. import __version__
from . import optimizer_state, registry, serialization
from .atomic_file import atomic_write
from .file_checks import (
    MAX_CONFIG_BYTES,
    ZIP_ERRORS,
    RefusedFile,
    check_config,
    check_h5_links,
    check_weight_dataset,
    read_member,
)
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
        "module": getattr(type(model), "_public_module", "keras"),
        "class_name": type(model).__name__,
        "config": model.get_config(),
        "compile_config": compile_config,
    }
    if getattr(model, "_defines_call", False):  # a subclassed model: found by its registered name
        config["module"] = type(model).__module__
        config["registered_name"] = registry.get_registered_name(type(model))
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

    atomic_write(path, write)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Rebuilds the model saved in a ``.keras`` archive, with its weights, compiled as it was
    when saved (unless ``compile=False``). ``safe_mode`` has Keras's meaning, refusing code
    (lambdas) stored in the file; shendu never deserializes code in either mode, so
    ``safe_mode=False`` is accepted for compatibility only and Lambda layers stay unsupported.
    Every failure to read the file is a ValueError naming it."""
    path = _checked_path(filepath, (".keras",), "load_model")
    _check_safe_mode(safe_mode)
    _check_exists(path)
    with _open_archive(path, "load_model") as zf:
        names = set(zf.namelist())
        missing = [n for n in (_CONFIG, _WEIGHTS) if n not in names]
        if missing:
            raise ValueError(
                f"load_model: {path!r} is not a Keras model archive: it has no "
                f"{' or '.join(missing)} (it holds: {', '.join(sorted(names)) or 'nothing'})"
            )
        config = _read_config(zf, path)
        with _rebuilding(path, _CONFIG):
            # Found by name (registry): the model classes import this module, not the other way.
            model = serialization.deserialize_keras_object(
                {key: config.get(key) for key in ("class_name", "config", "registered_name")},
                registry.builtin_objects("layers"),
                custom_objects,
                what="model",
            )
            build_config = config.get("build_config")
            if (
                build_config
                and not getattr(model, "built", True)
                and hasattr(model, "build_from_config")
            ):
                model.build_from_config(build_config)
        weights = read_member(zf, _WEIGHTS, _weights_limit(model), path)
    compiled = compile and config.get("compile_config") and hasattr(model, "compile_from_config")
    if compiled:
        with _rebuilding(path, "compile_config"):
            model.compile_from_config(config["compile_config"])
    _read_weights(model, io.BytesIO(weights), f"{path}/{_WEIGHTS}", optimizer=bool(compiled))
    return model


def _check_safe_mode(safe_mode):
    if not isinstance(safe_mode, bool):
        raise TypeError(f"safe_mode must be True or False, got {safe_mode!r}")


def _open_archive(path, who):
    try:
        return zipfile.ZipFile(path)
    except ZIP_ERRORS as e:
        raise ValueError(
            f"{who}: {path!r} is not a valid .keras file (not a readable zip "
            f"archive; is it truncated or corrupt?): {e}"
        ) from e


def _read_config(zf, path):
    raw = read_member(zf, _CONFIG, MAX_CONFIG_BYTES, path)
    try:
        config = json.loads(raw)
    except (ValueError, RecursionError) as e:  # JSON and UTF-8 errors are ValueErrors
        raise ValueError(f"load_model: {path!r} has a corrupt {_CONFIG}: {e}") from e
    check_config(config, path)
    return config


# What building from a config that passed check_config can still raise on hostile values (a
# string where a number belongs, a missing key, a size too large to allocate).
_REBUILD_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    OverflowError,
    RecursionError,
    MemoryError,
)


@contextlib.contextmanager
def _rebuilding(path, what):
    try:
        yield
    except _REBUILD_ERRORS as e:
        raise ValueError(
            f"load_model: {path!r}: cannot rebuild the model from its {what}: "
            f"{type(e).__name__}: {e}"
        ) from e


def _weights_limit(model):
    """The most bytes model.weights.h5 may hold for ``model``: every value four times over
    (Keras files may add optimizer slots) as float64, plus HDF5's per-dataset and file
    overhead."""
    sizes = [math.prod(w.shape) for _, layer in _entries(model.layers) for w in layer.weights]
    return (16 << 20) + 32 * sum(sizes) + (8 << 10) * len(sizes)


def save_weights(model, filepath, overwrite=True):
    """Writes the weights of every layer of ``model`` to a ``.weights.h5`` file."""
    path = _checked_path(filepath, (".weights.h5",), "save_weights")
    _check_overwrite(path, overwrite)
    atomic_write(path, lambda tmp: _write_weights(model, tmp))


def load_weights(model, filepath, optimizer=False):
    """Loads weights saved by ``save_weights`` (``.weights.h5``) or inside a ``.keras`` archive
    into ``model``, which must have the same architecture. Nothing is changed unless every
    layer's weights match in count and shape. With ``optimizer``, a ``.weights.h5`` file's
    optimizer state is loaded too (when it fits the model's optimizer)."""
    path = _checked_path(filepath, (".weights.h5", ".keras"), "load_weights")
    _check_exists(path)
    if path.endswith(".keras"):
        with _open_archive(path, "load_weights") as zf:
            if _WEIGHTS not in zf.namelist():
                raise ValueError(f"load_weights: {path!r} is a zip archive without {_WEIGHTS}")
            source = io.BytesIO(read_member(zf, _WEIGHTS, _weights_limit(model), path))
        _read_weights(model, source, f"{path}/{_WEIGHTS}")
    else:
        _read_weights(model, path, path, optimizer=optimizer)


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


def _snake_case(name):
    # Keras's naming rule: Dense -> dense, Conv2D -> conv2d, SimpleRNN -> simple_rnn.
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _entries(layers, prefix="layers/"):
    """(h5 group path, layer) for every weight-holding leaf layer, nested models expanded."""
    for entry, layer, inner in _walk(layers, prefix):
        if not inner:
            yield entry, layer


def _walk(layers, prefix):
    """(h5 group path, layer, is a container) for every layer, depth first, as Keras names them."""
    used = {}
    for layer in layers:
        base = _snake_case(type(layer).__name__)
        used[base] = used.get(base, -1) + 1
        entry = prefix + (base if used[base] == 0 else f"{base}_{used[base]}")
        inner = getattr(layer, "layers", None)
        # Wrappers (Bidirectional, TimeDistributed) keep their layers under attribute names.
        wrapped = getattr(layer, "_saved_sublayers", ())
        yield entry, layer, inner is not None or bool(wrapped)
        if inner is not None:
            yield from _walk(inner, entry + "/layers/")
        for attribute, sublayer in wrapped:
            yield f"{entry}/{attribute}", sublayer, False


def _vars_path(entry, layer):
    return f"{entry}/{getattr(layer, '_weights_group', 'vars')}"


def _file_values(layer):
    """The layer's weights in the dtypes Keras files hold them in (Variable.file_dtype)."""
    values = layer.get_weights()
    dtypes = [getattr(w, "file_dtype", None) for w in getattr(layer, "weights", values)]
    return [np.asarray(v, dtype=d) for v, d in zip(values, dtypes)]


def _write_weights(model, target):
    h5py = _h5py()
    with h5py.File(target, "w") as f:
        f.create_group("vars")  # the model's own variables: none, but Keras lays the group out
        for entry, layer, inner in _walk(model.layers, "layers/"):
            f.create_group(entry + "/vars")  # Keras writes one for every layer, empty or not
            if inner:
                continue
            group = f.require_group(_vars_path(entry, layer))
            for i, value in enumerate(_file_values(layer)):
                group.create_dataset(str(i), data=value)
        optimizer_vars = optimizer_state.variables_of(model)
        if optimizer_vars is not None:
            group = f.create_group("optimizer/vars")
            for i, value in enumerate(optimizer_vars):
                group.create_dataset(str(i), data=value)


# What h5py raises on a corrupt file: HDF5 errors map to OSError, RuntimeError, KeyError; damaged
# types and names to TypeError, OverflowError, ValueError (UnicodeDecodeError among them).
_H5_ERRORS = (
    OSError,
    RuntimeError,
    KeyError,
    IndexError,
    TypeError,
    AttributeError,
    OverflowError,
    ValueError,
)


def _read_weights(model, source, label, optimizer=False):
    """Loads the layers' weights from ``source``; with ``optimizer``, also the optimizer's
    variables when the file holds them in the layout of the model's optimizer."""
    h5py = _h5py()
    try:
        f = h5py.File(source, "r")
    except _H5_ERRORS as e:
        raise ValueError(
            f"{label!r} is not a valid HDF5 weights file (truncated or corrupt?): {e}"
        ) from e
    try:
        with f:
            pending = _matched_weights(model, f, label)
            optimizer_vars = _optimizer_variables(model, f, label) if optimizer else None
    except RefusedFile:
        raise
    except _H5_ERRORS as e:
        raise ValueError(
            f"{label!r} is a corrupt HDF5 weights file: {type(e).__name__}: {e}"
        ) from e
    # Only now that every layer matched: a mismatch must not leave the model half loaded.
    for layer, arrays in pending:
        layer.set_weights(arrays)
    if optimizer_vars is not None:
        optimizer_state.assign(model, optimizer_vars)


def _optimizer_variables(model, f, label):
    """The arrays of the file's optimizer/vars when they have the count and shapes of the
    model's optimizer (step count, learning rate, then each trainable weight's slots, as Keras
    3 lays them out), else None: the optimizer then starts afresh, as after compile."""
    want = optimizer_state.shapes_of(model)
    group = f.get("optimizer/vars")
    if want is None or not isinstance(group, _h5py().Group) or len(group) != len(want):
        return None
    datasets = []
    for i, shape in enumerate(want):
        dataset = group.get(str(i))
        if dataset is None:
            return None
        check_weight_dataset(dataset, f"optimizer/vars/{i}", label)
        if dataset.shape != shape:
            return None
        datasets.append(dataset)
    return [np.asarray(d[()]) for d in datasets]


def _matched_weights(model, f, label):
    """(layer, arrays) for every layer of ``model``, read from ``f`` only once every dataset
    was checked to hold what the layer's weights need."""
    check_h5_links(f, label)
    pending = []
    seen = set()
    for entry, layer in _entries(model.layers):
        expected = layer.get_weights()
        where = _vars_path(entry, layer)
        if f.get(where) is None and where != f"{entry}/vars":
            where = f"{entry}/vars"  # shendu's earlier layout of recurrent layers
        seen.add(where)
        group = f.get(where)
        if group is None:
            if expected:
                raise RefusedFile(
                    f"Layer '{layer.name}' ({type(layer).__name__}) has {len(expected)} "
                    "weights "
                    f"but {label!r} has no entry '{entry}' for it: the file was saved from a "
                    "different architecture (its layers: "
                    f"{', '.join(_file_entries(f)) or 'none'})"
                )
            continue
        if not isinstance(group, _h5py().Group):
            raise RefusedFile(f"{label!r}: '{where}' is not a group")
        if len(group) != len(expected):
            raise RefusedFile(
                f"Layer '{layer.name}' ({type(layer).__name__}) expects {len(expected)} "
                "weights "
                f"but {label!r} holds {len(group)} for it (entry '{entry}')"
            )
        datasets = []
        for i, want in enumerate(expected):
            dataset = group.get(str(i))
            if dataset is None:
                raise RefusedFile(f"{label!r}: entry '{entry}' has no weight '{where}/{i}'")
            check_weight_dataset(dataset, f"{where}/{i}", label)
            if dataset.shape != np.shape(want):
                raise RefusedFile(
                    f"Layer '{layer.name}' ({type(layer).__name__}): weight {i} "
                    f"({_weight_name(layer, i)}) has shape {np.shape(want)} in the model but "
                    f"{dataset.shape} in {label!r} (entry '{entry}')"
                )
            datasets.append(dataset)
        pending.append((layer, [np.asarray(d[()]) for d in datasets]))
    extra = [
        e
        for e in _file_entries(f)
        if e.startswith("layers/") and f"{e}/vars" not in seen and len(f[e]["vars"]) > 0
    ]
    if extra:
        raise RefusedFile(
            f"{label!r} holds weights for layers the model does not have: "
            f"{', '.join(extra)} (saved from a different architecture)"
        )
    return pending


def _file_entries(f):
    """Paths of the leaf entries (groups with a 'vars' group) in a weights file."""
    found = []

    def visit(name, _obj):
        if name.endswith("/vars"):
            found.append(name[: -len("/vars")])

    f.visititems(visit)
    return found


def _weight_name(layer, i):
    weights = getattr(layer, "weights", None)
    try:
        return weights[i].name
    except (TypeError, IndexError, AttributeError):
        return f"#{i}"
