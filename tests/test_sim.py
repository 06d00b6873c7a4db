"""The event-driven simulator (vpccni_model.sim): engine, metrics, output files, plots.

Expected numbers are derived by hand in the comments, from the instance limits (t3.small: 3
ENIs x 4 addresses, so 3 secondary IPs per ENI, EKS max pods 3 * 3 + 2 = 11; m5.large: 3 x 10;
p3dn.24xlarge: 15 x 50), the upstream docs tables (docs/eni-and-ip-target.md and
docs/prefix-and-ip-target.md, copied in tests/test_docs_tables.py), ipamd's timers (5 s pool
tick, 120 s insufficient-CIDR backoff, 60 s reconcile) and the explicit latencies below:

    Assign 0.3 s; Create 1 s + Attach 3 s (+ Modify 0 s) = 4 s per new ENI.

Subnet space: EC2 reserves 5 addresses per subnet, so a /16 has 65536 - 5 = 65531 usable.
Pods that find no IP retry every second (pod_retry_interval = 1 s).
"""

from __future__ import annotations

import csv
import gc
import json
import math
from collections import defaultdict
from pathlib import Path

import pytest

from vpccni_model import Config, instance_limits
from vpccni_model._errors import ConfigError
from vpccni_model._events import Ec2Error
from vpccni_model.cloud import ASSIGN, UNASSIGN, FaultRule, Latency, Throttle, TokenBucket
from vpccni_model.sim import (
    Burst,
    Constant,
    NodeSample,
    NodeSpec,
    PoissonChurn,
    Sample,
    Simulation,
    SimulationResult,
    SimulationSpec,
    Trace,
    cluster,
    simulate,
)
from vpccni_model.sim.engine import GC_EVERY_EVENTS
from vpccni_model.sim.metrics import percentile

T3 = instance_limits("t3.small")
M5 = instance_limits("m5.large")
LATENCY = Latency(assign=0.3, describe=0.2, create=1.0, attach=3.0, detach_delete=4.0)
USABLE_16 = 65_536 - 5  # a /16 minus EC2's five reserved addresses


def spec(
    nodes: tuple[NodeSpec, ...], workload: object, duration: float, **kw: object
) -> SimulationSpec:
    kw.setdefault("latency", LATENCY)
    return SimulationSpec(nodes=nodes, workload=workload, duration=duration, **kw)  # type: ignore[arg-type]


def waits(result: SimulationResult) -> list[float]:
    return sorted(wait for _, wait in result.pod_waits)


def last_node_rows(result: SimulationResult) -> dict[str, NodeSample]:
    end = result.series[-1].time_s
    return {row.node: row for row in result.node_series if row.time_s == end}


# -- determinism ----------------------------------------------------------------------------


def churn_spec(seed: int) -> SimulationSpec:
    return spec(
        cluster(T3, Config(warm_ip_target=2), 3),
        PoissonChurn(pods_per_node=6, changes_per_node_per_minute=4.0),
        1800.0,
        seed=seed,
        latency=Latency(jitter=0.5),
        faults=(FaultRule(ASSIGN, Ec2Error.REQUEST_TIMEOUT, rate=0.2),),
    )


def test_same_spec_gives_the_same_result_and_another_seed_differs() -> None:
    first = simulate(churn_spec(1))
    again = simulate(churn_spec(1))
    assert first.to_json() == again.to_json()
    assert first.pod_waits == again.pod_waits
    other = simulate(churn_spec(2))
    assert other.to_json() != first.to_json()


# -- steady state at boot -------------------------------------------------------------------


def test_constant_five_pods_on_t3_small_ends_at_the_docs_row() -> None:
    result = simulate(spec(cluster(T3, Config(), 1), Constant(5), 600.0))
    end = result.series[-1]
    summary = result.summary
    # docs/eni-and-ip-target.md, t3.small E=1 W=0 M=0, 5 pods: 3 ENIs, 9 IPs, 4 unused.
    assert (end.enis, end.ips_total, end.ips_unused) == (3, 9, 4)
    assert (end.pods, end.pods_waiting) == (5, 0)
    assert (summary.pods_started, summary.pods_failed, summary.pods_waiting_at_end) == (5, 0, 0)
    # One Assign(3) on the primary ENI, then two ENIs of Create + Attach + Modify: 7 calls.
    assert result.calls_by_api == {
        "AssignPrivateIpAddresses": {"ok": 1},
        "CreateNetworkInterface": {"ok": 2},
        "AttachNetworkInterface": {"ok": 2},
        "ModifyNetworkInterfaceAttribute": {"ok": 2},
    }
    assert summary.ec2_calls == 7
    assert summary.ec2_calls_per_hour == pytest.approx(7 / (600 / 3600))  # 42 an hour
    # 3 ENIs x (primary + 3 secondaries) = 12 addresses taken from the /16.
    assert end.subnet_free_addresses == USABLE_16 - 12
    assert summary.subnet_free_addresses_min == USABLE_16 - 12
    assert (summary.enis_max, summary.ips_total_max, summary.ips_unused_max) == (3, 9, 4)


def test_pods_wait_for_ips_at_boot_by_latency_and_ticks() -> None:
    result = simulate(spec(cluster(T3, Config(), 1), Constant(9), 300.0))
    # Tick 0: Assign(3) on the primary, done at 0.3 -> the first 3 pods at their 1 s retry.
    # Tick 5: new ENI, done at 5 + 1 + 3 = 9 -> 3 pods at 9 s.
    # Tick 10: third ENI, done at 14 -> the last 3 pods at 14 s.
    assert waits(result) == [1.0] * 3 + [9.0] * 3 + [14.0] * 3
    summary = result.summary
    # Nearest rank over 9 waits: p50 = 5th = 9; p95 = ceil(8.55) = 9th = 14; p99 = 9th.
    assert (summary.time_to_ip_p50_s, summary.time_to_ip_p95_s) == (9.0, 14.0)
    assert (summary.time_to_ip_p99_s, summary.time_to_ip_max_s) == (14.0, 14.0)
    assert summary.pods_that_waited == 9
    # docs row t3.small E=1, 9 pods: 3 ENIs, 9 IPs, 0 unused.
    end = result.series[-1]
    assert (end.enis, end.ips_total, end.ips_unused) == (3, 9, 0)


def test_prefix_mode_ends_at_the_prefix_docs_row() -> None:
    config = Config(prefix_delegation=True, warm_prefix_target=1, max_pods=110)
    result = simulate(spec(cluster(T3, config, 1), Constant(5), 300.0))
    end = result.series[-1]
    # docs/prefix-and-ip-target.md, t3.small WP=1, 5 pods: 1 ENI, 2 prefixes, 27 unused IPs.
    assert (end.enis, end.prefixes, end.ips_total, end.ips_unused) == (1, 2, 32, 27)
    # The primary IP plus two /28 blocks are taken from the /16.
    assert end.subnet_free_addresses == USABLE_16 - 1 - 32


# -- scheduler ------------------------------------------------------------------------------


def test_scheduler_counts_pods_beyond_max_pods_as_unschedulable() -> None:
    nodes = cluster(T3, Config(max_pods=5), 2)
    result = simulate(spec(nodes, Constant(8), 300.0))
    summary = result.summary
    # Max pods 5 less 2 host-network pods: 3 pods with an IP per node. 8 pods per node x 2
    # nodes = 16 pods, room for 2 x 3 = 6: exactly 10 fit nowhere.
    assert summary.pods_unschedulable == 10
    assert summary.pods_started == 6
    rows = last_node_rows(result)
    assert {name: row.pods for name, row in rows.items()} == {"node-000": 3, "node-001": 3}
    # Max pods 5 caps the pool (spec 5.4): growth stops once 2 ENIs x 3 = 6 IPs >= 5.
    assert {row.ips_total for row in rows.values()} == {6}
    assert {row.enis for row in rows.values()} == {2}


def test_scheduler_spreads_pods_over_the_least_loaded_nodes() -> None:
    result = simulate(spec(cluster(T3, Config(), 3), Constant(2), 120.0))
    # 2 pods per node x 3 nodes = 6, placed on the node with the fewest pods: 2 each.
    assert {row.pods for row in last_node_rows(result).values()} == {2}


def test_trace_pods_go_to_the_node_they_name() -> None:
    from vpccni_model.sim import PodEvent

    rows = tuple(PodEvent(float(i), f"p{i}", "add", "node-001") for i in range(4))
    result = simulate(spec(cluster(T3, Config(), 2), Trace(rows), 120.0))
    pods = {name: row.pods for name, row in last_node_rows(result).items()}
    assert pods == {"node-000": 0, "node-001": 4}


# -- subnets --------------------------------------------------------------------------------


def test_tiny_subnet_leaves_pods_failed_after_the_timeout() -> None:
    simulation = Simulation(
        spec(
            cluster(T3, Config(), 1),
            Constant(9),
            300.0,
            subnets=(("s", "10.0.0.0/28"),),
            pod_timeout=100.0,
        )
    )
    result = simulation.run()
    summary = result.summary
    # A /28 has 16 - 5 = 11 usable addresses. Primary 1 + Assign 3 + a second ENI (1 + 3)
    # = 8, leaving 3: a third ENI needs 1 + 3 = 4, so its Create fails. 6 pods get IPs; the
    # other 3 wait and give up at their first retry after 100 s.
    assert summary.pods_started == 6
    assert summary.pods_failed == 3
    assert summary.pods_waiting_at_end == 0
    assert summary.subnet_free_addresses_min == 3
    at_60 = next(s for s in result.series if s.time_s == 60.0)
    assert (at_60.pods, at_60.pods_waiting) == (6, 3)
    assert result.calls_by_api["CreateNetworkInterface"]["failed"] >= 1
    assert simulation.ec2.stats.errors[Ec2Error.INSUFFICIENT_FREE_ADDRESSES] >= 1


def test_nodes_draw_from_their_own_subnet_and_samples_sum_all_subnets() -> None:
    nodes = (NodeSpec("a", T3, Config(), "s1"), NodeSpec("b", T3, Config(), "s2"))
    subnets = (("s1", "10.0.0.0/24"), ("s2", "10.0.1.0/24"))
    simulation = Simulation(spec(nodes, Constant(5), 300.0, subnets=subnets))
    result = simulation.run()
    # Each /24 has 256 - 5 = 251 usable; each node settles at 3 ENIs x 4 addresses = 12.
    assert simulation.ec2.subnet_free("s1")[0] == 251 - 12
    assert simulation.ec2.subnet_free("s2")[0] == 251 - 12
    assert result.series[-1].subnet_free_addresses == 2 * (251 - 12)


def test_prefix_fragmentation_gives_insufficient_cidr_blocks() -> None:
    config = Config(prefix_delegation=True, warm_prefix_target=1)
    simulation = Simulation(
        spec(
            cluster(T3, config, 3),
            Constant(1),
            300.0,
            subnets=(("s", "10.0.0.0/26"),),
            pod_timeout=100.0,
        )
    )
    result = simulation.run()
    # 10.0.0.0/26: usable .4-.62 (59). Aligned /28 blocks wholly usable: .16/28 and .32/28
    # only (.0/28 holds reserved .0-.3, .48/28 the reserved .63). Three primary IPs take .4-.6;
    # node-000 and node-001 get the two blocks; node-002 finds 59 - 3 - 32 = 24 free addresses
    # but no free block.
    assert result.summary.subnet_free_addresses_min == 24
    assert result.series[-1].subnet_free_addresses == 24
    assert result.summary.subnet_free_blocks_min == 0  # 24 addresses, no whole /28
    assert result.calls_by_api["AssignPrivateIpAddresses"]["failed"] >= 2  # Assign(n), Assign(1)
    assert simulation.ec2.stats.errors[Ec2Error.INSUFFICIENT_CIDR_BLOCKS] >= 2
    assert Ec2Error.INSUFFICIENT_FREE_ADDRESSES not in simulation.ec2.stats.errors
    rows = last_node_rows(result)
    assert [rows[n].prefixes for n in ("node-000", "node-001", "node-002")] == [1, 1, 0]
    # node-002's pod never gets an address and gives up after 100 s.
    assert (result.summary.pods_started, result.summary.pods_failed) == (2, 1)


# -- throttling -----------------------------------------------------------------------------


def test_a_tiny_token_bucket_throttles_and_makes_pods_wait() -> None:
    tiny = Throttle(mutating=TokenBucket(2, 0.1))
    nodes = cluster(T3, Config(), 10)
    throttled = simulate(spec(nodes, Constant(3), 300.0, throttle=tiny))
    free = simulate(spec(nodes, Constant(3), 300.0, throttle=None))
    # Unthrottled: each node's Assign(3) completes at 0.3 s, every pod starts at its 1 s retry.
    assert waits(free) == [1.0] * 30
    assert free.summary.ec2_calls_throttled == 0
    # Throttled: 10 nodes call Assign at t = 0 with 2 tokens: at least 8 calls throttled.
    assert throttled.summary.ec2_calls_throttled >= 8
    assert throttled.calls_by_api["AssignPrivateIpAddresses"]["throttled"] >= 8
    # One token per 10 s: before t = 80 s at most 2 + 7 = 9 mutating calls succeed, so at most
    # 9 nodes (27 pods) can have IPs; at least 3 pods wait 80 s or more (or never start).
    started_early = sum(1 for w in waits(throttled) if w < 80)
    assert started_early <= 27
    assert throttled.summary.time_to_ip_p50_s > free.summary.time_to_ip_p50_s
    assert throttled.summary.time_to_ip_max_s >= 80


# -- injected faults ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "api"),
    [
        # Without subnet discovery, an insufficient-address Assign starts the 120 s backoff.
        (Config(subnet_discovery=False), ASSIGN),
        # With it (the default), ipamd tries a new ENI first; failing that too, the backoff.
        (Config(), "*"),
    ],
)
def test_insufficient_addresses_delay_ips_past_the_backoff(config: Config, api: str) -> None:
    fault = FaultRule(api, Ec2Error.INSUFFICIENT_FREE_ADDRESSES, rate=1.0, end=120.0)
    result = simulate(spec(cluster(T3, config, 1), Constant(5), 600.0, faults=(fault,)))
    # Tick 0: Assign(3) and Assign(1) fail (0.6 s); the 120 s backoff runs to >= 120.6, the
    # next tick on the 5 s cadence is 125, the fault has ended: Assign(3) done at 125.3, three
    # pods start at their 126 s retry; the next ENI (tick 130, + 4 s) serves the rest at 134.
    assert waits(result) == [126.0] * 3 + [134.0] * 2
    assert min(waits(result)) >= 120.0
    assert result.summary.ec2_calls_failed >= 2
    assert result.summary.pods_started == 5


def test_failed_release_is_readded_by_the_reconcile() -> None:
    config = Config(warm_ip_target=1, minimum_ip_target=1)
    fault = FaultRule(UNASSIGN, Ec2Error.UNAUTHORIZED_OPERATION, rate=1.0, end=200.0)
    result = simulate(
        spec(
            cluster(M5, config, 1),
            Burst(5, at=0.0, lifetime=100.0),
            400.0,
            faults=(fault,),
            sample_interval=5.0,
        )
    )
    assert result.calls_by_api["UnassignPrivateIpAddresses"]["failed"] >= 1
    series = result.series
    # 5 pods + WARM_IP_TARGET 1 = 6 secondary IPs on the primary ENI (room for 9):
    # 65531 - 1 primary - 6 = 65524 free, and the failed Unassigns give nothing back.
    peak = [s for s in series if 30 <= s.time_s < 200]
    assert peak and {s.subnet_free_addresses for s in peak} == {USABLE_16 - 7}
    # ipamd drops the IPs from its datastore before the call fails...
    dropped = [s for s in series if 100 < s.time_s < 200 and s.ips_total < 6]
    assert dropped
    # ...and the 60 s reconcile finds them on the ENI and adds them back (at 200 s: 60 s after
    # the last pool action at 135 s, on the 5 s cadence); the tick of that same instant
    # releases them again, now successfully. Without the re-add EC2 would keep the 5 IPs
    # for ever, because ipamd's datastore had forgotten them.
    assert result.calls_by_api["UnassignPrivateIpAddresses"]["ok"] >= 1
    # Once the fault is over the release succeeds: W=1, M=1 and no pods -> 1 IP held.
    end = series[-1]
    assert end.ips_total == 1
    assert end.subnet_free_addresses == USABLE_16 - 2


# -- metrics --------------------------------------------------------------------------------


def test_percentile_is_nearest_rank() -> None:
    # The nearest-rank examples of the textbook: 15, 20, 35, 40, 50.
    values = [50.0, 15.0, 40.0, 20.0, 35.0]
    assert percentile(values, 0.05) == 15.0  # rank ceil(0.25) = 1
    assert percentile(values, 0.30) == 20.0  # rank ceil(1.5) = 2
    assert percentile(values, 0.40) == 20.0  # rank 2
    assert percentile(values, 0.50) == 35.0  # rank ceil(2.5) = 3
    assert percentile(values, 1.00) == 50.0
    assert percentile([float(v) for v in range(1, 101)], 0.95) == 95.0
    assert percentile([], 0.5) == 0.0


def test_cluster_samples_sum_the_node_samples_and_calls_only_grow() -> None:
    config = Config(warm_ip_target=2, minimum_ip_target=4)
    result = simulate(
        spec(cluster(T3, config, 3), PoissonChurn(6, 6.0), 1800.0, sample_interval=30.0)
    )
    per_time: dict[float, list[NodeSample]] = defaultdict(list)
    for row in result.node_series:
        per_time[row.time_s].append(row)
    assert sorted(per_time) == [s.time_s for s in result.series]
    fields = ("pods", "pods_waiting", "ips_total", "ips_unused", "ips_cooling", "enis", "prefixes")
    for sample in result.series:
        rows = per_time[sample.time_s]
        assert len(rows) == 3
        for field in fields:
            assert getattr(sample, field) == sum(getattr(r, field) for r in rows), field
    times = [s.time_s for s in result.series]
    assert times == sorted(set(times)) and times[0] == 0.0 and times[-1] == 1800.0
    for outcome in ("ok", "failed", "throttled"):
        column = f"ec2_calls_{outcome}_cumulative"
        values = [getattr(s, column) for s in result.series]
        assert values == sorted(values), column
    end = result.series[-1]
    summary = result.summary
    calls = end.ec2_calls_ok_cumulative + end.ec2_calls_failed_cumulative
    assert calls + end.ec2_calls_throttled_cumulative == summary.ec2_calls
    assert (end.ec2_calls_failed_cumulative, end.ec2_calls_throttled_cumulative) == (
        summary.ec2_calls_failed,
        summary.ec2_calls_throttled,
    )
    assert sum(sum(c.values()) for c in result.calls_by_api.values()) == summary.ec2_calls
    observed = [w for _, w in result.pod_waits]
    assert summary.pods_started == len(observed)
    assert summary.time_to_ip_max_s == max(observed)
    assert summary.time_to_ip_p50_s in observed and summary.time_to_ip_p95_s in observed
    assert summary.ips_total_max == max(s.ips_total for s in result.series)
    assert summary.subnet_free_addresses_min == min(s.subnet_free_addresses for s in result.series)


def test_a_sample_never_sees_half_of_an_instant() -> None:
    # All five pods arrive at t = 0. A sample at t = 0 must show either none of them or all
    # of them (pods + waiting = 0 or 5), never a partial batch.
    result = simulate(spec(cluster(T3, Config(), 1), Constant(5), 120.0))
    first = result.series[0]
    assert first.time_s == 0.0
    assert first.pods + first.pods_waiting in (0, 5)


def test_per_node_series_can_be_switched_off() -> None:
    result = simulate(spec(cluster(T3, Config(), 2), Constant(2), 120.0, per_node_series=False))
    assert result.node_series == ()
    assert result.series[-1].pods == 4  # 2 per node x 2


# -- output files ---------------------------------------------------------------------------

SERIES_HEADER = [
    "time_s",
    "pods",
    "pods_waiting",
    "pods_pending",
    "pods_failed_cumulative",
    "pods_unschedulable_cumulative",
    "ips_total",
    "ips_unused",
    "ips_cooling",
    "enis",
    "prefixes",
    "subnet_addresses",
    "subnet_free_addresses",
    "subnet_free_blocks",
    "ec2_calls_ok_cumulative",
    "ec2_calls_failed_cumulative",
    "ec2_calls_throttled_cumulative",
]
NODES_HEADER = [
    "time_s",
    "node",
    "pods",
    "pods_waiting",
    "ips_total",
    "ips_unused",
    "ips_cooling",
    "enis",
    "prefixes",
    "subnet_addresses",
]


@pytest.fixture(scope="module")
def small_result() -> SimulationResult:
    return simulate(spec(cluster(T3, Config(), 2), Constant(5), 600.0))


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return list(reader.fieldnames or ()), rows


def test_write_produces_the_documented_files(
    small_result: SimulationResult, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    paths = small_result.write(out)
    names = ["summary.json", "series.csv", "nodes.csv", "calls.csv"]
    assert [p.name for p in paths] == names
    assert all((out / n).is_file() for n in names)

    data = json.loads((out / "summary.json").read_text())
    assert data["summary"]["pods_started"] == 10  # 5 per node x 2 nodes
    assert data["summary"]["nodes"] == 2
    # The series live in the CSV files only: summary.json stays small.
    assert "series" not in data and "node_series" not in data
    assert data["files"]["nodes.csv"] == "each node every sample interval"

    header, rows = read_csv(out / "series.csv")
    assert header == SERIES_HEADER
    # Samples every 60 s from 0 to 600: 11 rows.
    assert len(rows) == 11
    assert [float(r["time_s"]) for r in rows] == [60.0 * k for k in range(11)]
    assert int(rows[-1]["ips_total"]) == 18  # docs row: 9 IPs per node x 2
    assert int(rows[-1]["enis"]) == 6
    # 6 ENIs x (primary + 3 secondaries) = 24 addresses from the subnet.
    assert int(rows[-1]["subnet_addresses"]) == 24

    header, rows = read_csv(out / "nodes.csv")
    assert header == NODES_HEADER
    assert len(rows) == 22  # 11 samples x 2 nodes
    assert {r["node"] for r in rows} == {"node-000", "node-001"}

    header, rows = read_csv(out / "calls.csv")
    assert header == ["api", "result", "error_code", "calls"]
    by_api = {(r["api"], r["result"], r["error_code"]): int(r["calls"]) for r in rows}
    # Per node: Assign x1, then two ENIs (Create, Attach, Modify each): x2 nodes.
    assert by_api == {
        ("AssignPrivateIpAddresses", "ok", ""): 2,
        ("AttachNetworkInterface", "ok", ""): 4,
        ("CreateNetworkInterface", "ok", ""): 4,
        ("ModifyNetworkInterfaceAttribute", "ok", ""): 4,
    }


def test_write_plots_writes_four_pngs(small_result: SimulationResult, tmp_path: Path) -> None:
    # matplotlib is part of the test extra: a missing plotting stack is a failure, not a skip.
    from vpccni_model.sim.plots import write_plots

    paths = write_plots(small_result, tmp_path / "plots")
    assert sorted(p.name for p in paths) == ["ec2_calls.png", "enis.png", "ips.png", "subnet.png"]
    for path in paths:
        content = path.read_bytes()
        assert content.startswith(b"\x89PNG\r\n\x1a\n")
        assert len(content) > 1000


# -- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"nodes": ()}, "nodes"),
        ({"duration": 0.0}, "duration"),
        ({"duration": math.inf}, "duration"),
        ({"sample_interval": -1.0}, "sample_interval"),
        ({"pod_timeout": 0.0}, "pod_timeout"),
        ({"seed": -1}, "seed"),  # Python's Random would replay seed 1
        ({"seed": 2**63}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"seed": "1"}, "seed"),
        ({"seed": True}, "seed"),
    ],
)
def test_simulation_spec_rejects_bad_values(kwargs: dict[str, object], field: str) -> None:
    base: dict[str, object] = {
        "nodes": cluster(T3, Config(), 1),
        "workload": Constant(1),
        "duration": 60.0,
    }
    with pytest.raises(ConfigError) as info:
        SimulationSpec(**{**base, **kwargs})  # type: ignore[arg-type]
    assert info.value.field == field


def test_node_names_must_be_unique_and_cluster_names_them() -> None:
    node = NodeSpec("a", T3, Config())
    with pytest.raises(ConfigError) as info:
        SimulationSpec(nodes=(node, node), workload=Constant(1), duration=60.0)
    assert info.value.field == "nodes"
    assert [n.name for n in cluster(T3, Config(), 3)] == ["node-000", "node-001", "node-002"]
    assert cluster(T3, Config(), 1001)[-1].name == "node-1000"
    with pytest.raises(ConfigError):
        cluster(T3, Config(), 0)


def test_sample_and_node_sample_are_the_series_types(small_result: SimulationResult) -> None:
    assert all(isinstance(s, Sample) for s in small_result.series)
    assert all(isinstance(s, NodeSample) for s in small_result.node_series)


# -- explain --------------------------------------------------------------------------------


def codes(explanation: object) -> dict[str, str]:
    return {f.code: f.severity for f in explanation.findings}  # type: ignore[attr-defined]


def test_explain_minimum_ip_target_alone_starves_pods() -> None:
    from vpccni_model.sim.explain import explain

    explanation = explain(T3, Config(minimum_ip_target=3), churn_minutes=0)
    assert explanation.max_pods == 11  # 3 * (4 - 1) + 2
    assert not explanation.ok
    assert codes(explanation)["minimum-ip-target-alone"] == "error"
    finding = next(f for f in explanation.findings if f.code == "minimum-ip-target-alone")
    # Steady states at 0, 1, 2, 4, 6, 9 pods (of 11 - 2 host-network = 9 needing IPs). With
    # W = 0 the shortfall is max(0, M - total): the pool stops at M = 3 IPs, so at 4 pods one
    # pod has no address.
    assert "stops at 3 IPs" in finding.detail
    assert "1 of 4 pods" in finding.detail
    assert explanation.findings[0].severity == "error"  # errors come first


def test_explain_prefix_mode_without_warm_prefix_target_loops() -> None:
    from vpccni_model.sim.explain import explain

    config = Config(prefix_delegation=True, warm_prefix_target=0)
    explanation = explain(T3, config, churn_minutes=0)  # t3 is Nitro: prefix mode applies
    # Q6: with WP = 0 and no W/M every free prefix is released and allocated again.
    assert codes(explanation)["allocate-free-loop"] == "error"


def test_explain_warm_eni_target_on_a_large_type_wastes_the_subnet() -> None:
    from vpccni_model.sim.explain import explain

    explanation = explain(instance_limits("p3dn.24xlarge"), Config(), churn_minutes=0)
    assert codes(explanation) == {"subnet-waste": "warning"}
    finding = explanation.findings[0]
    # docs row p3dn E=1: 49 secondary IPs per ENI; at 1 pod 48 free < 49, so a second ENI:
    # 98 addresses held, 97 idle.
    assert "holds 98 addresses of which 97" in finding.detail


def test_explain_custom_networking_with_max_eni_cannot_reach_max_pods() -> None:
    from vpccni_model.sim.explain import explain

    config = Config(custom_networking=True, max_eni=2)
    explanation = explain(M5, config, churn_minutes=0)
    assert codes(explanation)["max-pods-unreachable"] == "error"
    finding = next(f for f in explanation.findings if f.code == "max-pods-unreachable")
    # m5.large: max pods 3 * 9 + 2 = 29, 27 needing IPs; steady states at 0, 1, 6, 13, 20, 27.
    # MAX_ENI 2 minus the primary (custom networking skips it) = 1 ENI x 9 IPs: at 13 pods
    # only 9 get an address.
    assert "At 13 pods only 9 get an address" in finding.detail


def test_explain_prefix_delegation_on_a_xen_type_is_ignored() -> None:
    from vpccni_model.sim.explain import explain

    explanation = explain(
        instance_limits("m4.large"), Config(prefix_delegation=True), churn_minutes=0
    )
    assert codes(explanation)["prefix-delegation-ignored"] == "warning"


def test_explain_a_sane_config_has_no_error() -> None:
    from vpccni_model.sim.explain import explain

    config = Config(warm_ip_target=2, minimum_ip_target=10)
    assert explain(M5, config, churn_minutes=0).ok
    with_churn = explain(M5, config, churn_minutes=1)
    assert "error" not in codes(with_churn).values()


def test_a_run_turns_the_cyclic_collector_off_and_back_on() -> None:
    spec = SimulationSpec(
        nodes=cluster(instance_limits("t3.small"), Config(), 1),
        workload=Constant(2),
        duration=30.0,
    )
    assert gc.isenabled()
    seen: list[bool] = []
    simulate(spec, progress=lambda _: seen.append(gc.isenabled()))
    assert seen and not any(seen)
    assert gc.isenabled()
    gc.disable()  # a caller that turned it off keeps it off
    try:
        simulate(spec)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_run_collects_cycles_every_so_many_events(monkeypatch: pytest.MonkeyPatch) -> None:
    """Memory stays bounded with the automatic passes off: the run collects by itself."""
    import vpccni_model.sim.engine as engine

    collections: list[int] = []
    gc.callbacks.append(lambda phase, info: collections.append(1) if phase == "stop" else None)
    monkeypatch.setattr(engine, "GC_EVERY_EVENTS", 10)
    spec = SimulationSpec(
        nodes=cluster(instance_limits("t3.small"), Config(), 2),
        workload=PoissonChurn(pods_per_node=3, changes_per_node_per_minute=2),
        duration=600.0,
    )
    try:
        simulate(spec)
    finally:
        gc.callbacks.pop()
    assert len(collections) >= 3
    assert GC_EVERY_EVENTS > 1_000_000  # a collection walks every object: rarely
