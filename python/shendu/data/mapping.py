"""Dataset.map: a Python function on each element, optionally on a pool of threads.

With ``num_parallel_calls`` the function runs on that many threads (AUTOTUNE: one per CPU),
with up to that many elements in flight; the results come back in input order unless
``deterministic=False``, which yields each result as soon as it is ready. NumPy and shendu's
kernels release the GIL, so functions doing array work use several cores. The pool is shut
down when the pass ends, fails or is closed.
"""

import collections
import concurrent.futures
import os

from . import args as checks
from . import cardinality as card
from . import structure
from .iteration import reading
from .transforms import call

_END = object()


def map_(self, map_func, num_parallel_calls=None, deterministic=None, name=None):
    """Elements ``map_func(*element)`` for tuple elements, ``map_func(element)`` otherwise. A
    returned list becomes a tuple and Python numbers become NumPy values, as in tf.data."""
    checks.callable_("map", "map_func", map_func)
    if deterministic is not None:
        deterministic = checks.boolean("map", "deterministic", deterministic)
    if num_parallel_calls is not None:
        num_parallel_calls = checks.integer("map", "num_parallel_calls", num_parallel_calls)
        if num_parallel_calls == card.AUTOTUNE:
            num_parallel_calls = os.cpu_count() or 1
        elif num_parallel_calls < 1:
            raise ValueError(
                "map: `num_parallel_calls` must be a positive int or AUTOTUNE (-1), got "
                f"{num_parallel_calls}"
            )

    def apply(element):
        result = call(map_func, element)
        return structure.normalize(tuple(result) if isinstance(result, list) else result)

    def sequential():
        with reading(self) as iterator:
            for element in iterator:
                yield apply(element)

    def parallel():
        pending = collections.deque()
        pool = concurrent.futures.ThreadPoolExecutor(
            num_parallel_calls, thread_name_prefix="shendu-map"
        )
        try:
            with reading(self) as iterator:
                exhausted = False
                while True:
                    while not exhausted and len(pending) < num_parallel_calls:
                        element = next(iterator, _END)
                        exhausted = element is _END
                        if not exhausted:
                            pending.append(pool.submit(apply, element))
                    if not pending:
                        return
                    yield _next_result(pending, deterministic is not False)
        finally:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True)

    mapped = type(self)(
        sequential if num_parallel_calls is None else parallel,
        None,
        self._cardinality,
        "ParallelMapDataset" if num_parallel_calls else "MapDataset",
    )
    mapped._spec = lambda: _first_spec(mapped)
    return mapped


def _next_result(pending, in_order):
    if in_order:
        return pending.popleft().result()
    concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
    future = next(f for f in pending if f.done())
    pending.remove(future)
    return future.result()


def _first_spec(dataset):
    """The spec of ``dataset``'s first element: a Python function is not traced, so this is how
    the output of ``map`` gets its spec."""
    with reading(dataset) as iterator:
        element = next(iterator, _END)
    if element is _END:
        raise ValueError(
            "element_spec: the dataset is empty, so the spec of what `map_func` returns is unknown"
        )
    return structure.spec_of(element)
