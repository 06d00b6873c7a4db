"""Sweeps: many simulations over a grid of instance types, env sets, workloads and seeds.

``sweep(SweepSpec(...), engine)`` runs every grid point (in this process, a process pool, or
on a Dask cluster) and returns a :class:`SweepResult`: one tidy :class:`SweepRow` per run,
in grid order, equal whatever the engine. ``pareto`` marks the settings that another one
beats on subnet addresses held, EC2 calls per hour and p99 time to IP. ``map_runs`` is the
engine layer on its own, for any picklable function (the benchmarks use it).
"""

from vpccni_model.sweep._engines import (
    DASK_LOCAL,
    ENGINES,
    PROCESS,
    SERIAL,
    default_workers,
    describe_engine,
    local_cluster,
    map_runs,
)
from vpccni_model.sweep._file import load_sweep, sweep_from_mapping
from vpccni_model.sweep._pareto import ParetoPoint, dominates, pareto
from vpccni_model.sweep._plot import pareto_figure, write_pareto_plot
from vpccni_model.sweep._result import CSV_COLUMNS, SweepResult, SweepRow, run_row, sweep
from vpccni_model.sweep._spec import EnvSet, Run, SweepSpec, WorkloadSpec

__all__ = [
    "CSV_COLUMNS",
    "DASK_LOCAL",
    "ENGINES",
    "EnvSet",
    "PROCESS",
    "ParetoPoint",
    "Run",
    "SERIAL",
    "SweepResult",
    "SweepRow",
    "SweepSpec",
    "WorkloadSpec",
    "default_workers",
    "describe_engine",
    "dominates",
    "load_sweep",
    "local_cluster",
    "map_runs",
    "pareto",
    "pareto_figure",
    "run_row",
    "sweep",
    "sweep_from_mapping",
    "write_pareto_plot",
]
