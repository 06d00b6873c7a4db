"""A sweep's outcome: one tidy row per run (its inputs, then what it came to), in grid order.

Each row is a pure function of (spec, run index) (:func:`run_row`), so every engine returns
equal rows. The figures come from the run's :class:`~vpccni_model.sim.Summary` and its
cluster series: ``subnet_addresses_p50``/``_max`` are the nearest-rank median and the maximum
of the addresses the nodes hold in their subnet at each sample (every ``sample_interval`` and
at the end, the boot sample at t=0 included); calls per hour count every attempt (answered,
failed or throttled) over the simulated hours; the time-to-IP percentiles rank the pods that
gave up after every pod that got an IP, None when the rank falls on one of them.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from collections.abc import Mapping
from typing import Any

import attrs

from vpccni_model.cloud import EC2_APIS
from vpccni_model.sim.engine import simulate
from vpccni_model.sim.metrics import SimulationResult, percentile
from vpccni_model.sweep._engines import PROCESS, Progress, map_runs
from vpccni_model.sweep._pareto import ParetoPoint, pareto
from vpccni_model.sweep._spec import Run, SweepSpec

#: Per-API columns of the CSV, in this order whatever the runs called.
API_COLUMNS = tuple(sorted(EC2_APIS))


@attrs.frozen
class SweepRow:
    """One run: its grid point, then its figures (see the module docstring)."""

    index: int
    instance: str
    env_label: str
    env: tuple[tuple[str, str], ...]
    workload_label: str
    workload: str
    seed: int
    subnet_addresses_p50: int
    subnet_addresses_max: int
    ec2_calls_per_hour: float
    ec2_calls_per_hour_by_api: tuple[tuple[str, float], ...]
    ec2_calls_throttled: int
    pods_started: int
    pods_that_waited: int
    pods_failed: int
    time_to_ip_p50_s: float | None
    time_to_ip_p99_s: float | None
    time_to_ip_max_s: float | None

    @property
    def setting(self) -> str:
        """What was chosen (instance type and env set), as tables and plots label it."""
        return f"{self.instance} {self.env_label}"

    def to_dict(self) -> dict[str, Any]:
        out = attrs.asdict(self)
        out["env"] = dict(self.env)
        out["ec2_calls_per_hour_by_api"] = dict(self.ec2_calls_per_hour_by_api)
        return out

    @classmethod
    def of(cls, run: Run, result: SimulationResult) -> SweepRow:
        """The row of ``run`` from its simulation ``result``."""
        s = result.summary
        hours = s.duration_s / 3600
        held = [sample.subnet_addresses for sample in result.series]
        by_api = tuple(
            (api, sum(counts.values()) / hours)
            for api, counts in sorted(result.calls_by_api.items())
        )
        return cls(
            index=run.index,
            instance=run.instance,
            env_label=run.env.name,
            env=run.env.values,
            workload_label=run.workload.name,
            workload=run.workload.kind,
            seed=run.seed,
            subnet_addresses_p50=int(percentile(held, 0.5)),
            subnet_addresses_max=s.subnet_addresses_max,
            ec2_calls_per_hour=s.ec2_calls_per_hour,
            ec2_calls_per_hour_by_api=by_api,
            ec2_calls_throttled=s.ec2_calls_throttled,
            pods_started=s.pods_started,
            pods_that_waited=s.pods_that_waited,
            pods_failed=s.pods_failed,
            time_to_ip_p50_s=s.time_to_ip_p50_s,
            time_to_ip_p99_s=s.time_to_ip_p99_s,
            time_to_ip_max_s=s.time_to_ip_max_s,
        )


def run_row(spec: SweepSpec, index: int) -> SweepRow:
    """Simulate grid point ``index`` of ``spec``: what every engine runs, in any process."""
    run = spec.run(index)
    return SweepRow.of(run, simulate(spec.simulation(run)))


CSV_COLUMNS = (
    "index",
    "instance",
    "env",
    "env_values",
    "workload",
    "workload_kind",
    "seed",
    "subnet_addresses_p50",
    "subnet_addresses_max",
    "ec2_calls_per_hour",
    "ec2_calls_throttled",
    "pods_started",
    "pods_that_waited",
    "pods_failed",
    "time_to_ip_p50_s",
    "time_to_ip_p99_s",
    "time_to_ip_max_s",
    *(f"calls_per_hour_{api}" for api in API_COLUMNS),
)


@attrs.frozen
class SweepResult:
    """The spec and its rows, in grid order (``SweepSpec.runs``)."""

    spec: SweepSpec
    rows: tuple[SweepRow, ...]

    def pareto(self) -> tuple[ParetoPoint, ...]:
        """The settings per workload and which are dominated (:func:`pareto`)."""
        return pareto(self.rows)

    def csv_rows(self) -> list[dict[str, object]]:
        """``sweep.csv``'s rows: None (a percentile on a pod that gave up) is an empty cell."""
        out = []
        for row in self.rows:
            by_api: Mapping[str, float] = dict(row.ec2_calls_per_hour_by_api)
            cells: dict[str, object] = {
                "index": row.index,
                "instance": row.instance,
                "env": row.env_label,
                "env_values": " ".join(f"{k}={v}" for k, v in row.env),
                "workload": row.workload_label,
                "workload_kind": row.workload,
                "seed": row.seed,
                "subnet_addresses_p50": row.subnet_addresses_p50,
                "subnet_addresses_max": row.subnet_addresses_max,
                "ec2_calls_per_hour": row.ec2_calls_per_hour,
                "ec2_calls_throttled": row.ec2_calls_throttled,
                "pods_started": row.pods_started,
                "pods_that_waited": row.pods_that_waited,
                "pods_failed": row.pods_failed,
                "time_to_ip_p50_s": row.time_to_ip_p50_s,
                "time_to_ip_p99_s": row.time_to_ip_p99_s,
                "time_to_ip_max_s": row.time_to_ip_max_s,
            }
            for api in API_COLUMNS:
                cells[f"calls_per_hour_{api}"] = by_api.get(api, 0.0)
            out.append({k: "" if v is None else v for k, v in cells.items()})
        return out

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.csv_rows())
        return buffer.getvalue()

    def to_dict(self) -> dict[str, Any]:
        """The inputs (the spec as a sweep file spells it), every row, and the Pareto marks."""
        return {
            "spec": self.spec.to_dict(),
            "rows": [row.to_dict() for row in self.rows],
            "pareto": [point.to_dict() for point in self.pareto()],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent) + "\n"


def sweep(
    spec: SweepSpec,
    engine: object = PROCESS,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> SweepResult:
    """Run every grid point of ``spec`` on ``engine`` (see :func:`map_runs`); the rows are
    in grid order and equal whatever the engine. ``progress(done, total)`` is called as runs
    complete."""
    job = functools.partial(run_row, spec)
    rows = map_runs(job, range(len(spec)), engine, workers=workers, progress=progress)
    return SweepResult(spec, tuple(rows))
