"""Run one function over many parameter sets, in parallel, on any executor.

``sweep(fn, params, executor=None)`` maps ``fn`` over ``params`` and returns the results in
input order. ``fn`` must be a picklable top-level function taking one argument (here always a
dict) and returning something picklable.

The executor is anything with the ``concurrent.futures`` shape:

- ``executor.map(fn, iterable)`` returning results in input order (preferred), or
- ``executor.submit(fn, arg)`` returning a future with ``.result()``.

Without one, a ``ProcessPoolExecutor(max_workers=2)`` (one worker per core of the reference
machine) is created and shut down. Drop-ins for clusters:

- Dask: ``distributed.Client(...).get_executor()`` is a ``concurrent.futures.Executor``
  (``map`` and ``submit``). Workers must import the job functions: ``client.upload_file(
  "benchmarks/jobs.py")`` or install the repository on them.
- Ray: ``ray.util.multiprocessing.Pool()`` has ``map(func, iterable)`` returning a list in
  order. Ship the code with ``ray.init(runtime_env={"working_dir": "."})``.
- ``SerialExecutor()`` below runs in this process (debugging, profiling, ``--workers 1``).

Example::

    from concurrent.futures import ThreadPoolExecutor
    from benchmarks.jobs import steady_state_row, DOCS_ROWS
    results = sweep(steady_state_row, DOCS_ROWS)                       # 2 processes
    results = sweep(steady_state_row, DOCS_ROWS, client.get_executor())  # a Dask cluster
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

P = TypeVar("P")
R = TypeVar("R")

#: Workers of the default executor: the reference machine has 2 cores.
DEFAULT_WORKERS = 2


class SerialExecutor:
    """An in-process executor with the ``map`` shape of ``concurrent.futures``."""

    def map(self, fn: Callable[[P], R], *iterables: Iterable[P]) -> Iterator[R]:
        return map(fn, *iterables)


def sweep(
    fn: Callable[[P], R],
    params: Iterable[P],
    executor: Any = None,
    *,
    max_workers: int = DEFAULT_WORKERS,
) -> list[R]:
    """``[fn(p) for p in params]``, computed by ``executor``, in input order.

    With ``executor=None`` a ``ProcessPoolExecutor(max_workers)`` is used (or the current
    process when ``max_workers <= 1``). An executor passed in is not shut down.
    """
    items = list(params)
    if not items:
        return []
    if executor is None:
        if max_workers <= 1:
            return list(map(fn, items))
        workers = min(max_workers, len(items))
        with ProcessPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(fn, items))
    if callable(getattr(executor, "map", None)):
        return list(executor.map(fn, items))
    if callable(getattr(executor, "submit", None)):
        futures = [executor.submit(fn, item) for item in items]
        return [future.result() for future in futures]
    raise TypeError(
        f"executor {executor!r} has neither map(fn, iterable) nor submit(fn, arg) "
        "(concurrent.futures semantics)"
    )
