"""The names serializable Keras objects are found by, as Keras 3's ``object_registration``.

Two tables: shendu's own classes, which register themselves when they are defined (base classes
call ``register_builtin`` from ``__init_subclass__``), and the classes users register with
``register_keras_serializable`` under ``"package>Name"``. This module imports no other part of
``shendu.keras``, so layers, models and saving can all read it without importing each other.
"""

from __future__ import annotations

import threading

_BUILTINS: dict[str, dict[str, type]] = {}
_CUSTOM_OBJECTS: dict[str, object] = {}
_CUSTOM_NAMES: dict[object, str] = {}
_scopes = threading.local()  # the stack of active CustomObjectScope dicts, per thread

# Classes defined in this package (not its private helpers, not users' subclasses) are built in.
_PACKAGE = __name__.rpartition(".")[0] + "."


def is_builtin(cls) -> bool:
    """Whether ``cls`` is one of shendu.keras's own public classes."""
    return cls.__module__.startswith(_PACKAGE) and not cls.__name__.startswith("_")


def register_builtin(kind: str, cls) -> None:
    """Adds ``cls`` to the built-in table ``kind`` ("layers", ...) when it is one of shendu's own
    public classes; other classes (users' subclasses) are left to register_keras_serializable."""
    if is_builtin(cls):
        _BUILTINS.setdefault(kind, {})[cls.__name__] = cls


def builtin_objects(kind: str) -> dict:
    """The built-in classes of ``kind`` by class name (a copy)."""
    return dict(_BUILTINS.get(kind, {}))


def register_keras_serializable(package="Custom", name=None):
    """Decorator registering a class or function under ``"package>name"`` (``name`` defaults to
    its ``__name__``), so that saved models and ``deserialize`` find it without
    ``custom_objects``."""
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"package: expected a string without '>', got {package!r}")
    if name is not None and not isinstance(name, str):
        raise ValueError(f"name: expected a string or None, got {name!r}")

    def decorator(arg):
        if isinstance(arg, type) and not hasattr(arg, "get_config"):
            raise ValueError(
                f"Cannot register {arg.__name__}: a class needs a get_config() method to be "
                "serializable"
            )
        registered_name = f"{package}>{name if name is not None else arg.__name__}"
        _CUSTOM_OBJECTS[registered_name] = arg
        _CUSTOM_NAMES[arg] = registered_name
        return arg

    return decorator


def get_registered_name(obj) -> str:
    """The name ``obj`` was registered under, else its ``__name__``."""
    return _CUSTOM_NAMES.get(obj, obj.__name__)


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The object named ``name``, searched as Keras does: the active custom object scopes
    (innermost first), the registered objects, ``custom_objects``, then ``module_objects``.
    None when none has it."""
    for scope in reversed(getattr(_scopes, "stack", [])):
        if name in scope:
            return scope[name]
    for table in (_CUSTOM_OBJECTS, custom_objects, module_objects):
        if table and name in table:
            return table[name]
    return None


def get_custom_objects() -> dict:
    """The registered objects by registered name (the live table, as Keras's)."""
    return _CUSTOM_OBJECTS


class CustomObjectScope:
    """``with CustomObjectScope({"MyLayer": MyLayer}):`` makes the names found by every
    deserialization inside the block (nested ones included), before any other table."""

    def __init__(self, custom_objects=None):
        if custom_objects is not None and not isinstance(custom_objects, dict):
            raise TypeError(f"custom_objects: expected a dict, got {type(custom_objects).__name__}")
        self.custom_objects = dict(custom_objects or {})

    def __enter__(self):
        if not hasattr(_scopes, "stack"):
            _scopes.stack = []
        _scopes.stack.append(self.custom_objects)
        return self

    def __exit__(self, *exc_info):
        _scopes.stack.pop()


custom_object_scope = CustomObjectScope
