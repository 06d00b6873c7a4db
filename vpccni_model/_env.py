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


#: Every variable the aws-node container of v1.23.1 reads, with the part that reads it (a name
#: outside this set is ignored by aws-node, so a typo there passes silently). Gathered from the
#: Go source at b52188387 (``git grep -n 'Getenv\|LookupEnv\|envVar\|EnvVar' -- pkg cmd``,
#: the ``env...`` constants those calls name, and ``utils.GetEnv``) and from the shipped
#: ``config/master/aws-k8s-cni.yaml``; plus the variables of the libraries it links that EKS
#: users set (AWS SDK for Go v2, Go's HTTP proxy support, client-go's in-cluster config).
#: ``cmd/cni-metrics-helper`` is a separate deployment and is left out.
_READERS: Final = {
    "ipamd": (
        *ENV_VARIABLES,
        "ADDITIONAL_ENI_TAGS",
        "ANNOTATE_POD_IP",
        "AWS_EC2_ENDPOINT",
        "AWS_VPC_K8S_CNI_BACKING_STORE",
        "AWS_VPC_K8S_CNI_LOGLEVEL",
        "AWS_VPC_K8S_CNI_LOG_FILE",
        "CLUSTER_ENDPOINT",
        "CLUSTER_NAME",
        "DISABLE_INTROSPECTION",
        "DISABLE_LEAKED_ENI_CLEANUP",
        "DISABLE_METRICS",
        "ENI_CONFIG_ANNOTATION_DEF",
        "ENI_CONFIG_LABEL_DEF",
        "HTTP_TIMEOUT",
        "INTROSPECTION_BIND_ADDRESS",
        "MY_NODE_NAME",
        "MY_POD_NAME",
        "VPC_CNI_VERSION",
    ),
    "ipamd's node networking (SNAT, MTU, iptables)": (
        "AWS_EXTERNAL_SERVICE_CIDRS",
        "AWS_VPC_CNI_NODE_PORT_SUPPORT",
        "AWS_VPC_ENI_MTU",
        "AWS_VPC_K8S_CNI_CONNMARK",
        "AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS",
        "AWS_VPC_K8S_CNI_EXTERNALSNAT",
        "AWS_VPC_K8S_CNI_RANDOMIZESNAT",
        "AWS_VPC_K8S_CNI_VETHPREFIX",
        "ENABLE_V6_EGRESS",
        "POD_SECURITY_GROUP_ENFORCING_MODE",
    ),
    "the entrypoint, which writes the CNI plugin's configuration": (
        "AWS_VPC_K8S_EGRESS_V4_PLUGIN_LOG_FILE",
        "AWS_VPC_K8S_EGRESS_V6_PLUGIN_LOG_FILE",
        "AWS_VPC_K8S_PLUGIN_LOG_FILE",
        "AWS_VPC_K8S_PLUGIN_LOG_LEVEL",
        "DISABLE_POD_V6",
        "ENABLE_BANDWIDTH_PLUGIN",
        "ENABLE_V4_EGRESS",
        "HOST_CNI_BIN_PATH",
        "HOST_CNI_CONFDIR_PATH",
        "POD_MTU",
    ),
    "the init container aws-vpc-cni-init": ("DISABLE_TCP_EARLY_DEMUX",),
    "the AWS SDK (credentials, region)": (
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_ROLE_ARN",
        "AWS_STS_REGIONAL_ENDPOINTS",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ),
    "Go's HTTP client (proxies)": (
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "NO_PROXY",
        "https_proxy",
        "http_proxy",
        "no_proxy",
    ),
    "the Kubernetes client (in-cluster config)": (
        "KUBERNETES_SERVICE_HOST",
        "KUBERNETES_SERVICE_PORT",
    ),
}


def _by_name() -> dict[str, str]:
    readers: dict[str, str] = {}
    for reader, names in _READERS.items():
        for name in names:
            readers.setdefault(name, reader)
    return dict(sorted(readers.items()))


#: Variable name -> the part of aws-node that reads it (the first listed, for names read twice),
#: sorted by name. Read-only.
#: Variables the AWS SDK reads for ipamd's EC2 client (``config.LoadDefaultConfig``), not
#: ipamd itself: the simulator's ``SdkRetry.from_env`` models them.
AWS_MAX_ATTEMPTS: Final = "AWS_MAX_ATTEMPTS"
AWS_RETRY_MODE: Final = "AWS_RETRY_MODE"
SDK_VARIABLES: Final = frozenset({AWS_MAX_ATTEMPTS, AWS_RETRY_MODE})

AWS_NODE_VARIABLES: Final[Mapping[str, str]] = types.MappingProxyType(_by_name())


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
