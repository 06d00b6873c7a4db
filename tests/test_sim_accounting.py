"""The simulator's accounting (issue 11): host-network pods, why pods failed, time to IP with
failures, subnet addresses, and the files a run writes.

Hand-derived numbers: m5.large has 3 ENIs x 10 addresses (9 secondaries each), EKS max pods
3 * 9 + 2 = 29; t3.small 3 ENIs x 4 (3 secondaries), max pods 11. EC2 reserves 5 addresses
per subnet (a /28 has 11 usable). Latencies as in tests/test_sim.py.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from vpccni_model import Config, instance_limits
from vpccni_model._errors import ConfigError
from vpccni_model._events import Ec2Error
from vpccni_model.cloud import ASSIGN, CREATE, FaultRule, Latency
from vpccni_model.sim import (
    Constant,
    NodeSpec,
    PodEvent,
    SimulationResult,
    SimulationSpec,
    Trace,
    cluster,
    simulate,
)
from vpccni_model.sim.engine import failure_reason
from vpccni_model.sim.metrics import percentile_with_failures
from vpccni_model.sim.plots import _per_interval, run_label

T3 = instance_limits("t3.small")
M5 = instance_limits("m5.large")
LATENCY = Latency(assign=0.3, describe=0.2, create=1.0, attach=3.0, detach_delete=4.0)


def run(
    nodes: tuple[NodeSpec, ...], workload: object, duration: float, **kw: object
) -> SimulationResult:
    kw.setdefault("latency", LATENCY)
    spec = SimulationSpec(nodes=nodes, workload=workload, duration=duration, **kw)  # type: ignore[arg-type]
    return simulate(spec)


def end_rows(result: SimulationResult) -> dict[str, int]:
    end = result.series[-1].time_s
    return {row.node: row.pods for row in result.node_series if row.time_s == end}


# -- host-network pods ------------------------------------------------------------------------


def test_40_pods_on_one_m5_large_start_27_and_13_are_unschedulable() -> None:
    # Max pods 29 less 2 host-network pods: kubelet admits 27 pods that need an IP, exactly
    # what 3 ENIs x 9 secondaries hold. The old scheduler put 29 on the node: 27 started and
    # 2 "failed" for want of an IP that kubelet would never have asked for.
    result = run(cluster(M5, Config(), 1), Constant(40), 900.0)
    summary = result.summary
    assert (summary.pods_started, summary.pods_failed, summary.pods_unschedulable) == (27, 0, 13)
    assert end_rows(result) == {"node-000": 27}
    assert result.series[-1].pods_unschedulable_cumulative == 13


def test_without_host_network_pods_the_last_two_fail_for_want_of_an_ip() -> None:
    # host_network_pods=0: 29 pods on the node, the pool holds 27 (3 ENIs x 9): 2 pods wait,
    # with no EC2 error (the pool cannot grow), and give up after the 100 s timeout. Their
    # slots go to the two oldest pending pods, which wait in turn (until 200 s).
    nodes = cluster(M5, Config(), 1, host_network_pods=0)
    result = run(nodes, Constant(40), 150.0, pod_timeout=100.0)
    summary = result.summary
    assert (summary.pods_started, summary.pods_unschedulable) == (27, 11)
    assert (summary.pods_failed, summary.pods_failed_timeout) == (2, 2)
    assert (summary.pods_waiting_at_end, summary.pods_pending_at_end) == (2, 9)
    # 29 ranked pods, the 2 that gave up last: p50 is the 15th wait; p99 (rank 29) never.
    assert summary.time_to_ip_p50_s is not None
    assert summary.time_to_ip_p99_s is None


def test_the_scheduler_fills_least_loaded_nodes_up_to_their_pod_slots() -> None:
    nodes = cluster(T3, Config(), 2)
    result = run(nodes, Constant(6), 300.0)
    # 12 pods, 2 nodes x (11 - 2) = 18 slots: 6 each, none unschedulable.
    assert end_rows(result) == {"node-000": 6, "node-001": 6}
    result = run(nodes, Constant(10), 300.0)
    # 20 pods, 18 slots: 9 each (the pool holds 9), 2 unschedulable, none failed.
    assert end_rows(result) == {"node-000": 9, "node-001": 9}
    assert (result.summary.pods_unschedulable, result.summary.pods_failed) == (2, 0)


def test_a_trace_naming_a_full_node_is_refused_as_kubelet_would() -> None:
    rows = tuple(PodEvent(float(i), f"p{i}", "add", "node-001") for i in range(12))
    result = run(cluster(T3, Config(), 2), Trace(rows), 300.0)
    # node-001 admits 11 - 2 = 9; the other 3 are unschedulable, node-000 stays empty.
    assert end_rows(result) == {"node-000": 0, "node-001": 9}
    assert result.summary.pods_unschedulable == 3


def test_node_spec_host_network_pods_is_validated() -> None:
    with pytest.raises(ConfigError) as info:
        NodeSpec("n", T3, Config(), host_network_pods=-1)
    assert info.value.field == "host_network_pods"
    with pytest.raises(ConfigError):
        cluster(T3, Config(), 1, host_network_pods=True)


def test_a_trace_naming_an_unknown_node_fails_before_the_run() -> None:
    trace = Trace((PodEvent(5000.0, "p", "add", "node-009"),))
    with pytest.raises(ConfigError) as info:
        SimulationSpec(nodes=cluster(T3, Config(), 2), workload=trace, duration=60.0)
    assert (info.value.field, info.value.value) == ("trace node", "node-009")


# -- why pods failed, time to IP --------------------------------------------------------------


def test_a_full_subnet_at_t0_shows_as_subnet_full_failures() -> None:
    # 10.0.0.0/28: 11 usable. Two primaries take 2, node-000's Assign(9) the other 9 at t=0.
    # node-000 runs 9 pods, its 10th needs an ENI whose Create fails; node-001's Assign fails:
    # 1 + 10 = 11 pods give up, all after InsufficientFreeAddressesInSubnet.
    nodes = cluster(M5, Config(), 2)
    result = run(nodes, Constant(10), 900.0, subnets=(("s", "10.0.0.0/28"),))
    summary = result.summary
    assert (summary.pods_started, summary.pods_failed, summary.pods_failed_subnet_full) == (
        9,
        11,
        11,
    )
    assert (summary.pods_failed_ec2_error, summary.pods_failed_timeout) == (0, 0)
    assert summary.subnet_free_addresses_min == 0
    assert summary.subnet_addresses_max == 11
    # 20 ranked pods, 9 waits then 11 that never got an IP: the median (rank 10) is never.
    assert summary.time_to_ip_p50_s is None
    assert summary.time_to_ip_max_s == 1.0  # the 9 started at their first 1 s retry
    assert result.series[-1].pods_failed_cumulative == 11
    code = Ec2Error.INSUFFICIENT_FREE_ADDRESSES
    assert result.errors_by_api[ASSIGN][code] >= 2  # Assign(9) and Assign(1) of node-001
    assert result.errors_by_api[CREATE][code] >= 1


def test_other_ec2_errors_are_their_own_failure_reason() -> None:
    fault = FaultRule("*", Ec2Error.UNAUTHORIZED_OPERATION)
    result = run(cluster(T3, Config(), 1), Constant(3), 300.0, faults=(fault,), pod_timeout=60.0)
    summary = result.summary
    assert (summary.pods_started, summary.pods_failed, summary.pods_failed_ec2_error) == (0, 3, 3)
    assert summary.time_to_ip_p50_s is None and summary.time_to_ip_max_s is None
    # Only Assign is ever called (no pod holds an IP, so no ENI is needed), and every failed
    # call is listed under its code.
    failed = result.calls_by_api[ASSIGN]["failed"]
    assert result.errors_by_api == {ASSIGN: {Ec2Error.UNAUTHORIZED_OPERATION: failed}}


def test_failure_reason_by_code() -> None:
    assert failure_reason(None) == "timeout"
    assert failure_reason(Ec2Error.INSUFFICIENT_CIDR_BLOCKS) == "subnet_full"
    assert failure_reason(Ec2Error.INSUFFICIENT_FREE_ADDRESSES) == "subnet_full"
    assert failure_reason(Ec2Error.REQUEST_LIMIT_EXCEEDED) == "ec2_error"


def test_percentiles_rank_failures_after_every_wait() -> None:
    waits = [1.0, 2.0, 3.0]
    assert percentile_with_failures(waits, 0, 0.5) == 2.0  # rank ceil(1.5) = 2
    # 3 waits + 1 failure: p50 rank 2 -> 2.0; p95 rank ceil(3.8) = 4 -> the failure.
    assert percentile_with_failures(waits, 1, 0.5) == 2.0
    assert percentile_with_failures(waits, 1, 0.95) is None
    assert percentile_with_failures([], 0, 0.5) is None  # no pods at all


# -- files ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_subnet() -> SimulationResult:
    return run(cluster(M5, Config(), 2), Constant(10), 900.0, subnets=(("s", "10.0.0.0/28"),))


def test_summary_json_records_the_inputs_and_stays_small(
    tiny_subnet: SimulationResult, tmp_path: Path
) -> None:
    tiny_subnet.write(tmp_path, {"env": {"WARM_IP_TARGET": "2"}})
    text = (tmp_path / "summary.json").read_text()
    data = json.loads(text)
    inputs = data["inputs"]
    assert inputs["nodes"] == 2 and inputs["seed"] == 0 and inputs["duration_s"] == 900.0
    assert inputs["env"] == {"WARM_IP_TARGET": "2"}
    assert inputs["workload"] == {"type": "Constant", "pods_per_node": 10}
    assert inputs["subnets"] == {"s": {"cidr": "10.0.0.0/28", "usable_addresses": 11}}
    (group,) = inputs["node_groups"]
    assert (group["instance_type"], group["nodes"], group["max_pods"]) == ("m5.large", 2, 29)
    assert (group["host_network_pods"], group["pod_ips_per_node_max"]) == (2, 27)
    assert group["config"]["warm_eni_target"] == 1
    assert isinstance(inputs["vpccni_model_version"], str)
    assert inputs["faults"] == []
    # No series in it (they are the CSV files): 16 samples or 16,000 make the same size.
    assert "series" not in data and "node_series" not in data
    assert len(text) < 8_000
    assert data["summary"]["pods_failed_subnet_full"] == 11


def test_an_open_ended_fault_window_is_valid_json(tmp_path: Path) -> None:
    fault = FaultRule(ASSIGN, Ec2Error.REQUEST_TIMEOUT, rate=0.5)  # end = inf
    run(cluster(T3, Config(), 1), Constant(1), 60.0, faults=(fault,)).write(tmp_path)
    text = (tmp_path / "summary.json").read_text()
    assert "Infinity" not in text
    assert json.loads(text)["inputs"]["faults"][0]["end"] is None


def test_calls_csv_has_a_row_per_api_result_and_error_code(
    tiny_subnet: SimulationResult, tmp_path: Path
) -> None:
    tiny_subnet.write(tmp_path)
    with (tmp_path / "calls.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["api", "result", "error_code", "calls"]
    keys = [(r["api"], r["result"], r["error_code"]) for r in rows]
    code = Ec2Error.INSUFFICIENT_FREE_ADDRESSES
    assert keys == [(ASSIGN, "ok", ""), (ASSIGN, "failed", code), (CREATE, "failed", code)]
    assert rows[0]["calls"] == "1"  # node-000's Assign(9)
    total = sum(int(r["calls"]) for r in rows)
    assert total == tiny_subnet.summary.ec2_calls


def test_nodes_csv_is_not_written_without_per_node_series_and_the_summary_says_why(
    tmp_path: Path,
) -> None:
    result = run(cluster(T3, Config(), 2), Constant(1), 60.0, per_node_series=False)
    paths = result.write(tmp_path)
    assert [p.name for p in paths] == ["summary.json", "series.csv", "calls.csv"]
    assert not (tmp_path / "nodes.csv").exists()
    note = json.loads((tmp_path / "summary.json").read_text())["files"]["nodes.csv"]
    assert note.startswith("not written") and "per_node_series" in note


def test_plot_titles_name_what_ran(tiny_subnet: SimulationResult) -> None:
    assert run_label(tiny_subnet.inputs) == (
        "2 x m5.large, secondary IPs, WARM_ENI_TARGET=1, max pods 29"
    )
    config = Config(prefix_delegation=True, warm_prefix_target=1, warm_ip_target=3)
    result = run(cluster(instance_limits("m6i.large"), config, 1), Constant(1), 60.0)
    assert run_label(result.inputs) == (
        "1 x m6i.large, prefix delegation, WARM_PREFIX_TARGET=1, WARM_IP_TARGET=3, max pods 29"
    )


def test_calls_per_interval_are_the_differences_of_the_cumulative_counts() -> None:
    assert _per_interval([2, 2, 5, 9]) == [2, 0, 3, 4]
    assert _per_interval([]) == []


def test_pending_pods_are_placed_oldest_first_as_slots_free_up() -> None:
    # t3.small: 11 - 2 = 9 pods with an IP, 3 ENIs x 3 = 9 addresses. 12 pods at t=0: p00-p08
    # placed, p09, p10, p11 pending. Deleting p00 at 100 s frees a slot: p09 (the oldest
    # pending) takes it. Its only address is p00's, cooling while now - 100 <= 30 (spec 3.5),
    # so p09 gets it at its 131 s retry: 31 s from placement. p11 leaves while pending.
    rows = tuple(PodEvent(0.0, f"p{i:02d}", "add") for i in range(12))
    rows += (PodEvent(100.0, "p00", "delete"), PodEvent(200.0, "p11", "delete"))
    result = run(cluster(T3, Config(), 1), Trace(rows), 400.0)
    summary = result.summary
    assert (summary.pods_unschedulable, summary.pods_pending_at_end) == (3, 1)
    assert summary.pods_started == 10
    assert end_rows(result) == {"node-000": 9}
    assert [w for w in result.pod_waits if w[0] > 0] == [(100.0, 31.0)]
    assert result.series[-1].pods_pending == 1


def test_the_plot_shows_the_boot_burst_in_the_first_interval() -> None:
    from vpccni_model.sim.plots import _drawn_per_interval

    # 2 calls at t=0 would be drawn over no time: they join the first interval (0, 60].
    assert _drawn_per_interval([2, 2, 5, 9]) == [0, 2, 3, 4]
    assert _drawn_per_interval([3]) == [3]
    assert sum(_drawn_per_interval([2, 2, 5, 9])) == 9
