"""The example programs as the bench trains them: on shendu.keras and TF-Keras, the example's own
build_model(), fit call and test accuracy (the same program text, see examples.load), on PyTorch
the port in torch_programs; and their data, made once so that every framework trains on the
same arrays. A custom-loop program's fit is its GradientTape loop; shendu also trains its model
with Model.fit, and TensorFlow also runs its tf.function steps eagerly."""

from __future__ import annotations

import os
import time

from . import examples, torch_programs
from .workloads import CUSTOM_LOOPS


def _program(keras, name: str, tf=None):
    return examples.load(name, None if keras.__name__ == "shendu.keras" else keras, tf)


def run_keras(keras, name: str, data: dict, epochs: int, tf=None) -> dict:
    """Fit seconds (verbose=0, so no progress bar is timed) and test accuracy of
    examples/<name>.py on the Keras module keras (shendu.keras or tf.keras; a custom loop's
    `tf` on the module tf, tensorflow with tf.keras)."""
    program = _program(keras, name, tf)
    keras.utils.set_random_seed(0)
    model = program.build_model()
    split = (data["x_train"], data["y_train"]), (data["x_test"], data["y_test"])
    t0 = time.perf_counter()
    program.fit(model, split, epochs=epochs, verbose=0)
    fit_s = time.perf_counter() - t0
    return {"fit_s": fit_s, "accuracy": float(program.test_accuracy(model, split, verbose=0))}


def compiled_fit_s(keras, name: str, data: dict, epochs: int) -> float:
    """Seconds of Model.fit on the model of a custom-loop program, compiled with the loop's
    optimizer, loss and metric and given its batch size and per-epoch test pass: the same
    training as the loop, by fit."""
    program = _program(keras, name)
    keras.utils.set_random_seed(0)
    model = program.build_model()
    model.compile(
        optimizer=keras.optimizers.Adam(),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    test = (data["x_test"], data["y_test"])
    t0 = time.perf_counter()
    model.fit(
        data["x_train"],
        data["y_train"],
        batch_size=program.BATCH_SIZE,
        epochs=epochs,
        validation_data=test,
        verbose=0,
    )
    return time.perf_counter() - t0


def run_shendu(shendu, name: str, data: dict, epochs: int) -> dict:
    """run_keras on shendu.keras; a custom loop is also timed as fit of the same model
    (variants["fit"]), the step time the loop must keep to."""
    made = run_keras(shendu.keras, name, data, epochs)
    if name in CUSTOM_LOOPS:
        made["variants"] = {"fit": compiled_fit_s(shendu.keras, name, data, epochs)}
    return made


def run_tensorflow(tf, name: str, data: dict, epochs: int) -> dict:
    """run_keras on tf.keras; a custom loop, whose steps are tf.function, is also timed with
    tf.function run eagerly (variants["eager"]), as TensorFlow runs an undecorated loop."""
    made = run_keras(tf.keras, name, data, epochs, tf)
    if name in CUSTOM_LOOPS:
        tf.config.run_functions_eagerly(True)
        try:
            made["variants"] = {"eager": run_keras(tf.keras, name, data, epochs, tf)["fit_s"]}
        finally:
            tf.config.run_functions_eagerly(False)
    return made


RUNNERS = {"shendu": run_shendu, "tensorflow": run_tensorflow, "torch": torch_programs.run}


def epochs(name: str) -> int:
    """The epochs examples/<name>.py trains for."""
    return examples.load(name).EPOCHS


def save_data(folder: str, names, tiny: bool = False) -> str:
    """Saves each program's load_data() to <folder>/<name>.npz, the MNIST programs' on the MNIST
    sample shipped in shendu; returns a note saying what the data is."""
    import numpy as np

    mnist = None
    for name in names:
        (x, y), (x_test, y_test) = examples.sample_data(examples.load(name))
        if "from _mnist import" in examples.source(name):
            mnist = (len(x), len(x_test))
        arrays = {"x_train": x, "y_train": y, "x_test": x_test, "y_test": y_test}
        if tiny:
            arrays = {k: v[:256] for k, v in arrays.items()}
        np.savez(os.path.join(folder, name + ".npz"), **arrays)
    note = "each program's own load_data(), the same arrays for every framework"
    if mnist:
        note += (
            f"; MNIST: the sample shipped in shendu ({mnist[0]} train / {mnist[1]} test real "
            "digits, no download)"
        )
    return note


def load_data(folder: str, name: str) -> dict:
    import numpy as np

    with np.load(os.path.join(folder, name + ".npz")) as arrays:
        return dict(arrays)
