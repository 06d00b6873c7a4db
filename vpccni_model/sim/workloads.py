"""Workloads: the pod arrivals and departures a simulation replays.

A workload turns (seeded RNG, duration, node names) into a time-ordered stream of
:class:`PodEvent`. Events without a node are placed by the simulator's scheduler; a trace
names the node itself. Every generator draws only from the RNG it is given, so the same seed
gives the same stream.
"""

from __future__ import annotations

import csv
import heapq
import math
import random
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Literal, Protocol

import attrs

from vpccni_model._errors import ConfigError

Kind = Literal["add", "delete"]


@attrs.frozen
class PodEvent:
    """A pod arrives (``add``) or leaves (``delete``) at ``time`` seconds."""

    time: float
    pod: str
    kind: Kind
    node: str | None = None


class Workload(Protocol):
    """Anything that yields time-ordered pod events for a run."""

    def events(
        self, rng: random.Random, duration: float, nodes: Sequence[str]
    ) -> Iterator[PodEvent]: ...


def _check(field: str, value: float, *, minimum: float = 0.0, strict: bool = False) -> None:
    ok = value > minimum if strict else value >= minimum
    if isinstance(value, bool) or not isinstance(value, int | float) or not ok:
        op = ">" if strict else ">="
        raise ConfigError(field, value, f"must be a number {op} {minimum}")
    if not math.isfinite(value):
        raise ConfigError(field, value, "must be finite")


def _with_departures(
    arrivals: Iterable[tuple[float, str, float | None]], duration: float
) -> Iterator[PodEvent]:
    """Merge arrivals (time, pod, lifetime) with their departures, in time order.

    Ties: departures before arrivals at the same instant, then by pod name.
    """
    pending: list[tuple[float, int, str]] = []
    for time, pod, lifetime in arrivals:
        while pending and pending[0][0] <= time:
            when, _, name = heapq.heappop(pending)
            yield PodEvent(when, name, "delete")
        yield PodEvent(time, pod, "add")
        if lifetime is not None and time + lifetime < duration:
            heapq.heappush(pending, (time + lifetime, 0, pod))
    while pending:
        when, _, name = heapq.heappop(pending)
        yield PodEvent(when, name, "delete")


@attrs.frozen
class Constant:
    """``pods_per_node`` pods per node, all created at time 0 and kept."""

    pods_per_node: int

    def __attrs_post_init__(self) -> None:
        _check("pods_per_node", self.pods_per_node)

    def events(
        self, rng: random.Random, duration: float, nodes: Sequence[str]
    ) -> Iterator[PodEvent]:
        for index in range(self.pods_per_node * len(nodes)):
            yield PodEvent(0.0, f"const-{index}", "add")


@attrs.frozen
class Ramp:
    """The cluster's pod count moves linearly from ``start`` to ``end`` per node over
    ``over`` seconds (scale-up adds, scale-down deletes the newest pods first)."""

    start: int
    end: int
    over: float

    def __attrs_post_init__(self) -> None:
        _check("start", self.start)
        _check("end", self.end)
        _check("over", self.over, strict=True)

    def events(
        self, rng: random.Random, duration: float, nodes: Sequence[str]
    ) -> Iterator[PodEvent]:
        first, last = self.start * len(nodes), self.end * len(nodes)
        live: list[str] = []
        for index in range(first):
            live.append(f"ramp-{index}")
            yield PodEvent(0.0, live[-1], "add")
        steps = abs(last - first)
        for step in range(1, steps + 1):
            time = self.over * step / steps
            if time >= duration:
                return
            if last > first:
                live.append(f"ramp-{first + step - 1}")
                yield PodEvent(time, live[-1], "add")
            else:
                yield PodEvent(time, live.pop(), "delete")


@attrs.frozen
class Burst:
    """``count`` pods at once at ``at`` (a Deployment scale-up or a DaemonSet rollout),
    each living ``lifetime`` seconds (None: until the end)."""

    count: int
    at: float = 0.0
    lifetime: float | None = None

    def __attrs_post_init__(self) -> None:
        _check("count", self.count)
        _check("at", self.at)
        if self.lifetime is not None:
            _check("lifetime", self.lifetime, strict=True)

    def events(
        self, rng: random.Random, duration: float, nodes: Sequence[str]
    ) -> Iterator[PodEvent]:
        if self.at >= duration:
            return
        arrivals = ((self.at, f"burst-{i}", self.lifetime) for i in range(self.count))
        yield from _with_departures(arrivals, duration)


@attrs.frozen
class PoissonChurn:
    """Steady churn: ``pods_per_node`` pods per node at the start, then Poisson arrivals at
    ``changes_per_node_per_minute`` per node, each pod living an exponential lifetime whose
    mean keeps the population steady (Little's law) unless ``mean_lifetime`` is given."""

    pods_per_node: int = 10
    changes_per_node_per_minute: float = 1.0
    mean_lifetime: float | None = None

    def __attrs_post_init__(self) -> None:
        _check("pods_per_node", self.pods_per_node)
        _check("changes_per_node_per_minute", self.changes_per_node_per_minute, strict=True)
        if self.mean_lifetime is not None:
            _check("mean_lifetime", self.mean_lifetime, strict=True)

    def _lifetime_mean(self) -> float:
        if self.mean_lifetime is not None:
            return self.mean_lifetime
        # Arrivals are half of the changes; population = rate * lifetime.
        arrivals_per_second = self.changes_per_node_per_minute / 2 / 60
        return max(self.pods_per_node, 1) / arrivals_per_second

    def events(
        self, rng: random.Random, duration: float, nodes: Sequence[str]
    ) -> Iterator[PodEvent]:
        mean = self._lifetime_mean()
        rate = self.changes_per_node_per_minute / 2 / 60 * len(nodes)

        def arrivals() -> Iterator[tuple[float, str, float | None]]:
            for index in range(self.pods_per_node * len(nodes)):
                yield 0.0, f"churn-init-{index}", rng.expovariate(1 / mean)
            time, index = 0.0, 0
            while rate > 0:
                time += rng.expovariate(rate)
                if time >= duration:
                    return
                yield time, f"churn-{index}", rng.expovariate(1 / mean)
                index += 1

        yield from _with_departures(arrivals(), duration)


@attrs.frozen
class Diurnal:
    """A daily cycle: the arrival rate follows ``1 + amplitude*sin(2*pi*t/period)`` around
    ``changes_per_node_per_minute``, lifetimes are exponential around ``mean_lifetime``."""

    changes_per_node_per_minute: float = 1.0
    amplitude: float = 0.8
    period: float = 86_400.0
    mean_lifetime: float = 1_800.0

    def __attrs_post_init__(self) -> None:
        _check("changes_per_node_per_minute", self.changes_per_node_per_minute, strict=True)
        if not 0 <= self.amplitude <= 1:
            raise ConfigError("amplitude", self.amplitude, "must be within [0, 1]")
        _check("period", self.period, strict=True)
        _check("mean_lifetime", self.mean_lifetime, strict=True)

    def events(
        self, rng: random.Random, duration: float, nodes: Sequence[str]
    ) -> Iterator[PodEvent]:
        peak = self.changes_per_node_per_minute / 2 / 60 * len(nodes) * (1 + self.amplitude)

        def arrivals() -> Iterator[tuple[float, str, float | None]]:
            time, index = 0.0, 0
            while True:
                time += rng.expovariate(peak)  # thinning of a Poisson process
                if time >= duration:
                    return
                level = 1 + self.amplitude * math.sin(2 * math.pi * time / self.period)
                if rng.random() * (1 + self.amplitude) <= level:
                    yield time, f"diurnal-{index}", rng.expovariate(1 / self.mean_lifetime)
                    index += 1

        yield from _with_departures(arrivals(), duration)


@attrs.frozen
class Trace:
    """Replay of recorded events: rows of (time, node, pod, add|delete)."""

    rows: tuple[PodEvent, ...]

    @classmethod
    def from_csv(cls, path: str | Path) -> Trace:
        """Read a CSV with a header ``time,node,pod,action`` (node may be empty).

        A file that cannot be read, is not UTF-8 text or is not well-formed CSV is a
        ConfigError on ``trace`` naming the file, like a bad row (``trace line N: column``).
        """
        try:
            with open(path, newline="", encoding="utf-8") as handle:
                return cls._read(path, handle)
        except OSError as exc:
            raise ConfigError("trace", str(path), f"cannot read it: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(
                "trace", str(path), "not a UTF-8 text file (a CSV of time,node,pod,action)"
            ) from exc
        except csv.Error as exc:
            raise ConfigError("trace", str(path), f"not a well-formed CSV file: {exc}") from exc

    @classmethod
    def _read(cls, path: str | Path, handle: Iterable[str]) -> Trace:
        rows: list[PodEvent] = []
        reader = csv.DictReader(handle)
        missing = {"time", "node", "pod", "action"} - set(reader.fieldnames or ())
        if missing:
            raise ConfigError("trace", str(path), f"missing columns {sorted(missing)}")
        for line, row in enumerate(reader, start=2):
            for column in ("time", "pod", "action"):
                if not row.get(column):
                    where = f"trace line {line}: {column}"
                    raise ConfigError(where, row.get(column), "missing or empty")
            if row.get("node") is None:
                row["node"] = ""
            try:
                time = float(row["time"])
            except ValueError as exc:
                raise ConfigError(f"trace line {line}: time", row["time"], "not a number") from exc
            action = row["action"].strip().lower()
            if action not in ("add", "delete"):
                raise ConfigError(f"trace line {line}: action", row["action"], "add or delete")
            if not math.isfinite(time) or time < 0:
                raise ConfigError(f"trace line {line}: time", row["time"], "must be >= 0")
            kind: Kind = "add" if action == "add" else "delete"
            rows.append(PodEvent(time, row["pod"], kind, row["node"] or None))
        return cls(tuple(sorted(rows, key=lambda e: e.time)))

    def events(
        self, rng: random.Random, duration: float, nodes: Sequence[str]
    ) -> Iterator[PodEvent]:
        known = set(nodes)
        for event in self.rows:
            if event.time >= duration:
                return
            if event.node is not None and event.node not in known:
                raise ConfigError("trace node", event.node, f"not one of {sorted(known)}")
            yield event


WORKLOADS = {
    "constant": Constant,
    "ramp": Ramp,
    "burst": Burst,
    "churn": PoissonChurn,
    "diurnal": Diurnal,
}
"""Workloads by the names the command line uses (``trace`` takes a file instead)."""


def named_workload(
    kind: str, *, pods_per_node: int, changes_per_minute: float, duration: float, nodes: int
) -> Workload:
    """The workload a command line or a sweep file names, from its few shared parameters.

    ``constant``: ``pods_per_node`` pods at t=0; ``ramp``: 0 to ``pods_per_node`` over half
    the run; ``burst``: all ``pods_per_node * nodes`` pods at 60 s; ``diurnal``: a daily
    cycle of ``changes_per_minute`` per node; ``churn``: Poisson changes around
    ``pods_per_node``. One home, so ``simulate`` and ``sweep`` build the same runs.
    """
    if kind == "constant":
        return Constant(pods_per_node)
    if kind == "ramp":
        return Ramp(0, pods_per_node, duration / 2)
    if kind == "burst":
        return Burst(pods_per_node * nodes, at=60.0)
    if kind == "diurnal":
        return Diurnal(changes_per_node_per_minute=changes_per_minute)
    if kind == "churn":
        return PoissonChurn(pods_per_node, changes_per_minute)
    raise ConfigError("workload", kind, f"must be one of {', '.join(WORKLOADS)}")
