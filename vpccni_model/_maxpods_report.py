"""Max pods as users know it, side by side: the node default, the EKS max-pods calculator, and
the pod addresses ipamd's pool can hold, each with its formula, and notes where they disagree.

The three answer different questions (what kubelet gets when nothing is set; what the EKS
calculator recommends setting; how many pod addresses ipamd can reach with these settings), so
a user choosing max pods needs all three and the reason they differ. Each rule keeps its home:
the EKS tools in ``_maxpods``, ipamd's per-card rules in ``CardPolicy`` and ``InstanceLimits``;
this module only combines them and explains.
"""

from __future__ import annotations

import types
from collections.abc import Mapping

import attrs

from vpccni_model._capacity import CardCapacity, ipamd_card_capacities, ipamd_pod_addresses
from vpccni_model._config import Config
from vpccni_model._errors import ConfigError
from vpccni_model._ip6 import IPV6_PREFIX_SIZE
from vpccni_model._ipv4 import PREFIX_SIZE
from vpccni_model._ipv6 import max_pods_words
from vpccni_model._limits import (
    HOST_NETWORK_PODS,
    LOW_CPU_THRESHOLD,
    InstanceLimits,
    eks_enis_for_pods,
)
from vpccni_model._maxpods import (
    DEFAULT_CNI_VERSION,
    NODE_DEFAULT_FILE,
    PREFIX_DELEGATION_MIN_CNI,
    calculator_hypervisor,
    calculator_max_pods,
    calculator_prefix_delegation,
    node_default_max_pods,
    node_default_source,
    parse_cni_version,
    vcpu_ceiling,
)
from vpccni_model._trunk import branch_eni_pods, pod_eni_formula, pod_eni_notes

__all__ = [
    "CardCapacity",
    "MaxPodsReport",
    "ipamd_card_capacities",
    "ipamd_pod_addresses",
    "max_pods_report",
]  # the first and the last two re-exported from ``_capacity``, their home


@attrs.frozen
class MaxPodsReport:
    """The max-pods figures of one instance type and set of flags, with formulas and notes.

    ``calculator_recommended`` is None (and ``calculator_unavailable`` says why) when the vCPU
    count is unknown; ``formulas`` maps each figure's name to its formula with the numbers
    (a read-only mapping, so reports compare equal but are not hashable). With ENABLE_POD_ENI,
    ``branch_eni_pods`` pods can take a branch ENI instead of a pool address, and
    ``addressable_pods`` is pool plus branch (None where the branch count is unknown).
    """

    instance: str
    cni_version: str
    prefix_delegation: bool
    custom_networking: bool
    max_eni: int | None
    pod_eni: bool
    node_default: int
    node_default_source: str
    calculator_prefix_delegation: bool
    calculator_max_allowed: int
    calculator_recommended: int | None
    calculator_unavailable: str | None
    vcpus: int | None
    vcpus_source: str | None
    vcpu_ceiling: int | None
    ipamd_prefix_delegation: bool
    ipamd_pod_addresses: int
    ipamd_cards: tuple[CardCapacity, ...]
    branch_enis: int | None
    branch_eni_pods: int | None
    addressable_pods: int | None
    formulas: Mapping[str, str]
    notes: tuple[str, ...]

    @property
    def ipv6(self) -> bool:
        """A report for an IPv6 node (``max_pods_report(..., ipv6=True)``: /80s per card)."""
        return any(card.per_eni == IPV6_PREFIX_SIZE for card in self.ipamd_cards)

    def calculator_output(self, show_max_allowed: bool = False) -> int | None:
        """The number ``max-pods-calculator.sh`` prints for these flags (None: vCPUs unknown)."""
        return self.calculator_max_allowed if show_max_allowed else self.calculator_recommended


def _min_term(values: list[int]) -> str:
    distinct = list(dict.fromkeys(values))
    return str(distinct[0]) if len(distinct) == 1 else f"min({', '.join(map(str, distinct))})"


def _per_eni_term(limits: InstanceLimits, prefixes: bool) -> str:
    slots = f"({limits.ipv4_per_eni} - 1)"
    return f"{slots} prefixes x {PREFIX_SIZE}" if prefixes else f"{slots} IPv4"


def _enis_word(term: str) -> str:
    return f"{term} ENI" if term == "1" else f"{term} ENIs"


def _calculator_formula(
    limits: InstanceLimits, max_eni: int | None, custom: bool, prefixes: bool, value: int
) -> str:
    term = str(limits.max_enis) if max_eni is None else f"min({max_eni}, {limits.max_enis})"
    if custom:
        term = f"({term} - 1)"
    return f"{_enis_word(term)} x {_per_eni_term(limits, prefixes)} + 2 = {value}"


def _ipamd_formula(limits: InstanceLimits, config: Config, cards: tuple[CardCapacity, ...]) -> str:
    parts = []
    for card in cards:
        limits_seen = [limits.max_enis, limits.max_interfaces(card.network_card)]
        if config.max_eni is not None:
            limits_seen.insert(0, config.max_eni)
        term = _min_term(limits_seen)
        if card.primary_skipped:
            term += " - 1 primary"
        if card.trunk_slot:
            term += " - 1 trunk"
        if card.primary_skipped or card.trunk_slot:
            term = f"({term})"
        per_eni = _per_eni_term(limits, card.prefix_delegation)
        parts.append(f"card {card.network_card}: {_enis_word(term)} x {per_eni}")
    total = sum(card.pod_addresses for card in cards)
    pods = f" (+ {HOST_NETWORK_PODS} host-network pods = {total + HOST_NETWORK_PODS} pods)"
    if len(cards) == 1:
        return f"{parts[0]} = {total}{pods}"
    subtotals = " + ".join(str(card.pod_addresses) for card in cards)
    return f"{' + '.join(parts)} = {subtotals} = {total}{pods}"


def max_pods_report(
    limits: InstanceLimits,
    *,
    cni_version: str = DEFAULT_CNI_VERSION,
    prefix_delegation: bool = False,
    custom_networking: bool = False,
    max_eni: int | None = None,
    vcpus: int | None = None,
    config: Config | None = None,
    pod_eni: bool = False,
    ipv6: bool = False,
) -> MaxPodsReport:
    """The node default, the EKS calculator's recommendation and max allowed (for these
    calculator flags), and ipamd's addressable pod IPs, with formulas and notes.

    ``config`` is the aws-node configuration for ipamd's figure; by default the one the flags
    describe (prefix delegation, custom networking, MAX_ENI, ENABLE_POD_ENI: the calculator
    has no such flag). ``vcpus`` overrides the catalog's vCPU count. Bad flags raise
    ``ConfigError`` naming them. ``ipv6``: IPv6 node.
    """
    allowed = calculator_max_pods(
        limits,
        cni_version=cni_version,
        prefix_delegation=prefix_delegation,
        custom_networking=custom_networking,
        max_eni=max_eni,
        show_max_allowed=True,
        vcpus=vcpus,
    )
    if config is None:
        config = Config(
            prefix_delegation=prefix_delegation,
            custom_networking=custom_networking,
            max_eni=max_eni,
            pod_eni=pod_eni,
        )
    elif not isinstance(config, Config):
        raise ConfigError("config", config, "must be a Config")
    cpus = vcpus if vcpus is not None else limits.vcpus
    ceiling = None if cpus is None else vcpu_ceiling(cpus)
    cards = ipamd_card_capacities(limits, config)
    pool = sum(card.pod_addresses for card in cards)
    branch = branch_eni_pods(limits, config.for_instance(limits))
    report = MaxPodsReport(
        instance=limits.name,
        cni_version=cni_version,
        prefix_delegation=prefix_delegation,
        custom_networking=custom_networking,
        max_eni=max_eni,
        pod_eni=pod_eni,
        node_default=node_default_max_pods(limits),
        node_default_source=node_default_source(limits),
        calculator_prefix_delegation=calculator_prefix_delegation(
            limits, cni_version=cni_version, prefix_delegation=prefix_delegation
        ),
        calculator_max_allowed=allowed,
        calculator_recommended=None if ceiling is None else min(ceiling, allowed),
        calculator_unavailable=None
        if cpus is not None
        else f"the vCPU count of {limits.name} is not in the catalog, so the 110/250 ceiling "
        "cannot be chosen; pass the vCPU count, or use the max allowed",
        vcpus=cpus,
        vcpus_source=None if cpus is None else ("given" if vcpus is not None else "catalog"),
        vcpu_ceiling=ceiling,
        ipamd_prefix_delegation=config.for_instance(limits).prefix_delegation,
        ipamd_pod_addresses=pool,
        ipamd_cards=cards,
        branch_enis=limits.branch_enis,
        branch_eni_pods=branch,
        addressable_pods=None if branch is None else pool + branch,
        formulas=types.MappingProxyType({}),
        notes=(),
    )
    report = attrs.evolve(
        report,
        formulas=types.MappingProxyType(_formulas(limits, config, report)),
        notes=tuple(_notes(limits, config, report)),
    )
    return _ipv6_figures(limits, config, report) if ipv6 else report


def _ipv6_figures(limits: InstanceLimits, config: Config, report: MaxPodsReport) -> MaxPodsReport:
    """IPv6 (spec 4.6, ``_ipv6.max_pods_words``): one /80 per managed card, never the limit."""
    managed = limits.card_indices if config.multi_nic else (0,)
    cards = tuple(CardCapacity(card, 1, 0, 0, IPV6_PREFIX_SIZE, True) for card in managed)
    formula, note = max_pods_words(
        limits, config.custom_networking, len(cards), report.node_default
    )
    return attrs.evolve(
        report, ipamd_prefix_delegation=True, ipamd_cards=cards, notes=(note,),
        ipamd_pod_addresses=sum(card.pod_addresses for card in cards),
        formulas=types.MappingProxyType({**report.formulas, "ipamd_pod_addresses": formula}),
    )  # fmt: skip


def _vcpus_word(count: int) -> str:
    return "1 vCPU" if count == 1 else f"{count} vCPUs"


def _formulas(limits: InstanceLimits, config: Config, report: MaxPodsReport) -> dict[str, str]:
    """Each figure's formula with the numbers filled in."""
    default = report.node_default
    formula_value = limits.max_enis * limits.cidrs_per_eni + HOST_NETWORK_PODS
    default_formula = f"{_enis_word(str(limits.max_enis))} x ({limits.ipv4_per_eni} - 1) IPv4 + 2"
    if report.node_default_source == NODE_DEFAULT_FILE:
        same = "=" if formula_value == default else f"the formula gives {formula_value}:"
        default_text = f"{NODE_DEFAULT_FILE} lists {default} ({same} {default_formula})"
    else:
        default_text = (
            f"{default_formula} = {default} (nodeadm's formula; not in {NODE_DEFAULT_FILE})"
        )
    cpus, ceiling = report.vcpus, report.vcpu_ceiling
    if cpus is None or ceiling is None:
        recommended_text = f"unknown: {report.calculator_unavailable}"
    else:
        low = cpus <= LOW_CPU_THRESHOLD
        rule = f"{LOW_CPU_THRESHOLD} or fewer" if low else f"more than {LOW_CPU_THRESHOLD}"
        given = ", given" if report.vcpus_source == "given" else ""
        recommended_text = (
            f"min({ceiling}, {report.calculator_max_allowed}) = "
            f"{report.calculator_recommended} "
            f"(ceiling {ceiling} for {_vcpus_word(cpus)}{given}: {rule})"
        )
    formulas = {
        "node_default": default_text,
        "calculator_recommended": recommended_text,
        "calculator_max_allowed": _calculator_formula(
            limits,
            report.max_eni,
            report.custom_networking,
            report.calculator_prefix_delegation,
            report.calculator_max_allowed,
        ),
        "ipamd_pod_addresses": _ipamd_formula(limits, config, report.ipamd_cards),
    }
    if config.for_instance(limits).pod_eni:
        formulas["addressable_pods"] = pod_eni_formula(
            report.ipamd_pod_addresses, report.branch_eni_pods
        )
    return formulas


def _notes(limits: InstanceLimits, config: Config, report: MaxPodsReport) -> list[str]:
    """Plain-English sentences where the figures disagree, and why."""
    name, default, max_eni = limits.name, report.node_default, report.max_eni
    effective = config.for_instance(limits)
    recommended = report.calculator_recommended
    target = recommended if recommended is not None else report.calculator_max_allowed
    addresses = report.ipamd_pod_addresses
    notes: list[str] = []
    old_cni = parse_cni_version(report.cni_version) < PREFIX_DELEGATION_MIN_CNI
    minimum = ".".join(map(str, PREFIX_DELEGATION_MIN_CNI)) + ".0"
    if report.prefix_delegation and not limits.supports_prefix_delegation:
        notes.append(
            f"{name} does not support prefix delegation (hypervisor {limits.hypervisor}, not "
            "Nitro or bare metal): ipamd silently falls back to secondary IPs, and the "
            "calculator counts secondary IPs too."
        )
    elif report.prefix_delegation and old_cni:
        notes.append(
            f"CNI {report.cni_version} is older than {minimum}: the calculator ignores prefix "
            f"delegation and counts secondary IPs. VPC CNI supports prefixes from {minimum}; "
            "the ipamd figure here is for the modelled release, which delegates them."
        )
    elif report.prefix_delegation and not report.calculator_prefix_delegation:
        described = calculator_hypervisor(limits)
        gives = "no hypervisor" if described in ("", "unknown") else f"{described!r}"
        notes.append(
            f"{name} is bare metal: ipamd delegates /28 prefixes there (it accepts Nitro or "
            "bare metal), but the calculator counts prefixes only when DescribeInstanceTypes "
            f"says hypervisor 'nitro', and it gives {gives} for this type; so the calculator's "
            "figures are the secondary-IP ones."
        )
    if effective.prefix_delegation and default < target:
        notes.append(
            f"The node default ({default}) ignores prefix delegation: with it on, set kubelet "
            f"max pods yourself (the calculator recommends {target}); otherwise the node stays "
            f"at {default} pods."
        )
    if recommended is not None and report.vcpus is not None and recommended < default:
        notes.append(
            f"The calculator's recommendation ({recommended}) is below the node default "
            f"({default}): it caps pods at {report.vcpu_ceiling} for "
            f"{_vcpus_word(report.vcpus)}, and the node default has no vCPU ceiling."
        )
    if report.vcpus_source == "given" and limits.vcpus not in (None, report.vcpus):
        notes.append(
            f"The vCPU count given ({report.vcpus}) differs from the catalog's "
            f"({limits.vcpus}) for {name}; the ceiling uses {report.vcpus}."
        )
    if report.custom_networking:
        left = eks_enis_for_pods(limits, max_eni=max_eni, custom_networking=True)
        cap = "" if max_eni is None else f" --cni-max-eni {max_eni} is applied first, then"
        notes.append(
            "Custom networking: the primary ENI's subnet hosts no pods, so one ENI fewer "
            f"carries pod addresses;{cap} the calculator subtracts the primary ENI "
            f"({_enis_word(str(left))} left)."
        )
    if max_eni is not None and max_eni > limits.max_enis:
        notes.append(
            f"--cni-max-eni {max_eni} is above the {limits.max_enis} ENIs {name} allows on "
            f"its default card: both the calculator and ipamd use {limits.max_enis}."
        )
    reach = report.addressable_pods if effective.pod_eni else None  # branch pods: no pool IP
    if default - HOST_NETWORK_PODS > (addresses if reach is None else reach):
        notes.append(
            f"With the node default max pods ({default}) kubelet admits up to "
            f"{default - HOST_NETWORK_PODS} pods that need an address, but ipamd can address "
            f"only {addresses} here: the rest wait for an IP (ContainerCreating). Set max pods "
            f"to {min(target, addresses + HOST_NETWORK_PODS)}."
        )
    if effective.multi_nic and len(limits.card_indices) > 1:
        notes.append(
            "ENABLE_MULTI_NIC: ipamd also grows ENIs on network cards "
            f"{', '.join(str(c) for c in limits.card_indices if c != 0)}; the calculator "
            "counts only the default card."
        )
    flags = (report.prefix_delegation, report.custom_networking, max_eni)
    if (config.prefix_delegation, config.custom_networking, config.max_eni) != flags:
        notes.append(
            "The aws-node configuration differs from the calculator's flags (prefix "
            f"delegation {config.prefix_delegation}, custom networking "
            f"{config.custom_networking}, MAX_ENI {config.max_eni}): the calculator's "
            "figures follow the flags, ipamd's the configuration."
        )
    if effective.disable_provisioning:
        notes.append(
            "Resource provisioning is disabled: ipamd attaches and allocates nothing itself, so "
            "its figure is what the ENIs could hold if something else fills them."
        )
    without_trunk = ipamd_pod_addresses(limits, attrs.evolve(config, pod_eni=False))
    notes.extend(pod_eni_notes(limits, config, addresses, without_trunk, default))
    return notes
