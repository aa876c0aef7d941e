"""python -m shendu info | bench"""

from __future__ import annotations

import platform
import sys


def info() -> None:
    import numpy as np

    import shendu
    from shendu import _cpu, ops

    print(f"shendu {shendu.__version__}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    print(f"compiler: {_cpu.compiler}")
    print(f"kernel ISA: {_cpu.isa()} (CPU supports {_cpu.detected_isa()})")
    print(f"threads: {shendu.get_num_threads()}")
    print(f"backend: {shendu.get_backend()}")
    if ops._cuda is None:
        print("CUDA module: not built")
    else:
        print("CUDA module: built")
        print(f"CuPy: {ops._cuda.cupy_version() or 'not installed (needed for GPU arrays)'}")
        try:
            print(f"GPU: {ops._cuda.device_name()}")
        except Exception as exc:  # no driver, no device: say so rather than fail
            print(f"GPU: none visible ({exc})")


def main(argv: list[str]) -> int:
    commands = {"info": info}
    if len(argv) != 1 or argv[0] not in commands:
        print(f"usage: python -m shendu {{{'|'.join(commands)}}}", file=sys.stderr)
        return 2
    commands[argv[0]]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
