"""The bench: ``python -m shendu bench`` times shendu side by side with NumPy (OpenBLAS), PyTorch
and TensorFlow-Keras, with equal threads for all; ``python -m shendu bench-gpu`` times its CUDA
kernels against cuBLAS and PyTorch CUDA (gpu.py).

Two suites:

* kernels (workloads.py, kernels.py): SGEMM (square and the layer shapes of the example models,
  with their backward transposes), conv2d forward+backward, max_pool2d forward+backward, LSTM
  forward+backward and one training step of a 2-5-1 MLP;
* programs (programs.py): the example programs of examples/, trained with shendu, TF-Keras and
  a faithful PyTorch port (torch_programs.py) on the same data with the same epochs and batch
  sizes; fit wall time and final test accuracy.

Each example program is written once, in examples/<name>.py, a standalone Keras program. The
bench, the demo and the tests load that file by path (examples.py), on shendu.keras or with its
imports pointed at tf.keras, rather than a copy inside the package that a test keeps in sync: one
text, nothing to keep in step. The build installs examples/*.py into the package
(shendu/examples/), so an installed shendu finds them too.

Each framework runs in its own process (worker.py), so the thread environment variables (OMP,
OpenBLAS, MKL) are set before it is imported and no framework's idle thread pool competes with
another's; the worker records the libraries the framework really ran (libraries.py). A framework
that is not installed is skipped with a note. Every timing is the median of repeated samples
after warm-up (timing.py); the JSON keeps every sample.

cli.py writes ``<out>/<date>.json``, ``<out>/<date>.md`` (the table, report.py),
``<out>/<date>.png`` (speed-up ratios, plot.py, when matplotlib is installed) and a line of
``<out>/HISTORY.md`` (history.py).
"""
