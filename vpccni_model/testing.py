"""Hypothesis strategies for vpccni_model values, for this project's tests and for downstream
simulators and controllers that want to test against the model.

Requires the ``hypothesis`` package (the ``test`` extra). Every strategy builds values through
the public API, so whatever it generates is a state the model itself can reach.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Mapping, Sequence

import attrs
from hypothesis import strategies as st

from vpccni_model._actions import ALLOCATIONS, Action, AllocateENI, AllocateIPs, AllocatePrefixes
from vpccni_model._config import Config
from vpccni_model._eniconfig import stand_in_eni_config
from vpccni_model._errors import NoAvailableIPError, StateError
from vpccni_model._events import (
    AllocationFailed,
    Ec2Error,
    Event,
    MetadataObserved,
)
from vpccni_model._iteration import IterationPolicy
from vpccni_model._limits import InstanceLimits, NetworkCard, instance_limits
from vpccni_model._outcomes import apply
from vpccni_model._pods import assign_pod_ip, take_outbox
from vpccni_model._state import NodeState
from vpccni_model._tick import reconcile
from vpccni_model.cloud import DEFAULT_SUBNET, FakeEC2

REPRESENTATIVE_TYPES: tuple[str, ...] = (
    "t3.micro",
    "t3.small",
    "t3.medium",
    "m5.large",
    "m5.xlarge",
    "c5.large",
    "m4.large",
    "m5.4xlarge",
    "p3dn.24xlarge",
    "p4d.24xlarge",
)
"""Catalog types that cover the shapes that matter: tiny, typical, large, Xen, multi-card."""

ERROR_CODES: tuple[str, ...] = (
    Ec2Error.INSUFFICIENT_CIDR_BLOCKS,
    Ec2Error.INSUFFICIENT_FREE_ADDRESSES,
    Ec2Error.PRIVATE_IP_LIMIT_EXCEEDED,
    Ec2Error.REQUEST_LIMIT_EXCEEDED,
    Ec2Error.REQUEST_TIMEOUT,
    Ec2Error.UNAUTHORIZED_OPERATION,
)
"""The EC2 error codes of spec 8, plus others (throttling, a lost response, a denial)."""


def synthetic_limits(
    max_cards: int = 2, *, skip_card_numbers: bool = False
) -> st.SearchStrategy[InstanceLimits]:
    """Small made-up instance types, so histories reach every limit quickly.

    With ``skip_card_numbers``, the cards above 0 may have any numbers up to ``2 * max_cards``
    (e.g. cards 0, 2, 3), so code that confuses a card's number with its position in a list
    of datastores is caught.
    """

    @st.composite
    def build(draw: st.DrawFn) -> InstanceLimits:
        max_enis = draw(st.integers(1, 4))
        cards = draw(st.integers(1, max_cards))
        network_cards: tuple[NetworkCard, ...] = ()
        if cards > 1:
            indices: Sequence[int] = range(cards)
            if skip_card_numbers:
                others = st.integers(1, 2 * max_cards)
                picked = draw(st.lists(others, min_size=cards - 1, max_size=cards - 1, unique=True))
                indices = (0, *sorted(picked))
            network_cards = tuple(NetworkCard(i, max_enis) for i in indices)
        return InstanceLimits(
            name="synthetic",
            max_enis=max_enis,
            ipv4_per_eni=draw(st.integers(2, 6)),
            network_cards=network_cards,
            hypervisor=draw(st.sampled_from(("nitro", "nitro", "xen"))),
            bare_metal=draw(st.booleans()),
        )

    return build()


def catalog_limits(
    names: Sequence[str] = REPRESENTATIVE_TYPES,
) -> st.SearchStrategy[InstanceLimits]:
    return st.sampled_from([instance_limits(name) for name in names])


def limits(max_cards: int = 2) -> st.SearchStrategy[InstanceLimits]:
    """Synthetic small limits or representative catalog types."""
    return st.one_of(synthetic_limits(max_cards), catalog_limits())


def _flag(value: bool | None) -> st.SearchStrategy[bool]:
    return st.booleans() if value is None else st.just(value)


def configs(
    *,
    prefix_delegation: bool | None = None,
    multi_nic: bool | None = None,
) -> st.SearchStrategy[Config]:
    """Every knob that affects the pool, with zero and extreme targets well represented."""
    small = st.one_of(st.just(0), st.integers(0, 3), st.integers(0, 40))
    return st.builds(
        Config,
        warm_eni_target=st.integers(0, 3),
        warm_ip_target=small,
        minimum_ip_target=small,
        warm_prefix_target=st.integers(0, 3),
        prefix_delegation=st.booleans()
        if prefix_delegation is None
        else st.just(prefix_delegation),
        max_eni=st.one_of(st.none(), st.integers(1, 5)),
        ip_cooldown_period=st.sampled_from((30.0, 0.0, -1.0, 1.0, 5.0, 60.0)),
        custom_networking=st.booleans(),
        pod_eni=st.booleans(),
        manage_enis_non_schedulable=st.booleans(),
        multi_nic=_flag(multi_nic),
        subnet_discovery=st.booleans(),
        max_pods=st.one_of(st.none(), st.integers(1, 300)),
    )


def ipv6_configs(*, multi_nic: bool | None = None) -> st.SearchStrategy[Config]:
    """IPv6 configurations ipamd starts with (spec 1.4: prefix delegation, no custom
    networking), with the knobs that still matter in IPv6 drawn; the warm targets vary too,
    to show they change nothing. Boot them on types with prefix support only."""
    return st.builds(
        Config,
        enable_ipv4=st.just(False),
        enable_ipv6=st.just(True),
        prefix_delegation=st.just(True),
        warm_ip_target=st.integers(0, 5),
        warm_prefix_target=st.integers(0, 3),
        ip_cooldown_period=st.sampled_from((30.0, 0.0, -1.0, 5.0)),
        pod_eni=st.booleans(),
        manage_enis_non_schedulable=st.booleans(),
        disable_provisioning=st.booleans(),
        multi_nic=_flag(multi_nic),
        subnet_discovery=st.booleans(),
    )


def card_limit(limits: InstanceLimits, network_card: int) -> int:
    """How many ENIs EC2 lets ``network_card`` hold (its ``max_interfaces``; ``max_enis`` on
    instances that list no cards)."""
    for card in limits.network_cards:
        if card.index == network_card:
            return card.max_interfaces
    return limits.max_enis


def iteration_policies() -> st.SearchStrategy[IterationPolicy]:
    """``ordered`` or ``go_random`` with any seed (spec 9)."""
    return st.one_of(
        st.just(IterationPolicy.ordered()),
        st.integers(0, 2**64 - 1).map(IterationPolicy.go_random),
    )


def boot_with_unmanaged(
    limits: InstanceLimits,
    config: Config,
    unmanaged: Mapping[int, int],
    clock: float = 0.0,
    iteration: IterationPolicy | None = None,
) -> tuple[NodeState, FakeEC2, tuple[str, ...]]:
    """A node that boots with ENIs ipamd does not manage already attached (spec 1.5.6).

    ``unmanaged`` maps a card number to how many such ENIs it holds (no secondary IPs, at the
    lowest free device numbers). They are registered on the FakeEC2 beside the primary ENI, and
    each managed card's datastore counts them, as nodeInit's ``DescribeAllENIs`` does; ENIs on
    a card ipamd does not manage are attached but not counted (spec 1.5.5). Returns the state,
    the FakeEC2 and the unmanaged ENI ids, which observations must mark ``managed=False``
    (:func:`observation`). Raises ``StateError`` when a card cannot hold that many ENIs.

    ``NodeState.boot`` knows no unmanaged ENIs, so the booted datastores are copied with
    their count (``attrs.evolve``, every construction check run). ``iteration`` is the
    node's iteration policy (default ``ordered``).
    """
    state = NodeState.boot(
        limits,
        config,
        clock,
        iteration=iteration or IterationPolicy(),
        eni_config=stand_in_eni_config(config, DEFAULT_SUBNET),
    )
    ec2 = FakeEC2.for_node(state)
    ids: list[str] = []
    for network_card, count in sorted(unmanaged.items()):
        if network_card not in limits.card_indices:
            raise StateError("unmanaged", network_card, "no such network card")
        taken = 1 if network_card == 0 else 0  # the primary ENI holds device 0 of card 0
        if taken + count > card_limit(limits, network_card):
            raise StateError("unmanaged", count, f"card {network_card} cannot hold that many")
        for device in range(taken, taken + count):
            eni_id = f"eni-unmanaged-{network_card}-{device}"
            ec2.register_eni(eni_id, network_card, device)
            ids.append(eni_id)
    stores = tuple(
        attrs.evolve(ds, unmanaged_enis=unmanaged.get(ds.network_card, 0))
        for ds in state.datastores
    )
    return attrs.evolve(state, datastores=stores), ec2, tuple(ids)


def observation(
    ec2: FakeEC2,
    node: str | None = None,
    *,
    trunk: Collection[str] = (),
    efa: Collection[str] = (),
    excluded: Collection[str] = (),
    unmanaged: Collection[str] = (),
) -> MetadataObserved:
    """What instance metadata shows for ``node`` on ``ec2``, with the ENI kinds EC2's API
    reports and the FakeEC2 does not track: trunk and EFA interfaces, ENIs in excluded subnets
    (spec 1.5.7) and ENIs ipamd must not manage (``managed=False``, spec 1.5.6)."""
    return MetadataObserved(
        attrs.evolve(
            seen,
            is_trunk=seen.eni_id in trunk,
            is_efa=seen.eni_id in efa,
            is_excluded=seen.eni_id in excluded,
            managed=seen.eni_id not in unmanaged,
        )
        for seen in ec2.observe(node)
    )


def pod_keys(count: int = 64) -> st.SearchStrategy[str]:
    """Pod keys from a small pool, so that deletes and repeats hit existing pods."""
    return st.integers(0, count - 1).map(lambda i: f"default/pod-{i}")


def clock_steps() -> st.SearchStrategy[float]:
    """Time advances: mostly within a tick, sometimes past every timer (cooldown, decrease
    interval, ENI lifetime, insufficient-CIDR backoff)."""
    return st.one_of(
        st.sampled_from((0.0, 0.5, 2.5, 5.0)),
        st.floats(0.0, 10.0, allow_nan=False),
        st.sampled_from((29.0, 30.0, 31.0, 59.0, 60.0, 61.0, 120.0, 121.0, 300.0)),
    )


def outcome_kinds() -> st.SearchStrategy[str]:
    """How an EC2 allocation ends: ``ok``, ``partial``, or one of :data:`ERROR_CODES`."""
    return st.one_of(st.just("ok"), st.just("partial"), st.sampled_from(ERROR_CODES))


def ec2_outcome(ec2: FakeEC2, action: Action, kind: str) -> Event | None:
    """The event that answers ``action`` under ``kind``.

    ``ok`` and ``partial`` run the action on ``ec2`` (``partial`` then keeps only the first
    address or prefix of a multi-address answer, as a fallback call of 1 would); an error
    code leaves ``ec2`` unchanged and reports the failure.
    """
    if not isinstance(action, ALLOCATIONS):
        return ec2.execute(action)
    if kind not in ("ok", "partial"):
        return AllocationFailed(kind)
    if not isinstance(action, AllocateENI | AllocateIPs | AllocatePrefixes):
        return ec2.execute(action)  # the IPv6 calls ask for one of a kind: nothing partial
    if kind == "partial" and action.count > 1:
        action = attrs.evolve(action, count=1)
    return ec2.execute(action)


@st.composite
def node_states(
    draw: st.DrawFn,
    limits_strategy: st.SearchStrategy[InstanceLimits] | None = None,
    config_strategy: st.SearchStrategy[Config] | None = None,
    max_steps: int = 30,
    iteration_strategy: st.SearchStrategy[IterationPolicy] | None = None,
) -> tuple[NodeState, Config, FakeEC2]:
    """A node reached through the public API: boot, then ticks, EC2 outcomes and pods.

    Returns the state, the config it runs with, and the FakeEC2 that holds its resources.
    The iteration policy is ``ordered`` unless ``iteration_strategy`` draws one.
    """
    node_limits = draw(limits_strategy if limits_strategy is not None else limits())
    config = draw(config_strategy if config_strategy is not None else configs())
    policy = IterationPolicy() if iteration_strategy is None else draw(iteration_strategy)
    clock = 0.0
    stand_in = stand_in_eni_config(config, DEFAULT_SUBNET)
    state = NodeState.boot(node_limits, config, clock, iteration=policy, eni_config=stand_in)
    ec2 = FakeEC2.for_node(state)
    for _ in range(draw(st.integers(0, max_steps))):
        clock += draw(clock_steps())
        if draw(st.booleans()):
            with contextlib.suppress(NoAvailableIPError):
                state, _ = assign_pod_ip(state, config, draw(pod_keys()), clock)
        step = reconcile(state, config, clock)
        while True:  # the tick goes on after each answer, as ipamd's loop does
            state = step.state
            for action in step.actions:
                event = ec2_outcome(ec2, action, draw(outcome_kinds()))
                if event is not None:
                    state = apply(state, event, clock)
            if state.tick is None or state.in_flight is not None:
                break
            step = reconcile(state, config, clock)
        state, released = take_outbox(state)
        for action in released:
            ec2.execute(action)
    return state, config, ec2
