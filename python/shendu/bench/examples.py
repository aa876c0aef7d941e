"""The example programs (examples/*.py), loaded by path: the bench, ``python -m shendu demo`` and
the tests take each model and its training call from there, so every program is written once.

Where they are: in a checkout, examples/ beside python/; in an installed shendu, the copy that the
build puts into the package (shendu/examples/, an install() rule in CMakeLists.txt). Each program
that the bench runs defines ``EPOCHS``, ``load_data()``, ``build_model()``, ``fit(model, data,
epochs, **kwargs)`` and ``test_accuracy(model, data, **kwargs)``, and runs them in ``main()``.

The programs import Keras as ``from shendu import keras`` / ``from shendu.keras... import``;
``load(name, keras_module)`` points those imports (and those of the helpers a program imports,
``_mnist`` and ``_text_data``) at another Keras, e.g. TensorFlow's: the same program text runs
there, and a process that only runs TensorFlow never imports shendu.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import types

# A program's own helpers: `from _mnist import load`.
_HELPER_IMPORT = re.compile(r"^from (_\w+) import", re.MULTILINE)


def folder() -> str:
    """The folder of the example programs: the package's copy, else the checkout's examples/."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    checkout = os.path.dirname(os.path.dirname(package))
    for path in (os.path.join(package, "examples"), os.path.join(checkout, "examples")):
        if os.path.isfile(os.path.join(path, "mnist_cnn.py")):
            return path
    raise FileNotFoundError(
        f"no example programs in {package}/examples (an installed shendu) nor in "
        f"{checkout}/examples (a checkout)"
    )


def names() -> list[str]:
    """Every example program, by name (the helpers, whose names start with _, left out)."""
    return sorted(f[:-3] for f in os.listdir(folder()) if f.endswith(".py") and f[0] != "_")


def source(name: str, keras_name: str = "shendu.keras", tf_name: str | None = None) -> str:
    """The text of examples/<name>.py with its Keras imports pointed at the module keras_name."""
    with open(os.path.join(folder(), name + ".py")) as f:
        text = f.read()
    if keras_name == "shendu.keras":
        return text
    # A custom-loop program's `import shendu as tf` becomes tf_name, by default the package of
    # that Keras (tensorflow for tensorflow.keras; tf.keras itself is named keras._tf_keras.keras,
    # so the bench names tensorflow).
    package = tf_name or keras_name.rpartition(".")[0]
    if package:
        text = text.replace("import shendu as tf", f"import {package} as tf")
    return text.replace("from shendu import keras", f"import {keras_name} as keras").replace(
        "from shendu.keras", f"from {keras_name}"
    )


def load(
    name: str,
    keras_module: types.ModuleType | None = None,
    tf_module: types.ModuleType | None = None,
) -> types.ModuleType:
    """examples/<name>.py as a module, on shendu.keras or on keras_module (e.g. tf.keras), with
    a custom loop's `tf` on tf_module (by default keras_module's package)."""
    keras_name = "shendu.keras" if keras_module is None else keras_module.__name__
    text = source(name, keras_name, None if tf_module is None else tf_module.__name__)
    helpers = sorted(set(_HELPER_IMPORT.findall(text)))
    saved = {h: sys.modules.pop(h, None) for h in helpers}
    try:  # the helpers as the program's imports find them, for as long as it is executed
        for helper in helpers:
            sys.modules[helper] = _module(helper, source(helper, keras_name))
        return _module(name, text)
    finally:
        for helper, module in saved.items():
            if module is None:
                sys.modules.pop(helper, None)
            else:
                sys.modules[helper] = module


def _module(name: str, text: str) -> types.ModuleType:
    module = types.ModuleType(f"shendu_example_{name}")
    module.__file__ = os.path.join(folder(), name + ".py")
    exec(compile(text, module.__file__, "exec"), module.__dict__)
    return module


def sample_data(program: types.ModuleType):
    """program.load_data() on the MNIST sample shipped in shendu (the examples' --sample), where
    the program trains on MNIST: the same digits offline, without the 11 MB download."""
    with _environ(SHENDU_EXAMPLES_SAMPLE="1"):
        return program.load_data()


@contextlib.contextmanager
def _environ(**values):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k)
            else:
                os.environ[k] = v
