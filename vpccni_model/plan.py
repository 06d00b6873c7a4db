"""Subnet planning: how much of a subnet a fleet of settled nodes takes, how many such nodes fit,
and, in prefix mode, how fragmentation can strand free addresses (issue 14, part 2).

One node's share comes from ``steady_state`` (``SteadyState.subnet_addresses``: every ENI's
primary address, its secondary IPs and 16 per /28 prefix), at the pods each node runs. The
subnet side is EC2's: five addresses of every subnet are reserved (the first four and the
last), and a /28 prefix needs an aligned block of 16 addresses of which none is in use.

In prefix mode the answer depends on where EC2 puts the ENIs' primary addresses, which it
does not document. Two bounds are given: **packed** (every primary address goes first where
no /28 can go, the reserved ends' leftovers, then 16 to a block) and **scattered** (every
primary address lands in its own otherwise free block and spoils it for a prefix). A plan is
safe only if it fits scattered.
"""

from __future__ import annotations

import ipaddress
import math

import attrs

from vpccni_model._checks import is_int, is_number
from vpccni_model._config import Config
from vpccni_model._errors import ConfigError
from vpccni_model._ipv4 import PREFIX_SIZE
from vpccni_model._limits import HOST_NETWORK_PODS, InstanceLimits
from vpccni_model._policy import effective_max_pods
from vpccni_model._steady import SteadyState, steady_state

__all__ = [
    "SUBNET_RESERVED",
    "FleetFigures",
    "SubnetPlan",
    "SubnetSpace",
    "fleet_figures",
    "plan_subnet",
    "subnet_space",
]

SUBNET_RESERVED = 5
"""Addresses EC2 reserves in every subnet: the network address, the next three, the last."""


@attrs.frozen
class SubnetSpace:
    """A subnet's room: usable addresses, the aligned /28 blocks wholly inside the usable
    range (a prefix can only go there), and the usable addresses outside those blocks."""

    cidr: str
    usable_addresses: int
    whole_blocks: int
    loose_addresses: int


def subnet_space(cidr: str) -> SubnetSpace:
    """The room of the VPC subnet ``cidr`` (``a.b.c.d/n``, n from 16 to 28, as EC2 allows)."""
    try:
        network = ipaddress.IPv4Network(cidr, strict=True)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            "cidr", cidr, f"expected an IPv4 subnet such as 10.0.0.0/20 ({exc})"
        ) from None
    if not 16 <= network.prefixlen <= 28:
        raise ConfigError("cidr", cidr, "an EC2 subnet is /16 to /28")
    size = network.num_addresses
    usable = size - SUBNET_RESERVED
    # The first block holds the four reserved low addresses, the last the reserved top one;
    # every block between is whole. A /28 is one block, reserved at both ends.
    whole = max(size // PREFIX_SIZE - 2, 0)
    return SubnetSpace(str(network), usable, whole, usable - whole * PREFIX_SIZE)


@attrs.frozen
class FleetFigures:
    """What ``nodes`` alike nodes come to in one subnet, each taking ``node_addresses`` of
    which ``node_prefixes`` /28 blocks and ``node_singles`` single addresses (ENI primaries
    and secondary IPs): the fields of :class:`SubnetPlan` that follow from one node's share,
    whatever gave that share (a steady state, or a simulated peak)."""

    node_addresses: int
    node_prefixes: int
    node_singles: int
    fleet_addresses: int
    headroom: int
    grown_nodes: int
    grown_addresses: int
    fits_addresses: int
    fits_packed: int | None
    fits_scattered: int | None
    stranded_packed: int | None
    stranded_scattered: int | None

    @property
    def fits(self) -> int:
        """Nodes that surely fit: by addresses, and in prefix mode also scattered."""
        return self.fits_addresses if self.fits_scattered is None else self.fits_scattered


@attrs.frozen
class SubnetPlan:
    """What ``nodes`` settled nodes take from one subnet, and what fits.

    ``per_node`` is one node's ``SteadyState`` at ``pods_per_node`` pods;
    ``node_addresses`` what it takes from the subnet, of which ``node_prefixes`` /28 blocks
    and ``node_singles`` single addresses (ENI primaries and secondary IPs). ``fleet_*`` is
    ``nodes`` of them and ``headroom`` what stays free. ``prefix_delegation`` says the node
    takes /28 prefixes from this subnet (not in IPv6, whose prefixes are /80s: an IPv6 node
    takes one address per ENI). ``grown_nodes`` is ``nodes`` after
    ``growth_percent``. ``fits_addresses`` counts nodes by addresses alone; in prefix mode
    ``fits_packed`` and ``fits_scattered`` also need a whole free /28 per prefix, under the
    two placements of the module docstring, and ``stranded_*`` are the free addresses at
    ``nodes`` nodes that no longer form a whole free /28 (None outside prefix mode).
    """

    space: SubnetSpace
    instance: str
    nodes: int
    pods_per_node: int
    prefix_delegation: bool
    per_node: SteadyState = attrs.field(repr=False)
    node_addresses: int
    node_prefixes: int
    node_singles: int
    fleet_addresses: int
    headroom: int
    growth_percent: float
    grown_nodes: int
    grown_addresses: int
    fits_addresses: int
    fits_packed: int | None
    fits_scattered: int | None
    stranded_packed: int | None
    stranded_scattered: int | None

    @property
    def fits(self) -> int:
        """Nodes that surely fit: by addresses, and in prefix mode also scattered."""
        return self.fits_addresses if self.fits_scattered is None else self.fits_scattered

    @property
    def wanted(self) -> int:
        """The nodes the plan must hold: ``nodes``, or more after growth."""
        return max(self.nodes, self.grown_nodes)

    @property
    def verdict(self) -> str:
        """'fit' when ``wanted`` nodes surely fit; 'may not fit' in prefix mode when they fit
        only if EC2 packs the single addresses (``fits_packed``); else 'does not fit': settled
        at ``pods_per_node`` pods they need more addresses (or whole /28s) than the subnet has."""
        if self.wanted <= self.fits:
            return "fit"
        if self.fits_packed is not None and self.wanted <= self.fits_packed:
            return "may not fit"
        return "does not fit"

    @property
    def figures(self) -> FleetFigures:
        """The share-derived figures alone, as a simulated plan gives them too."""
        names = [f.name for f in attrs.fields(FleetFigures)]
        return FleetFigures(**{name: getattr(self, name) for name in names})


def _blocks_packed(space: SubnetSpace, nodes: int, prefixes: int, singles: int) -> int:
    """Whole blocks ``nodes`` nodes use when their single addresses fill the loose room first
    and then share blocks, 16 to a block."""
    spill = max(nodes * singles - space.loose_addresses, 0)
    return nodes * prefixes + math.ceil(spill / PREFIX_SIZE)


def _blocks_scattered(space: SubnetSpace, nodes: int, prefixes: int, singles: int) -> int:
    """Whole blocks used when every single address spoils a block of its own (as long as free
    blocks remain; then they go anywhere)."""
    taken = nodes * prefixes
    return taken + min(nodes * singles, max(space.whole_blocks - taken, 0))


def _fits(space: SubnetSpace, addresses: int, prefixes: int, singles: int, scattered: bool) -> int:
    """The most nodes whose addresses the subnet holds and whose prefixes find whole free
    blocks: packed, the blocks of ``_blocks_packed``; scattered, a block for every prefix and
    for every single address."""

    def holds(count: int) -> bool:
        if count * addresses > space.usable_addresses:
            return False
        if scattered:
            return count * (prefixes + singles) <= space.whole_blocks
        return _blocks_packed(space, count, prefixes, singles) <= space.whole_blocks

    low, high = 0, space.usable_addresses // max(addresses, 1)
    while low < high:  # holds() is monotone: the largest count it accepts
        mid = (low + high + 1) // 2
        if holds(mid):
            low = mid
        else:
            high = mid - 1
    return low


def _stranded(space: SubnetSpace, nodes: int, addresses: int, blocks: int) -> int:
    free = space.usable_addresses - nodes * addresses
    return max(free - max(space.whole_blocks - blocks, 0) * PREFIX_SIZE, 0)


def plan_subnet(
    cidr: str,
    limits: InstanceLimits,
    config: Config,
    nodes: int,
    *,
    pods_per_node: int | None = None,
    host_network_pods: int = HOST_NETWORK_PODS,
    growth_percent: float = 0.0,
) -> SubnetPlan:
    """Plan ``nodes`` nodes of ``limits`` running ``config`` in the subnet ``cidr``.

    ``pods_per_node`` defaults to a full node: max pods less the host-network pods (what a
    node holds at its busiest). ``growth_percent`` adds that share of nodes (rounded up).
    """
    space = subnet_space(cidr)
    _check_growth(nodes, growth_percent)
    effective = config.for_instance(limits)
    if pods_per_node is None:
        pods_per_node = max(effective_max_pods(limits, effective) - host_network_pods, 0)
    elif not is_int(pods_per_node) or pods_per_node < 0:
        raise ConfigError("pods_per_node", pods_per_node, "must be an int >= 0")
    node = steady_state(limits, config, pods_per_node, host_network_pods=host_network_pods)
    # In IPv6 the prefixes are /80s of the IPv6 CIDR: the IPv4 subnet gives ENI primaries.
    ipv4_blocks = effective.prefix_delegation and not effective.enable_ipv6
    figures = fleet_figures(
        space,
        nodes,
        node.subnet_addresses,
        node.prefixes if ipv4_blocks else 0,
        prefix_delegation=ipv4_blocks,
        growth_percent=growth_percent,
    )
    return SubnetPlan(
        space=space,
        instance=limits.name,
        nodes=nodes,
        pods_per_node=pods_per_node,
        prefix_delegation=ipv4_blocks,
        per_node=node,
        growth_percent=float(growth_percent),
        **attrs.asdict(figures),
    )


def _check_growth(nodes: int, growth_percent: float) -> None:
    if not is_int(nodes) or nodes < 1:
        raise ConfigError("nodes", nodes, "must be an int >= 1")
    if not is_number(growth_percent) or not 0 <= growth_percent <= 10_000:
        raise ConfigError("growth_percent", growth_percent, "must be a number from 0 to 10000")


def fleet_figures(
    space: SubnetSpace,
    nodes: int,
    node_addresses: int,
    node_prefixes: int,
    *,
    prefix_delegation: bool,
    growth_percent: float = 0.0,
) -> FleetFigures:
    """``nodes`` nodes that each take ``node_addresses`` from ``space``, ``node_prefixes`` of
    them as /28 prefixes (the rest single addresses), against the subnet; in prefix mode
    with the /28 bounds of the module docstring. ``growth_percent`` adds that share of nodes
    (rounded up)."""
    _check_growth(nodes, growth_percent)
    if not is_int(node_addresses) or node_addresses < 0:
        raise ConfigError("node_addresses", node_addresses, "must be an int >= 0")
    if not is_int(node_prefixes) or not 0 <= node_prefixes * PREFIX_SIZE <= node_addresses:
        raise ConfigError(
            "node_prefixes",
            node_prefixes,
            f"must be an int from 0 to node_addresses / {PREFIX_SIZE}",
        )
    addresses, prefixes = node_addresses, node_prefixes
    singles = addresses - prefixes * PREFIX_SIZE
    grown = math.ceil(nodes * (1 + growth_percent / 100))
    fits_addresses = space.usable_addresses // addresses if addresses else 0
    packed = scattered = stranded_packed = stranded_scattered = None
    if prefix_delegation:
        packed = _fits(space, addresses, prefixes, singles, scattered=False)
        scattered = _fits(space, addresses, prefixes, singles, scattered=True)
        stranded_packed = _stranded(
            space, nodes, addresses, _blocks_packed(space, nodes, prefixes, singles)
        )
        stranded_scattered = _stranded(
            space, nodes, addresses, _blocks_scattered(space, nodes, prefixes, singles)
        )
    return FleetFigures(
        node_addresses=addresses,
        node_prefixes=prefixes,
        node_singles=singles,
        fleet_addresses=nodes * addresses,
        headroom=space.usable_addresses - nodes * addresses,
        grown_nodes=grown,
        grown_addresses=grown * addresses,
        fits_addresses=fits_addresses,
        fits_packed=packed,
        fits_scattered=scattered,
        stranded_packed=stranded_packed,
        stranded_scattered=stranded_scattered,
    )
