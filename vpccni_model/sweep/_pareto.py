"""Which settings of a sweep are worth having: the Pareto front on three costs.

A *setting* is what a user chooses, an instance type with an env set; the workload is the
weather and the seeds are noise. So settings are compared within each workload, each by its
worst figures over the seeds: the most subnet addresses held (``subnet_addresses_max``), the
most EC2 calls per hour, and the longest p99 time to IP. Lower is better on all three.
A setting is *dominated* when another one of the same workload is no worse on all three and
better on at least one; settings equal on all three do not dominate each other. A p99 of
None (the rank fell on a pod that gave up) is worse than any time, and equal to another None.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Protocol

import attrs


class _Row(Protocol):
    """What the Pareto marking reads of a sweep row (``SweepRow`` has it)."""

    @property
    def instance(self) -> str: ...
    @property
    def env_label(self) -> str: ...
    @property
    def workload_label(self) -> str: ...
    @property
    def subnet_addresses_max(self) -> int: ...
    @property
    def ec2_calls_per_hour(self) -> float: ...
    @property
    def time_to_ip_p99_s(self) -> float | None: ...


@attrs.frozen
class ParetoPoint:
    """One setting under one workload, with its worst figures over ``runs`` seeds and the
    settings that dominate it (empty: it is on the front)."""

    workload: str
    instance: str
    env_label: str
    runs: int
    subnet_addresses_max: int
    ec2_calls_per_hour: float
    time_to_ip_p99_s: float | None
    dominated_by: tuple[str, ...] = ()

    @property
    def setting(self) -> str:
        return f"{self.instance} {self.env_label}"

    @property
    def dominated(self) -> bool:
        return bool(self.dominated_by)

    def costs(self) -> tuple[float, float, float]:
        """(addresses, calls/h, p99), None p99 as infinity: what dominance compares."""
        p99 = math.inf if self.time_to_ip_p99_s is None else self.time_to_ip_p99_s
        return (float(self.subnet_addresses_max), self.ec2_calls_per_hour, p99)

    def to_dict(self) -> dict[str, Any]:
        out = attrs.asdict(self)
        out["dominated_by"] = list(self.dominated_by)
        out["dominated"] = self.dominated
        return out


def dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """``a`` no worse than ``b`` everywhere and better somewhere (lower is better)."""
    return all(x <= y for x, y in zip(a, b, strict=True)) and any(
        x < y for x, y in zip(a, b, strict=True)
    )


def _worst(values: Iterable[float | None]) -> float | None:
    seen = list(values)
    return None if any(v is None for v in seen) else max(v for v in seen if v is not None)


def pareto(rows: Iterable[_Row]) -> tuple[ParetoPoint, ...]:
    """Every (workload, setting) of ``rows`` with its worst figures and who dominates it,
    workloads and then settings in the order they first appear (grid order for a sweep)."""
    groups: dict[tuple[str, str, str], list[_Row]] = {}
    for row in rows:
        groups.setdefault((row.workload_label, row.instance, row.env_label), []).append(row)
    points = [
        ParetoPoint(
            workload=workload,
            instance=instance,
            env_label=env_label,
            runs=len(runs),
            subnet_addresses_max=max(r.subnet_addresses_max for r in runs),
            ec2_calls_per_hour=max(r.ec2_calls_per_hour for r in runs),
            time_to_ip_p99_s=_worst(r.time_to_ip_p99_s for r in runs),
        )
        for (workload, instance, env_label), runs in groups.items()
    ]
    order = list(dict.fromkeys(p.workload for p in points))
    points.sort(key=lambda p: order.index(p.workload))  # stable: settings keep their order
    marked = []
    for point in points:
        rivals = [q for q in points if q.workload == point.workload and q is not point]
        by = tuple(q.setting for q in rivals if dominates(q.costs(), point.costs()))
        marked.append(attrs.evolve(point, dominated_by=by))
    return tuple(marked)
