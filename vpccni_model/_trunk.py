"""Security groups for pods: when ipamd signals the VPC resource controller for a trunk ENI
(spec 1.5.2, 7.3 first line, 7.4 step 9).

ipamd never attaches the trunk itself. With ENABLE_POD_ENI it adds the ``SecurityGroupsForPods``
feature to the node's CNINode (``tryEnableSecurityGroupsForPods``), and the resource controller
attaches a trunk ENI to card 0; ipamd then finds it in instance metadata. Before writing, ipamd
checks that card 0 has a free ENI slot for it, and otherwise logs "No slot available for a trunk
ENI to be attached." and writes nothing. :func:`trunk_signal` is that decision.

For max pods (``max_pods_report``): the trunk costs the pool one ENI slot of card 0
(``has_room_for_eni``), and pods with a security group policy get a branch ENI on the trunk
instead of a pool address, up to the instance's branch-ENI count (the
``vpc.amazonaws.com/pod-eni`` resource). :func:`branch_eni_pods`, :func:`pod_eni_formula` and
:func:`pod_eni_notes` give those figures and words.

How often: ipamd calls it in nodeInit and at the start of every pool tick while card 0 has no
trunk ENI. The write itself (``AddFeatureToCNINode``) is idempotent: it reads the CNINode and
patches it only when the feature is missing. So the CNINode is written once per node, at the
first call that finds a slot; every later call is a read that changes nothing, and so is the
call after a restart (the CNINode outlives ipamd). The model emits the write, and only the
write: :func:`request_trunk` gives one ``SignalTrunkENI`` at the first tick the decision says
signal and ``NodeState.trunk_requested`` is still false, and sets it. Emitting the read every
tick would make every tick of a node without a trunk look busy for no change.
"""

from __future__ import annotations

import attrs

from vpccni_model._actions import SignalTrunkENI
from vpccni_model._config import Config
from vpccni_model._limits import HOST_NETWORK_PODS, InstanceLimits
from vpccni_model._policy import CardPolicy
from vpccni_model._state import NodeState

__all__ = [
    "TRUNK_ATTACHED",
    "TRUNK_NO_SLOT",
    "TRUNK_OFF",
    "TRUNK_SLOT",
    "TrunkSignal",
    "branch_eni_pods",
    "pod_eni_formula",
    "pod_eni_notes",
    "request_trunk",
    "trunk_signal",
]

#: ENABLE_POD_ENI is off: ipamd never calls ``tryEnableSecurityGroupsForPods``.
TRUNK_OFF = "pod-eni-off"
#: Card 0 already has a trunk ENI: the tick no longer calls it (spec 7.3).
TRUNK_ATTACHED = "trunk-attached"
#: Card 0 has no free ENI slot: ipamd logs "no slot" and writes nothing.
TRUNK_NO_SLOT = "no-slot"
#: A slot is free: ipamd writes the feature to the CNINode.
TRUNK_SLOT = "slot"

_CARD = 0  # the trunk goes on the default network card only


@attrs.frozen
class TrunkSignal:
    """ipamd's trunk decision at one tick: whether it signals, and why.

    ``enis`` is ``len(DS[0].ENIs)`` (primary, EFA and excluded ENIs included) and ``limit``
    is ``maxENI - unmanaged[0]``; a slot is free when ``enis < limit``.
    """

    signal: bool
    reason: str
    enis: int
    limit: int


def trunk_signal(state: NodeState) -> TrunkSignal:
    """Whether ipamd signals for a trunk ENI now (``updateIPPoolIfRequired``'s first line and
    ``tryEnableSecurityGroupsForPods``, spec 7.3, 1.5.2).

    It does when ENABLE_POD_ENI is on, the node runs IPv4 (the model's only mode: ``Config``
    refuses IPv6), card 0's datastore has no trunk ENI, and
    ``len(DS[0].ENIs) < maxENI - unmanaged[0]``. The slot test is ipamd's own and differs
    from ``has_room_for_eni``'s: the trunk reserve is not subtracted (it is the slot being
    asked for), and ``IsTrunkingCompatible`` is not asked (ipamd signals on any type).
    """
    ds = state.datastore(_CARD)
    enis = len(ds.enis)
    limit = CardPolicy.for_state(state, _CARD).max_eni - ds.unmanaged_enis
    if not state.config.pod_eni:
        return TrunkSignal(False, TRUNK_OFF, enis, limit)
    if ds.has_trunk:
        return TrunkSignal(False, TRUNK_ATTACHED, enis, limit)
    if enis >= limit:
        return TrunkSignal(False, TRUNK_NO_SLOT, enis, limit)
    return TrunkSignal(True, TRUNK_SLOT, enis, limit)


def request_trunk(state: NodeState) -> tuple[NodeState, SignalTrunkENI | None]:
    """The CNINode write of this tick, if any: ``SignalTrunkENI`` when :func:`trunk_signal`
    says signal and the node has not written the feature yet; the state then records it
    (``trunk_requested``). Otherwise the state unchanged and None: ipamd's call is a read
    that finds the feature, or a "no slot" log."""
    if state.trunk_requested or not state.config.pod_eni:
        return state, None
    if not trunk_signal(state).signal:
        return state, None
    return state.replace(trunk_requested=True), SignalTrunkENI()


# -- max pods with security groups for pods ----------------------------------------------------


def branch_eni_pods(limits: InstanceLimits, config: Config) -> int | None:
    """Pods that can take a branch ENI rather than a pool address: the instance's branch ENIs
    (``InstanceLimits.branch_enis``, the ``vpc.amazonaws.com/pod-eni`` count; 0 where
    trunking is unsupported) with ENABLE_POD_ENI, 0 without; None when the catalog lacks the
    type."""
    return limits.branch_enis if config.pod_eni else 0


def pod_eni_formula(pool: int, branch: int | None) -> str:
    """Pods that can have an address with security groups for pods: pool IPs + branch ENIs."""
    if branch is None:
        return f"{pool} pool IPs + unknown branch ENIs (the catalog lacks the type)"
    total = pool + branch
    return (
        f"{pool} pool IPs + {branch} branch ENIs = {total} "
        f"(+ {HOST_NETWORK_PODS} host-network pods = {total + HOST_NETWORK_PODS} pods)"
    )


def pod_eni_notes(
    limits: InstanceLimits, config: Config, pool: int, without_trunk: int, default: int
) -> list[str]:
    """What ENABLE_POD_ENI changes in the max-pods figures, in words. ``pool`` is what the
    pool can address with the trunk slot kept, ``without_trunk`` the same with pod ENI off,
    ``default`` the node default max pods."""
    if not config.for_instance(limits).pod_eni:
        return []
    name, branch = limits.name, limits.branch_enis
    if branch == 0:
        return [
            f"ENABLE_POD_ENI: {name} has no branch ENIs (Karpenter lists no "
            "vpc.amazonaws.com/pod-eni), so security groups for pods cannot run there; the "
            "model still keeps ipamd's trunk slot."
        ]
    branches = "an unknown number of" if branch is None else f"up to {branch}"
    notes = [
        f"ENABLE_POD_ENI: the trunk ENI takes one ENI slot of card 0, so the pool addresses "
        f"{pool} pods instead of {without_trunk}; pods with a security group policy get a "
        f"branch ENI on the trunk instead ({branches} on {name}) and take no pool address. "
        "The node default and the calculator count neither the trunk nor branch ENIs."
    ]
    admitted = default - HOST_NETWORK_PODS
    if branch is not None and pool < admitted <= pool + branch:
        notes.append(
            f"With the node default max pods ({default}), {admitted - pool} of the "
            f"{admitted} pods that need an address must use branch ENIs; the pool holds "
            f"only {pool}."
        )
    return notes
