"""``vpccni-model simulate``: an event-driven what-if run of a cluster."""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from vpccni_model._eniconfig import ENIConfig
from vpccni_model._env import CUSTOM_NETWORK_CFG, go_parse_bool
from vpccni_model._errors import ConfigError, VpcCniModelError
from vpccni_model._events import Ec2Error
from vpccni_model._iteration import GO_RANDOM, KINDS
from vpccni_model.cli._common import (
    Inputs,
    UsageError,
    add_inputs,
    add_instance,
    add_json,
    print_json,
    settings_json,
    settings_lines,
)
from vpccni_model.cli._node_dump import add_dump_options, dump_inputs, with_node_dump
from vpccni_model.cli._report import add_report, check_report, report_explanation, write_report
from vpccni_model.cli._workload_flags import (
    add_workload_flags,
    build_workload,
    check_workload_flags,
)
from vpccni_model.cloud import EC2_APIS, FakeEC2, FaultRule
from vpccni_model.sim.engine import Simulation, simulate
from vpccni_model.sim.metrics import SimulationResult
from vpccni_model.sim.spec import SimulationSpec, cluster

#: Above this many nodes the per-node series are off unless asked for (memory, file size).
PER_NODE_SERIES_MAX_NODES = 200

ITERATION_LINES = {
    "go-random": "iteration: go-random (ipamd's Go map order imitated, seeded by --seed {seed}; "
    "--iteration ordered packs pods onto the lowest ENI)",
    "ordered": "iteration: ordered (the model's fixed order: pods pack onto the lowest ENI)",
}

#: The EC2 error codes the package names (``_events.Ec2Error``), for ``--help``.
POD_SUBNET = "subnet-pods"
"""The name of ``--eni-config-subnet``'s subnet (the nodes' is ``subnet-a``)."""

KNOWN_CODES = sorted(
    value for name, value in vars(Ec2Error).items() if name.isupper() and isinstance(value, str)
)


def _listed(label: str, names: list[str], lead: str = "") -> str:
    return textwrap.fill(
        lead + ", ".join(names), width=96, initial_indent=f"  {label}", subsequent_indent=" " * 9
    )


_REACTS = [*sorted(Ec2Error.INSUFFICIENT), Ec2Error.PRIVATE_IP_LIMIT_EXCEEDED]

EXAMPLE = f"""\
examples:
  vpccni-model simulate --instance m5.large --nodes 50 --workload churn --hours 24 --out results/
  vpccni-model simulate --instance m5.large --subnet 10.0.0.0/24 --nodes 5 \\
      --workload constant --pods-per-node 20 --out small-subnet/
  vpccni-model simulate --instance m5.large --fault AssignPrivateIpAddresses:RequestTimeout:0.2
  vpccni-model simulate --instance m5.large --nodes 20 --hours 6 --report report.html

--fault API:CODE[:RATE[:START[:END]]] injects EC2 errors: RATE is the chance per call (default
1), START and END the window in seconds of simulated time (default: the whole run).
{_listed("APIs:  ", [*sorted(EC2_APIS), "or * for all"])}
{_listed("codes: ", _REACTS, "any EC2 error code; ipamd acts on ")}
{_listed("       ", [c for c in KNOWN_CODES if c not in _REACTS], "and treats as other: ")}

--trace FILE replays a CSV with the header time,node,pod,action (time in seconds, node empty to
let the scheduler place the pod, action add or delete).

Pods are placed on the node with the fewest pods, at most max pods less --host-network-pods per
node; the rest are unschedulable and wait pending for a free slot. With --out: summary.json
(inputs and summary), series.csv, nodes.csv (up to {PER_NODE_SERIES_MAX_NODES} nodes unless
--per-node-series), calls.csv and, with the plots extra (pip install -e '.[plots]'),
ips.png, enis.png, ec2_calls.png and subnet.png. --report FILE writes one self-contained HTML
page (key figures, the plots, EC2 calls by API, explain's findings, every input).
"""


def parse_fault(text: str) -> FaultRule:
    """``API:CODE[:RATE[:START[:END]]]``, e.g. ``AssignPrivateIpAddresses:RequestTimeout:0.1``."""
    parts = text.split(":")
    if len(parts) < 2 or len(parts) > 5:
        raise argparse.ArgumentTypeError(
            f"expected API:CODE[:RATE[:START[:END]]], got {text!r} (see --help for the APIs)"
        )
    try:
        numbers = [float(p) for p in parts[2:]]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"RATE, START and END must be numbers, got {text!r}"
        ) from exc
    try:
        return FaultRule(parts[0], parts[1], *numbers)
    except ConfigError as exc:
        # The library's reason, e.g. an unknown API with the list of valid ones.
        raise argparse.ArgumentTypeError(
            f"{text!r}: {exc.field.upper()} {exc.value!r} {exc.reason}"
        ) from exc


def _positive_int(name: str, value: int, minimum: int) -> None:
    if value < minimum:
        raise UsageError(f"{name} must be >= {minimum}, got {value}")


def _check_args(args: argparse.Namespace) -> None:
    """Numbers and the subnet, named by their flag, before anything runs."""
    _positive_int("--nodes", args.nodes, 1)
    check_workload_flags(args)
    try:
        FakeEC2(subnets={"subnet-a": args.subnet})
    except VpcCniModelError as exc:
        reason = getattr(exc, "reason", str(exc))
        raise UsageError(f"--subnet {args.subnet!r}: {reason}") from exc
    if args.eni_config_subnet is not None:
        try:
            FakeEC2(subnets=dict(_subnets(args)))
        except VpcCniModelError as exc:
            reason = getattr(exc, "reason", str(exc))
            raise UsageError(f"--eni-config-subnet {args.eni_config_subnet!r}: {reason}") from exc


def check_out(directory: str) -> None:
    """Make ``directory`` (and its parents) and prove a file can be written there, so that a
    bad ``--out`` fails before the run instead of after it."""
    path = Path(directory)
    if path.exists() and not path.is_dir():
        raise UsageError(f"--out {directory!r} is a file, not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".vpccni-model-", dir=path)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(f"--out {directory!r}: cannot write there ({exc.strerror})") from exc


def _shown(key: str, value: object) -> str:
    if value is None and key.startswith("time_to_ip_p"):
        return "never"  # the rank falls on a pod that gave up
    if value is None:
        return "-"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _print_summary(result: SimulationResult, timeout: float) -> None:
    summary = attrs.asdict(result.summary)
    width = max(len(k) for k in summary)
    print("summary (all nodes; times in seconds of simulated time):")
    for key, value in summary.items():
        print(f"  {key.ljust(width)}  {_shown(key, value)}")
    for line in _summary_notes(result, timeout):
        print(line)


def _summary_notes(result: SimulationResult, timeout: float) -> list[str]:
    """What the summary's figures mean for this run (pods that gave up, and why; subnets),
    printed under the summary and kept in the report's notes."""
    notes: list[str] = []
    s = result.summary
    ranked = s.pods_started + s.pods_failed
    if s.pods_failed:
        notes.append(
            f"time to IP ranks {ranked} pods: {s.pods_started} got an IP, {s.pods_failed} gave "
            f"up after {timeout:g} s (ranked last; 'never' = the rank falls on one of them)"
        )
    if s.pods_failed_subnet_full:
        subnets = result.inputs.get("subnets", {}).values()
        sizes = ", ".join(f"{n['cidr']} has {n['usable_addresses']:,} usable" for n in subnets)
        free = s.subnet_free_addresses_min
        groups = result.inputs.get("node_groups", [])
        if free == 0:
            why = "ran out of addresses"
        elif any(g["config"]["prefix_delegation"] for g in groups):
            why = "had no free aligned /28 block left for a prefix"
        else:
            why = "had fewer free addresses than a call asked for"
        notes.append(
            f"{s.pods_failed_subnet_full} pods gave up because the subnet {why} "
            f"({sizes}; {free:,} {'address' if free == 1 else 'addresses'} free at the lowest)"
        )
    if s.pods_failed_ec2_error:
        notes.append(f"{s.pods_failed_ec2_error} pods gave up after EC2 errors: see calls.csv")
    if s.pods_failed_timeout:
        notes.append(
            f"{s.pods_failed_timeout} pods gave up with no EC2 error: the pool could not grow "
            "(ENI limits, max pods, MINIMUM_IP_TARGET alone) or grew too slowly"
        )
    if s.pods_unschedulable:
        notes.append(
            f"{s.pods_unschedulable} pods were unschedulable on arrival (every node had max "
            f"pods less the host-network pods); {s.pods_pending_at_end} still pending at the end"
        )
    for name, seen in result.subnets.items():  # only when the run has several subnets
        notes.append(
            f"subnet {name}: at most {seen['used_addresses_max']:,} addresses used, "
            f"{seen['free_addresses_min']:,} free and {seen['free_blocks_min']:,} free /28 "
            "blocks at the lowest"
        )
    return notes


def _check_metrics(args: argparse.Namespace) -> None:
    if args.metrics_port is not None and not 0 <= args.metrics_port <= 65535:
        raise UsageError(f"--metrics-port must be 0 to 65535, got {args.metrics_port}")
    if not (math.isfinite(args.metrics_epoch) and args.metrics_epoch >= 0):
        raise UsageError(
            f"--metrics-epoch must be a number of seconds >= 0, got {args.metrics_epoch:g}"
        )
    if args.metrics_epoch and args.metrics_out is None:
        raise UsageError("--metrics-epoch sets the timestamps of --metrics-out: pass both")


def _simulate(
    args: argparse.Namespace, spec: SimulationSpec, progress: Callable[[float], None] | None = None
) -> SimulationResult:
    """Run ``spec``; with --metrics-port or --metrics-out, with ipamd's metrics exported."""
    if args.metrics_port is None and args.metrics_out is None:
        return simulate(spec, progress=progress)
    try:
        from vpccni_model.sim.prometheus import IPAMD_PATH, PrometheusExporter
    except ImportError as exc:
        raise UsageError(
            "--metrics-port and --metrics-out need prometheus_client (install the metrics "
            "extra: pip install -e '.[metrics]' in the repository)"
        ) from exc

    sim = Simulation(spec)
    try:
        exporter = PrometheusExporter(
            sim, port=args.metrics_port, out=args.metrics_out, epoch=args.metrics_epoch
        )
    except ConfigError as exc:
        if exc.field not in ("port", "out"):
            raise
        raise UsageError(f"--metrics-{exc.field} {exc.value!r}: {exc.reason}") from exc
    with exporter:
        if exporter.port is not None:
            print(
                f"metrics: http://127.0.0.1:{exporter.port}{IPAMD_PATH} while the run lasts",
                file=sys.stderr,
            )
        result = sim.run(progress)
    if args.metrics_out is not None:
        print(
            f"metrics: wrote {exporter.samples} samples to {args.metrics_out} (OpenMetrics; "
            f"backfill: promtool tsdb create-blocks-from openmetrics {args.metrics_out} DIR)",
            file=sys.stderr,
        )
    return result


def _inputs(args: argparse.Namespace, inputs: Inputs) -> dict[str, Any]:
    """What the command line adds to the run's own inputs in summary.json."""
    return {
        "command": "simulate",
        "instance_type": inputs.limits.name,
        "env": dict(inputs.env),
        "settings": settings_json(inputs),
        "max_pods": inputs.max_pods,
        "host_network_pods": inputs.host_network_pods,
        "workload_name": "trace" if args.trace is not None else args.workload,
        "trace_file": args.trace,
        "subnet": args.subnet,
    } | ({} if args.eni_config_subnet is None else {"eni_config_subnet": args.eni_config_subnet})


def _custom_networking(args: argparse.Namespace) -> None:
    """``--eni-config-subnet`` turns custom networking on (said on stderr), unless --env says
    it is off, which is refused."""
    if args.eni_config_subnet is None:
        return
    if args.from_node_dump is not None:
        raise UsageError("--eni-config-subnet does not go with --from-node-dump")
    name = f"{CUSTOM_NETWORK_CFG}="
    given = [pair.partition("=")[2] for pair in args.env if pair.startswith(name)]
    if given and go_parse_bool(given[-1]) is not True:
        raise UsageError(f"--eni-config-subnet needs {name}true, not {given[-1]!r}")
    if not given:
        args.env = [*args.env, f"{CUSTOM_NETWORK_CFG}=true"]
        print(
            f"vpccni-model: note: --eni-config-subnet: running with {CUSTOM_NETWORK_CFG}=true",
            file=sys.stderr,
        )


def _subnets(args: argparse.Namespace) -> tuple[tuple[str, str], ...]:
    if args.eni_config_subnet is None:
        return (("subnet-a", args.subnet),)
    return (("subnet-a", args.subnet), (POD_SUBNET, args.eni_config_subnet))


def run(args: argparse.Namespace) -> int:
    _custom_networking(args)
    inputs, dump = dump_inputs(args, args.from_node_dump, "--from-node-dump")
    _check_args(args)
    _check_metrics(args)
    workload = build_workload(args, nodes=args.nodes, pods_per_node=args.pods_per_node)
    if args.out is not None:
        check_out(args.out)
    check_report(args.report)
    limits, config = inputs.limits, inputs.config
    per_node = (
        args.per_node_series
        if args.per_node_series is not None
        else args.nodes <= PER_NODE_SERIES_MAX_NODES
    )
    eni_config = None if args.eni_config_subnet is None else ENIConfig("pods", POD_SUBNET)
    spec = SimulationSpec(
        nodes=cluster(
            limits,
            config,
            args.nodes,
            host_network_pods=inputs.host_network_pods,
            eni_config=eni_config,
        ),
        workload=workload,
        duration=args.hours * 3600,
        seed=args.seed,
        subnets=_subnets(args),
        faults=tuple(args.fault),
        per_node_series=per_node,
        iteration=args.iteration,
        trunk_controller=args.trunk_controller,
        sdk_retry=inputs.sdk_retry,
    )
    if dump is not None:
        spec = with_node_dump(spec, dump, args)
    if args.quiet:
        result = _simulate(args, spec)
    else:
        with Progress(
            TextColumn("simulating"),
            BarColumn(),
            TextColumn("{task.fields[hours]}"),
            TimeElapsedColumn(),
            transient=True,
            console=Console(stderr=True),
        ) as bar:
            task = bar.add_task("run", total=spec.duration, hours="")
            last = [0.0]

            def progress(now: float) -> None:
                if now - last[0] >= 300 or now >= spec.duration:
                    last[0] = now
                    bar.update(task, completed=now, hours=f"{now / 3600:.1f} h")

            result = _simulate(args, spec, progress)
    source = f"trace {args.trace}" if args.trace is not None else f"workload {args.workload}"
    if args.json:
        # The summary.json document (inputs, summary, calls) on stdout, messages on stderr.
        doc = result.to_dict(series=False)
        doc["inputs"] = {**doc["inputs"], **_inputs(args, inputs)}
        print_json(doc)
    else:
        where = f"subnet {args.subnet}"
        if args.eni_config_subnet is not None:
            where += f", pods in {args.eni_config_subnet} (ENIConfig subnet)"
        print(f"{args.nodes} x {limits.name}, {args.hours:g} h, {source}, {where}")
        print("\n".join(settings_lines(inputs)))
        print(ITERATION_LINES[args.iteration].format(seed=args.seed))
        _print_summary(result, spec.pod_timeout)
    if args.out is not None:
        paths = result.write(args.out, _inputs(args, inputs))
        if not per_node:
            print(
                f"nodes.csv not written: per-node series are off above "
                f"{PER_NODE_SERIES_MAX_NODES} nodes (pass --per-node-series to keep them)",
                file=sys.stderr,
            )
        if not args.no_plots:
            from vpccni_model.sim.plots import write_plots

            try:
                paths += write_plots(result, args.out)
            except ConfigError as exc:
                if exc.field != "plots":
                    raise
                # The data is written; only the optional extra is missing.
                print(
                    "vpccni-model: plots skipped: matplotlib is not installed "
                    "(install the plots extra: pip install -e '.[plots]' in the repository; "
                    "or pass --no-plots)",
                    file=sys.stderr,
                )
        # With --json, stdout holds only the JSON document.
        print("wrote " + ", ".join(str(p) for p in paths), file=sys.stderr if args.json else None)
    if args.report is not None:
        _report(args, inputs, result, spec.pod_timeout)
    return 0


def _report(
    args: argparse.Namespace, inputs: Inputs, result: SimulationResult, timeout: float
) -> None:
    """``--report``: the run's page, with explain's findings for its instance and config."""
    from vpccni_model.report import simulation_report

    explanation, notes = report_explanation(inputs, args.seed)
    if args.no_plots:
        notes.append("Figures left out (--no-plots).")
    page = simulation_report(
        result,
        inputs=_inputs(args, inputs),
        explanation=explanation,
        lint=inputs.findings,
        notes=[*_summary_notes(result, timeout), *notes],
        figures=not args.no_plots,
    )
    write_report(page, args.report, quiet_stdout=args.json)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sim = sub.add_parser(
        "simulate",
        help="event-driven what-if run of a cluster",
        description=textwrap.fill(
            "Run a cluster of identical nodes through a pod workload against a fake EC2 "
            "(latency, rate limits, subnet exhaustion); report pods, IPs and EC2 calls."
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_instance(sim)
    sim.add_argument(
        "--nodes", type=int, default=1, metavar="N", help="nodes in the cluster (default: 1)"
    )
    add_workload_flags(sim)
    sim.add_argument(
        "--iteration",
        choices=KINDS,
        default=GO_RANDOM,
        help="order at ipamd's Go map iterations (which ENI a pod's IP comes from, which ENI "
        "is freed...): go-random imitates Go, seeded by --seed; ordered is the model's fixed "
        "order, for exact replay (default: %(default)s)",
    )
    sim.add_argument(
        "--trunk-controller",
        action="store_true",
        help="with ENABLE_POD_ENI, the fake EC2 plays the VPC resource controller and attaches "
        "the trunk ENI when ipamd signals for it (default: no trunk ever arrives)",
    )
    sim.add_argument(
        "--subnet",
        default="10.0.0.0/16",
        metavar="CIDR",
        help="the subnet every node takes its addresses from (default: %(default)s)",
    )
    sim.add_argument(
        "--eni-config-subnet",
        default=None,
        metavar="CIDR",
        help="custom networking: every node's ENIConfig names this pod subnet (subnet-pods), "
        "so pods take their addresses from it and --subnet keeps only the primary ENIs; "
        f"turns on {CUSTOM_NETWORK_CFG} (default: none)",
    )
    sim.add_argument(
        "--fault",
        type=parse_fault,
        action="append",
        default=[],
        metavar="API:CODE[:RATE[:START[:END]]]",
        help="inject EC2 errors, repeatable; APIs and codes below (default: none)",
    )
    sim.add_argument(
        "--out",
        metavar="DIR",
        help="directory for summary.json, the CSV files and the plots (default: print only)",
    )
    sim.add_argument(
        "--no-plots",
        action="store_true",
        help="no PNG plots with --out, no figures in --report (default: plots)",
    )
    add_report(sim)
    sim.add_argument(
        "--per-node-series",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"keep each node's series for nodes.csv (default: on up to "
        f"{PER_NODE_SERIES_MAX_NODES} nodes)",
    )
    sim.add_argument(
        "--quiet", action="store_true", help="no progress bar on stderr (default: shown)"
    )
    sim.add_argument(
        "--from-node-dump",
        metavar="FILE",
        help="start the one node from a live node's dump (/v1/enis or describe-network-"
        "interfaces JSON) instead of a fresh boot; its pods stay, the workload's come on "
        "top (default: a fresh node)",
    )
    add_dump_options(sim, "--from-node-dump")
    sim.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve every node's ipamd metrics (Prometheus text) on "
        "http://127.0.0.1:PORT/metrics while the run lasts; 0 picks a free port, printed on "
        "stderr (default: off)",
    )
    sim.add_argument(
        "--metrics-out",
        metavar="FILE",
        help="write every node's ipamd metrics at each sample to FILE, timestamped "
        "OpenMetrics text that promtool tsdb create-blocks-from openmetrics reads (default: off)",
    )
    sim.add_argument(
        "--metrics-epoch",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="Unix time the run starts at in --metrics-out timestamps (default: 0, 1970-01-01)",
    )
    add_inputs(sim)
    add_json(sim)
    sim.set_defaults(func=run)
