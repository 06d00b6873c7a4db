"""Subnet planning from simulation: a sample of nodes runs a workload, and what one node held
at its peak (and at its 95th percentile) stands for every node of the fleet.

Why a sample is enough: the nodes of a fleet are alike (same instance type, same aws-node
configuration, the same workload spread by a least-loaded scheduler), and ipamd decides per
node, from that node's pods alone. A node's addresses held therefore depend on its own pod
count over time, not on the fleet's size; a few nodes show the spread of that count. The
simulated nodes draw from a roomy subnet (``SIMULATED_SUBNET``) so that the subnet being
planned does not cap what they would ask for; the plan then says how many such nodes fit.

``peak`` assumes every node of the fleet is at the worst any sampled node reached, at once:
an upper bound. ``p95`` is the level the sampled nodes stayed at or under for 95% of the
samples. ``mean_node_peak`` is the sample's own busiest moment, per node on average: nodes do
not all peak together, so the fleet's real peak is between it and ``peak``. Every figure is
taken at the run's samples (``SimulationSpec.sample_interval``), as the simulator's summary is.
"""

from __future__ import annotations

import math

import attrs

from vpccni_model._checks import is_int, is_number
from vpccni_model._config import Config
from vpccni_model._errors import ConfigError
from vpccni_model._iteration import GO_RANDOM, Kind
from vpccni_model._limits import HOST_NETWORK_PODS, InstanceLimits
from vpccni_model.plan import FleetFigures, SubnetPlan, fleet_figures, plan_subnet
from vpccni_model.sim.engine import simulate
from vpccni_model.sim.metrics import NodeSample, SimulationResult
from vpccni_model.sim.spec import SimulationSpec, cluster
from vpccni_model.sim.workloads import Workload

__all__ = [
    "DEFAULT_SIM_NODES",
    "SIMULATED_SUBNET",
    "SimulatedSubnetPlan",
    "figure_rows",
    "figure_value",
    "plan_subnet_simulated",
]

#: Nodes simulated when not told: the fleet itself up to this many.
DEFAULT_SIM_NODES = 20

#: Where the simulated nodes take their addresses: large enough never to refuse them.
SIMULATED_SUBNET = "10.0.0.0/16"


@attrs.frozen
class SimulatedSubnetPlan:
    """A subnet plan from steady state (``steady``) next to the same figures from a simulated
    sample of ``sim_nodes`` nodes: ``peak`` and ``p95`` per node (ENI primaries included),
    scaled to ``steady.nodes``. ``peak_enis`` is the most ENIs a sampled node had;
    ``mean_node_peak`` the sample's busiest moment per node on average; ``result`` the run."""

    steady: SubnetPlan
    sim_nodes: int
    hours: float
    seed: int
    peak: FleetFigures
    p95: FleetFigures
    peak_enis: int
    mean_node_peak: float
    result: SimulationResult = attrs.field(repr=False, eq=False)

    @property
    def fits(self) -> int:
        """Nodes that surely fit even if all were at the simulated peak at once."""
        return self.peak.fits


def _ranked(rows: list[NodeSample]) -> list[NodeSample]:
    """Node samples by addresses held, then prefixes (of two shares alike in size, the one
    with more /28s is the harder to place), then time and node for a fixed order."""
    return sorted(rows, key=lambda r: (r.subnet_addresses, r.prefixes, r.time_s, r.node))


def plan_subnet_simulated(
    cidr: str,
    limits: InstanceLimits,
    config: Config,
    nodes: int,
    workload: Workload,
    *,
    hours: float = 1.0,
    seed: int = 0,
    sim_nodes: int | None = None,
    pods_per_node: int | None = None,
    host_network_pods: int = HOST_NETWORK_PODS,
    growth_percent: float = 0.0,
    iteration: Kind = GO_RANDOM,
) -> SimulatedSubnetPlan:
    """Plan ``nodes`` nodes in ``cidr`` from steady state at ``pods_per_node`` (as
    :func:`~vpccni_model.plan.plan_subnet`) and from ``sim_nodes`` nodes (default:
    ``min(nodes, DEFAULT_SIM_NODES)``) running ``workload`` for ``hours``."""
    steady = plan_subnet(
        cidr,
        limits,
        config,
        nodes,
        pods_per_node=pods_per_node,
        host_network_pods=host_network_pods,
        growth_percent=growth_percent,
    )
    sample = min(nodes, DEFAULT_SIM_NODES) if sim_nodes is None else sim_nodes
    if not is_int(sample) or sample < 1:
        raise ConfigError("sim_nodes", sim_nodes, "must be an int >= 1")
    if not is_number(hours) or not (math.isfinite(hours) and hours > 0):
        raise ConfigError("hours", hours, "must be a finite number of hours > 0")
    spec = SimulationSpec(
        nodes=cluster(limits, config, sample, host_network_pods=host_network_pods),
        workload=workload,
        duration=hours * 3600,
        seed=seed,
        subnets=(("subnet-a", SIMULATED_SUBNET),),
        per_node_series=True,
        iteration=iteration,
    )
    result = simulate(spec)
    rows = _ranked(list(result.node_series))
    top = rows[-1]
    ninety_fifth = rows[max(1, math.ceil(0.95 * len(rows))) - 1]  # nearest rank

    def scaled(row: NodeSample) -> FleetFigures:
        return fleet_figures(
            steady.space,
            nodes,
            row.subnet_addresses,
            row.prefixes if steady.prefix_delegation else 0,  # IPv6: /80s, not /28s
            prefix_delegation=steady.prefix_delegation,
            growth_percent=growth_percent,
        )

    busiest = max(s.subnet_addresses for s in result.series)
    return SimulatedSubnetPlan(
        steady=steady,
        sim_nodes=sample,
        hours=float(hours),
        seed=seed,
        peak=scaled(top),
        p95=scaled(ninety_fifth),
        peak_enis=max(r.enis for r in rows),
        mean_node_peak=busiest / sample,
        result=result,
    )


def _nodes(value: int) -> str:
    return f"{value:,} node{'' if value == 1 else 's'}"


def figure_rows(plan: SubnetPlan) -> list[tuple[str, str]]:
    """The rows of the steady / sim p95 / sim peak table, as ``plan-subnet`` prints it and
    its report shows it: (label, :class:`~vpccni_model.plan.FleetFigures` field, or
    ``grown_headroom``), as the plan's mode and growth call for (see :func:`figure_value`)."""
    rows = [("addresses per node", "node_addresses")]
    if plan.prefix_delegation:
        rows += [
            ("  of which /28 prefixes", "node_prefixes"),
            ("  single addresses", "node_singles"),
        ]
    rows += [
        (f"fleet addresses ({_nodes(plan.nodes)})", "fleet_addresses"),
        ("headroom", "headroom"),
    ]
    if plan.grown_nodes != plan.nodes:
        rows += [
            (
                f"after {plan.growth_percent:g}% growth ({_nodes(plan.grown_nodes)})",
                "grown_addresses",
            ),
            ("headroom after growth", "grown_headroom"),
        ]
    rows.append(("nodes that fit by addresses", "fits_addresses"))
    if plan.prefix_delegation:
        rows += [
            ("nodes that fit, whole /28s, for sure", "fits_scattered"),
            ("nodes that fit, whole /28s, at most", "fits_packed"),
            ("stranded free addresses, packed", "stranded_packed"),
            ("stranded free addresses, scattered", "stranded_scattered"),
        ]
    return rows


def figure_value(figures: FleetFigures, usable: int, name: str) -> int | None:
    """A row's value: the field ``name`` of ``figures``, or ``grown_headroom`` (``usable``
    less the addresses after growth)."""
    if name == "grown_headroom":
        return usable - figures.grown_addresses
    value: int | None = getattr(figures, name)
    return value
