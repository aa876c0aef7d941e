"""The example programs as the bench trains them: on shendu.keras and TF-Keras, the example's own
build_model(), fit call and test accuracy (the same program text, see examples.load), on PyTorch
the port in torch_programs; and their data, made once so that every framework trains on the
same arrays."""

from __future__ import annotations

import os
import time

from . import examples, torch_programs


def run_keras(keras, name: str, data: dict, epochs: int) -> dict:
    """Fit seconds (verbose=0, so no progress bar is timed) and test accuracy of
    examples/<name>.py on the Keras module keras (shendu.keras or tf.keras)."""
    program = examples.load(name, None if keras.__name__ == "shendu.keras" else keras)
    keras.utils.set_random_seed(0)
    model = program.build_model()
    split = (data["x_train"], data["y_train"]), (data["x_test"], data["y_test"])
    t0 = time.perf_counter()
    program.fit(model, split, epochs=epochs, verbose=0)
    fit_s = time.perf_counter() - t0
    return {"fit_s": fit_s, "accuracy": float(program.test_accuracy(model, split, verbose=0))}


RUNNERS = {
    "shendu": lambda shendu, name, data, epochs: run_keras(shendu.keras, name, data, epochs),
    "tensorflow": lambda tf, name, data, epochs: run_keras(tf.keras, name, data, epochs),
    "torch": torch_programs.run,
}


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
        if name.startswith("mnist"):
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
