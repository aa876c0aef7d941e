"""Checks for model files from untrusted sources, applied before anything is read from them.

A model file may only fill a model with its own numbers. So a weights file may not reach outside
itself (HDF5 external links, soft links, external raw storage and virtual datasets are refused:
they can make a read return any local file), a dataset is checked for shape and dtype before its
data is read (a tiny file may declare a huge dataset), archive members are read with a hard limit
on their size (a small archive may inflate to gigabytes), and a config is checked for structure
and depth before a model is built from it.
"""

import io
import struct
import zipfile
import zlib


class RefusedFile(ValueError):
    """A model file refused by a check, with a message that names the file (errors of the
    parsers underneath are wrapped into ValueErrors that name it; these need no wrapping)."""


MAX_CONFIG_BYTES = 8 << 20  # config.json of a very large Keras model is about 1 MiB
MAX_CONFIG_DEPTH = 100  # each nested model adds about 6 levels; Python recursion ends near 1000
MAX_H5_OBJECTS = 1_000_000
_SIZE_KEEPING_FILTERS = (
    2,
    3,
)  # HDF5's shuffle and fletcher32 (checksum) filters  # ends the walk of a file whose hard links form a cycle
# Failures of zipfile/zlib on a corrupt archive (decompression, CRC, headers, encryption).
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    OSError,
    RuntimeError,
    struct.error,
    OverflowError,
    ValueError,
)


def read_member(zf, name, limit, label):
    """The bytes of archive member ``name``, refused if it declares or inflates to more than
    ``limit`` bytes; nothing beyond the limit is ever decompressed."""
    info = zf.getinfo(name)
    if info.file_size > limit:
        raise RefusedFile(
            f"{label!r}: archive member {name} declares {info.file_size} bytes, more than the "
            f"{limit} it may hold"
        )
    out = io.BytesIO()
    try:
        with zf.open(info) as member:
            while chunk := member.read(min(1 << 20, limit + 1 - out.tell())):
                out.write(chunk)
                if out.tell() > limit:
                    break
    except ZIP_ERRORS as e:
        raise ValueError(f"{label!r}: archive member {name} is corrupt: {e}") from e
    if out.tell() > limit:
        raise RefusedFile(f"{label!r}: archive member {name} holds more than {limit} bytes")
    return out.getvalue()


def check_config(config, label):
    """Refuses a parsed config.json whose structure would make rebuilding fail obscurely: nesting
    deeper than ``MAX_CONFIG_DEPTH``, a class name that is not a string, a layer record that is
    not a dict with ``class_name`` and a dict ``config``."""
    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        raise RefusedFile(f"{label!r} has a config.json without 'class_name' and 'config'")
    stack = [(config, "config.json", 1)]
    while stack:
        node, where, depth = stack.pop()
        if depth > MAX_CONFIG_DEPTH:
            raise RefusedFile(
                f"{label!r}: config.json is nested more than {MAX_CONFIG_DEPTH} levels deep "
                f"(at {where})"
            )
        if isinstance(node, dict):
            if "class_name" in node and not isinstance(node["class_name"], str):
                raise RefusedFile(
                    f"{label!r}: config.json has a class_name that is not a string at {where}: "
                    f"{node['class_name']!r:.80}"
                )
            if "layers" in node and isinstance(node["layers"], list):
                for i, record in enumerate(node["layers"]):
                    _check_layer_record(record, f"{where}.layers[{i}]", label)
            children = ((f"{where}.{k}", v) for k, v in node.items())
        elif isinstance(node, list):
            children = ((f"{where}[{i}]", v) for i, v in enumerate(node))
        else:
            continue
        stack.extend((child, path, depth + 1) for path, child in children)


def _check_layer_record(record, where, label):
    if (
        not isinstance(record, dict)
        or not isinstance(record.get("class_name"), str)
        or not isinstance(record.get("config"), dict)
    ):
        raise RefusedFile(
            f"{label!r}: config.json has an invalid layer record at {where} (expected a dict "
            f"with a string 'class_name' and a dict 'config'): {record!r:.120}"
        )


def check_h5_links(f, label):
    """Walks every link of the open HDF5 file ``f`` without following any, and refuses links and
    datasets that read data from elsewhere than the file itself."""
    h5py = _h5py()
    stack = [("", f)]
    visited = 0
    while stack:
        path, group = stack.pop()
        for name in group:
            where = f"{path}/{name}" if path else name
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                raise RefusedFile(
                    f"{label!r}: '{where}' is an external link (to {link.path!r} in "
                    f"{link.filename!r}); a weights file may only hold its own data"
                )
            if isinstance(link, h5py.SoftLink):
                raise RefusedFile(
                    f"{label!r}: '{where}' is a soft link (to {link.path!r}); a weights file may "
                    "only hold plain groups and datasets"
                )
            if not isinstance(link, h5py.HardLink):
                raise RefusedFile(f"{label!r}: '{where}' is a link of an unknown kind")
            visited += 1
            if visited > MAX_H5_OBJECTS:
                raise RefusedFile(f"{label!r} holds more than {MAX_H5_OBJECTS} objects")
            obj = group[name]
            if isinstance(obj, h5py.Group):
                stack.append((where, obj))
            elif isinstance(obj, h5py.Dataset):
                _check_storage(obj, where, label)


def _check_storage(dataset, where, label):
    h5py = _h5py()
    plist = dataset.id.get_create_plist()
    if plist.get_external_count() > 0:
        files = ", ".join(repr(plist.get_external(i)[0]) for i in range(plist.get_external_count()))
        raise RefusedFile(
            f"{label!r}: dataset '{where}' stores its data in external files ({files}); a "
            "weights file may only hold its own data"
        )
    if plist.get_layout() == h5py.h5d.VIRTUAL:
        raise RefusedFile(
            f"{label!r}: dataset '{where}' is a virtual dataset (it maps other files' data); a "
            "weights file may only hold its own data"
        )


def check_weight_dataset(dataset, where, label):
    """Refuses a dataset that is not a plain numeric array before any of its data is read (its
    shape is compared with the model's by the caller): a chunk may not exceed the dataset, and
    data may not be compressed, since HDF5 inflates a chunk without bound (1 MB of deflated
    zeros reads as 1 GB). Keras and shendu write weights uncompressed."""
    h5py = _h5py()
    if not isinstance(dataset, h5py.Dataset):
        raise RefusedFile(f"{label!r}: '{where}' is a {type(dataset).__name__}, not a dataset")
    dtype = dataset.dtype
    if dtype.kind not in "biuf":
        raise RefusedFile(
            f"{label!r}: dataset '{where}' has dtype {dtype}, not a numeric type weights have"
        )
    chunks = dataset.chunks
    if chunks is not None and any(c > max(n, 1) for c, n in zip(chunks, dataset.shape)):
        raise RefusedFile(
            f"{label!r}: dataset '{where}' of shape {dataset.shape} declares chunks {chunks} "
            "larger than itself"
        )
    plist = dataset.id.get_create_plist()
    for i in range(plist.get_nfilters()):
        code, _, _, name = plist.get_filter(i)
        if code not in _SIZE_KEEPING_FILTERS:
            raise RefusedFile(
                f"{label!r}: dataset '{where}' is compressed ({name.decode(errors='replace')}); "
                "weights files are read uncompressed only"
            )


def _h5py():
    import h5py

    return h5py


__all__ = ["RefusedFile", "check_config", "check_h5_links", "check_weight_dataset", "read_member"]
