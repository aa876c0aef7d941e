#!/usr/bin/env python3
"""Runs the bench from a checkout, writing into bench/results/ (the same as `python -m shendu
bench`). Usage: python bench/run.py [--quick] [--threads 2] [--suite kernels|programs] ...

Uses the source tree's shendu when ./dev-build.sh has compiled it, else the installed one.
"""

import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(os.path.dirname(HERE), "python")
if glob.glob(os.path.join(SOURCE, "shendu", "_cpu*.so")):
    sys.path.insert(0, SOURCE)

from shendu.bench.cli import main

if __name__ == "__main__":
    args = sys.argv[1:]
    if not any(a == "--out" or a.startswith("--out=") for a in args):
        args += ["--out", os.path.join(HERE, "results")]
    sys.exit(main(args))
