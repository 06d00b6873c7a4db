"""What one network card's pool is held to (``CardPolicy``), and the max-pods cap ipamd uses.

The one home of the rules that differ by card: on cards above 0 ipamd uses W=1, M=1 whatever
is configured and counts their targets in IPs even in prefix mode (spec 1.3, Q5); MAX_ENI
applies per card; only card 0 keeps a slot for the trunk ENI. A policy is resolved once per
(configuration, instance, card) and memoized: every tick asks for one per card.
"""

from __future__ import annotations

import functools

import attrs

from vpccni_model._config import Config
from vpccni_model._limits import InstanceLimits
from vpccni_model._maxpods import node_default_max_pods
from vpccni_model._state import NodeState


@attrs.frozen(cache_hash=True)
class CardPolicy:
    """What one network card's pool is held to: the targets, mode, caps and timers ipamd's
    functions read for that card, resolved once from the node's configuration.

    ``prefix_delegation`` is the effective mode (``Config.for_instance``). On cards above 0,
    ``warm_ip_target`` and ``minimum_ip_target`` are 1 whatever the configuration says, and
    ``prefix_units`` is False: their targets count IPs even in prefix mode (Q5).
    """

    network_card: int
    prefix_delegation: bool
    warm_ip_target: int
    minimum_ip_target: int
    warm_prefix_target: int
    warm_eni_target: int
    limits: InstanceLimits
    max_pods: int
    max_eni: int
    reserve_trunk_slot: bool
    skip_primary: bool
    ip_cooldown_period: float
    min_eni_lifetime: float

    @classmethod
    def of(cls, config: Config, limits: InstanceLimits, network_card: int = 0) -> CardPolicy:
        """The policy of ``network_card`` on an instance of type ``limits`` running ``config``
        (resolved for the instance here; memoized, since every tick asks for it)."""
        return _policy(config.for_instance(limits), limits, network_card)

    @classmethod
    def for_state(cls, state: NodeState, network_card: int) -> CardPolicy:
        """The policy of one card of a booted node (whose configuration is resolved already)."""
        return _policy(state.config, state.limits, network_card)

    @property
    def targets_defined(self) -> bool:
        """``warmIPTargetsDefined`` for this card: always on cards above 0 (W=M=1)."""
        return self.warm_ip_target != 0 or self.minimum_ip_target != 0

    @property
    def prefix_units(self) -> bool:
        """Whether the warm-IP targets convert to /28s: prefix mode on card 0 only (Q5)."""
        return self.prefix_delegation and self.network_card == 0

    @property
    def cidrs_per_eni(self) -> int:
        return self.limits.cidrs_per_eni


@functools.lru_cache(maxsize=1024)
def _policy(effective: Config, limits: InstanceLimits, network_card: int) -> CardPolicy:
    main = network_card == 0
    return CardPolicy(
        network_card=network_card,
        prefix_delegation=effective.prefix_delegation,
        warm_ip_target=effective.warm_ip_target if main else 1,
        minimum_ip_target=effective.minimum_ip_target if main else 1,
        warm_prefix_target=effective.warm_prefix_target,
        warm_eni_target=effective.warm_eni_target,
        limits=limits,
        max_pods=effective_max_pods(limits, effective),
        max_eni=effective.effective_max_eni(limits),
        reserve_trunk_slot=effective.pod_eni and main,
        skip_primary=effective.custom_networking,
        ip_cooldown_period=effective.ip_cooldown_period,
        min_eni_lifetime=effective.min_eni_lifetime,
    )


def effective_max_pods(limits: InstanceLimits, config: Config) -> int:
    """The kubelet max pods ipamd caps the pool with (spec 2.5).

    ``config.max_pods`` when set; otherwise the node default kubelet gets (eni-max-pods.txt,
    or nodeadm's formula for a type it lacks), which is the secondary-IP figure even in
    prefix mode (Q15).
    """
    if config.max_pods is not None:
        return config.max_pods
    return _published_max_pods(limits)


@functools.lru_cache(maxsize=4096)
def _published_max_pods(limits: InstanceLimits) -> int:
    return node_default_max_pods(limits)
