"""Custom networking: the ``ENIConfig`` value, which one a node uses, and where a new ENI goes.

ipamd reads the node's ENIConfig at every ``tryAllocateENI`` (eniconfig.go ``MyENIConfig``):
the name comes from the node (``GetNodeSpecificENIConfigName``), the spec (subnet, security
groups) from the ENIConfig custom resource of that name. The model resolves it once, with
:func:`select_eni_config`, and the node state carries the result from boot or restart
(``NodeState.boot(..., eni_config=...)``): ENIConfigs or node labels edited while ipamd runs
are picked up by Go at its next ENI creation and by the model only at a restart.

:func:`eni_destination` is the one rule for which destination (``_subnets``) an ``AllocateENI``
carries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

import attrs

from vpccni_model._config import Config
from vpccni_model._errors import ConfigError
from vpccni_model._subnets import (
    DISCOVERED_SUBNET,
    PRIMARY_SUBNET,
    ENIConfigSubnet,
    ENIDestination,
)

#: The node label that, when present, names the ENIConfig whatever else is set
#: (``externalEniConfigLabel``: managed out of band, e.g. by the kubelet).
EXTERNAL_LABEL: Final = "vpc.amazonaws.com/externalEniConfig"
#: The default annotation and label key naming a node's ENIConfig.
DEFAULT_KEY: Final = "k8s.amazonaws.com/eniConfig"
#: The ENIConfig name used when the node names none.
DEFAULT_NAME: Final = "default"
#: The label the kubelet sets to the node's availability zone.
ZONE_LABEL: Final = "topology.kubernetes.io/zone"
#: The aws-node variables that rename the annotation and the label key.
ANNOTATION_DEF: Final = "ENI_CONFIG_ANNOTATION_DEF"
LABEL_DEF: Final = "ENI_CONFIG_LABEL_DEF"


def _groups(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ConfigError("security_groups", value, "must be a sequence of security group ids")
    groups = tuple(value)
    for group in groups:
        if type(group) is not str or not group:
            raise ConfigError("security_groups", group, "a security group id is a non-empty str")
    return groups


def _name(_inst: object, attribute: attrs.Attribute[str], value: object) -> None:
    if type(value) is not str or not value:
        raise ConfigError(attribute.name, value, "must be a non-empty str")


@attrs.frozen
class ENIConfig:
    """One ENIConfig custom resource: its ``name`` and its spec's ``subnet`` (a subnet id;
    FakeEC2 names subnets by id) and ``security_groups`` (empty: a new ENI takes the primary
    ENI's, spec 1.5.1)."""

    name: str = attrs.field(validator=_name)
    subnet: str = attrs.field(validator=_name)
    security_groups: tuple[str, ...] = attrs.field(default=(), converter=_groups)


@attrs.frozen
class NoENIConfig:
    """Why a node has no ENIConfig: the ``name`` it looked up, from ``source`` (the external
    label, the annotation or the label key it read, or "default" when the node names none),
    matches no ENIConfig. With custom networking on, ipamd then creates no ENI (spec 1.5.1)."""

    name: str
    source: str

    @property
    def reason(self) -> str:
        return f"no ENIConfig named {self.name!r} (from {self.source})"


def _key(env: Mapping[str, str], variable: str) -> str:
    """``getEniConfigAnnotationDef`` / ``getEniConfigLabelDef``: the variable's value, or the
    default key when it is unset or empty."""
    value = env.get(variable)
    return value if value else DEFAULT_KEY


def eni_config_name(
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    env: Mapping[str, str] | None = None,
) -> tuple[str, str]:
    """``GetNodeSpecificENIConfigName``: (the ENIConfig name, where it came from).

    Precedence: the label ``vpc.amazonaws.com/externalEniConfig``; then the annotation
    ``ENI_CONFIG_ANNOTATION_DEF`` (default ``k8s.amazonaws.com/eniConfig``); then the label
    ``ENI_CONFIG_LABEL_DEF`` (same default); else ``"default"``. A key that is present counts
    even with an empty value (that name then matches no ENIConfig). The availability zone is
    not read by ipamd: zone-named ENIConfigs work through ``ENI_CONFIG_LABEL_DEF=
    topology.kubernetes.io/zone``, the zone label the kubelet sets.
    """
    env = {} if env is None else env
    for what, value in (("labels", labels), ("annotations", annotations), ("env", env)):
        if not isinstance(value, Mapping):
            raise ConfigError(what, value, "must be a mapping of str to str")
    if EXTERNAL_LABEL in labels:
        return labels[EXTERNAL_LABEL], f"label {EXTERNAL_LABEL}"
    annotation = _key(env, ANNOTATION_DEF)
    if annotation in annotations:
        return annotations[annotation], f"annotation {annotation}"
    label = _key(env, LABEL_DEF)
    if label in labels:
        return labels[label], f"label {label}"
    return DEFAULT_NAME, "default"


def select_eni_config(
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    eni_configs: Iterable[ENIConfig],
    env: Mapping[str, str] | None = None,
    *,
    zone: str | None = None,
) -> ENIConfig | NoENIConfig:
    """The node's ENIConfig (``MyENIConfig``): the one named by :func:`eni_config_name`, or a
    :class:`NoENIConfig` saying which name was missing (``ErrNoENIConfig``).

    ``env`` is the aws-node environment (only ``ENI_CONFIG_ANNOTATION_DEF`` and
    ``ENI_CONFIG_LABEL_DEF`` are read); ENIConfig names must be unique. ``zone``, if given, is
    the node's availability zone, taken as the kubelet's ``topology.kubernetes.io/zone``
    label when ``labels`` lacks it: it counts only where that label does (as
    ``ENI_CONFIG_LABEL_DEF``), since ipamd reads labels, not zones.
    """
    by_name: dict[str, ENIConfig] = {}
    for eni_config in eni_configs:
        if not isinstance(eni_config, ENIConfig):
            raise ConfigError("eni_configs", eni_config, "must be ENIConfig values")
        if eni_config.name in by_name:
            raise ConfigError("eni_configs", eni_config.name, "ENIConfig names must be unique")
        by_name[eni_config.name] = eni_config
    if zone is not None:
        if type(zone) is not str or not zone:
            raise ConfigError("zone", zone, "must be a non-empty str or None")
        if isinstance(labels, Mapping) and ZONE_LABEL not in labels:
            labels = {**labels, ZONE_LABEL: zone}
    name, source = eni_config_name(labels, annotations, env)
    found = by_name.get(name)
    return found if found is not None else NoENIConfig(name, source)


def eni_destination(config: Config, eni_config: ENIConfig | None) -> ENIDestination | None:
    """Where ``tryAllocateENI`` puts a new ENI (spec 6.4), or None when it creates nothing:
    custom networking is on and the node has no ENIConfig (``MyENIConfig`` fails first,
    before the resources are even counted).

    Custom networking: the ENIConfig's subnet and groups (subnet discovery is not used for the
    choice, only for ``setupENI``'s exclusion mark). Otherwise subnet discovery, or the
    primary subnet when it is off. An ENIConfig given without custom networking is ignored,
    as ipamd does.
    """
    if config.custom_networking:
        if eni_config is None:
            return None
        return ENIConfigSubnet(
            eni_config.subnet, eni_config.security_groups, config.subnet_discovery
        )
    return DISCOVERED_SUBNET if config.subnet_discovery else PRIMARY_SUBNET


def as_eni_config(value: object) -> ENIConfig | None:
    """What a node keeps: an ENIConfig, or None for none (a :class:`NoENIConfig`, the
    result of a failed :func:`select_eni_config`, is kept as None); else a ConfigError."""
    if value is None or isinstance(value, ENIConfig):
        return value
    if isinstance(value, NoENIConfig):
        return None
    raise ConfigError("eni_config", value, "must be an ENIConfig, a NoENIConfig or None")


def stand_in_eni_config(config: Config, subnet: str) -> ENIConfig | None:
    """The ENIConfig that the steady-state solver, the simulator and the test strategies give
    a node when the caller names none: with custom networking on, ``"default"`` for the
    node's own ``subnet`` with no security groups (so its ENIs go where they went before
    ENIConfigs were modelled); None otherwise. The core never invents one: ``NodeState.boot``
    without ``eni_config`` has none, and with custom networking creates no ENI."""
    if isinstance(config, Config) and config.custom_networking:
        return ENIConfig(DEFAULT_NAME, subnet)
    return None  # (a bad config is NodeState.boot's to report)
