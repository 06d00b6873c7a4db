"""What EC2 holds for a cluster: subnets, nodes, their ENIs, and the addresses ENIs take.

:class:`Inventory` is the state half of :class:`~vpccni_model.cloud.FakeEC2` (its base class):
registration of nodes and of ENIs created elsewhere, the address bookkeeping across subnets,
what instance metadata shows, and the effects single EC2 calls have (take addresses for an
ENI, create, attach, detach, release). It makes no call and counts nothing; the call families,
their retry rules and their cost are the fake's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import attrs

from vpccni_model._actions import AllocateENI
from vpccni_model._errors import StateError
from vpccni_model._events import (
    Ec2Error,
    ENIAttached,
    Event,
    IPsAllocated,
    IPv6PrefixAllocated,
    ObservedENI,
    PrefixesAllocated,
)
from vpccni_model._ip6 import ipv6_prefix_text
from vpccni_model._ipv4 import PREFIX_SIZE, int_to_ip, prefix_text
from vpccni_model._limits import InstanceLimits
from vpccni_model._state import NodeState
from vpccni_model._subnets import (
    DiscoveredSubnet,
    ENIConfigSubnet,
    ENIDestination,
    subnet_eligible,
    subnet_excluded,
)
from vpccni_model.cloud._subnet import IPv6Prefixes, Subnet, new_subnet

DEFAULT_IPV6_SUBNET = "2600:1f14:0:100::/64"
"""The IPv6 CIDR whose /80s IPv6 nodes' ENIs get (one for the whole fake, shared by every
subnet: the fake models one IPv6 range, lowest free /80 first)."""

DEFAULT_NODE = "default"
"""The node that ``FakeEC2(limits)``, ``for_node``, ``register_eni`` and ``execute`` use when
no node is named."""

MAX_DEVICES = 100
"""Device indices 0..99 (ipamd's ``maxENIs``, spec 7.1)."""


@attrs.define
class FakeENI:
    """An ENI as EC2 holds it: mutable, with its addresses as ints (a detached ENI has no
    node; a leaked one keeps its addresses taken)."""

    eni_id: str
    network_card: int
    device_number: int
    primary_ip: int
    ips: set[int] = attrs.field(factory=set)
    prefixes: set[int] = attrs.field(factory=set)
    node: str = DEFAULT_NODE
    subnet: str = ""
    #: A trunk ENI (security groups for pods), attached by the VPC resource controller.
    trunk: bool = False
    security_groups: tuple[str, ...] = ()
    is_excluded: bool = False
    #: IPv6 /80s (networks as ints); an ENI of an IPv6 node holds one (``AllocateIPv6Prefix``).
    ipv6_prefixes: set[int] = attrs.field(factory=set)


@attrs.define
class FakeNode:
    """A registered instance: its limits, its primary subnet (where its primary ENI lives and,
    without custom networking or discovery, its new ENIs), the primary ENI's security groups,
    and the CLUSTER_NAME its aws-node runs with (subnet cluster tags are matched against it)."""

    name: str
    limits: InstanceLimits
    subnet: str
    security_groups: tuple[str, ...] = ()
    cluster_name: str = ""
    #: ``limits.card_indices``, read by every ENI creation.
    cards: tuple[int, ...] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.cards = self.limits.card_indices


class Inventory:
    """Subnets (name to CIDR; the first is the default) shared by the nodes registered on them.

    ENI ids are unique across the cluster; device numbers and the per-card ENI limit are per
    node; the per-ENI address limit uses the owning node's limits. Registration is what a
    fake needs and a real EC2 driver does not: a real one discovers its instance and subnets.
    """

    def __init__(
        self,
        subnets: Mapping[str, str],
        subnet_tags: Mapping[str, Mapping[str, str]] | None = None,
        subnet_zones: Mapping[str, str] | None = None,
        ipv6_subnet: str = DEFAULT_IPV6_SUBNET,
    ) -> None:
        self._ipv6 = IPv6Prefixes(ipv6_subnet)
        if not isinstance(subnets, Mapping) or not subnets:
            raise StateError("subnets", subnets, "expected a non-empty mapping name -> CIDR")
        tags = {} if subnet_tags is None else subnet_tags
        zones = {} if subnet_zones is None else subnet_zones
        for field, given in (("subnet_tags", tags), ("subnet_zones", zones)):
            if not isinstance(given, Mapping):
                raise StateError(field, given, "expected a mapping from subnet names")
            unknown = sorted(set(given) - set(subnets))
            if unknown:
                raise StateError(field, unknown[0], f"not one of {sorted(subnets)}")
        self._subnets: dict[str, Subnet] = {}
        for name, cidr in subnets.items():
            self._subnets[name] = new_subnet(
                name, cidr, self._subnets.values(), tags.get(name), zones.get(name, "")
            )
        self._default_subnet = next(iter(self._subnets))
        self.subnet = self._subnets[self._default_subnet].network
        self._nodes: dict[str, FakeNode] = {}
        self._enis: dict[str, FakeENI] = {}  # attached ENIs, every node
        self._by_node: dict[str, dict[str, FakeENI]] = {}  # the same, per node
        self._leaked: dict[str, FakeENI] = {}
        self._outside: set[int] = set()  # registered addresses outside every usable range
        self._next_id = 1

    # -- registration ------------------------------------------------------------------

    def register_node(
        self,
        node: str,
        limits: InstanceLimits,
        subnet: str | None = None,
        *,
        security_groups: tuple[str, ...] = (),
        cluster_name: str = "",
    ) -> None:
        """Add a node with its own limits; its primary subnet is ``subnet`` (a subnet name;
        default: the first subnet), where its new ENIs go unless an ``AllocateENI``
        destination says otherwise. ``security_groups`` are its primary ENI's;
        ``cluster_name`` is the CLUSTER_NAME of its aws-node ("" for unset)."""
        if type(cluster_name) is not str:
            raise StateError("cluster_name", cluster_name, "must be a str")
        if not isinstance(security_groups, tuple) or not all(
            type(g) is str and g for g in security_groups
        ):
            raise StateError("security_groups", security_groups, "must be a tuple of ids")
        if not isinstance(node, str) or not node:
            raise StateError("node", node, "must be a non-empty string")
        if node in self._nodes:
            raise StateError("node", node, "already registered")
        if not isinstance(limits, InstanceLimits):
            raise StateError("limits", limits, "must be an InstanceLimits")
        name = self._subnet_name(subnet)
        self._nodes[node] = FakeNode(node, limits, name, security_groups, cluster_name)
        self._by_node[node] = {}

    def boot_node(
        self,
        node: str,
        state: NodeState,
        subnet: str | None = None,
        *,
        security_groups: tuple[str, ...] = (),
        cluster_name: str = "",
    ) -> None:
        """:meth:`register_node` with ``state.limits``, then register every ENI and CIDR of
        the booted ``state`` on it (as :meth:`for_node` does for a single node). Give each
        node's primary ENI its own id (``NodeState.boot(..., primary_eni_id=...)``)."""
        self.register_node(
            node,
            state.limits,
            subnet,
            security_groups=security_groups,
            cluster_name=cluster_name,
        )
        try:
            self._register_state(node, state)
        except Exception:
            self.terminate_node(node)
            raise

    def _register_state(self, node: str, state: NodeState) -> None:
        for eni in state.enis:
            ips = {c.network for c in eni.cidrs if not c.is_prefix}
            prefixes = {c.network for c in eni.cidrs if c.is_prefix and not c.is_ipv6}
            known = eni.subnet_id if eni.subnet_id in self._subnets else None
            self.register_eni(
                eni.eni_id,
                eni.network_card,
                eni.device_number,
                ips,
                prefixes,
                node=node,
                trunk=eni.is_trunk,
                subnet=known,
            )
            for cidr in eni.cidrs:
                if cidr.is_ipv6:
                    if cidr.network in self._ipv6.taken:
                        raise StateError("prefixes", cidr.key, "already in use")
                    self._ipv6.mark(cidr.network)
                    self._enis[eni.eni_id].ipv6_prefixes.add(cidr.network)

    def register_eni(
        self,
        eni_id: str,
        network_card: int,
        device_number: int,
        ips: set[int] | None = None,
        prefixes: set[int] | None = None,
        *,
        node: str | None = None,
        trunk: bool = False,
        subnet: str | None = None,
    ) -> None:
        """Record an ENI created elsewhere, attached to ``node``; its addresses are taken from
        the subnets that hold them, and its primary IP from ``subnet`` (a subnet name; default:
        the node's subnet), which it lives in. ``trunk``: instance metadata shows it as a trunk
        ENI."""
        owner = self._node(node)
        home = owner.subnet if subnet is None else self._subnet_name(subnet)
        if eni_id in self._enis or eni_id in self._leaked:
            raise StateError(
                "eni_id",
                eni_id,
                "already registered; ENI ids are unique across the cluster, so boot each node"
                " with its own NodeState.boot(..., primary_eni_id=...)",
            )
        taken = set(ips or ())
        for prefix in prefixes or ():
            taken.update(range(prefix, prefix + PREFIX_SIZE))
        clash = {ip for ip in taken if self._in_use(ip)}
        if clash:
            raise StateError("ips", int_to_ip(min(clash)), "already in use in the subnet")
        for ip in taken:
            self._mark(ip)
        primary = self._subnets[home].take_ips(1)
        if not primary:
            for ip in taken:
                self._unmark(ip)
            raise StateError("subnet", home, "no address left for a primary IP")
        self._put(
            FakeENI(
                eni_id,
                network_card,
                device_number,
                primary[0],
                set(ips or ()),
                set(prefixes or ()),
                node=owner.name,
                subnet=home,
                trunk=bool(trunk),
                security_groups=owner.security_groups,
            )
        )
        self._bump_id(eni_id)

    def terminate_node(self, node: str) -> None:
        """The instance is gone: its ENIs are deleted (DeleteOnTermination) and their addresses
        return to the subnets; the node is forgotten. Makes no API call."""
        self._node(node)
        for eni in list(self._by_node[node].values()):
            self._drop(eni)
            self._release_eni(eni)
        del self._nodes[node]
        del self._by_node[node]

    def _put(self, eni: FakeENI) -> None:
        """Attach ``eni`` to its node (``eni.node``)."""
        self._enis[eni.eni_id] = eni
        self._by_node[eni.node][eni.eni_id] = eni

    def _drop(self, eni: FakeENI) -> None:
        """Detach ``eni`` from its node; it keeps its addresses until released."""
        del self._enis[eni.eni_id]
        del self._by_node[eni.node][eni.eni_id]
        eni.node = ""

    def _bump_id(self, eni_id: str) -> None:
        if eni_id.startswith("eni-") and eni_id[4:].isdigit():
            self._next_id = max(self._next_id, int(eni_id[4:]) + 1)

    def _new_eni_id(self) -> str:
        while f"eni-{self._next_id}" in self._enis or f"eni-{self._next_id}" in self._leaked:
            self._next_id += 1
        eni_id = f"eni-{self._next_id}"
        self._next_id += 1
        return eni_id

    def _node(self, node: str | None) -> FakeNode:
        name = DEFAULT_NODE if node is None else node
        found = self._nodes.get(name)
        if found is None:
            if node is None:
                raise StateError("node", None, "no default node: name one, or give limits")
            raise StateError("node", node, "not registered")
        return found

    def _subnet_name(self, subnet: str | None) -> str:
        if subnet is None:
            return self._default_subnet
        if subnet not in self._subnets:
            raise StateError("subnet", subnet, f"not one of {sorted(self._subnets)}")
        return subnet

    def _owned(self, node: FakeNode, eni_id: str) -> FakeENI | None:
        """The attached ENI ``eni_id`` if it exists; one attached to another node is an error."""
        eni = self._enis.get(eni_id)
        if eni is not None and eni.node != node.name:
            raise StateError("eni_id", eni_id, f"attached to node {eni.node!r}, not {node.name!r}")
        return eni

    # -- subnets -----------------------------------------------------------------------

    @property
    def free_addresses(self) -> int:
        """Free addresses over every subnet."""
        return sum(s.free_addresses for s in self._subnets.values())

    def subnet_free(self, name: str | None = None) -> tuple[int, int]:
        """(free addresses, wholly free aligned /28 blocks) of one subnet (default: the first)."""
        subnet = self._subnets[self._subnet_name(name)]
        return subnet.free_addresses, subnet.free_blocks

    def discovery_order(self, node: str | None = None) -> tuple[str, ...]:
        """The subnets a new ENI of ``node`` tries under subnet discovery, in order (spec 6.4,
        awsutils.go ``createENI``): the node's zone, eligible ones only (``subnet_eligible``:
        not tagged ``kubernetes.io/role/cni=0``, untagged only if primary, cluster tags
        matching), most free addresses (``AvailableIpAddressCount``) first. Ties keep
        DescribeSubnets' order, which for the fake is by subnet name (EC2 documents none)."""
        return self._discovery_order(self._node(node))

    def _discovery_order(self, owner: FakeNode) -> tuple[str, ...]:
        """``discovery_order`` of a known node: DescribeSubnets filtered to its VPC (the fake
        has one) and zone, eligible ones, ranked."""
        zone = self._subnets[owner.subnet].zone
        ranked = [
            s
            for s in self._subnets.values()
            if s.zone == zone
            and subnet_eligible(s.tags, s.name == owner.subnet, owner.cluster_name)
        ]
        if len(ranked) > 1:  # names are unique: ties go by name
            ranked.sort(key=lambda s: (-s.free_addresses, s.name))
        return tuple(s.name for s in ranked)

    def _excluded(self, owner: FakeNode, name: str) -> bool:
        """``IsSubnetExcluded`` for ``owner``: a subnet outside its zone is not listed by the
        describe, so it is not excluded."""
        subnet = self._subnets.get(name)
        if subnet is None or subnet.zone != self._subnets[owner.subnet].zone:
            return False
        return subnet_excluded(subnet.tags, owner.cluster_name)

    def _placement(
        self, owner: FakeNode, destination: ENIDestination
    ) -> tuple[tuple[str, ...], tuple[str, ...], bool] | str:
        """Where a new ENI may go (createENI, spec 6.4): the subnets to try in order, its
        security groups, and whether setupENI checks the chosen subnet's exclusion; or the
        error code when ipamd gives up before any call."""
        if isinstance(destination, ENIConfigSubnet):
            groups = destination.security_groups or owner.security_groups
            return (destination.subnet,), groups, destination.exclusion_check
        if isinstance(destination, DiscoveredSubnet):
            order = self._discovery_order(owner)
            if not order:
                return Ec2Error.NO_ELIGIBLE_SUBNET
            return order, owner.security_groups, True
        if self._excluded(owner, owner.subnet):  # subnet discovery off: the primary subnet
            return Ec2Error.NO_ELIGIBLE_SUBNET
        return (owner.subnet,), owner.security_groups, False

    def _holder(self, ip: int) -> Subnet | None:
        for subnet in self._subnets.values():
            if subnet.usable(ip):
                return subnet
        return None

    def _in_use(self, ip: int) -> bool:
        subnet = self._holder(ip)
        return ip in subnet.used if subnet is not None else ip in self._outside

    def _mark(self, ip: int) -> None:
        subnet = self._holder(ip)
        if subnet is not None:
            subnet.mark(ip)
        else:
            self._outside.add(ip)

    def _unmark(self, ip: int) -> None:
        subnet = self._holder(ip)
        if subnet is not None:
            subnet.unmark(ip)
        else:
            self._outside.discard(ip)

    def _release(self, home: Subnet | None, ips: Iterable[int]) -> None:
        """Return ``ips`` to their subnets, trying ``home`` (the ENI's) first: usable ranges
        do not overlap, so an address usable there is held nowhere else."""
        for ip in ips:
            if home is not None and home.first <= ip <= home.last:
                home.unmark(ip)
            else:
                self._unmark(ip)

    def _release_prefix(self, home: Subnet | None, prefix: int) -> None:
        self._release(home, range(prefix, prefix + PREFIX_SIZE))

    def _release_eni(self, eni: FakeENI) -> None:
        for network in eni.ipv6_prefixes:
            self._ipv6.release(network)
        home = self._subnets.get(eni.subnet)
        self._release(home, (eni.primary_ip,))
        self._release(home, eni.ips)
        for prefix in eni.prefixes:
            self._release_prefix(home, prefix)

    # -- observation -------------------------------------------------------------------

    def describe(self, eni_id: str) -> ObservedENI | None:
        """What IMDS / DescribeNetworkInterfaces shows for one attached ENI."""
        eni = self._enis.get(eni_id)
        if eni is None:
            return None
        return ObservedENI(
            eni_id=eni.eni_id,
            device_number=eni.device_number,
            network_card=eni.network_card,
            ips=tuple(map(int_to_ip, sorted(eni.ips))),
            prefixes=(
                *map(prefix_text, sorted(eni.prefixes)),
                *map(ipv6_prefix_text, sorted(eni.ipv6_prefixes)),
            ),
            is_trunk=eni.trunk,
            is_excluded=eni.is_excluded,
            subnet_id=eni.subnet or None,
        )

    def observe(self, node: str | None = None) -> tuple[ObservedENI, ...]:
        """The ENIs attached to ``node`` (default: every node's), as instance metadata lists
        them: by node, then card, then device number."""
        if node is not None:
            self._node(node)
        enis = sorted(
            self._enis.values() if node is None else self._by_node[node].values(),
            key=lambda e: (e.node, e.network_card, e.device_number, e.eni_id),
        )
        return tuple(o for o in (self.describe(e.eni_id) for e in enis) if o is not None)

    # -- what single calls do ----------------------------------------------------------

    def _attach_trunk(self, owner: FakeNode) -> FakeENI | None:
        """What the VPC resource controller does on ipamd's CNINode signal: a trunk ENI with
        only its primary address, from the node's subnet, at the lowest free device of card 0.
        Nothing when the node has a trunk already, card 0 is at its ENI limit, or the subnet
        has no address left (the controller retries on its own; not modelled)."""
        if any(e.trunk for e in self._by_node[owner.name].values()):
            return None
        device = self._free_device(owner, 0)
        if device is None:
            return None
        primary = self._subnets[owner.subnet].take_ips(1)
        if not primary:
            return None
        eni = FakeENI(
            self._new_eni_id(),
            0,
            device,
            primary[0],
            node=owner.name,
            subnet=owner.subnet,
            trunk=True,
        )
        self._put(eni)
        return eni

    def _assign(self, eni_id: str, count: int, prefixes: bool, result: list[Event]) -> str | None:
        """AssignPrivateIpAddresses of ``count`` IPs or prefixes: the error code, or None and
        the answer appended to ``result``. IPs and prefixes share the node's per-ENI limit."""
        eni = self._enis.get(eni_id)
        if eni is None:
            return Ec2Error.NOT_FOUND
        room = self._nodes[eni.node].limits.cidrs_per_eni - len(eni.ips) - len(eni.prefixes)
        if count > room:
            return Ec2Error.PRIVATE_IP_LIMIT_EXCEEDED
        subnet = self._subnets[eni.subnet]
        taken = subnet.take_prefixes(count) if prefixes else subnet.take_ips(count)
        if not taken:
            if prefixes:
                return Ec2Error.INSUFFICIENT_CIDR_BLOCKS
            return Ec2Error.INSUFFICIENT_FREE_ADDRESSES
        result.append(self._add(eni, prefixes, taken))
        return None

    def _add(self, eni: FakeENI, prefixes: bool, taken: list[int]) -> Event:
        """Give ``eni`` the addresses or prefixes taken from its subnet; the Assign's answer."""
        if prefixes:
            eni.prefixes.update(taken)
            return PrefixesAllocated(eni.eni_id, tuple(map(prefix_text, taken)))
        eni.ips.update(taken)
        return IPsAllocated(eni.eni_id, tuple(map(int_to_ip, taken)))

    def _report(self, eni: FakeENI, prefixes: bool) -> Event:
        """Everything of one kind on ``eni``: the Describe that resyncs ipamd."""
        if prefixes:
            return PrefixesAllocated(eni.eni_id, tuple(map(prefix_text, sorted(eni.prefixes))))
        return IPsAllocated(eni.eni_id, tuple(map(int_to_ip, sorted(eni.ips))))

    def _free_device(self, owner: FakeNode, card: int) -> int | None:
        """The lowest free device number on ``card`` of ``owner``, None at the card's limit."""
        on_card = [e for e in self._by_node[owner.name].values() if e.network_card == card]
        if len(on_card) >= owner.limits.max_interfaces(card):
            return None
        used = {e.device_number for e in on_card}
        return next((d for d in range(MAX_DEVICES) if d not in used), None)

    def _new_eni(
        self,
        owner: FakeNode,
        action: AllocateENI,
        primary: int,
        taken: list[int],
        subnet: str,
        groups: tuple[str, ...],
    ) -> FakeENI:
        eni = FakeENI(
            self._new_eni_id(),
            action.network_card,
            -1,
            primary,
            node="",
            subnet=subnet,
            security_groups=groups,
        )
        if action.prefixes:
            eni.prefixes.update(taken)
        else:
            eni.ips.update(taken)
        return eni

    def _attach(self, eni: FakeENI, owner: FakeNode) -> bool:
        device = self._free_device(owner, eni.network_card)
        if device is None:
            return False
        eni.device_number = device
        eni.node = owner.name
        self._put(eni)
        return True

    def _attached(self, eni: FakeENI) -> ENIAttached:
        return ENIAttached(
            eni_id=eni.eni_id,
            device_number=eni.device_number,
            network_card=eni.network_card,
            ips=tuple(map(int_to_ip, sorted(eni.ips))),
            prefixes=tuple(map(prefix_text, sorted(eni.prefixes))),
            is_excluded=eni.is_excluded,
            subnet_id=eni.subnet,
        )

    def _assign_ipv6_prefix(self, eni_id: str, result: list[Event]) -> str | None:
        """AssignIpv6Addresses(Ipv6PrefixCount=1): the lowest free /80 of the IPv6 CIDR."""
        eni = self._enis.get(eni_id)
        if eni is None:
            return Ec2Error.NOT_FOUND
        network = self._ipv6.take()
        if network is None:
            return Ec2Error.INSUFFICIENT_CIDR_BLOCKS
        eni.ipv6_prefixes.add(network)
        result.append(IPv6PrefixAllocated(eni_id, (ipv6_prefix_text(network),)))
        return None

    def ipv6_prefixes(self, eni_id: str) -> tuple[str, ...]:
        """The /80s an attached ENI holds (GetIPv6PrefixesFromEC2), ascending."""
        eni = self._enis.get(eni_id)
        return () if eni is None else tuple(map(ipv6_prefix_text, sorted(eni.ipv6_prefixes)))

    @property
    def ipv6_free(self) -> int:
        """Free /80s of the IPv6 CIDR."""
        return self._ipv6.free

    def _unassign(self, eni_id: str, ips: Sequence[int], prefixes: Sequence[int]) -> str | None:
        """Unassign what ``eni_id`` holds of ``ips`` and ``prefixes`` (the rest is ignored)."""
        eni = self._enis.get(eni_id)
        if eni is None:
            return Ec2Error.NOT_FOUND
        home = self._subnets.get(eni.subnet)
        for ip in ips:
            if ip in eni.ips:
                eni.ips.discard(ip)
                self._release(home, (ip,))
        for prefix in prefixes:
            if prefix in eni.prefixes:
                eni.prefixes.discard(prefix)
                self._release_prefix(home, prefix)
        return None
