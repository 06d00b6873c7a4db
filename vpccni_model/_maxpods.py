"""Max pods as the EKS tools compute it: the node default and the EKS max-pods calculator.

Kubelet's max pods is set by the node bootstrap, not by ipamd; ipamd only reads it and stops
growing its pool there. Users meet three figures: the node default (AL2's
``eni-max-pods.txt``, AL2023 nodeadm's ``DefaultMaxENIs * (IPv4 per ENI - 1) + 2``), the EKS
max-pods calculator's recommendation (``amazon-eks-ami`` ``max-pods-calculator.sh``, which
adds prefix delegation, custom networking, a MAX_ENI cap and a vCPU ceiling), and what
ipamd's pool can address. This module owns the first two; the behaviour follows the shell
script at ``amazon-eks-ami`` commit 0ab842803d82 and nodeadm's ``eni_max_pods.go``.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import types
from collections.abc import Mapping

from vpccni_model._errors import ConfigError
from vpccni_model._ipv4 import PREFIX_SIZE
from vpccni_model._limits import (
    HOST_NETWORK_PODS,
    InstanceLimits,
    eks_enis_for_pods,
    vcpu_ceiling,
)

__all__ = [
    "DEFAULT_CNI_VERSION",
    "PREFIX_DELEGATION_MIN_CNI",
    "NODE_DEFAULT_FILE",
    "NODE_DEFAULT_FORMULA",
    "calculator_hypervisor",
    "calculator_max_pods",
    "calculator_prefix_delegation",
    "node_default_max_pods",
    "node_default_source",
    "parse_cni_version",
    "published_max_pods",
    "vcpu_ceiling",
]

#: The VPC CNI release this model follows, the calculator's ``--cni-version`` by default.
DEFAULT_CNI_VERSION = "1.23.1"
#: The calculator counts prefixes only for CNI 1.9.0 and later (major > 1, or 1 and minor > 8).
PREFIX_DELEGATION_MIN_CNI = (1, 9)

#: Where the node default comes from: AL2's file for the types it lists, else the formula
#: nodeadm (AL2023) and AL2's fallback (the calculator with --show-max-allowed) both use.
NODE_DEFAULT_FILE = "eni-max-pods.txt"
NODE_DEFAULT_FORMULA = "nodeadm formula"

_VERSION_RE = re.compile(r"v?([0-9]+)\.([0-9]+)(?:\.[0-9]+)?(?:[-+][0-9A-Za-z.+-]*)?")


def parse_cni_version(text: str) -> tuple[int, int]:
    """``(major, minor)`` of a CNI version such as ``1.9.0``, ``1.23`` or ``v1.23.1``.

    The calculator splits on dots and compares major and minor as integers; it needs both
    (given ``1`` alone it stops with an unbound-variable error). A leading ``v``, as EKS add-on
    versions are spelled (``v1.18.3-eksbuild.1``), is accepted here; the script itself would
    stop with the same error on it.
    """
    match = _VERSION_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ConfigError("cni_version", text, "must look like 1.9.0 (major.minor[.patch])")
    return int(match[1]), int(match[2])


def node_default_max_pods(limits: InstanceLimits) -> int:
    """The node's default max pods: AL2's ``eni-max-pods.txt`` value for the types it lists
    (looked up by name, as bootstrap.sh does), else nodeadm's ``ENIs of the default card x
    (IPv4 per ENI - 1) + 2``. The two agree for every listed type. Neither knows about prefix
    delegation or custom networking: this is the figure in every mode."""
    published = published_max_pods(limits.name)
    if published is not None:
        return published
    return limits.max_enis * limits.cidrs_per_eni + HOST_NETWORK_PODS


def node_default_source(limits: InstanceLimits) -> str:
    """``NODE_DEFAULT_FILE`` when the type is listed there, else ``NODE_DEFAULT_FORMULA``."""
    listed = published_max_pods(limits.name) is not None
    return NODE_DEFAULT_FILE if listed else NODE_DEFAULT_FORMULA


@functools.cache
def _published() -> Mapping[str, int]:
    resource = importlib.resources.files("vpccni_model") / "data" / "eni-max-pods.txt"
    table: dict[str, int] = {}
    for line in resource.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) == 2 and not line.startswith("#"):
            table[fields[0]] = int(fields[1])
    return types.MappingProxyType(table)


def published_max_pods(name: str) -> int | None:
    """EKS's published value (``eni-max-pods.txt``, 1,197 types), or None for a type it lacks."""
    return _published().get(name)


def calculator_hypervisor(limits: InstanceLimits) -> str:
    """The hypervisor the calculator reads: DescribeInstanceTypes' (``""`` when it gives none,
    as for bare metal), or, for a type instance_specs.csv lacks, ipamd's table, which records
    the same API's answer (``unknown`` for none)."""
    described = limits.described_hypervisor
    return described if described is not None else limits.hypervisor


def calculator_prefix_delegation(
    limits: InstanceLimits, *, cni_version: str, prefix_delegation: bool
) -> bool:
    """Whether the calculator counts /28 prefixes: the flag is on, the CNI is 1.9.0 or later,
    and the hypervisor is ``nitro`` (bare metal, which gives no hypervisor, does not count,
    although ipamd delegates prefixes there)."""
    new_enough = parse_cni_version(cni_version) >= PREFIX_DELEGATION_MIN_CNI
    return prefix_delegation and new_enough and calculator_hypervisor(limits) == "nitro"


def calculator_max_pods(
    limits: InstanceLimits,
    *,
    cni_version: str = DEFAULT_CNI_VERSION,
    prefix_delegation: bool = False,
    custom_networking: bool = False,
    max_eni: int | None = None,
    show_max_allowed: bool = False,
    vcpus: int | None = None,
) -> int:
    """The EKS max-pods calculator's answer for these flags.

    ENIs for pods are the default card's ENIs, capped by ``max_eni`` (``--cni-max-eni``),
    less one with custom networking (``eks_enis_for_pods``); each gives IPv4-per-ENI - 1
    addresses, or 16 times that with prefixes; plus 2 host-network pods. ``max_eni`` must be
    >= 1: given 0 with custom networking the script prints a negative count.
    Without ``show_max_allowed`` the vCPU ceiling applies, which needs the vCPU count:
    ``vcpus`` overrides the catalog's, and a type with neither raises ConfigError("vcpus").
    """
    if not isinstance(limits, InstanceLimits):
        raise ConfigError("limits", limits, "must be an InstanceLimits")
    for field, flag in (
        ("prefix_delegation", prefix_delegation),
        ("custom_networking", custom_networking),
        ("show_max_allowed", show_max_allowed),
    ):
        if not isinstance(flag, bool):
            raise ConfigError(field, flag, "must be a bool")
    for field, value in (("max_eni", max_eni), ("vcpus", vcpus)):
        if value is not None and (type(value) is not int or value < 1):
            raise ConfigError(field, value, "must be an int >= 1 or None")
    enis = eks_enis_for_pods(limits, max_eni=max_eni, custom_networking=custom_networking)
    per_eni = limits.cidrs_per_eni
    if calculator_prefix_delegation(
        limits, cni_version=cni_version, prefix_delegation=prefix_delegation
    ):
        per_eni *= PREFIX_SIZE
    pods = enis * per_eni + HOST_NETWORK_PODS
    if show_max_allowed:
        return pods
    cpus = vcpus if vcpus is not None else limits.vcpus
    if cpus is None:
        raise ConfigError(
            "vcpus",
            None,
            f"the vCPU count of {limits.name} is not in the catalog; pass it (--vcpus N) "
            "or ask for the uncapped value (--show-max-allowed)",
        )
    return min(vcpu_ceiling(cpus), pods)
