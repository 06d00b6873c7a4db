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
from vpccni_model.plan import SubnetPlan, plan_subnet
from vpccni_model.sim.metrics import package_version

EXAMPLE = """example:
  vpccni-model plan-subnet --cidr 10.0.0.0/20 --instance m5.xlarge --nodes 60 --growth 20
  vpccni-model plan-subnet --cidr 10.0.0.0/20 --instance m5.xlarge --nodes 60 \\
      --env ENABLE_PREFIX_DELEGATION=true --pods-per-node 30
  vpccni-model plan-subnet --cidr 10.0.0.0/22 --instance m5.large --nodes 40 --report plan.html
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
    wanted = max(plan.nodes, plan.grown_nodes)
    verdict = "fit" if wanted <= plan.fits else "may not fit"
    lines.append(
        f"verdict: {_count(wanted, 'node')}: {verdict} (at most {plan.fits:,} fit for sure)"
    )
    return lines


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
    check_report(args.report)
    plan = plan_subnet(
        args.cidr,
        inputs.limits,
        inputs.config,
        args.nodes,
        pods_per_node=args.pods_per_node,
        host_network_pods=inputs.host_network_pods,
        growth_percent=args.growth,
    )
    if args.json:
        doc = attrs.asdict(plan, filter=lambda field, _: field.name != "per_node")
        print_json({"settings": settings_json(inputs), **doc, "fits": plan.fits})
    else:
        for line in [*settings_lines(inputs), "", *_lines(plan)]:
            print(line)
    if args.report is not None:
        _report(args, inputs, plan)
    return 0


def _report(args: argparse.Namespace, inputs: Inputs, plan: SubnetPlan) -> None:
    """``--report``: the plan's page, with explain's findings for the configuration."""
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
    add_report(ps)
    add_inputs(ps)
    add_json(ps)
    ps.set_defaults(func=run)
