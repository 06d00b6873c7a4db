"""The aws-node environment as ipamd reads it: variable names, the shipped manifest's values,
and Go's parsers (``strconv.Atoi``, ``strconv.ParseBool``, spec 1.1).

Parsing lives here so that ``Config.from_env`` reads as the list of knobs it is, and so that
other readers of an environment (manifests, node dumps) share the exact Go semantics.
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping
from typing import Final

from vpccni_model._checks import INT64_MAX, INT64_MIN

#: Go ``strconv.Atoi`` accepts exactly this (ASCII digits only; ``\d`` would take Unicode digits).
_ATOI_RE: Final = re.compile(r"[+-]?[0-9]+")

#: Go ``strconv.ParseBool``: the only spellings it accepts.
_GO_TRUE: Final = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE: Final = frozenset({"0", "f", "F", "FALSE", "false", "False"})

#: Valid values of NETWORK_POLICY_ENFORCING_MODE, compared after Go ``strings.ToLower``.
NETWORK_POLICY_MODES: Final = frozenset({"none", "strict", "standard"})

# Environment variable names, as ipamd spells them.
WARM_ENI_TARGET: Final = "WARM_ENI_TARGET"
WARM_IP_TARGET: Final = "WARM_IP_TARGET"
MINIMUM_IP_TARGET: Final = "MINIMUM_IP_TARGET"
WARM_PREFIX_TARGET: Final = "WARM_PREFIX_TARGET"
ENABLE_PREFIX_DELEGATION: Final = "ENABLE_PREFIX_DELEGATION"
MAX_ENI: Final = "MAX_ENI"
IP_COOLDOWN_PERIOD: Final = "IP_COOLDOWN_PERIOD"
CUSTOM_NETWORK_CFG: Final = "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG"
ENABLE_POD_ENI: Final = "ENABLE_POD_ENI"
MANAGE_ENIS_NON_SCHEDULABLE: Final = "AWS_MANAGE_ENIS_NON_SCHEDULABLE"
DISABLE_PROVISIONING: Final = "DISABLE_NETWORK_RESOURCE_PROVISIONING"
ENABLE_IMDS_ONLY_MODE: Final = "ENABLE_IMDS_ONLY_MODE"
ENABLE_MULTI_NIC: Final = "ENABLE_MULTI_NIC"
ENABLE_SUBNET_DISCOVERY: Final = "ENABLE_SUBNET_DISCOVERY"
MANAGE_UNTAGGED_ENI: Final = "MANAGE_UNTAGGED_ENI"
ENABLE_IPV4: Final = "ENABLE_IPv4"
ENABLE_IPV6: Final = "ENABLE_IPv6"
NETWORK_POLICY_ENFORCING_MODE: Final = "NETWORK_POLICY_ENFORCING_MODE"

#: Every environment variable ``from_env`` reads.
ENV_VARIABLES: Final = (
    WARM_ENI_TARGET,
    WARM_IP_TARGET,
    MINIMUM_IP_TARGET,
    WARM_PREFIX_TARGET,
    ENABLE_PREFIX_DELEGATION,
    MAX_ENI,
    IP_COOLDOWN_PERIOD,
    CUSTOM_NETWORK_CFG,
    ENABLE_POD_ENI,
    MANAGE_ENIS_NON_SCHEDULABLE,
    DISABLE_PROVISIONING,
    ENABLE_IMDS_ONLY_MODE,
    ENABLE_MULTI_NIC,
    ENABLE_SUBNET_DISCOVERY,
    MANAGE_UNTAGGED_ENI,
    ENABLE_IPV4,
    ENABLE_IPV6,
    NETWORK_POLICY_ENFORCING_MODE,
)

#: What the shipped DaemonSet manifest (``config/master/aws-k8s-cni.yaml``, spec 1.2 "Manifest"
#: column) sets explicitly. ``Config.from_env({**MANIFEST_ENV, **overrides})`` is what an EKS
#: node with those overrides runs; ``Config.from_env(MANIFEST_ENV)`` equals
#: ``Config(warm_prefix_target=1)``. Read-only.
MANIFEST_ENV: Final[Mapping[str, str]] = types.MappingProxyType(
    {
        WARM_ENI_TARGET: "1",
        WARM_PREFIX_TARGET: "1",
        ENABLE_PREFIX_DELEGATION: "false",
        CUSTOM_NETWORK_CFG: "false",
        ENABLE_POD_ENI: "false",
        DISABLE_PROVISIONING: "false",
        ENABLE_IMDS_ONLY_MODE: "false",
        ENABLE_MULTI_NIC: "false",
        ENABLE_IPV4: "true",
        ENABLE_IPV6: "false",
        ENABLE_SUBNET_DISCOVERY: "true",
    }
)


# ---------------------------------------------------------------------------------------------
# Go parsing primitives (spec 1.1)


def go_atoi(text: str) -> int | None:
    """Go ``strconv.Atoi`` on a 64-bit platform: the int, or None where Go returns an error.

    Accepts exactly ``[+-]?[0-9]+`` whose value fits in int64. Whitespace, ``_``, ``"1.0"``,
    ``""`` and out-of-range values fail (Python's ``int()`` would accept the first two).
    """
    if _ATOI_RE.fullmatch(text) is None:
        return None
    if len(text.lstrip("+-").lstrip("0")) > 19:
        return None  # more digits than any int64 (and past Python's int-from-str limit)
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        return None
    return value


def go_parse_bool(text: str) -> bool | None:
    """Go ``strconv.ParseBool``: the bool, or None where Go returns an error (``""``, ``yes``)."""
    if text in _GO_TRUE:
        return True
    if text in _GO_FALSE:
        return False
    return None


def go_to_lower(text: str) -> str:
    """Go ``strings.ToLower`` (simple per-rune mapping) for the purpose of matching ASCII words.

    Python's ``str.lower`` uses full case mapping, which differs only for U+0130 (capital I with
    dot above): Go maps it to ``i``, Python to ``i`` plus a combining dot.
    """
    return text.replace("\u0130", "i").lower()


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    """``utils.GetBoolAsStringEnvVar``: unset or unparsable (including ``""``) gives the default."""
    raw = env.get(name)
    if raw is None:
        return default
    parsed = go_parse_bool(raw)
    return default if parsed is None else parsed


def env_int(env: Mapping[str, str], name: str) -> int | None:
    """The Atoi value of a variable, or None when it is unset or fails to parse."""
    raw = env.get(name)
    return None if raw is None else go_atoi(raw)


def non_negative_or(value: int | None, default: int) -> int:
    """ipamd's target parsers: a parsed value >= 0 is kept; negative or unparsable -> default."""
    return value if value is not None and value >= 0 else default
