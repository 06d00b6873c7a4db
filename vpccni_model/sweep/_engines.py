"""Where a sweep's runs execute: this process, a process pool, or a Dask cluster.

``map_runs(fn, items, engine)`` is ``[fn(item) for item in items]`` whatever the engine:
results come back in input order, so an engine changes how long a sweep takes, never what
it returns. ``fn`` and the items must pickle (a top-level function, or a
``functools.partial`` of one); on a Dask cluster the workers must be able to import the
function's module (install ``vpccni-model`` on every worker machine). Dask is imported only
when asked for (the ``dask`` extra).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from typing import Any, TypeVar

from vpccni_model._errors import ConfigError

T = TypeVar("T")
R = TypeVar("R")

SERIAL = "serial"
PROCESS = "process"
DASK_LOCAL = "dask-local"
ENGINES = (SERIAL, PROCESS, DASK_LOCAL)
"""The engine names; any other string with ``://`` is a Dask scheduler address."""

DASK_INSTALL = "pip install 'vpccni-model[dask]'"

Progress = Callable[[int, int], None]
"""Called with (runs done, runs in all) as each run completes, in completion order."""


def default_workers() -> int:
    """Worker processes when none are given: one per CPU (2 if the count is unknown)."""
    return os.cpu_count() or 2


def _check_workers(workers: int | None) -> None:
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise ConfigError("workers", workers, "must be an int >= 1")


def describe_engine(engine: object, workers: int | None = None) -> str:
    """The engine in words, for a command's messages."""
    count = workers or default_workers()
    processes = f"{count} worker process{'es' if count != 1 else ''}"
    if engine == SERIAL:
        return "this process"
    if engine == PROCESS:
        return processes
    if engine == DASK_LOCAL:
        return f"a Dask LocalCluster of {processes}"
    if isinstance(engine, str):
        return f"the Dask scheduler at {engine}"
    return type(engine).__name__


def map_runs(
    fn: Callable[[T], R],
    items: Iterable[T],
    engine: object = PROCESS,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> list[R]:
    """``[fn(item) for item in items]``, computed by ``engine``, in input order.

    ``engine``: ``"serial"`` (this process), ``"process"`` (a ``ProcessPoolExecutor`` of
    ``workers``, default one per CPU, never more than the items), ``"dask-local"`` (a Dask
    ``LocalCluster`` of ``workers`` processes with one thread each, on 127.0.0.1, no dashboard,
    closed afterwards), a scheduler address such as ``"tcp://10.0.0.5:8786"``, a
    ``distributed.Client`` or any ``concurrent.futures.Executor`` (neither is closed). The
    first run that raises stops the map and its error is raised here.
    """
    todo = list(items)
    _check_workers(workers)
    if not todo:
        return []
    report = progress or (lambda done, total: None)
    if engine == SERIAL:
        out = []
        for item in todo:
            out.append(fn(item))
            report(len(out), len(todo))
        return out
    if engine == PROCESS:
        count = min(workers or default_workers(), len(todo))
        with ProcessPoolExecutor(max_workers=count) as pool:
            return _on_executor(pool, fn, todo, report)
    if isinstance(engine, Executor):
        return _on_executor(engine, fn, todo, report)
    if isinstance(engine, str):
        if engine != DASK_LOCAL and "://" not in engine:
            raise ConfigError(
                "engine",
                engine,
                f"must be one of {', '.join(ENGINES)}, a Dask scheduler address "
                "(tcp://HOST:PORT), a distributed.Client or a concurrent.futures.Executor",
            )
        return _on_dask(engine, fn, todo, report, workers)
    distributed = _distributed(engine)
    if isinstance(engine, distributed.Client):
        return _on_client(engine, fn, todo, report)
    raise ConfigError(
        "engine", engine, "must be an engine name, a distributed.Client or an Executor"
    )


def _on_executor(
    pool: Executor, fn: Callable[[T], R], todo: Sequence[T], report: Progress
) -> list[R]:
    futures: dict[Future[R], int] = {pool.submit(fn, item): i for i, item in enumerate(todo)}
    results: dict[int, R] = {}
    try:
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            report(len(results), len(todo))
    finally:
        for future in futures:
            future.cancel()
    return [results[i] for i in range(len(todo))]


def _distributed(engine: object) -> Any:
    try:
        import distributed
    except ImportError:
        raise ConfigError(
            "engine", engine, f"a Dask engine needs the distributed package: {DASK_INSTALL}"
        ) from None
    return distributed


def _on_dask(
    engine: str, fn: Callable[[T], R], todo: Sequence[T], report: Progress, workers: int | None
) -> list[R]:
    distributed = _distributed(engine)
    if engine != DASK_LOCAL:
        try:
            client = distributed.Client(engine, timeout=10)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ConfigError("engine", engine, f"cannot reach the Dask scheduler: {exc}") from None
        with client:
            return _on_client(client, fn, todo, report)
    cluster = local_cluster(workers or default_workers())
    with cluster, distributed.Client(cluster) as client:
        return _on_client(client, fn, todo, report)


def local_cluster(workers: int) -> Any:
    """The Dask ``LocalCluster`` of ``"dask-local"``: ``workers`` processes with one thread
    each, on 127.0.0.1, no dashboard, quiet logs. The caller closes it."""
    distributed = _distributed(DASK_LOCAL)
    with _workers_ignore_ctrl_c():  # only while the worker processes start
        return distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # A run's error comes back through its future; the workers' own logs would only
            # add the tracebacks of their shutdown.
            silence_logs=logging.CRITICAL,
        )


@contextlib.contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """While the cluster's processes start, SIGINT is ignored, and they inherit that: a
    Ctrl-C then stops this process, which closes the cluster, instead of printing every
    worker's traceback (one pressed during the start-up itself, about a second, is lost)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _on_client(client: Any, fn: Callable[[T], R], todo: Sequence[T], report: Progress) -> list[R]:
    import distributed

    # pure=False: two equal items are two runs (a benchmark may repeat one on purpose).
    futures = [client.submit(fn, item, pure=False) for item in todo]
    index = {future.key: i for i, future in enumerate(futures)}
    results: dict[int, R] = {}
    try:
        completed: Any = distributed.as_completed  # untyped in distributed
        for future in completed(futures):
            results[index[future.key]] = future.result()
            report(len(results), len(todo))
    finally:
        client.cancel([f for f in futures if not f.done()])
    return [results[i] for i in range(len(todo))]
