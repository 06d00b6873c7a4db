"""ipamd's Prometheus metrics from a simulation: names, types, labels and values, the live
HTTP endpoint on 127.0.0.1, and the OpenMetrics file.

Expected values are worked out by hand from the instance's limits and ipamd's rules: one
m5.large (3 ENIs, 10 IPv4 addresses per ENI) with the code defaults (WARM_ENI_TARGET=1) and 5
pods holds 2 ENIs of 9 secondary IPs each; the pods take the lowest addresses of the primary
ENI. The names, types and labels come from ipamd's prometheusmetrics.go (b52188387).
"""

from __future__ import annotations

import math
import socket
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import attrs
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_text

from vpccni_model import Config, instance_limits
from vpccni_model._errors import ConfigError
from vpccni_model._events import MetadataObserved, ObservedENI
from vpccni_model._outcomes import apply
from vpccni_model._state import NodeState
from vpccni_model.cli import main
from vpccni_model.cloud import CallResult, FaultRule, Latency, SdkRetry, Throttle, TokenBucket
from vpccni_model.sim import prometheus
from vpccni_model.sim.engine import Simulation
from vpccni_model.sim.prometheus import (
    HELPER_PATH,
    IPAMD_PATH,
    METRICS,
    Family,
    IpamdCollector,
    MetricsHelperCollector,
    PrometheusExporter,
    ipamd_families,
    library_openmetrics,
    render_openmetrics,
    render_text,
    split_openmetrics,
)
from vpccni_model.sim.spec import SimulationSpec, cluster
from vpccni_model.sim.workloads import Constant

NODE = "node-000"

#: Every metric ipamd v1.23.1 registers (utils/prometheusmetrics/prometheusmetrics.go,
#: PrometheusRegister; pkg/version/info.go), by type, copied by hand from the Go source.
IPAMD_REGISTERED = {
    "awscni_ipamd_error_count": ("counter", ("fn",)),
    "awscni_ipamd_action_inprogress": ("gauge", ("fn",)),
    "awscni_eni_max": ("gauge", ()),
    "awscni_ip_max": ("gauge", ()),
    "awscni_reconcile_count": ("counter", ("fn",)),
    "awscni_add_ip_req_count": ("counter", ()),
    "awscni_del_ip_req_count": ("counter", ("reason",)),
    "awscni_pod_eni_error_count": ("counter", ("fn",)),
    "awscni_aws_api_latency_ms": ("summary", ("api", "error", "status")),
    "awscni_aws_api_error_count": ("counter", ("api", "error")),
    "awscni_aws_utils_error_count": ("counter", ("fn", "error")),
    "awscni_ec2api_req_count": ("counter", ("fn",)),
    "awscni_ec2api_error_count": ("counter", ("fn",)),
    "awscni_eni_allocated": ("gauge", ()),
    "awscni_total_ip_addresses": ("gauge", ()),
    "awscni_assigned_ip_addresses": ("gauge", ()),
    "awscni_force_removed_enis": ("counter", ()),
    "awscni_force_removed_ips": ("counter", ()),
    "awscni_total_ipv4_prefixes": ("gauge", ()),
    "awscni_assigned_ip_per_cidr": ("gauge", ("cidr",)),
    "awscni_no_available_ip_addresses": ("counter", ()),
    "awscni_assigned_ip_per_eni": ("gauge", ("eni",)),
    "awscni_ipamd_startup_duration_seconds": (
        "histogram",
        ("success", "with_api_server", "failure_reason"),
    ),
    "awscni_ipamd_node_initialization_duration_seconds": ("histogram", ("success",)),
    "awscni_connmark_backend": ("gauge", ("backend",)),
    "awscni_connmark_reconcile_total": ("counter", ("result",)),
    "awscni_build_info": ("gauge", ("version", "goversion")),
}


def _spec(nodes: int = 1, pods: int = 5, duration: float = 120.0, **kw: Any) -> SimulationSpec:
    config = kw.pop("config", Config())
    return SimulationSpec(
        nodes=cluster(instance_limits("m5.large"), config, nodes),
        workload=Constant(pods),
        duration=duration,
        seed=1,
        sample_interval=60.0,
        **{"iteration": "ordered", **kw},  # the values below are worked out for packed pods
    )


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} of a text-format exposition, parsed by
    prometheus_client (which names a counter's samples ``_total``)."""
    out = {}
    for family in parse_text(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _types(text: str) -> dict[str, str]:
    return {family.name: family.type for family in parse_text(text)}


def _node(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({"node": NODE, **labels}.items()))


def test_the_table_lists_every_metric_ipamd_registers_with_its_type_and_labels() -> None:
    assert {m.name: (m.kind, m.labels) for m in METRICS} == IPAMD_REGISTERED
    for metric in METRICS:
        # Each is either filled by the simulator or says why it is not.
        assert bool(metric.simulated) != bool(metric.not_modelled), metric.name
        assert "b52188387" in metric.source


def test_one_node_at_constant_pods_has_the_gauges_worked_out_by_hand() -> None:
    sim = Simulation(_spec())
    with PrometheusExporter(sim) as exporter:
        sim.run()
    text = exporter.latest.decode()
    values = _samples(text)
    n = _node()
    assert values[("awscni_eni_allocated", n)] == 2
    assert values[("awscni_eni_max", n)] == 3
    assert values[("awscni_ip_max", n)] == 27  # 3 ENIs x (10 - 1)
    assert values[("awscni_total_ip_addresses", n)] == 18
    assert values[("awscni_assigned_ip_addresses", n)] == 5
    assert values[("awscni_total_ipv4_prefixes", n)] == 0
    assert values[("awscni_assigned_ip_per_eni", _node(eni=f"eni-{NODE}"))] == 5
    per_cidr = {
        dict(labels)["cidr"]: v
        for (name, labels), v in values.items()
        if name == "awscni_assigned_ip_per_cidr"
    }
    # The subnet's first four addresses are AWS's and the primary ENI's own is .4.
    assert per_cidr == {f"10.0.0.{i}/32": 1 for i in range(5, 10)}
    # Each pod tried at t=0 on an empty pool (no IP) and again 1 s later, after the 0.3 s
    # AssignPrivateIpAddresses had returned.
    assert values[("awscni_add_ip_req_count_total", n)] == 10
    assert values[("awscni_no_available_ip_addresses_total", n)] == 5
    assert ("awscni_del_ip_req_count_total", _node(reason="PodDeleted")) not in values
    types = _types(text)
    assert types["awscni_eni_allocated"] == "gauge"
    assert types["awscni_add_ip_req_count"] == "counter"
    assert types["awscni_aws_api_latency_ms"] == "summary"


def test_ec2_calls_carry_ipamds_api_labels_and_the_cost_models_latency() -> None:
    sim = Simulation(_spec())
    with PrometheusExporter(sim) as exporter:
        sim.run()
    values = _samples(exporter.latest.decode())
    # Boot: Assign 9 IPs on the primary ENI; then one ENI: Create, Attach, Modify. Latency()
    # defaults: assign 0.3 s, create 1 s, attach 3 s (Modify is inside attach).
    for api, ms in (
        ("AssignPrivateIpAddresses", 300),
        ("CreateNetworkInterface", 1000),
        ("AttachNetworkInterface", 3000),
        ("ModifyNetworkInterfaceAttribute", 0),
    ):
        ok = _node(api=api, error="false", status="200")
        assert values[("awscni_aws_api_latency_ms_count", ok)] == 1
        assert values[("awscni_aws_api_latency_ms_sum", ok)] == pytest.approx(ms)
        assert values[("awscni_ec2api_req_count_total", _node(fn=api))] == 1
    assert not any(name == "awscni_aws_api_error_count_total" for name, _ in values)


def test_with_jitter_a_call_familys_measured_time_is_shared_by_its_calls() -> None:
    spec = _spec(nodes=2, duration=1800.0, latency=Latency(jitter=0.5))
    sim = Simulation(spec)
    spent: list[float] = []
    submit = sim.ec2.submit

    def timed(action: Any, *, node: str, at: float) -> CallResult:
        result = submit(action, node=node, at=at)
        spent.append(result.completes_at - at)
        return result

    sim.ec2.submit = timed  # type: ignore[method-assign]
    with PrometheusExporter(sim) as exporter:
        sim.run()
    total_ms = sum(sum(c.latency_ms.values()) for c in exporter.counters.nodes.values())
    assert spent and total_ms == pytest.approx(1000 * sum(spent))
    nominal = 1000 * Latency().assign  # jitter moves each Assign off 300 ms
    ms = exporter.counters.nodes[NODE].latency_ms[("AssignPrivateIpAddresses", "false", "200")]
    count = exporter.counters.nodes[NODE].latency_count[
        ("AssignPrivateIpAddresses", "false", "200")
    ]
    assert ms != pytest.approx(nominal * count)


def test_failed_calls_count_by_error_code_as_ipamd_does() -> None:
    fault = FaultRule("AssignPrivateIpAddresses", "RequestTimeout")
    sim = Simulation(_spec(faults=(fault,)))
    with PrometheusExporter(sim) as exporter:
        result = sim.run()
    values = _samples(exporter.latest.decode())
    attempts = result.errors_by_api["AssignPrivateIpAddresses"]["RequestTimeout"]
    # RequestTimeout is one the SDK retries: every call ipamd makes is 3 failed attempts,
    # and ipamd counts the call once, when the SDK gives up.
    assert attempts % 3 == 0
    failed = attempts // 3
    assert failed >= 2  # ipamd's Assign(count) then Assign(1), at least once
    api = "AssignPrivateIpAddresses"
    assert values[("awscni_aws_api_error_count_total", _node(api=api, error="RequestTimeout"))] == (
        failed
    )
    assert values[("awscni_ec2api_error_count_total", _node(fn=api))] == failed
    err = _node(api=api, error="true", status="RequestTimeout")
    assert values[("awscni_aws_api_latency_ms_count", err)] == failed


def test_not_found_on_describe_and_delete_is_not_an_error_for_ipamd() -> None:
    sim = Simulation(_spec())
    exporter = PrometheusExporter(sim)
    not_found = "InvalidNetworkInterfaceID.NotFound"
    throttled = "RequestLimitExceeded"
    result = CallResult(
        None,
        0.0,
        (),
        sdk_calls=(
            ("DescribeNetworkInterfaces", "failed", not_found, 0.0),
            ("DeleteNetworkInterface", "failed", not_found, 0.0),
            ("DetachNetworkInterface", "throttled", throttled, 0.0),
            ("AssignPrivateIpAddresses", "failed", not_found, 0.0),
        ),
    )
    exporter.counters.calls(NODE, None, result)  # type: ignore[arg-type]
    counters = exporter.counters.nodes[NODE]
    assert dict(counters.api_errors) == {
        ("DetachNetworkInterface", "RequestLimitExceeded"): 1,
        ("AssignPrivateIpAddresses", not_found): 1,
    }
    assert counters.latency_count[("DescribeNetworkInterfaces", "true", not_found)] == 1
    assert counters.latency_count[("DetachNetworkInterface", "true", "RequestLimitExceeded")] == 1
    exporter.close()


def test_counters_keep_ipamds_names_in_the_text_format() -> None:
    """client_golang writes a counter under its own name (no _total) in the 0.0.4 format."""
    sim = Simulation(_spec())
    with PrometheusExporter(sim) as exporter:
        sim.run()
    lines = exporter.latest.decode().splitlines()
    assert "# TYPE awscni_add_ip_req_count counter" in lines
    assert f'awscni_add_ip_req_count{{node="{NODE}"}} 10' in lines
    assert f'awscni_eni_max{{node="{NODE}"}} 3' in lines
    names = {line.split("{")[0].split(" ")[0] for line in lines if not line.startswith("#")}
    assert not any(name.endswith("_total") for name in names)


def test_the_metrics_helper_view_sums_the_nodes_without_labels() -> None:
    sim = Simulation(_spec(nodes=3))
    with PrometheusExporter(sim) as exporter:
        sim.run()
    values = _samples(exporter.latest_helper.decode())
    assert values == {
        ("awscni_eni_max", ()): 9,
        ("awscni_ip_max", ()): 81,
        ("awscni_eni_allocated", ()): 6,
        ("awscni_total_ip_addresses", ()): 54,
        ("awscni_assigned_ip_addresses", ()): 15,
        ("awscni_total_ipv4_prefixes", ()): 0,
    }


def test_max_eni_lowers_the_eni_and_ip_limits() -> None:
    sim = Simulation(_spec(config=Config(max_eni=2)))
    with PrometheusExporter(sim) as exporter:
        sim.run()
    values = _samples(exporter.latest.decode())
    assert values[("awscni_eni_max", _node())] == 2
    assert values[("awscni_ip_max", _node())] == 18  # 2 ENIs x 9


def test_a_simulation_takes_one_exporter() -> None:
    sim = Simulation(_spec())
    with PrometheusExporter(sim), pytest.raises(ConfigError) as caught:
        PrometheusExporter(sim)
    assert caught.value.field == "observer"
    assert sim.observer is None  # the first one detached on close


def test_the_collectors_fill_a_registry_of_ones_own() -> None:
    sim = Simulation(_spec(nodes=2))
    counters = prometheus.IpamdCounters(sim)
    sim.observer = counters
    sim.run()
    nodes, helper = CollectorRegistry(), CollectorRegistry()
    nodes.register(IpamdCollector(sim, counters))
    helper.register(MetricsHelperCollector(sim))
    assert nodes.get_sample_value("awscni_eni_max", {"node": "node-001"}) == 3
    assert nodes.get_sample_value("awscni_add_ip_req_count", {"node": "node-001"}) == 10
    assert helper.get_sample_value("awscni_eni_max") == 6  # 2 nodes x 3


def _settled(pods: int) -> tuple[Simulation, NodeState, tuple[ObservedENI, ...]]:
    sim = Simulation(_spec(pods=pods, duration=300.0))
    sim.run()
    return sim, sim.nodes[NODE].state, sim.ec2.observe(node=NODE)


def test_the_reconcile_taking_pods_addresses_counts_as_forced_removals() -> None:
    # 12 pods: 9 on the primary ENI (10.0.0.5-13), 3 on eni-1, eni-2 held warm and empty.
    sim, before, observed = _settled(12)
    primary = next(e for e in observed if e.eni_id == f"eni-{NODE}")
    assert "10.0.0.5" in primary.ips
    # EC2 now shows only the primary ENI, without 10.0.0.5.
    shown = (attrs.evolve(primary, ips=tuple(ip for ip in primary.ips if ip != "10.0.0.5")),)
    after = apply(before, MetadataObserved(shown), sim.now + 120)
    assert len(before.pods) - len(after.pods) == 4
    counters = prometheus.IpamdCounters(sim)
    counters.reconciled(NODE, before, after)
    # eni-1 went with its 3 pods (one ENI, 3 IPs); 10.0.0.5 went from the primary (1 IP);
    # eni-2 held no pod and is no forced removal.
    assert counters.nodes[NODE].force_removed_enis == 1
    assert counters.nodes[NODE].force_removed_ips == 4


def test_unmanaged_enis_come_off_the_eni_and_ip_limits() -> None:
    _, before, _ = _settled(5)
    # One ENI ipamd leaves alone (no_manage tag, or EFA-only), as its reconcile counted it.
    card = attrs.evolve(before.datastores[0], unmanaged_enis=1)
    gauges = prometheus.node_gauges(attrs.evolve(before, datastores=(card,)))
    assert (gauges.eni_max, gauges.ip_max) == (2, 18)  # 3 - 1 ENIs, x 9


def test_prefix_delegation_counts_prefixes_and_16_addresses_each() -> None:
    config = Config(prefix_delegation=True, warm_prefix_target=1)
    sim = Simulation(_spec(config=config))
    with PrometheusExporter(sim) as exporter:
        sim.run()
    values = _samples(exporter.latest.decode())
    n = _node()
    assert values[("awscni_ip_max", n)] == 432  # 3 ENIs x 9 prefixes x 16
    prefixes = values[("awscni_total_ipv4_prefixes", n)]
    assert prefixes >= 1
    assert values[("awscni_total_ip_addresses", n)] == 16 * prefixes


def test_exporting_does_not_change_the_run() -> None:
    spec = _spec(nodes=2, duration=600.0, faults=(FaultRule("*", "RequestTimeout", 0.3),))
    plain = Simulation(spec).run()
    sim = Simulation(spec)
    with PrometheusExporter(sim):
        watched = sim.run()
    assert watched.to_dict() == plain.to_dict()


def test_metrics_out_has_one_timestamped_openmetrics_exposition_per_sample(
    tmp_path: Path,
) -> None:
    out = tmp_path / "metrics.om"
    sim = Simulation(_spec())
    epoch = 1_700_000_000.0
    with PrometheusExporter(sim, out=out, epoch=epoch) as exporter:
        sim.run()
    text = out.read_text()
    assert text.count("# EOF") == 1 and text.endswith("# EOF\n")
    blocks = split_openmetrics(text)
    assert len(blocks) == exporter.samples == 3  # t = 0, 60, 120
    for index, block in enumerate(blocks):
        families = {f.name: f for f in parse_openmetrics(block)}
        stamps = {float(s.timestamp) for f in families.values() for s in f.samples}
        assert stamps == {epoch + 60 * index}
        # Counters are typed unknown so that their series keep ipamd's names.
        add = families["awscni_add_ip_req_count"]
        assert add.type == "unknown"
        assert add.samples[0].name == "awscni_add_ip_req_count"
        assert families["awscni_eni_max"].type == "gauge"
    last = {f.name: f for f in parse_openmetrics(blocks[-1])}
    assert last["awscni_total_ip_addresses"].samples[0].value == 18
    assert last["awscni_add_ip_req_count"].samples[0].value == 10


def test_split_openmetrics_follows_the_timestamps() -> None:
    """A family that first appears at a later sample (an error counter) sorts before the
    others: it still starts that sample's exposition."""
    text = (
        "# HELP b x\n# TYPE b gauge\nb 1.0 0.0\n"
        "# HELP a x\n# TYPE a gauge\na 1.0 60.0\n# HELP b x\n# TYPE b gauge\nb 2.0 60.0\n"
        "# EOF\n"
    )
    blocks = split_openmetrics(text)
    assert blocks == [
        "# HELP b x\n# TYPE b gauge\nb 1.0 0.0\n# EOF\n",
        "# HELP a x\n# TYPE a gauge\na 1.0 60.0\n# HELP b x\n# TYPE b gauge\nb 2.0 60.0\n# EOF\n",
    ]
    for block in blocks:
        assert list(parse_openmetrics(block))


def test_split_openmetrics_refuses_an_unfinished_file() -> None:
    with pytest.raises(ConfigError) as caught:
        split_openmetrics("# HELP a b\n# TYPE a gauge\na 1 0\n")
    assert caught.value.field == "metrics_out"


def _scrape(port: int, path: str = IPAMD_PATH) -> tuple[str, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return response.headers["Content-Type"], response.read().decode()


def _port_is_free(port: int) -> bool:
    """Nothing listens on 127.0.0.1:port any more: a connection is refused, and a server
    (with SO_REUSEADDR, as http.server sets it) could bind there again."""
    with socket.socket() as client:
        try:
            client.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            pass
        else:
            return False
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class _Paused(PrometheusExporter):
    """Stops the run at its second sample until the test says go on."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.reached = threading.Event()
        self.go_on = threading.Event()
        super().__init__(*args, **kwargs)

    def sampled(self, time: float) -> None:
        super().sampled(time)
        if self.samples == 2:
            self.reached.set()
            assert self.go_on.wait(30)


def test_a_running_simulation_is_scraped_over_http_on_loopback() -> None:
    sim = Simulation(_spec())
    exporter = _Paused(sim, port=0)
    port = exporter.port
    assert port is not None and port > 0
    runner = threading.Thread(target=sim.run)
    runner.start()
    try:
        assert exporter.reached.wait(30)
        kind, text = _scrape(port)
        assert kind.startswith("text/plain; version=0.0.4")
        values = _samples(text)
        assert values[("awscni_eni_max", _node())] == 3
        assert values[("awscni_total_ip_addresses", _node())] == 18  # settled by t=60
        helper = _samples(_scrape(port, HELPER_PATH)[1])
        assert helper[("awscni_assigned_ip_addresses", ())] == 5
        with pytest.raises(urllib.error.HTTPError) as missing:
            _scrape(port, "/nothing")
        assert missing.value.code == 404
    finally:
        exporter.go_on.set()
        runner.join(30)
        exporter.close()
    assert not runner.is_alive()
    assert not any(t.name == "vpccni-metrics" for t in threading.enumerate())
    assert _port_is_free(port)
    assert sim.observer is None


def test_a_busy_port_is_a_typed_error_naming_it() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError) as caught:
            PrometheusExporter(Simulation(_spec()), port=port)
    assert caught.value.field == "port"
    assert "cannot listen on 127.0.0.1" in caught.value.reason


def test_render_text_escapes_label_values_and_writes_go_numbers() -> None:
    family = Family(
        "awscni_eni_max",
        "gauge",
        "a\\b\nc",
        (
            ("awscni_eni_max", (("node", 'a"b\\c\nd'),), 2.0),
            ("awscni_eni_max", (("node", "x"),), 0.25),
            ("awscni_eni_max", (("node", "y"),), math.inf),
        ),
    )
    assert render_text([family]).decode().splitlines() == [
        "# HELP awscni_eni_max a\\\\b\\nc",
        "# TYPE awscni_eni_max gauge",
        'awscni_eni_max{node="a\\"b\\\\c\\nd"} 2',
        'awscni_eni_max{node="x"} 0.25',
        'awscni_eni_max{node="y"} +Inf',
    ]


def test_the_openmetrics_writer_matches_prometheus_clients_own() -> None:
    fault = FaultRule("*", "RequestTimeout", 0.3)
    sim = Simulation(_spec(nodes=2, duration=600.0, faults=(fault,)))
    with PrometheusExporter(sim) as exporter:
        sim.run()
    families = ipamd_families(exporter.snapshot)
    values = (0.5, 0, 999_999, 1_000_000, 1_234_567, -3, 2.5e6, 1e-7, math.inf)
    odd = Family(
        "awscni_eni_max",
        "gauge",
        'say "x"\\',
        tuple(("awscni_eni_max", (("node", f'q"\\{i}'),), v) for i, v in enumerate(values)),
    )
    for stamp in (0.0, 1_700_000_123.25):
        assert render_openmetrics([*families, odd], stamp) == library_openmetrics(
            [*families, odd], stamp
        )


# -- the command line ------------------------------------------------------------------------

_RUN = [
    "simulate",
    "--instance",
    "m5.large",
    "--workload",
    "constant",
    "--pods-per-node",
    "5",
    "--hours",
    "0.05",
    "--quiet",
]


def test_simulate_metrics_port_serves_while_the_run_lasts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started: list[_Paused] = []

    class Recorded(_Paused):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            started.append(self)

    monkeypatch.setattr(prometheus, "PrometheusExporter", Recorded)
    out = tmp_path / "m.om"
    codes: list[int] = []
    runner = threading.Thread(
        target=lambda: codes.append(main([*_RUN, "--metrics-port", "0", "--metrics-out", str(out)]))
    )
    runner.start()
    try:
        for _ in range(300):
            if started:
                break
            threading.Event().wait(0.1)
        exporter = started[0]
        assert exporter.reached.wait(30)
        port = exporter.port
        assert port is not None
        values = _samples(_scrape(port)[1])
        assert values[("awscni_assigned_ip_addresses", _node())] == 5
    finally:
        if started:
            started[0].go_on.set()
        runner.join(60)
    assert codes == [0]
    err = capsys.readouterr().err
    assert f"metrics: http://127.0.0.1:{port}/metrics while the run lasts" in err
    assert f"metrics: wrote 4 samples to {out} (OpenMetrics; backfill: promtool" in err
    # (4: t = 0, 60, 120, 180)
    assert len(split_openmetrics(out.read_text())) == 4
    assert _port_is_free(port)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--metrics-port", "70000"], "--metrics-port must be 0 to 65535, got 70000"),
        (["--metrics-port", "-1"], "--metrics-port must be 0 to 65535, got -1"),
        (["--metrics-epoch", "nan"], "--metrics-epoch must be a number of seconds >= 0"),
        (["--metrics-out", "/nonexistent/dir/m.om"], "--metrics-out '/nonexistent/dir/m.om'"),
        (["--metrics-epoch", "5"], "--metrics-epoch sets the timestamps of --metrics-out"),
    ],
)
def test_simulate_bad_metrics_flags_exit_2(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*_RUN, *flags]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_simulate_busy_metrics_port_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main([*_RUN, "--metrics-port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"--metrics-port {port}: cannot listen on 127.0.0.1:{port}" in err


def test_simulate_without_prometheus_client_says_which_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "vpccni_model.sim.prometheus", None)
    assert main([*_RUN, "--metrics-port", "0"]) == 2
    assert "pip install -e '.[metrics]'" in capsys.readouterr().err


def test_ipamd_counts_a_retried_call_once_with_its_retries_in_its_latency() -> None:
    # One Assign token, refilled 0.4 a second, no latency, every SDK retry 1.5 s later
    # (SdkRetry(max_backoff=1.5)). node-001's boot Assign(9) is throttled at 0 and 1.5 and
    # made at 3.0 (test_sim_start_failures): ipamd sees one call, answered after 3,000 ms.
    spec = SimulationSpec(
        nodes=cluster(instance_limits("m5.large"), Config(), 2),
        workload=Constant(1),
        duration=10.0,
        latency=Latency.zero(),
        throttle=Throttle(per_api={"AssignPrivateIpAddresses": TokenBucket(1, 0.4)}),
        sdk_retry=SdkRetry(max_backoff=1.5),
    )
    sim = Simulation(spec)
    with PrometheusExporter(sim) as exporter:
        result = sim.run()
    assert result.calls_by_api["AssignPrivateIpAddresses"] == {"ok": 2, "throttled": 2}
    counters = exporter.counters.nodes["node-001"]
    ok = ("AssignPrivateIpAddresses", "false", "200")
    assert counters.requests["AssignPrivateIpAddresses"] == 1
    assert (counters.latency_count[ok], counters.latency_ms[ok]) == (1, 3000.0)
    assert not counters.api_errors
