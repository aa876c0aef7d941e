"""Run a computation with a given kernel thread count (results must not depend on it)."""

import shendu


def run_with_threads(n, f):
    old = shendu.get_num_threads()
    try:
        shendu.set_num_threads(n)
        return f()
    finally:
        shendu.set_num_threads(old)
