"""The report of a subnet plan: the plan's figures, one figure of the subnet (held, free,
stranded) and of the nodes that fit against the nodes planned, the inputs, and explain's
findings for the configuration."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from vpccni_model._errors import ConfigError
from vpccni_model._lint import EnvFinding
from vpccni_model.plan import SubnetPlan
from vpccni_model.report._document import Figure, KeyFigure, Report, Table, count, flatten
from vpccni_model.report._findings import findings_intro, report_findings
from vpccni_model.report._fleet import (
    simulated_figure,
    simulated_key_figures,
    simulated_notes,
    simulated_table,
    simulated_verdict,
    simulation_inputs,
)
from vpccni_model.report._inputs import settings_tables
from vpccni_model.sim.explain import Explanation
from vpccni_model.sim.fleet import SimulatedSubnetPlan


def _key_figures(plan: SubnetPlan) -> list[KeyFigure]:
    space, node = plan.space, plan.per_node
    wanted = plan.wanted
    what = "ENI primaries and secondary IPs"
    if plan.prefix_delegation:
        what = f"{plan.node_prefixes} /28 prefixes and {plan.node_singles} single addresses"
    out = [
        KeyFigure(
            "Usable addresses",
            count(space.usable_addresses),
            "addresses",
            f"in {space.cidr} (EC2 reserves 5); {space.whole_blocks:,} whole /28 blocks",
            "usable_addresses",
            space.usable_addresses,
        ),
        KeyFigure(
            "One node takes",
            count(plan.node_addresses),
            "addresses",
            f"at {plan.pods_per_node} pods: {node.enis} ENI{'' if node.enis == 1 else 's'}, {what}",
            "node_addresses",
            plan.node_addresses,
        ),
        KeyFigure(
            "Fleet takes",
            count(plan.fleet_addresses),
            "addresses",
            f"{plan.nodes:,} nodes, settled",
            "fleet_addresses",
            plan.fleet_addresses,
        ),
        KeyFigure(
            "Headroom",
            count(plan.headroom),
            "addresses",
            "left free at the planned nodes"
            + (": the subnet is too small" if plan.headroom < 0 else ""),
            "headroom",
            plan.headroom,
            alert=plan.headroom < 0,
        ),
    ]
    if plan.grown_nodes != plan.nodes:
        left = space.usable_addresses - plan.grown_addresses
        out.append(
            KeyFigure(
                f"After {plan.growth_percent:g}% growth",
                count(plan.grown_addresses),
                "addresses",
                f"{plan.grown_nodes:,} nodes; headroom {left:,}",
                "grown_addresses",
                plan.grown_addresses,
                alert=left < 0,
            )
        )
    out += [
        KeyFigure(
            "Nodes that fit",
            count(plan.fits),
            "nodes",
            f"for sure; {wanted:,} planned: {plan.verdict}",
            "fits",
            plan.fits,
            alert=wanted > plan.fits,
        ),
        KeyFigure(
            "Fit by addresses",
            count(plan.fits_addresses),
            "nodes",
            "counting addresses alone",
            "fits_addresses",
            plan.fits_addresses,
        ),
    ]
    if plan.fits_packed is not None and plan.fits_scattered is not None:
        out += [
            KeyFigure(
                "Fit, /28s packed",
                count(plan.fits_packed),
                "nodes",
                "at best: single addresses packed outside free /28s",
                "fits_packed",
                plan.fits_packed,
            ),
            KeyFigure(
                "Fit, /28s scattered",
                count(plan.fits_scattered),
                "nodes",
                "for sure: every single address spoils a /28",
                "fits_scattered",
                plan.fits_scattered,
            ),
            KeyFigure(
                "Stranded, packed",
                count(plan.stranded_packed or 0),
                "addresses",
                "free but in no whole free /28, at the planned nodes",
                "stranded_packed",
                plan.stranded_packed,
            ),
            KeyFigure(
                "Stranded, scattered",
                count(plan.stranded_scattered or 0),
                "addresses",
                "free but in no whole free /28, at the planned nodes",
                "stranded_scattered",
                plan.stranded_scattered,
            ),
        ]
    return out


def _verdict(plan: SubnetPlan) -> str:
    """The plan's answer, as ``plan-subnet`` prints it."""
    how = (
        " (a whole free /28 per prefix, single addresses scattered)"
        if plan.prefix_delegation
        else ""
    )
    return f"{plan.wanted:,} nodes {plan.verdict}: at most {plan.fits:,} fit for sure{how}."


def _figure(plan: SubnetPlan) -> Figure:
    """The subnet as bars (held, free in whole /28s, stranded) and the node counts."""
    from vpccni_model.report._figures import png_bytes
    from vpccni_model.sim.plots import pyplot

    plt = pyplot()  # first: without matplotlib, the ConfigError that names the extra
    from matplotlib.ticker import FuncFormatter

    usable = plan.space.usable_addresses
    held = min(plan.fleet_addresses, usable)
    short = max(plan.fleet_addresses - usable, 0)
    bars: list[tuple[str, int | None]] = [("secondary IPs", None)]
    if plan.prefix_delegation:
        bars = [("/28s packed", plan.stranded_packed), ("/28s scattered", plan.stranded_scattered)]
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(11, 5.8), gridspec_kw={"height_ratios": [len(bars) + 1, 4]}
    )
    fig.suptitle(
        f"{plan.space.cidr} at {plan.nodes:,} x {plan.instance}, "
        f"{plan.pods_per_node} pods per node",
        fontsize=11,
    )
    for y, (_, stranded) in enumerate(bars):
        free = usable - held
        whole = free - (stranded or 0)
        segments = [
            ("held by the nodes", held, "#3b6fb6"),
            ("free" if stranded is None else "free, in whole /28s", whole, "#8cc084"),
        ]
        if stranded is not None:
            segments.append(("free, stranded (no whole /28)", stranded, "#e0a030"))
        left = 0
        for label, width, colour in segments:
            top.barh(y, width, left=left, color=colour, label=label if y == 0 else None)
            if width >= 0.06 * (usable + short):  # room for its count inside the bar
                top.text(
                    left + width / 2,
                    y,
                    f"{width:,}",
                    ha="center",
                    va="center",
                    fontsize=9,
                    color="white" if colour == "#3b6fb6" else "black",
                )
            left += width
        if short:
            top.barh(
                y,
                short,
                left=usable,
                color="none",
                edgecolor="#b3261e",
                hatch="//",
                label="short: more than the subnet holds" if y == 0 else None,
            )
    top.axvline(usable, color="black", linewidth=1)
    if plan.grown_nodes != plan.nodes:
        top.axvline(
            plan.grown_addresses,
            color="#b3261e",
            linestyle="--",
            linewidth=1,
            label=f"held after {plan.growth_percent:g}% growth",
        )
    top.set_xlim(0, max(usable, plan.fleet_addresses, plan.grown_addresses) * 1.01)
    top.xaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:,.0f}"))
    top.set_yticks(range(len(bars)), [name for name, _ in bars])
    top.invert_yaxis()
    top.set_xlabel(f"subnet addresses ({usable:,} usable)")
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False)
    counts = [("planned", plan.nodes)]
    if plan.grown_nodes != plan.nodes:
        counts.append((f"after {plan.growth_percent:g}% growth", plan.grown_nodes))
    counts.append(("fit by addresses", plan.fits_addresses))
    if plan.fits_packed is not None and plan.fits_scattered is not None:
        counts += [
            ("fit, /28s packed", plan.fits_packed),
            ("fit, /28s scattered", plan.fits_scattered),
        ]
    colours = [
        "#5a6273" if i < (2 if plan.grown_nodes != plan.nodes else 1) else "#3b6fb6"
        for i in range(len(counts))
    ]
    ys = range(len(counts))
    bottom.barh(ys, [n for _, n in counts], color=colours)
    for y, (_, n) in zip(ys, counts, strict=True):
        bottom.annotate(
            f"{n:,}", (n, y), xytext=(4, 0), textcoords="offset points", va="center", fontsize=9
        )
    bottom.set_yticks(list(ys), [name for name, _ in counts])
    bottom.invert_yaxis()
    bottom.axvline(
        max(plan.nodes, plan.grown_nodes),
        color="#b3261e",
        linestyle="--",
        linewidth=1,
        label="nodes planned" + (" (after growth)" if plan.grown_nodes != plan.nodes else ""),
    )
    bottom.set_xlabel("nodes")
    bottom.set_xlim(0, max(n for _, n in counts) * 1.12 + 1)
    bottom.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False)
    fig.tight_layout()
    return Figure(
        "The subnet and the nodes that fit",
        png_bytes(fig),
        f"Bars of {plan.space.cidr}'s usable addresses held, free and stranded at "
        f"{plan.nodes} nodes, and bars of the nodes planned against the nodes that fit",
        "top: the usable addresses at the planned nodes; bottom: node counts, the dashed "
        "line at the nodes planned (after growth)",
    )


def subnet_plan_report(
    plan: SubnetPlan,
    *,
    inputs: Mapping[str, Any] | None = None,
    explanation: Explanation | None = None,
    lint: Iterable[EnvFinding] = (),
    notes: Iterable[str] = (),
    figures: bool = True,
    simulated: SimulatedSubnetPlan | None = None,
) -> Report:
    """The report of ``plan``; ``inputs`` echoes what the plan came from (the command
    line's env and settings), the rest as in ``simulation_report``. With ``simulated``
    (``plan-subnet --workload``; its ``steady`` is ``plan``) the page adds the plan at the
    simulated peak and p95, the verdict there and a figure of what the nodes held."""
    every = dict(inputs or {})
    mode = "prefix delegation" if plan.prefix_delegation else "secondary IPs"
    lead = _verdict(plan)
    subtitle = f"{mode}, {plan.pods_per_node} pods per node" + (
        f", {plan.growth_percent:g}% growth" if plan.growth_percent else ""
    )
    key_figures = _key_figures(plan)
    if simulated is not None:
        workload = simulated.result.inputs.get("workload", {}).get("type", "?")
        subtitle += (
            f"; simulated: {simulated.sim_nodes:,} nodes, {simulated.hours:g} h of {workload}, "
            f"seed {simulated.seed}"
        )
        lead = f"Steady state: {lead} {simulated_verdict(simulated)}"
        key_figures += simulated_key_figures(simulated)
    report = Report(
        title=f"Subnet plan: {plan.nodes:,} x {plan.instance} in {plan.space.cidr}",
        subtitle=subtitle,
        lead=lead,
        key_figures=tuple(key_figures),
        findings=report_findings(lint, explanation),
        findings_intro=findings_intro(explanation),
        footer=f"vpccni-model {every.get('vpccni_model_version', 'unknown')}: the same inputs "
        "give the same report.",
    )
    plan_inputs = {
        "cidr": plan.space.cidr,
        "instance_type": plan.instance,
        "nodes": plan.nodes,
        "pods_per_node": plan.pods_per_node,
        "growth_percent": plan.growth_percent,
        "prefix_delegation": plan.prefix_delegation,
    }
    run = {k: v for k, v in every.items() if k not in ("settings", "env")}
    tables = [Table.pairs("Plan", {**plan_inputs, **flatten(run)}), *settings_tables(every)]
    if simulated is not None:
        tables.insert(1, simulation_inputs(simulated))
        report = report.add(tables=[simulated_table(simulated)], notes=simulated_notes(simulated))
    report = report.add(
        inputs=tables,
        notes=[
            *notes,
            "A node's share is its steady state at the pods per node (steady-state --pods N): "
            "every ENI's primary address, its secondary IPs and 16 per /28 prefix.",
            *(
                [
                    "Prefix mode: EC2 does not document where ENI primaries go; packed and "
                    "scattered are the best and worst placements, and only scattered is sure."
                ]
                if plan.prefix_delegation
                else []
            ),
        ],
    )
    if not figures:
        return report
    try:
        drawn = [_figure(plan)] + ([] if simulated is None else [simulated_figure(simulated)])
    except ConfigError as exc:
        if exc.field != "plots":
            raise
        return report.add(
            notes=[
                "Figures left out: matplotlib is not installed (install the "
                "plots extra: pip install -e '.[plots]' in the repository)."
            ]
        )
    return report.add(figures=drawn)
