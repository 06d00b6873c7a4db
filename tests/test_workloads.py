"""Workload generators (vpccni_model.sim.workloads): event streams checked by hand.

Every expected number below is derived in the comment beside it from the generator's
documented definition (counts per node, linear ramp, Little's law, Poisson statistics), never
from running the generator first.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from vpccni_model._errors import ConfigError
from vpccni_model.sim import Burst, Constant, Diurnal, PodEvent, PoissonChurn, Ramp, Trace

NODES3 = ["n0", "n1", "n2"]


def events(workload: object, duration: float, nodes: list[str], seed: int = 0) -> list[PodEvent]:
    return list(workload.events(random.Random(seed), duration, nodes))  # type: ignore[attr-defined]


def assert_well_formed(stream: list[PodEvent], duration: float) -> None:
    """Time-ordered, inside [0, duration), every delete after its pod's add."""
    times = [e.time for e in stream]
    assert times == sorted(times)
    assert all(0 <= t < duration for t in times)
    live: set[str] = set()
    for event in stream:
        if event.kind == "add":
            assert event.pod not in live
            live.add(event.pod)
        else:
            assert event.kind == "delete"
            assert event.pod in live, f"{event.pod} deleted before it was added"
            live.remove(event.pod)


def population(stream: list[PodEvent]) -> list[tuple[float, int]]:
    """(time, live pods after the event) for every event."""
    out, live = [], 0
    for event in stream:
        live += 1 if event.kind == "add" else -1
        out.append((event.time, live))
    return out


# -- Constant -------------------------------------------------------------------------------


def test_constant_creates_pods_per_node_times_nodes_at_time_zero() -> None:
    stream = events(Constant(5), 600.0, NODES3)
    # 5 pods per node x 3 nodes = 15 adds, all at t = 0, none deleted, names unique.
    assert len(stream) == 15
    assert {e.time for e in stream} == {0.0}
    assert {e.kind for e in stream} == {"add"}
    assert len({e.pod for e in stream}) == 15
    assert all(e.node is None for e in stream)  # placed by the scheduler
    assert events(Constant(0), 600.0, NODES3) == []


# -- Ramp -----------------------------------------------------------------------------------


def test_ramp_up_adds_one_pod_per_step_evenly_over_the_ramp() -> None:
    stream = events(Ramp(0, 10, over=100.0), 1000.0, ["n0"])
    assert_well_formed(stream, 1000.0)
    # 0 -> 10 pods over 100 s on one node: 10 steps, step k at 100 * k / 10 = 10 k seconds.
    assert [e.time for e in stream] == [10.0 * k for k in range(1, 11)]
    assert {e.kind for e in stream} == {"add"}


def test_ramp_scales_with_the_node_count() -> None:
    stream = events(Ramp(2, 4, over=60.0), 1000.0, ["n0", "n1"])
    assert_well_formed(stream, 1000.0)
    # 2 nodes: 4 pods at t = 0, then 8 - 4 = 4 steps at 60 * k / 4 = 15, 30, 45, 60 s.
    assert [e.time for e in stream] == [0.0] * 4 + [15.0, 30.0, 45.0, 60.0]
    assert population(stream)[-1][1] == 8


def test_ramp_down_deletes_the_newest_pods_first() -> None:
    stream = events(Ramp(4, 0, over=40.0), 1000.0, ["n0"])
    assert_well_formed(stream, 1000.0)
    adds = [e for e in stream if e.kind == "add"]
    deletes = [e for e in stream if e.kind == "delete"]
    # 4 pods at t = 0, then one delete every 40 / 4 = 10 s, newest (last added) first.
    assert [e.time for e in adds] == [0.0] * 4
    assert [e.time for e in deletes] == [10.0, 20.0, 30.0, 40.0]
    assert [e.pod for e in deletes] == [e.pod for e in reversed(adds)]
    assert population(stream)[-1][1] == 0


def test_ramp_stops_at_the_duration() -> None:
    # Steps at 10, 20, ..., 100 s; a 35 s run only sees the first three (10, 20, 30).
    stream = events(Ramp(0, 10, over=100.0), 35.0, ["n0"])
    assert [e.time for e in stream] == [10.0, 20.0, 30.0]


# -- Burst ----------------------------------------------------------------------------------


def test_burst_adds_count_pods_at_once_and_deletes_them_after_their_lifetime() -> None:
    stream = events(Burst(4, at=30.0, lifetime=50.0), 600.0, NODES3)
    assert_well_formed(stream, 600.0)
    adds = [e for e in stream if e.kind == "add"]
    deletes = [e for e in stream if e.kind == "delete"]
    # 4 pods at t = 30 (the count is for the cluster, not per node), each gone at 30 + 50.
    assert [e.time for e in adds] == [30.0] * 4
    assert [e.time for e in deletes] == [80.0] * 4
    assert sorted(e.pod for e in deletes) == sorted(e.pod for e in adds)


def test_burst_without_lifetime_or_past_the_end_keeps_its_pods() -> None:
    stream = events(Burst(3, at=10.0), 600.0, NODES3)
    assert [(e.time, e.kind) for e in stream] == [(10.0, "add")] * 3
    # 10 + 600 >= 600: the deletes would fall after the end, so none is emitted.
    stream = events(Burst(3, at=10.0, lifetime=600.0), 600.0, NODES3)
    assert [e.kind for e in stream] == ["add"] * 3
    # A burst at or after the end never happens.
    assert events(Burst(3, at=600.0), 600.0, NODES3) == []


# -- PoissonChurn ---------------------------------------------------------------------------


def test_poisson_churn_is_ordered_deterministic_and_seed_dependent() -> None:
    churn = PoissonChurn(pods_per_node=5, changes_per_node_per_minute=2.0)
    first = events(churn, 3600.0, NODES3, seed=7)
    assert_well_formed(first, 3600.0)
    assert events(churn, 3600.0, NODES3, seed=7) == first
    assert events(churn, 3600.0, NODES3, seed=8) != first
    # The initial population: 5 per node x 3 nodes, at t = 0.
    assert sum(1 for e in first if e.time == 0.0 and e.kind == "add") == 15


def test_poisson_churn_keeps_the_population_and_the_arrival_rate() -> None:
    nodes = [f"n{i}" for i in range(10)]
    day = 86_400.0
    stream = events(PoissonChurn(10, 1.0), day, nodes, seed=1)
    assert_well_formed(stream, day)
    # Little's law: arrivals at 1 change / 2 / 60 s per node x 10 nodes = 1/12 per second,
    # mean lifetime 10 / (1/120) = 1200 s, so the population stays around N = 10 x 10 = 100.
    # The stationary M/M/inf population is Poisson(100): standard deviation 10, so every
    # point stays within 5 sigma = 50 of 100.
    pops = population(stream)
    assert all(50 <= live <= 150 for t, live in pops if t > 0)
    # Time average: correlation time 1200 s over 86400 s gives ~36 independent windows,
    # variance ~ 100 * 2 * 1200 / 86400 = 2.8 (sd 1.7): within 10 of 100 (~6 sigma).
    area, last, live = 0.0, 0.0, 0
    for event in stream:
        area += live * (event.time - last)
        last = event.time
        live += 1 if event.kind == "add" else -1
    area += live * (day - last)
    assert abs(area / day - 100) <= 10
    # Arrivals after t = 0: Poisson with mean 86400 / 12 = 7200, sd 85; 6 % = 432 is 5 sigma.
    arrivals = sum(1 for e in stream if e.kind == "add" and e.time > 0)
    assert abs(arrivals - 7200) <= 432


def test_poisson_churn_mean_lifetime_override() -> None:
    # One node, 60 changes/min = 0.5 arrivals/s, mean lifetime 10 s (not Little's law):
    # the population settles at 0.5 * 10 = 5 (sd sqrt 5), far below pods_per_node = 100.
    stream = events(PoissonChurn(100, 60.0, mean_lifetime=10.0), 3600.0, ["n0"], seed=3)
    assert_well_formed(stream, 3600.0)
    late = [live for t, live in population(stream) if t > 600]  # the initial 100 have left
    assert late and max(late) <= 25  # 5 + 9 sd


# -- Diurnal --------------------------------------------------------------------------------


def test_diurnal_arrival_rate_follows_the_sine() -> None:
    nodes = [f"n{i}" for i in range(10)]
    day = 86_400.0
    diurnal = Diurnal(changes_per_node_per_minute=1.0, amplitude=0.8, period=day)
    stream = events(diurnal, day, nodes, seed=1)
    assert_well_formed(stream, day)
    assert events(diurnal, day, nodes, seed=1) == stream
    assert events(diurnal, day, nodes, seed=2) != stream
    adds = [e.time for e in stream if e.kind == "add"]
    # Mean rate 10 nodes / 120 s = 1/12 per s, i.e. 7200 a day. The first half day has
    # weight (1/2 + 0.8/pi) = 0.7546 -> 5433 arrivals, the second (1/2 - 0.8/pi) -> 1767.
    first = sum(1 for t in adds if t < day / 2)
    second = len(adds) - first
    assert abs(first - 7200 * (0.5 + 0.8 / math.pi)) <= 5 * math.sqrt(5433)  # 5 sigma
    assert abs(second - 7200 * (0.5 - 0.8 / math.pi)) <= 5 * math.sqrt(1767)


def test_diurnal_validates_its_amplitude() -> None:
    with pytest.raises(ConfigError) as info:
        Diurnal(amplitude=1.5)
    assert info.value.field == "amplitude"


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Constant(-1), "pods_per_node"),
        (lambda: Ramp(0, 5, over=0.0), "over"),
        (lambda: Burst(3, at=-1.0), "at"),
        (lambda: Burst(3, lifetime=0.0), "lifetime"),
        (lambda: PoissonChurn(changes_per_node_per_minute=0.0), "changes_per_node_per_minute"),
        (lambda: PoissonChurn(mean_lifetime=math.inf), "mean_lifetime"),
    ],
)
def test_generators_reject_bad_parameters(build: object, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        build()  # type: ignore[operator]
    assert info.value.field == field


# -- Trace ----------------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "trace.csv"
    path.write_text(text)
    return path


def test_trace_from_csv_parses_sorts_and_replays(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "time,node,pod,action\n"
        "20,n1,b,add\n"
        "5,n0,a,ADD\n"  # actions are case-insensitive
        "30,,c,add\n"  # empty node: the scheduler places it
        "40,n0,a,delete\n",
    )
    trace = Trace.from_csv(path)
    assert trace.rows == (
        PodEvent(5.0, "a", "add", "n0"),
        PodEvent(20.0, "b", "add", "n1"),
        PodEvent(30.0, "c", "add", None),
        PodEvent(40.0, "a", "delete", "n0"),
    )
    # Replay stops before the duration; the RNG is not used.
    assert events(trace, 35.0, ["n0", "n1"]) == list(trace.rows[:3])
    assert events(trace, 100.0, ["n0", "n1"], seed=1) == events(trace, 100.0, ["n0", "n1"])


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("time,pod,action\n1,p,add\n", "trace"),  # no node column
        ("time,node,pod,action\nsoon,,p,add\n", "trace line 2: time"),
        ("time,node,pod,action\n1,,p,add\n-3,,q,add\n", "trace line 3: time"),
        ("time,node,pod,action\nnan,,p,add\n", "trace line 2: time"),
        ("time,node,pod,action\n1,,p,create\n", "trace line 2: action"),
    ],
)
def test_trace_rejects_bad_rows_naming_the_field(tmp_path: Path, text: str, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        Trace.from_csv(write(tmp_path, text))
    assert info.value.field == field


def test_trace_rejects_a_short_row_with_a_config_error(tmp_path: Path) -> None:
    # Line 2 has no pod and no action: a malformed file, so ConfigError naming the line.
    path = write(tmp_path, "time,node,pod,action\n5,n0\n")
    with pytest.raises(ConfigError) as info:
        Trace.from_csv(path)
    assert info.value.field.startswith("trace line 2")


def test_trace_rejects_an_empty_pod_name(tmp_path: Path) -> None:
    # A pod key must be non-empty (the pod path refuses ""), so the file is invalid at line 2.
    path = write(tmp_path, "time,node,pod,action\n5,,,add\n")
    with pytest.raises(ConfigError) as info:
        Trace.from_csv(path)
    assert info.value.field.startswith("trace line 2") and "pod" in info.value.field


def test_trace_rejects_unknown_nodes_when_replayed(tmp_path: Path) -> None:
    trace = Trace.from_csv(write(tmp_path, "time,node,pod,action\n5,n9,p,add\n"))
    with pytest.raises(ConfigError) as info:
        events(trace, 100.0, ["n0", "n1"])
    assert info.value.field == "trace node"
    assert info.value.value == "n9"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "cannot read it: No such file or directory"),
        (b"\x89PNG\r\n\x1a\n\x00\xff\xfe", "not a UTF-8 text file"),
        (b"", "missing columns"),
        (b'time,node,pod,action\n"0,,a,add\n' + b"x" * 200_000, "not a well-formed CSV file"),
    ],
)
def test_unreadable_trace_files_are_config_errors_on_trace(
    tmp_path: Path, content: bytes | None, reason: str
) -> None:
    path = tmp_path / "trace.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        Trace.from_csv(path)
    assert (info.value.field, info.value.value) == ("trace", str(path))
    assert reason in info.value.reason


def _heap_merge(
    arrivals: list[tuple[float, str, float | None]], duration: float
) -> list[tuple[float, str, str]]:
    """The merge as one heap of every pending departure: the order ``_with_departures``
    keeps with its one-second buckets (departures first at an instant, then by pod)."""
    import heapq

    pending: list[tuple[float, str]] = []
    out: list[tuple[float, str, str]] = []
    for time, pod, lifetime in arrivals:
        while pending and pending[0][0] <= time:
            when, name = heapq.heappop(pending)
            out.append((when, name, "delete"))
        out.append((time, pod, "add"))
        if lifetime is not None and time + lifetime < duration:
            heapq.heappush(pending, (time + lifetime, pod))
    out.extend((when, name, "delete") for when, name in sorted(pending))
    return out


@pytest.mark.parametrize("rate", [0.0, 0.3, 1.0, 7.0, 1000.0])
@pytest.mark.parametrize("seed", range(4))
def test_departures_come_out_as_from_one_heap(seed: int, rate: float) -> None:
    from vpccni_model.sim.workloads import _with_departures

    rng = random.Random(seed)
    duration = 400.0
    arrivals: list[tuple[float, str, float | None]] = []
    time = 0.0
    for index in range(3000):
        # Arrivals on whole and half seconds and in between, lifetimes from 0 (a departure
        # at its own arrival's instant) through sub-second ones to past the end, and none.
        time += rng.choice([0.0, 0.0, 0.5, 1.0, rng.expovariate(20.0)])
        if time >= duration:
            break
        lifetime = rng.choice([None, 0.0, 0.25, 1.0, 2.5, rng.expovariate(0.05), 1e4])
        arrivals.append((time, f"pod-{rng.randrange(10**6):06d}-{index}", lifetime))
    # ``rate`` sizes the time slices the departures wait in (0: one second): any size gives
    # the same order.
    got = [(e.time, e.pod, e.kind) for e in _with_departures(arrivals, duration, rate)]
    assert got == _heap_merge(arrivals, duration)
    assert all(e.node is None for e in _with_departures(arrivals[:50], duration))
