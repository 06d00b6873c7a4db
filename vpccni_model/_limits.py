"""Per-instance-type networking limits and the EKS max-pods formula.

ipamd sizes everything (ENIs to attach, IPs or /28 prefixes per ENI) from the EC2
limits of the instance type, so the model needs the same table ipamd compiles in
(``pkg/vpc/vpc_ip_resource_limit.go``), shipped here as ``data/instance_limits.csv``.
The EKS tools around ipamd also read vCPUs, memory and branch ENIs, which ipamd's table
lacks: those come from ``data/instance_specs.csv`` and are None where a type is not listed.
"""

from __future__ import annotations

import csv
import difflib
import functools
import importlib.resources
import io
import types
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from vpccni_model._checks import check_bool, check_str, int_at_least
from vpccni_model._errors import ConfigError, UnknownInstanceTypeError
from vpccni_model._ipv4 import PREFIX_SIZE

__all__ = [
    "InstanceLimits",
    "NetworkCard",
    "catalog",
    "eks_enis_for_pods",
    "instance_limits",
    "max_pods",
    "vcpu_ceiling",
]


def optional_int_at_least(minimum: int) -> Callable[[object, attrs.Attribute[Any], object], None]:
    """attrs validator: None, or an int >= ``minimum``."""
    check = int_at_least(minimum)

    def validate(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None:
            check(inst, attribute, value)

    return validate


#: Host-network pods max-pods always leaves room for (aws-node, kube-proxy).
HOST_NETWORK_PODS = 2
#: Max-pods ceilings the EKS calculator applies by vCPU count.
MAX_PODS_CAP_LOW_CPU = 110
MAX_PODS_CAP_HIGH_CPU = 250
#: Above this many vCPUs the high ceiling applies.
LOW_CPU_THRESHOLD = 30


def vcpu_ceiling(vcpus: int) -> int:
    """The EKS calculator's pod ceiling: 110 up to 30 vCPUs, 250 above (in every mode)."""
    return MAX_PODS_CAP_LOW_CPU if vcpus <= LOW_CPU_THRESHOLD else MAX_PODS_CAP_HIGH_CPU


_CSV_COLUMNS = (
    "instance_type",
    "max_enis",
    "ipv4_per_eni",
    "default_network_card",
    "network_cards",
    "hypervisor",
    "bare_metal",
)


@attrs.frozen
class NetworkCard:
    """One network card: ENIs attach per card, and each card has its own ENI limit."""

    index: int = attrs.field(validator=int_at_least(0))
    max_interfaces: int = attrs.field(validator=int_at_least(1))


def _check_cards(
    _inst: object, attribute: attrs.Attribute[tuple[NetworkCard, ...]], value: object
) -> None:
    """attrs validator: a tuple (hashable) of NetworkCards with unique indices."""
    if not isinstance(value, tuple):
        raise ConfigError(attribute.name, value, "must be a tuple of NetworkCard")
    seen: set[int] = set()
    for card in value:
        if not isinstance(card, NetworkCard):
            raise ConfigError(attribute.name, value, f"{card!r} is not a NetworkCard")
        if card.index in seen:
            raise ConfigError(attribute.name, value, f"duplicate card index {card.index}")
        seen.add(card.index)


@attrs.frozen(cache_hash=True)
class InstanceLimits:
    """EC2 networking limits of one instance type, as ipamd's ``InstanceTypeLimits``.

    ``max_enis`` is the ENI limit of the default network card (not summed over cards)
    and ``ipv4_per_eni`` counts the ENI's primary address, which never goes to a pod.
    """

    name: str = attrs.field(validator=check_str)
    max_enis: int = attrs.field(validator=int_at_least(1))
    ipv4_per_eni: int = attrs.field(validator=int_at_least(1))
    default_network_card: int = attrs.field(default=0, validator=int_at_least(0))
    network_cards: tuple[NetworkCard, ...] = attrs.field(default=(), validator=_check_cards)
    hypervisor: str = attrs.field(default="nitro", validator=check_str)
    bare_metal: bool = attrs.field(default=False, validator=check_bool)
    #: From ``instance_specs.csv`` (EC2 DescribeInstanceTypes); None where it is unknown.
    vcpus: int | None = attrs.field(default=None, validator=optional_int_at_least(1))
    memory_mib: int | None = attrs.field(default=None, validator=optional_int_at_least(1))
    arch: str | None = attrs.field(default=None, validator=attrs.validators.optional(check_str))
    #: Branch ENIs for security groups for pods (``vpc.amazonaws.com/pod-eni``), 0 when none.
    branch_enis: int | None = attrs.field(default=None, validator=optional_int_at_least(0))
    #: Hypervisor as DescribeInstanceTypes gives it ("" when it gives none, as for bare
    #: metal); the EKS max-pods calculator reads this one. None where the type is not listed.
    described_hypervisor: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(check_str)
    )

    def __attrs_post_init__(self) -> None:
        """The default card must exist: ipamd puts the primary ENI on it."""
        if self.default_network_card not in self.card_indices:
            raise ConfigError(
                "default_network_card",
                self.default_network_card,
                f"not among the network card indices {self.card_indices}",
            )

    @property
    def supports_prefix_delegation(self) -> bool:
        """ipamd's IsPrefixDelegationSupported: Nitro or bare metal only."""
        return self.hypervisor == "nitro" or self.bare_metal

    @property
    def card_indices(self) -> tuple[int, ...]:
        """Card indices ascending; no cards listed means the single card 0."""
        if not self.network_cards:
            return (0,)
        return tuple(sorted(card.index for card in self.network_cards))

    @property
    def cidrs_per_eni(self) -> int:
        """Secondary /32s or /28 prefixes one ENI can hold: EC2's per-ENI IPv4 limit less the
        ENI's primary address, which never goes to a pod. Both kinds count against it (Q7).

        The one home of the per-ENI capacity rule; everything else derives from it.
        """
        return self.ipv4_per_eni - 1

    def pod_addresses_per_eni(self, prefix_delegation: bool) -> int:
        """ipamd's ``maxIPsPerENI`` (S): pod addresses one ENI can hold in the given mode."""
        slots = self.cidrs_per_eni
        return slots * PREFIX_SIZE if prefix_delegation else slots

    def max_interfaces(self, network_card: int) -> int:
        """EC2's ENI limit of one network card (``max_enis`` when no cards are listed)."""
        for card in self.network_cards:
            if card.index == network_card:
                return card.max_interfaces
        if network_card in self.card_indices:
            return self.max_enis
        raise ConfigError("network_card", network_card, f"not among {self.card_indices}")


def _parse_cards(text: str) -> tuple[NetworkCard, ...]:
    """Parse ``0:8;1:8`` into NetworkCards (the CSV's encoding of NetworkCards)."""
    if not text:
        return ()
    cards = []
    for item in text.split(";"):
        index, sep, max_interfaces = item.partition(":")
        if not sep:
            raise ConfigError("network_cards", text, f"entry {item!r} is not index:max_interfaces")
        cards.append(NetworkCard(index=int(index), max_interfaces=int(max_interfaces)))
    return tuple(cards)


def _parse_bool(field: str, text: str) -> bool:
    """Parse the CSV's lowercase ``true``/``false``; anything else is a data error."""
    if text == "true":
        return True
    if text == "false":
        return False
    raise ConfigError(field, text, "must be 'true' or 'false'")


def _parse_row(row: Mapping[str, str]) -> InstanceLimits:
    """Turn one CSV row into InstanceLimits, reporting which row is bad."""
    name = row["instance_type"]
    try:
        return InstanceLimits(
            name=name,
            max_enis=int(row["max_enis"]),
            ipv4_per_eni=int(row["ipv4_per_eni"]),
            default_network_card=int(row["default_network_card"]),
            network_cards=_parse_cards(row["network_cards"]),
            hypervisor=row["hypervisor"],
            bare_metal=_parse_bool("bare_metal", row["bare_metal"]),
        )
    except ValueError as exc:  # ConfigError is a ValueError too
        raise ConfigError("instance_limits.csv", name, str(exc)) from exc


_SPECS_COLUMNS = (
    "instance_type",
    "vcpus",
    "memory_mib",
    "arch",
    "hypervisor",
    "karpenter_max_pods",
    "branch_enis",
)


def _read_data(name: str) -> csv.DictReader[str]:
    resource = importlib.resources.files("vpccni_model") / "data" / name
    return csv.DictReader(io.StringIO(resource.read_text(encoding="utf-8")))


def _specs() -> dict[str, dict[str, object]]:
    """The instance_specs.csv columns InstanceLimits carries, by instance type."""
    reader = _read_data("instance_specs.csv")
    if tuple(reader.fieldnames or ()) != _SPECS_COLUMNS:
        raise ConfigError(
            "instance_specs.csv", reader.fieldnames, f"columns must be {_SPECS_COLUMNS}"
        )
    specs: dict[str, dict[str, object]] = {}
    for row in reader:
        try:
            specs[row["instance_type"]] = {
                "vcpus": int(row["vcpus"]),
                "memory_mib": int(row["memory_mib"]),
                "arch": row["arch"],
                # Karpenter lists no pod-eni resource where trunking is unsupported.
                "branch_enis": int(row["branch_enis"] or "0"),
                "described_hypervisor": row["hypervisor"],
            }
        except ValueError as exc:
            raise ConfigError("instance_specs.csv", row["instance_type"], str(exc)) from exc
    return specs


@functools.cache
def catalog() -> Mapping[str, InstanceLimits]:
    """All packaged instance types by name, ipamd's limits merged with their specs (vCPUs,
    memory, branch ENIs) where listed; read once, read-only."""
    reader = _read_data("instance_limits.csv")
    if tuple(reader.fieldnames or ()) != _CSV_COLUMNS:
        raise ConfigError(
            "instance_limits.csv", reader.fieldnames, f"columns must be {_CSV_COLUMNS}"
        )
    specs = _specs()
    table: dict[str, InstanceLimits] = {}
    for row in reader:
        limits = _parse_row(row)
        if limits.name in specs:
            limits = attrs.evolve(limits, **specs[limits.name])  # type: ignore[arg-type]
        if limits.name in table:
            raise ConfigError("instance_limits.csv", limits.name, "duplicate instance type")
        table[limits.name] = limits
    return types.MappingProxyType(table)


def instance_limits(name: str) -> InstanceLimits:
    """Limits of an instance type by its exact EC2 name.

    Exact match only, as ipamd does; on a miss the error carries up to three close names
    (including the stripped lowercase form when that exists) so a typo is easy to fix.
    """
    if not isinstance(name, str):
        raise UnknownInstanceTypeError(repr(name), ())
    table = catalog()
    found = table.get(name)
    if found is not None:
        return found
    normalized = name.strip().lower()
    candidates: list[str] = []
    if normalized in table:
        candidates.append(normalized)
    candidates.extend(difflib.get_close_matches(normalized, table.keys(), n=3, cutoff=0.6))
    suggestions = tuple(dict.fromkeys(candidates))[:3]
    raise UnknownInstanceTypeError(name, suggestions)


def _optional_positive_int(field: str, value: int | None) -> int | None:
    """None or an int >= 1; anything else is a configuration error naming the option."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(field, value, "must be an int >= 1 or None")
    return value


def eks_enis_for_pods(
    limits: InstanceLimits, *, max_eni: int | None, custom_networking: bool
) -> int:
    """ENIs whose addresses the EKS max-pods formulas count: the default card's ENIs, capped
    by ``max_eni`` first, then one fewer with custom networking (the primary ENI's subnet
    hosts no pods). Never below 0."""
    enis = limits.max_enis if max_eni is None else min(max_eni, limits.max_enis)
    return max(enis - 1 if custom_networking else enis, 0)


def max_pods(
    limits: InstanceLimits,
    *,
    prefix_delegation: bool = False,
    custom_networking: bool = False,
    max_eni: int | None = None,
    vcpus: int | None = None,
) -> int:
    """Max pods by the EKS calculator's arithmetic, with ipamd's rule for prefix support.

    The one-figure form (kept for compatibility): ``enis x (IPv4 per ENI - 1) + 2``, with 16
    addresses per slot when ``prefix_delegation`` is on and the type supports prefixes as
    ipamd decides it (Nitro or bare metal, so bare metal counts prefixes here, unlike the
    calculator), ENIs as ``eks_enis_for_pods``, and the 110/250 ceiling only when ``vcpus``
    is given. ``max_pods_report`` gives the node default, the calculator's exact answer and
    ipamd's addressable IPs side by side.
    """
    if not isinstance(limits, InstanceLimits):
        raise ConfigError("limits", limits, "must be an InstanceLimits")
    flags = (
        ("prefix_delegation", prefix_delegation),
        ("custom_networking", custom_networking),
    )
    for field, flag in flags:
        if not isinstance(flag, bool):
            raise ConfigError(field, flag, "must be a bool")
    cap_enis = _optional_positive_int("max_eni", max_eni)
    cpus = _optional_positive_int("vcpus", vcpus)
    enis = eks_enis_for_pods(limits, max_eni=cap_enis, custom_networking=custom_networking)
    per_eni = limits.pod_addresses_per_eni(prefix_delegation and limits.supports_prefix_delegation)
    pods = enis * per_eni + HOST_NETWORK_PODS
    return pods if cpus is None else min(pods, vcpu_ceiling(cpus))
