"""Keras 3's object record, ``{"module", "class_name", "config", "registered_name"}``, written
from an object's ``get_config`` and read back with its class's ``from_config``.

Classes are found by name in ``registry`` only, so this module imports no layer, model or other
serializable class (as Keras 3's ``serialization_lib``).
"""

from __future__ import annotations

from . import registry


def serialize_keras_object(obj, module: str) -> dict:
    """The record of ``obj``. shendu's own classes are recorded under their public ``module``
    (``"keras.layers"``, ...) as Keras does; others under their Python module and registered
    name (``"package>Name"``, or the class name when unregistered)."""
    cls = type(obj)
    builtin = registry.is_builtin(cls)
    record = {
        "module": module if builtin else cls.__module__,
        "class_name": cls.__name__,
        "config": obj.get_config(),
        "registered_name": None if builtin else registry.get_registered_name(cls),
    }
    build_config = obj.get_build_config() if hasattr(obj, "get_build_config") else None
    if build_config:
        record["build_config"] = build_config
    return record


def class_of(config, module_objects, custom_objects=None, what="object"):
    """The class a record names: its registered name, else its class name, looked up in the
    custom object scopes, the registered objects, ``custom_objects`` and ``module_objects``."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Expected a {what} record with a 'class_name', got {config!r}")
    found = None
    if config.get("registered_name"):
        found = registry.get_registered_object(
            config["registered_name"], custom_objects, module_objects
        )
    if found is None:
        found = registry.get_registered_object(config["class_name"], custom_objects, module_objects)
    if found is None:
        raise ValueError(
            f"Unknown {what} class: {config.get('registered_name') or config['class_name']!r}. "
            f"Accepted: {', '.join(sorted(module_objects or {}))}; register your own class "
            "with keras.saving.register_keras_serializable or pass it in custom_objects."
        )
    return found


def deserialize_keras_object(config, module_objects, custom_objects=None, what="object"):
    """The object a record describes, built with its class's ``from_config``; objects it nests
    are found with the same ``custom_objects`` (held in a scope while it is built), and a
    ``build_config`` builds it as it was when saved."""
    cls = class_of(config, module_objects, custom_objects, what)
    with registry.CustomObjectScope(custom_objects):
        obj = cls.from_config(dict(config.get("config", {})))
        build_config = config.get("build_config")
        if build_config and not getattr(obj, "built", True):
            obj.build_from_config(build_config)
    return obj
