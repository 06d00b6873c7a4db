"""What ``plan-subnet --workload`` adds to the plan's page: the plan at the simulated peak and
95th percentile beside the steady state (key figures, the table the terminal prints, the
verdict at the peak), one figure of what each simulated node held over time against the
steady-state line, and the simulation's inputs.

Why the figure shows every node's band and not only the peak: the peak is one node at one
sample, and the plan assumes every node of the fleet is there at once (an upper bound); the
band and the histogram show how often nodes come near it.
"""

from __future__ import annotations

from typing import Any

from vpccni_model.plan import SubnetPlan
from vpccni_model.report._document import Figure, KeyFigure, Table, count, flatten
from vpccni_model.sim.fleet import SimulatedSubnetPlan, figure_rows, figure_value


def _wanted(plan: SubnetPlan) -> int:
    return max(plan.nodes, plan.grown_nodes)


def simulated_verdict(sim: SimulatedSubnetPlan) -> str:
    """The verdict at the simulated peak, as ``plan-subnet`` prints it."""
    wanted = _wanted(sim.steady)
    verdict = "fit" if wanted <= sim.fits else "may not fit"
    return (
        f"At the simulated peak: {wanted:,} nodes {verdict} (at most {sim.fits:,} fit for "
        "sure, every node at the busiest any simulated node was)."
    )


def simulated_key_figures(sim: SimulatedSubnetPlan) -> list[KeyFigure]:
    plan, peak, p95 = sim.steady, sim.peak, sim.p95
    wanted = _wanted(plan)
    usable = plan.space.usable_addresses
    summary = sim.result.summary
    out = [
        KeyFigure(
            "One node at the simulated peak",
            count(peak.node_addresses),
            "addresses",
            f"the most one of {sim.sim_nodes:,} simulated nodes held; p95 "
            f"{p95.node_addresses:,}, steady {plan.node_addresses:,}",
            "sim_peak_node_addresses",
            peak.node_addresses,
        ),
        KeyFigure(
            "Fleet at the simulated peak",
            count(peak.fleet_addresses),
            "addresses",
            f"{plan.nodes:,} nodes all at the peak at once; headroom {peak.headroom:,}"
            + (": the subnet is too small" if peak.headroom < 0 else ""),
            "sim_peak_fleet_addresses",
            peak.fleet_addresses,
            alert=peak.headroom < 0,
        ),
    ]
    if plan.grown_nodes != plan.nodes:
        left = usable - peak.grown_addresses
        out.append(
            KeyFigure(
                f"At the peak, after {plan.growth_percent:g}% growth",
                count(peak.grown_addresses),
                "addresses",
                f"{plan.grown_nodes:,} nodes; headroom {left:,}",
                "sim_peak_grown_addresses",
                peak.grown_addresses,
                alert=left < 0,
            )
        )
    out.append(
        KeyFigure(
            "Nodes that fit at the simulated peak",
            count(sim.fits),
            "nodes",
            f"for sure; {wanted:,} planned: " + ("fit" if wanted <= sim.fits else "may not fit"),
            "sim_fits",
            sim.fits,
            alert=wanted > sim.fits,
        )
    )
    if summary.pods_failed or summary.pods_unschedulable:
        out.append(
            KeyFigure(
                "Pods that failed in the simulation",
                count(summary.pods_failed + summary.pods_unschedulable),
                "pods",
                f"{summary.pods_failed:,} gave up waiting for an IP, "
                f"{summary.pods_unschedulable:,} found no node with room (max pods)",
                "sim_pods_failed",
                summary.pods_failed + summary.pods_unschedulable,
                alert=True,
            )
        )
    return out


def simulated_table(sim: SimulatedSubnetPlan) -> Table:
    """The steady / sim p95 / sim peak table of ``plan-subnet --workload``."""
    plan = sim.steady
    usable = plan.space.usable_addresses
    columns = (plan.figures, sim.p95, sim.peak)
    rows = figure_rows(plan)

    def cell(value: int | None) -> str:
        return "-" if value is None else count(value)

    return Table(
        "Steady state and simulation",
        ("", "steady", "sim p95", "sim peak"),
        tuple(
            # An indented row (a part of the row above) keeps its indent: no-break spaces.
            (
                "\u00a0" * 4 * (len(label) - len(label.lstrip())) + label.strip(),
                *(cell(figure_value(f, usable, name)) for f in columns),
            )
            for label, name in rows
        ),
        f"one node's share times the fleet: steady is a node settled at {plan.pods_per_node} "
        "pods; sim p95 and sim peak what the simulated nodes held (95th percentile and most, "
        "over every node and sample), ENI primaries included",
        row_keys=tuple(name for _, name in rows),
    )


def simulation_inputs(sim: SimulatedSubnetPlan) -> Table:
    inputs = sim.result.inputs
    shown: dict[str, Any] = {
        "sim_nodes": sim.sim_nodes,
        "hours": sim.hours,
        "seed": sim.seed,
        "workload": inputs.get("workload"),
        "iteration": inputs.get("iteration"),
        "sample_interval_s": inputs.get("sample_interval_s"),
        "subnets": inputs.get("subnets"),
    }
    return Table.pairs(
        "Simulation",
        flatten(shown),
        "the simulated nodes draw from a roomy subnet of their own, so that the planned one "
        "does not cap what they ask for",
    )


def simulated_notes(sim: SimulatedSubnetPlan) -> list[str]:
    return [
        f"The simulated sample's busiest moment: {sim.mean_node_peak:,.1f} addresses per node "
        "on average (nodes do not all peak at once, so the fleet's real peak lies between "
        f"that and the sim peak); at most {sim.peak_enis:,} ENIs on a node.",
        "sim peak assumes every node of the fleet at the worst any simulated node reached, at "
        "once: an upper bound. sim p95 is the level the simulated nodes stayed at or under "
        "for 95% of their samples.",
    ]


def simulated_figure(sim: SimulatedSubnetPlan) -> Figure:
    """Each simulated node's addresses over time (the band of all nodes, their mean) and
    their distribution, against the steady state, the p95 and the peak."""
    from vpccni_model.report._figures import png_bytes
    from vpccni_model.sim.plots import pyplot

    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    plan = sim.steady
    by_time: dict[float, list[int]] = {}
    for row in sim.result.node_series:
        by_time.setdefault(row.time_s, []).append(row.subnet_addresses)
    times = sorted(by_time)
    duration = times[-1] if times else 0.0
    scale, unit = (3600.0, "hours") if duration >= 2 * 3600 else (60.0, "minutes")
    xs = [t / scale for t in times]
    low = [min(by_time[t]) for t in times]
    high = [max(by_time[t]) for t in times]
    mean = [sum(by_time[t]) / len(by_time[t]) for t in times]
    every = [v for t in times for v in by_time[t]]

    fig, (ax, hist) = plt.subplots(
        1, 2, figsize=(11, 5.0), sharey=True, gridspec_kw={"width_ratios": [4, 1]}
    )
    fig.suptitle(
        f"Addresses one node takes from the subnet: {sim.sim_nodes:,} simulated "
        f"{plan.instance} nodes, {sim.hours:g} h\nagainst the steady state at "
        f"{plan.pods_per_node} pods per node (ENI primaries included)",
        fontsize=11,
    )
    ax.fill_between(
        xs, low, high, step="post", color="#9fbfe6", alpha=0.6, label="range over the nodes"
    )
    ax.plot(xs, mean, drawstyle="steps-post", color="#1f5fa8", linewidth=1.6, label="mean node")
    levels = (
        (f"steady state ({plan.node_addresses:,})", plan.node_addresses, "--", "#1d2330"),
        (f"sim p95 ({sim.p95.node_addresses:,})", sim.p95.node_addresses, ":", "#b26a00"),
        (f"sim peak ({sim.peak.node_addresses:,})", sim.peak.node_addresses, "-.", "#b3261e"),
    )
    for name, value, style, colour in levels:
        for axis in (ax, hist):
            axis.axhline(value, linestyle=style, color=colour, linewidth=1.5)
        ax.plot([], [], linestyle=style, color=colour, linewidth=1.5, label=name)
    top = max([*every, *(v for _, v, _, _ in levels)], default=1)
    bins = [i - 0.5 for i in range(0, top + 2)]  # one bin per count, centred on it
    hist.hist(every, bins=bins, orientation="horizontal", color="#5a87c4")
    hist.set_xlabel("node samples")
    hist.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=3))
    hist.grid(alpha=0.3)
    ax.set_ylabel("addresses taken by one node")
    ax.set_xlabel(f"simulated time ({unit})")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    # Zoom on what the nodes held once booted: a node boots with its primary address alone,
    # and a y axis from 0 would squeeze the interesting range into a sliver.
    settled = [v for v in (*low[1:], *(v for _, v, _, _ in levels))] or [0]
    bottom = max(0, min(settled) - max(2, (top - min(settled)) // 5))
    ax.set_ylim(bottom, top + max(2, (top - bottom) // 10))
    zoomed = bottom > 0 and min(every, default=0) < bottom
    end = duration / scale if duration else 1
    ax.set_xlim(-end / 100, end)
    ax.grid(alpha=0.3)
    handles, names = ax.get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=5, fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))  # room for the legend under the plots
    return Figure(
        "What each simulated node took, against the steady state",
        png_bytes(fig),
        f"Band of the addresses the {sim.sim_nodes} simulated nodes took over time, their "
        f"mean, and a histogram of every node sample, with lines at the steady state "
        f"({plan.node_addresses}), the p95 ({sim.p95.node_addresses}) and the peak "
        f"({sim.peak.node_addresses})",
        "left: the range and mean over the simulated nodes at each sample; right: every node "
        "sample's count; dashed: steady state, dotted: sim p95, dash-dot: sim peak"
        + (
            f"; the y axis starts at {bottom:,}: the boot sample, below it, is left out"
            if zoomed
            else ""
        ),
    )
