"""What ipamd's pool can hold: ``CardCapacity`` per managed card and ``ipamd_pod_addresses``, the
one home of that rule (spec 1.5, 2.2-2.4), built on ``CardPolicy`` and ``InstanceLimits``.

The max-pods report and ``explain`` read it; neither restates it.
"""

from __future__ import annotations

import attrs

from vpccni_model._config import Config
from vpccni_model._errors import ConfigError
from vpccni_model._limits import InstanceLimits
from vpccni_model._policy import CardPolicy

__all__ = ["CardCapacity", "ipamd_card_capacities", "ipamd_pod_addresses"]

#: ipamd puts the primary ENI on card 0 (``NodeState.boot``).
_PRIMARY_CARD = 0


@attrs.frozen
class CardCapacity:
    """What ipamd can grow on one network card: its ENIs, the ones that hold no pod addresses,
    and the pod addresses per ENI in the effective mode."""

    network_card: int
    #: ENIs ipamd may attach on the card: MAX_ENI (applied per card) within EC2's card limit.
    enis: int
    #: 1 where the primary ENI is not grown (custom networking, card 0).
    primary_skipped: int
    #: 1 where a slot is kept for the trunk ENI (ENABLE_POD_ENI, card 0).
    trunk_slot: int
    #: Pod addresses per ENI (ipamd's ``maxIPsPerENI``).
    per_eni: int
    prefix_delegation: bool

    @property
    def pod_enis(self) -> int:
        """ENIs whose addresses go to pods."""
        return max(self.enis - self.primary_skipped - self.trunk_slot, 0)

    @property
    def pod_addresses(self) -> int:
        return self.pod_enis * self.per_eni


def ipamd_card_capacities(limits: InstanceLimits, config: Config) -> tuple[CardCapacity, ...]:
    """Per managed card (card 0; every card with ENABLE_MULTI_NIC), what ipamd can grow there
    with ``config`` on this instance type (spec 1.5, 2.2-2.4): the effective mode (prefix
    delegation falls back where unsupported), MAX_ENI per card, the trunk slot on card 0, and
    the primary ENI left ungrown under custom networking."""
    if not isinstance(limits, InstanceLimits):
        raise ConfigError("limits", limits, "must be an InstanceLimits")
    if not isinstance(config, Config):
        raise ConfigError("config", config, "must be a Config")
    effective = config.for_instance(limits)
    cards = limits.card_indices if effective.multi_nic else (_PRIMARY_CARD,)
    capacities = []
    for card in cards:
        policy = CardPolicy.of(config, limits, card)
        capacities.append(
            CardCapacity(
                network_card=card,
                enis=min(policy.max_eni, limits.max_interfaces(card)),
                primary_skipped=int(policy.skip_primary and card == _PRIMARY_CARD),
                trunk_slot=int(policy.reserve_trunk_slot),
                per_eni=limits.pod_addresses_per_eni(policy.prefix_delegation),
                prefix_delegation=policy.prefix_delegation,
            )
        )
    return tuple(capacities)


def ipamd_pod_addresses(limits: InstanceLimits, config: Config) -> int:
    """Pod addresses ipamd's pool can hold at most, over its managed cards (before the
    max-pods cap, at which ipamd stops growing the pool)."""
    return sum(card.pod_addresses for card in ipamd_card_capacities(limits, config))
