"""``vpccni-model plan-subnet``: what a fleet of settled nodes takes from one subnet, how many
nodes fit, and in prefix mode the /28 fragmentation bounds (``vpccni_model.plan``)."""

from __future__ import annotations

import argparse

import attrs

from vpccni_model.cli._common import (
    Inputs,
    UsageError,
    add_inputs,
    add_instance,
    add_json,
    print_json,
    resolve_inputs,
    settings_json,
    settings_lines,
)
from vpccni_model.cli._report import add_report, check_report, report_explanation, write_report
from vpccni_model.cli._workload_flags import (
    add_workload_flags,
    build_workload,
    check_workload_flags,
)
from vpccni_model.plan import SubnetPlan, plan_subnet
from vpccni_model.sim.fleet import (
    DEFAULT_SIM_NODES,
    SimulatedSubnetPlan,
    figure_rows,
    figure_value,
    plan_subnet_simulated,
)
from vpccni_model.sim.metrics import package_version

EXAMPLE = f"""example:
  vpccni-model plan-subnet --cidr 10.0.0.0/20 --instance m5.xlarge --nodes 60 --growth 20
  vpccni-model plan-subnet --cidr 10.0.0.0/20 --instance m5.xlarge --nodes 60 \\
      --env ENABLE_PREFIX_DELEGATION=true --pods-per-node 30
  vpccni-model plan-subnet --cidr 10.0.0.0/20 --instance m5.xlarge --nodes 60 \\
      --pods-per-node 30 --workload churn --changes-per-minute 4 --hours 2
  vpccni-model plan-subnet --cidr 10.0.0.0/22 --instance m5.large --nodes 40 --report plan.html

With --workload, a sample of --sim-nodes nodes (default: the fleet, up to {DEFAULT_SIM_NODES})
runs the workload for --hours; the most addresses one of them held (and the 95th percentile
over every node and sample), ENI primaries included, stand for every node of the fleet and
are planned like the steady state, in a table beside it.
"""


def _count(value: int, word: str, plural: str | None = None) -> str:
    """``value word``, or its ``plural`` (default: ``word`` + s)."""
    return f"{value:,} {word if value == 1 else plural or word + 's'}"


def _lines(plan: SubnetPlan) -> list[str]:
    space, node = plan.space, plan.per_node
    mode = "prefix delegation" if plan.prefix_delegation else "secondary IPs"
    lines = [
        f"subnet {space.cidr}: {space.usable_addresses:,} usable addresses (EC2 reserves 5), "
        f"{space.whole_blocks:,} whole aligned /28 blocks",
        f"one {plan.instance} node at {plan.pods_per_node} pods ({mode}): "
        f"{_count(node.enis, 'ENI')}, {plan.node_addresses} addresses "
        f"({_count(plan.node_prefixes, '/28 prefix', '/28 prefixes')} and "
        f"{_count(plan.node_singles, 'single address', 'single addresses')}: ENI primaries "
        "and secondary IPs)"
        if plan.prefix_delegation
        else f"one {plan.instance} node at {plan.pods_per_node} pods (IPv6): "
        f"{_count(node.enis, 'ENI')}, {_count(plan.node_addresses, 'address', 'addresses')} "
        "(ENI primaries only: pods take IPv6 addresses from /80 prefixes)"
        if node.state.config.enable_ipv6
        else f"one {plan.instance} node at {plan.pods_per_node} pods ({mode}): "
        f"{_count(node.enis, 'ENI')}, {plan.node_addresses} addresses (ENI primaries and "
        "secondary IPs)",
        f"{_count(plan.nodes, 'node')}: {plan.fleet_addresses:,} addresses, headroom "
        f"{plan.headroom:,}" + (" (the subnet is too small)" if plan.headroom < 0 else ""),
    ]
    if plan.grown_nodes != plan.nodes:
        left = plan.space.usable_addresses - plan.grown_addresses
        lines.append(
            f"after {plan.growth_percent:g}% growth, {_count(plan.grown_nodes, 'node')}: "
            f"{plan.grown_addresses:,} addresses, headroom {left:,}"
        )
    lines.append(f"nodes that fit by addresses: {plan.fits_addresses:,}")
    if plan.fits_packed is not None and plan.fits_scattered is not None:
        lines.append(
            f"nodes that fit with a whole free /28 per prefix: {plan.fits_scattered:,} for sure "
            f"(every single address spoils a block), up to {plan.fits_packed:,} (single "
            "addresses packed); EC2 documents neither placement"
        )
        lines.append(
            f"at {_count(plan.nodes, 'node')}, free addresses that no longer form a whole /28: "
            f"{plan.stranded_packed:,} packed, {plan.stranded_scattered:,} scattered"
        )
    lines.append(
        f"verdict: {_count(plan.wanted, 'node')}: {plan.verdict} "
        f"(at most {plan.fits:,} fit for sure)"
    )
    return lines


#: The simulation flags and their defaults: any other value needs --workload.
_SIMULATION_DEFAULTS = {"sim_nodes": None, "hours": 1.0, "seed": 0, "changes_per_minute": 1.0}


def _check_simulation_flags(args: argparse.Namespace) -> None:
    if args.workload is None:
        given = [
            "--" + name.replace("_", "-")
            for name, default in _SIMULATION_DEFAULTS.items()
            if getattr(args, name) != default
        ]
        if given:
            raise UsageError(f"{', '.join(given)}: only with --workload (the simulation)")
        return
    check_workload_flags(args)
    if args.sim_nodes is not None and args.sim_nodes < 1:
        raise UsageError(f"--sim-nodes must be 1 or more, got {args.sim_nodes}")


def _simulated(args: argparse.Namespace, inputs: Inputs) -> SimulatedSubnetPlan:
    """The steady-state plan and the simulated one: the workload aims at the plan's pods
    per node (a full node unless --pods-per-node)."""
    steady = plan_subnet(
        args.cidr,
        inputs.limits,
        inputs.config,
        args.nodes,
        pods_per_node=args.pods_per_node,
        host_network_pods=inputs.host_network_pods,
        growth_percent=args.growth,
    )
    sample = min(args.nodes, DEFAULT_SIM_NODES) if args.sim_nodes is None else args.sim_nodes
    workload = build_workload(args, nodes=sample, pods_per_node=steady.pods_per_node)
    return plan_subnet_simulated(
        args.cidr,
        inputs.limits,
        inputs.config,
        args.nodes,
        workload,
        hours=args.hours,
        seed=args.seed,
        sim_nodes=sample,
        pods_per_node=steady.pods_per_node,
        host_network_pods=inputs.host_network_pods,
        growth_percent=args.growth,
    )


def _workload_words(args: argparse.Namespace, pods: int) -> str:
    changes = f"{args.changes_per_minute:g} pod change{'' if args.changes_per_minute == 1 else 's'}"
    if args.workload == "diurnal":
        return f"diurnal ({changes} per node per minute, daily cycle)"
    if args.workload == "churn":
        return f"churn ({pods} pods per node, {changes} per node per minute)"
    if args.workload == "burst":
        return f"burst ({pods} pods per node at 60 s)"
    if args.workload == "ramp":
        return f"ramp (0 to {pods} pods per node over half the run)"
    return f"constant ({pods} pods per node)"


def _simulated_lines(args: argparse.Namespace, sim: SimulatedSubnetPlan) -> list[str]:
    plan = sim.steady
    summary = sim.result.summary
    lines = [
        f"from simulation: {sim.sim_nodes} of {_count(plan.nodes, 'node')}, {sim.hours:g} h of "
        f"workload {_workload_words(args, plan.pods_per_node)}, seed {sim.seed}",
        f"one node's share times the fleet: steady is a node settled at {plan.pods_per_node} "
        "pods; sim p95 and sim peak what the simulated nodes held (95th percentile and most, "
        "over every node and sample)",
    ]
    columns = {"steady": plan.figures, "sim p95": sim.p95, "sim peak": sim.peak}
    usable = plan.space.usable_addresses
    rows = figure_rows(plan)
    width = max(len(label) for label, _ in rows)
    lines.append("  " + " " * width + "".join(f"{name:>10}" for name in columns))
    for label, name in rows:
        cells = "".join(f"{figure_value(f, usable, name):>10,}" for f in columns.values())
        lines.append(f"  {label.ljust(width)}{cells}")
    lines.append(
        f"the sample's busiest moment: {sim.mean_node_peak:,.1f} addresses per node on average "
        f"(nodes do not all peak at once); at most {_count(sim.peak_enis, 'ENI')} on a node"
    )
    if summary.pods_failed or summary.pods_unschedulable:
        lines.append(
            f"in the simulation {summary.pods_failed:,} pods gave up waiting for an IP and "
            f"{summary.pods_unschedulable:,} found no node with room (max pods)"
        )
    wanted = max(plan.nodes, plan.grown_nodes)
    verdict = "fit" if wanted <= sim.fits else "may not fit"
    lines.append(
        f"verdict at the simulated peak: {_count(wanted, 'node')}: {verdict} "
        f"(at most {sim.fits:,} fit for sure)"
    )
    return lines


def _simulation_json(args: argparse.Namespace, sim: SimulatedSubnetPlan) -> dict[str, object]:
    return {
        "sim_nodes": sim.sim_nodes,
        "hours": sim.hours,
        "seed": sim.seed,
        "workload_name": args.workload,
        "workload": sim.result.inputs["workload"],
        "peak": {**attrs.asdict(sim.peak), "fits": sim.peak.fits},
        "p95": {**attrs.asdict(sim.p95), "fits": sim.p95.fits},
        "peak_enis": sim.peak_enis,
        "mean_node_peak": sim.mean_node_peak,
        "fits": sim.fits,
        "summary": attrs.asdict(sim.result.summary),
    }


def run(args: argparse.Namespace) -> int:
    inputs = resolve_inputs(args)
    if args.cidr is None:
        raise UsageError("--cidr is required: the subnet the nodes take their addresses from")
    if args.nodes is None or args.nodes < 1:
        raise UsageError(f"--nodes must be 1 or more, got {args.nodes}")
    if args.pods_per_node is not None and args.pods_per_node < 0:
        raise UsageError(f"--pods-per-node must be 0 or more, got {args.pods_per_node}")
    if not 0 <= args.growth <= 10_000:
        raise UsageError(f"--growth must be a percentage from 0 to 10000, got {args.growth:g}")
    _check_simulation_flags(args)
    check_report(args.report)
    simulated = _simulated(args, inputs) if args.workload is not None else None
    plan = (
        simulated.steady
        if simulated is not None
        else plan_subnet(
            args.cidr,
            inputs.limits,
            inputs.config,
            args.nodes,
            pods_per_node=args.pods_per_node,
            host_network_pods=inputs.host_network_pods,
            growth_percent=args.growth,
        )
    )
    if args.json:
        doc = attrs.asdict(plan, filter=lambda field, _: field.name != "per_node")
        out = {"settings": settings_json(inputs), **doc, "fits": plan.fits, "verdict": plan.verdict}
        if simulated is not None:
            out["simulation"] = _simulation_json(args, simulated)
        print_json(out)
    else:
        lines = [*settings_lines(inputs), "", *_lines(plan)]
        if simulated is not None:
            lines += ["", *_simulated_lines(args, simulated)]
        for line in lines:
            print(line)
    if args.report is not None:
        _report(args, inputs, plan, simulated)
    return 0


def _report(
    args: argparse.Namespace,
    inputs: Inputs,
    plan: SubnetPlan,
    simulated: SimulatedSubnetPlan | None,
) -> None:
    """``--report``: the plan's page (with the simulation's figures after --workload), and
    explain's findings for the configuration."""
    from vpccni_model.report import subnet_plan_report

    explanation, notes = report_explanation(inputs)
    page = subnet_plan_report(
        plan,
        inputs={
            "command": "plan-subnet",
            "max_pods": inputs.max_pods,
            "host_network_pods": inputs.host_network_pods,
            "vpccni_model_version": package_version(),
            "settings": settings_json(inputs),
            "env": dict(inputs.env),
        },
        explanation=explanation,
        lint=inputs.findings,
        notes=notes,
        simulated=simulated,
    )
    write_report(page, args.report, quiet_stdout=args.json)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ps = sub.add_parser(
        "plan-subnet",
        help="how many settled nodes fit in a subnet",
        description="What a fleet of settled nodes takes from one subnet (ENI primaries "
        "included), the headroom, how many nodes fit, and with prefix delegation how /28 "
        "fragmentation can strand free addresses.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_instance(ps)
    ps.add_argument("--cidr", metavar="CIDR", help="the subnet, e.g. 10.0.0.0/20 (/16 to /28)")
    ps.add_argument("--nodes", type=int, metavar="N", help="nodes in the subnet")
    ps.add_argument(
        "--pods-per-node",
        type=int,
        metavar="N",
        help="pods each node runs (default: a full node, max pods less the host-network pods)",
    )
    ps.add_argument(
        "--growth",
        type=float,
        default=0.0,
        metavar="PCT",
        help="planned growth of the node count, in percent (default: 0)",
    )
    add_workload_flags(ps, workload_default=None, pods_per_node=False, trace=False)
    ps.add_argument(
        "--sim-nodes",
        type=int,
        metavar="K",
        help=f"with --workload, nodes to simulate; their per-node figures are scaled to "
        f"--nodes (default: --nodes, at most {DEFAULT_SIM_NODES})",
    )
    add_report(ps)
    add_inputs(ps)
    add_json(ps)
    ps.set_defaults(func=run)
