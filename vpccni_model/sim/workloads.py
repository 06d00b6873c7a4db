"""Workloads: the pod arrivals and departures a simulation replays.

A workload turns (seeded RNG, duration, node names) into a time-ordered stream of
:class:`PodEvent`. Events without a node are placed by the simulator's scheduler; a trace
names the node itself. Every generator draws only from the RNG it is given, so the same seed
gives the same stream.
"""

from __future__ import annotations

import bisect
import csv
import heapq
import math
import operator
import random
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Literal, Protocol

import attrs

from vpccni_model._checks import is_number, slot_setters
from vpccni_model._errors import ConfigError

Kind = Literal["add", "delete"]


@attrs.frozen
class PodEvent:
    """A pod arrives (``add``) or leaves (``delete``) at ``time`` seconds."""

    time: float
    pod: str
    kind: Kind
    node: str | None = None


_SET_TIME, _SET_POD, _SET_KIND, _SET_NODE = slot_setters(PodEvent)
_new = object.__new__


def _event(time: float, pod: str, kind: Kind) -> PodEvent:
    """A PodEvent without a node, built without ``__init__`` (a generator makes one per pod
    change, and its values are right by construction): a third cheaper."""
    event = _new(PodEvent)
    _SET_TIME(event, time)
    _SET_POD(event, pod)
    _SET_KIND(event, kind)
    _SET_NODE(event, None)
    return event


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
    arrivals: Iterable[tuple[float, str, float | None]], duration: float, rate: float = 0.0
) -> Iterator[PodEvent]:
    """Merge arrivals (time, pod, lifetime) with their departures, in time order.

    Ties: departures before arrivals at the same instant, then by pod name. The departures
    still to come wait in slices of time (``_Departures``) sized for ``rate``, the expected
    departures per second (0: unknown): a heap of every live pod, which a large cluster
    holds by the hundred thousand, costs nearly twice as much per event.
    """
    pending = _Departures(_SLICE_DEPARTURES / rate if rate > 0 else 1.0)
    for time, pod, lifetime in arrivals:
        if pending.due(time):
            for when, name in pending.take(time):
                yield _event(when, name, "delete")
        yield _event(time, pod, "add")
        if lifetime is not None and time + lifetime < duration:
            pending.add(time + lifetime, pod)
    for when, name in pending.take(math.inf):
        yield _event(when, name, "delete")


#: Departures a slice of ``_Departures`` holds on average: enough to make the slice's
#: bookkeeping cheap per departure, few enough to sort in a moment.
_SLICE_DEPARTURES = 32


class _Departures:
    """Departures to come, by slices of ``width`` seconds: a dict of unsorted lists and a
    heap of the slices that have one. The earliest slice is sorted once, when it falls due,
    and kept sorted while it is used up (``head``), so departures come out in (time, pod)
    order, as from one heap of them all: a later slice holds only later times, whatever
    the width (``when * per_slice`` grows with ``when``)."""

    __slots__ = ("buckets", "head", "head_slice", "per_slice", "slices")

    def __init__(self, width: float = 1.0) -> None:
        self.per_slice = 1.0 / width
        self.buckets: dict[int, list[tuple[float, str]]] = {}
        self.slices: list[int] = []
        self.head: list[tuple[float, str]] = []  # the slice being used up, sorted
        self.head_slice = -1  # no departure is added to a slice before it

    def add(self, when: float, pod: str) -> None:
        at = int(when * self.per_slice)
        if at == self.head_slice:
            bisect.insort(self.head, (when, pod))
            return
        bucket = self.buckets.get(at)
        if bucket is None:
            self.buckets[at] = [(when, pod)]
            heapq.heappush(self.slices, at)
        else:
            bucket.append((when, pod))

    def due(self, time: float) -> bool:
        """Whether a departure may fall at or before ``time``."""
        if self.head:
            return self.head[0][0] <= time
        return bool(self.slices) and self.slices[0] <= time * self.per_slice

    def take(self, time: float) -> list[tuple[float, str]]:
        """The departures at or before ``time``, in order, removed."""
        out: list[tuple[float, str]] = []
        head = self.head
        while True:
            if not head:
                slices = self.slices
                if not slices or slices[0] > time * self.per_slice:
                    self.head_slice = -1
                    return out
                at = heapq.heappop(slices)
                head = self.buckets.pop(at)
                head.sort()
                self.head, self.head_slice = head, at
            if head[-1][0] <= time:
                out.extend(head)
                head.clear()
                continue
            cut = bisect.bisect_right(head, time, key=_when)
            out.extend(head[:cut])
            del head[:cut]
            return out  # the rest of this slice, and every later slice, is after ``time``


_when = operator.itemgetter(0)


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

        yield from _with_departures(arrivals(), duration, rate)


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

        yield from _with_departures(arrivals(), duration, peak / (1 + self.amplitude))


@attrs.frozen
class Trace:
    """Replay of recorded events: rows of (time, node, pod, add|delete)."""

    rows: tuple[PodEvent, ...]

    def __attrs_post_init__(self) -> None:
        # Rows built in code get the checks a CSV row gets (a swapped pod and kind would
        # otherwise run as a "delete" of a pod named "add").
        for at, event in enumerate(self.rows):
            if not isinstance(event, PodEvent):
                raise ConfigError(f"trace row {at}", event, "must be a PodEvent")
            if event.kind not in ("add", "delete"):
                raise ConfigError(f"trace row {at}: kind", event.kind, "add or delete")
            if not (is_number(event.time) and math.isfinite(event.time) and event.time >= 0):
                raise ConfigError(f"trace row {at}: time", event.time, "must be a number >= 0")
            if not isinstance(event.pod, str) or not event.pod:
                raise ConfigError(f"trace row {at}: pod", event.pod, "must be a non-empty str")
        times = [event.time for event in self.rows]
        if times != sorted(times):
            raise ConfigError("trace", "rows", "must be in time order (Trace.from_csv sorts)")

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
