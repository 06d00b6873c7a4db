"""The pod path (CNI ADD / DEL) against ipamd-spec.md sections 4.1-4.5 and 10 (Q1, Q3, Q4, Q19).

Expected addresses are derived by hand from the address plan of ``builders.eni`` (card c,
device d: /32 number i is 10.c.d.(1+i), /28 number j is 10.c.d.(128+16j)) and the sorted
iteration policy of spec 9 (ENIs by device number, CIDRs and addresses ascending).
"""

from __future__ import annotations

import attrs
import pytest
from builders import addr, ds, eni, eni_from_cidrs, ip, node, prefix28, slash32

from vpccni_model import (
    Address,
    Config,
    ConfigError,
    DeferredCleanup,
    InstanceLimits,
    NetworkCard,
    NoAvailableIPError,
    NodeState,
    ReleasePrefixes,
    StateError,
    UnknownPodError,
    assign_pod_ip,
    unassign_pod_ip,
)
from vpccni_model.pool import datastore_stats

LIMITS = InstanceLimits(name="test", max_enis=4, ipv4_per_eni=4)
SIP = Config()
PD = Config(prefix_delegation=True)


def assign(state: NodeState, config: Config, pod: str, clock: float) -> tuple[NodeState, str]:
    new, address = assign_pod_ip(state, config, pod, clock)
    new.check()
    return new, address


def unassign(state: NodeState, config: Config, pod: str, clock: float) -> tuple[NodeState, str]:
    new, address = unassign_pod_ip(state, config, pod, clock)
    new.check()
    return new, address


def entries(state: NodeState, eni_id: str, network: str) -> tuple[Address, ...]:
    found = state.find_eni(eni_id)
    assert found is not None
    cidr = found.cidr(ip(network))
    assert cidr is not None
    return cidr.addresses


# =============================================================================================
# Assign (4.1, 4.2)


def test_boot_then_assign_from_a_single_secondary_ip() -> None:
    state = NodeState.boot(LIMITS, SIP, 0.0)
    # A freshly booted primary has no secondary IPs -> nothing to hand out (4.1 step 3).
    with pytest.raises(NoAvailableIPError):
        assign_pod_ip(state, SIP, "pod-a", 1.0)
    primary = state.datastore(0).enis[0]
    grown = attrs.evolve(primary, cidrs=(slash32("10.0.0.9"),))
    state = state.replace_datastore(state.datastore(0).replace_eni(grown))
    state, address = assign(state, SIP, "pod-a", 1.0)
    assert address == "10.0.0.9"
    assert state.pods["pod-a"].eni_id == "eni-0"


def test_assign_is_idempotent_for_the_same_pod_key() -> None:
    state = node(LIMITS, SIP, ds(eni("eni-0", 0, primary=True, ips=3)))
    state, first = assign(state, SIP, "pod-a", 1.0)
    assert first == "10.0.0.1"  # lowest /32
    # 4.1 step 1: the same key gets the same address and nothing changes (the state's clock
    # may advance; the datastores, pod index and queued work must not).
    again, second = assign(state, SIP, "pod-a", 2.0)
    assert second == "10.0.0.1"
    assert again.datastores == state.datastores
    assert again.pods == state.pods
    assert (again.outbox, again.deferred_cleanups) == (state.outbox, state.deferred_cleanups)
    # A different pod gets the next address.
    _, third = assign(state, SIP, "pod-b", 3.0)
    assert third == "10.0.0.2"


def test_assign_records_a_fresh_assigned_entry() -> None:
    state = node(LIMITS, SIP, ds(eni("eni-0", 0, primary=True, ips=1)))
    state, _ = assign(state, SIP, "pod-a", 7.0)
    # 4.1 step 2: fresh AddressInfo, assigned_time = now, no unassigned_time (3.2).
    assert entries(state, "eni-0", "10.0.0.1") == (Address(ip("10.0.0.1"), "pod-a", 7.0, None),)
    ref = state.pods["pod-a"]
    assert (ref.network_card, ref.eni_id, ref.cidr, ref.ip) == (
        0,
        "eni-0",
        ip("10.0.0.1"),
        ip("10.0.0.1"),
    )


def test_assign_packs_lowest_device_then_lowest_cidr_then_lowest_address() -> None:
    # ENI ids deliberately out of device order: device number decides (spec 9).
    store = ds(
        eni("eni-z", 0, primary=True, ips=1, assigned=1),  # full
        eni("eni-b", 2, ips=2),
        eni("eni-a", 1, ips=2),
    )
    state = node(LIMITS, SIP, store)
    got = []
    for i in range(4):
        state, address = assign(state, SIP, f"p{i}", float(i))
        got.append(address)
    # device 1 (eni-a: 10.0.1.1, 10.0.1.2) before device 2 (eni-b: 10.0.2.1, 10.0.2.2).
    assert got == ["10.0.1.1", "10.0.1.2", "10.0.2.1", "10.0.2.2"]
    with pytest.raises(NoAvailableIPError):
        assign_pod_ip(state, SIP, "p4", 5.0)


def test_assign_in_pd_uses_all_16_addresses_from_the_network_address() -> None:
    # 2.2: all 16 addresses of a /28 go to pods, starting at the network address (4.2 step 3),
    # lowest prefix first.
    state = node(LIMITS, PD, ds(eni("eni-0", 0, primary=True, prefixes=2)))
    got = []
    for i in range(17):
        state, address = assign(state, PD, f"p{i}", float(i))
        got.append(address)
    assert got == [f"10.0.0.{128 + k}" for k in range(17)]


def test_cooled_addresses_are_purged_and_the_lowest_reused_with_a_fresh_entry() -> None:
    cidr = prefix28(
        "10.0.0.128",
        addr("10.0.0.128", unassigned_at=0.0),
        addr("10.0.0.129", "pod-x", assigned_at=0.0),
        addr("10.0.0.130", unassigned_at=5.0),
        addr("10.0.0.131", unassigned_at=90.0),  # still cooling at 100 (elapsed 10 <= 30)
    )
    state = node(LIMITS, PD, ds(eni_from_cidrs("eni-0", 0, [cidr], primary=True)))
    state, address = assign(state, PD, "pod-new", 100.0)
    # 4.2: every cooled entry (.128, .130) is purged; the lowest (spec 9 N4 sorted) is reused
    # with a fresh entry (3.2, Q19); the cooling .131 entry stays.
    assert address == "10.0.0.128"
    assert entries(state, "eni-0", "10.0.0.128") == (
        Address(ip("10.0.0.128"), "pod-new", 100.0, None),
        Address(ip("10.0.0.129"), "pod-x", 0.0, None),
        Address(ip("10.0.0.131"), None, None, 90.0),
    )
    # .130 has no entry any more, so it is next: the lowest address without an entry (4.2 step 3).
    state, address = assign(state, PD, "pod-next", 100.0)
    assert address == "10.0.0.130"


@pytest.mark.parametrize(
    ("clock", "usable"),
    [(20.0, False), (40.0, False), (40.5, True)],  # freed at 10, cooldown 30, "<=" (3.5)
)
def test_a_cooling_slash32_cannot_be_used(clock: float, usable: bool) -> None:
    state = node(LIMITS, SIP, ds(eni("eni-0", 0, primary=True, ips=1, cooling=1, unassigned_at=10)))
    if usable:
        state, address = assign(state, SIP, "pod-a", clock)
        assert address == "10.0.0.1"
        assert entries(state, "eni-0", "10.0.0.1") == (
            Address(ip("10.0.0.1"), "pod-a", clock, None),
        )
    else:
        # 4.2 consequence: a cooling /32 cannot be used.
        with pytest.raises(NoAvailableIPError):
            assign_pod_ip(state, SIP, "pod-a", clock)


def test_q1_only_cooling_ips_left_fails_although_stats_show_them_available() -> None:
    store = ds(eni("eni-0", 0, primary=True, ips=3, assigned=1, cooling=2, unassigned_at=10.0))
    state = node(LIMITS, SIP, store)
    s = datastore_stats(state.datastore(0), False, 20.0, 30.0)
    # Q1: Avail = T - A = 2 (cooling IPs count as available), C = 2 ...
    assert (s.available_ips, s.cooldown_ips) == (2, 2)
    # ... yet no address can be assigned.
    with pytest.raises(NoAvailableIPError):
        assign_pod_ip(state, SIP, "pod-b", 20.0)


def test_in_a_prefix_another_address_is_used_while_one_cools() -> None:
    cidr = prefix28("10.0.0.128", addr("10.0.0.128", unassigned_at=10.0))
    state = node(LIMITS, PD, ds(eni_from_cidrs("eni-0", 0, [cidr], primary=True)))
    state, address = assign(state, PD, "pod-a", 20.0)
    # 4.2: .128 is cooling, so the first address without an entry (.129) is handed out; the
    # cooling entry is kept.
    assert address == "10.0.0.129"
    assert entries(state, "eni-0", "10.0.0.128")[0] == Address(ip("10.0.0.128"), None, None, 10.0)


def test_excluded_enis_are_skipped() -> None:
    store = ds(eni("eni-0", 0, primary=True, ips=2, excluded=True), eni("eni-1", 1, ips=1))
    state = node(LIMITS, SIP, store)
    state, address = assign(state, SIP, "pod-a", 1.0)
    # 4.1 step 2.1: the excluded primary (10.0.0.1) is skipped.
    assert address == "10.0.1.1"
    with pytest.raises(NoAvailableIPError):
        assign_pod_ip(state, SIP, "pod-b", 1.0)


def test_mismatched_kind_cidrs_are_skipped_in_sip() -> None:
    # An empty leftover /28 at a lower address than the /32 (10.0.0.16 < 10.0.0.32).
    e = eni_from_cidrs("eni-0", 0, [prefix28("10.0.0.16"), slash32("10.0.0.32")], primary=True)
    state = node(LIMITS, SIP, ds(e))
    state, address = assign(state, SIP, "pod-a", 1.0)
    assert address == "10.0.0.32"  # 4.1 step 2.2: the /28 does not match SIP
    with pytest.raises(NoAvailableIPError):
        assign_pod_ip(state, SIP, "pod-b", 1.0)


def test_mismatched_kind_cidrs_are_skipped_in_pd() -> None:
    e = eni_from_cidrs("eni-0", 0, [slash32("10.0.0.1"), prefix28("10.0.0.16")], primary=True)
    state = node(LIMITS, PD, ds(e))
    state, address = assign(state, PD, "pod-a", 1.0)
    assert address == "10.0.0.16"  # the leftover /32 is skipped in PD


def test_only_mismatched_cidrs_gives_no_available_ip() -> None:
    state = node(LIMITS, PD, ds(eni("eni-0", 0, primary=True, ips=3)))
    with pytest.raises(NoAvailableIPError):
        assign_pod_ip(state, PD, "pod-a", 1.0)


def test_no_available_ip_when_everything_is_assigned() -> None:
    store = ds(eni("eni-0", 0, primary=True, ips=2, assigned=2), eni("eni-1", 1, ips=1, assigned=1))
    state = node(LIMITS, SIP, store)
    with pytest.raises(NoAvailableIPError) as info:
        assign_pod_ip(state, SIP, "pod-new", 1.0)
    assert info.value.pod == "pod-new"


def test_primary_trunk_and_efa_enis_are_pod_ip_sources() -> None:
    # 4.1 "not skipped" / Q27.
    store = ds(
        eni("eni-0", 0, primary=True, ips=1),
        eni("eni-1", 1, trunk=True, ips=1),
        eni("eni-2", 2, efa=True, ips=1),
    )
    state = node(LIMITS, SIP, store)
    got = []
    for pod in ("a", "b", "c"):
        state, address = assign(state, SIP, pod, 1.0)
        got.append(address)
    assert got == ["10.0.0.1", "10.0.1.1", "10.0.2.1"]


# --- multi-card fallthrough (4.3) --------------------------------------------------------------

TWO_CARDS = InstanceLimits(
    name="test2",
    max_enis=4,
    ipv4_per_eni=4,
    network_cards=(NetworkCard(index=0, max_interfaces=4), NetworkCard(index=1, max_interfaces=4)),
)
MULTI = Config(multi_nic=True)


def _two_card_state(card0_ips: int) -> NodeState:
    return node(
        TWO_CARDS,
        MULTI,
        ds(eni("eni-0", 0, primary=True, ips=card0_ips)),
        ds(eni("eni-c1", 0, card=1, ips=2), card=1),
    )


def test_plain_pod_falls_through_to_card_one_when_card_zero_is_empty() -> None:
    state = _two_card_state(card0_ips=0)
    state, address = assign(state, MULTI, "pod-a", 1.0)
    # 4.3: "no available IP" on card 0, 0 != len(datastores) - 1 -> try card 1.
    assert address == "10.1.0.1"
    assert state.pods["pod-a"].network_card == 1
    state, address = assign(state, MULTI, "pod-b", 1.0)
    assert address == "10.1.0.2"
    with pytest.raises(NoAvailableIPError):
        assign_pod_ip(state, MULTI, "pod-c", 1.0)
    # DEL finds the pod on card 1.
    state, freed = unassign(state, MULTI, "pod-a", 2.0)
    assert freed == "10.1.0.1"


def test_card_zero_is_preferred_when_it_has_an_address() -> None:
    state, address = assign(_two_card_state(card0_ips=1), MULTI, "pod-a", 1.0)
    assert address == "10.0.0.1"
    assert state.pods["pod-a"].network_card == 0


GAPPED_CARDS = InstanceLimits(
    name="gapped",
    max_enis=4,
    ipv4_per_eni=4,
    network_cards=tuple(NetworkCard(index=i, max_interfaces=4) for i in (0, 2, 3)),
)


def test_card_numbers_that_skip_are_all_tried_in_order() -> None:
    # Regression: the card loop compared a card *number* with the last *position*, so with
    # cards 0, 2, 3 it stopped after card 2 (number 2 == last position 2) and a free address
    # on card 3 was never offered. Cards are tried by number, in ascending order (4.3).
    state = node(
        GAPPED_CARDS,
        MULTI,
        ds(eni("eni-0", 0, primary=True)),
        ds(eni("eni-c2", 0, card=2, ips=1, assigned=1), card=2),
        ds(eni("eni-c3", 0, card=3, ips=1), card=3),
    )
    state, address = assign(state, MULTI, "pod-a", 1.0)
    assert address == "10.3.0.1"
    assert state.pods["pod-a"].network_card == 3
    state, freed = unassign(state, MULTI, "pod-a", 2.0)
    assert freed == "10.3.0.1"
    assert state.datastore(3).enis[0].assigned_in_ips == 0


def test_gapped_cards_prefer_the_lowest_card_number_with_room() -> None:
    state = node(
        GAPPED_CARDS,
        MULTI,
        ds(eni("eni-0", 0, primary=True)),
        ds(eni("eni-c2", 0, card=2, ips=1), card=2),
        ds(eni("eni-c3", 0, card=3, ips=1), card=3),
    )
    state, address = assign(state, MULTI, "pod-a", 1.0)
    assert (address, state.pods["pod-a"].network_card) == ("10.2.0.1", 2)
    state, address = assign(state, MULTI, "pod-b", 1.0)
    assert (address, state.pods["pod-b"].network_card) == ("10.3.0.1", 3)


# =============================================================================================
# Unassign (4.4, 4.5)


def test_unassign_starts_cooldown_and_returns_the_address() -> None:
    state = node(LIMITS, SIP, ds(eni("eni-0", 0, primary=True, ips=2, assigned=1)))
    state, freed = unassign(state, SIP, "eni-0/ip0", 50.0)
    assert freed == "10.0.0.1"
    assert "eni-0/ip0" not in state.pods
    # 4.4 step 2: the entry stays, unassigned_time = now.
    assert entries(state, "eni-0", "10.0.0.1") == (Address(ip("10.0.0.1"), None, 0.0, 50.0),)
    # Stats effect (4.5): A -1, C +1 -> T 2, A 0, C 1.
    s = datastore_stats(state.datastore(0), False, 50.0, 30.0)
    assert (s.total_ips, s.assigned_ips, s.cooldown_ips) == (2, 0, 1)
    # No side effects on a normal ENI in SIP from a /32.
    assert state.outbox == ()
    assert state.deferred_cleanups == ()
    # The freed /32 is cooling, so the next pod gets 10.0.0.2, not 10.0.0.1.
    state, address = assign(state, SIP, "pod-b", 60.0)
    assert address == "10.0.0.2"


def test_unknown_pod_and_second_unassign_raise_unknown_pod() -> None:
    state = node(LIMITS, SIP, ds(eni("eni-0", 0, primary=True, ips=1, assigned=1)))
    with pytest.raises(UnknownPodError) as info:
        unassign_pod_ip(state, SIP, "nobody", 1.0)
    assert info.value.pod == "nobody"
    state, _ = unassign(state, SIP, "eni-0/ip0", 1.0)
    with pytest.raises(UnknownPodError, match="datastore: unknown pod"):
        unassign_pod_ip(state, SIP, "eni-0/ip0", 2.0)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"network_card": 1}, "missing network card"),
        ({"eni_id": "eni-9"}, "missing ENI or CIDR"),
        ({"cidr": ip("10.0.0.9"), "ip": ip("10.0.0.9")}, "missing ENI or CIDR"),
        ({"cidr": ip("10.0.0.2"), "ip": ip("10.0.0.2")}, "an address the pod does not hold"),
    ],
)
def test_unassign_with_an_index_that_points_nowhere_raises_state_error(
    change: dict[str, object], reason: str
) -> None:
    state = node(LIMITS, SIP, ds(eni("eni-0", 0, primary=True, ips=2, assigned=1)))
    ref = state.pods.get("eni-0/ip0")
    assert ref is not None
    bad = state.replace(pods=state.pods.set("eni-0/ip0", attrs.evolve(ref, **change)))
    with pytest.raises(StateError, match=reason) as info:
        unassign_pod_ip(bad, SIP, "eni-0/ip0", 5.0)
    assert (info.value.field, info.value.value) == ("pods", "eni-0/ip0")


def test_assign_unassign_round_trip_keeps_state_consistent() -> None:
    state = node(LIMITS, PD, ds(eni("eni-0", 0, primary=True, prefixes=1), eni("eni-1", 1)))
    clock = 0.0
    for i in range(5):
        state, _ = assign(state, PD, f"p{i}", clock)
        clock += 1.0
    for i in (1, 3):
        state, _ = unassign(state, PD, f"p{i}", clock)
    assert sorted(state.pods) == ["p0", "p2", "p4"]
    s = datastore_stats(state.datastore(0), True, clock, 30.0)
    # T = 16, A = 3, C = 2 (both freed at `clock`).
    assert (s.total_ips, s.assigned_ips, s.cooldown_ips) == (16, 3, 2)


def test_a_freed_low_address_is_found_again_after_the_eni_filled_up() -> None:
    # The search for room starts at the ENI's room_from; freeing 10.0.0.1 on a full ENI must
    # move it back, or the next pod would skip the lowest address (and fail here).
    state = node(LIMITS, SIP, ds(eni("eni-0", 0, primary=True, ips=3, assigned=3)))
    assert state.enis[0].room_from == 3
    state, freed = unassign(state, SIP, "eni-0/ip0", 10.0)
    assert (freed, state.enis[0].room_from) == ("10.0.0.1", 0)
    state, address = assign(state, SIP, "pod-new", 50.0)
    assert address == "10.0.0.1"
    # Filling the CIDR at the bound moves it past that CIDR.
    assert state.enis[0].room_from == 1


def test_a_search_raises_a_lagging_room_from_and_still_finds_the_lowest_address() -> None:
    state = node(LIMITS, SIP, ds(eni("eni-0", 0, primary=True, ips=3, assigned=1)))
    state, _ = unassign(state, SIP, "eni-0/ip0", 10.0)  # .1 cools until 40
    state, first = assign(state, SIP, "pod-a", 20.0)  # .2, past the cooling .1
    state, second = assign(state, SIP, "pod-b", 21.0)
    state, third = assign(state, SIP, "pod-c", 50.0)  # .1 has cooled
    assert (first, second, third) == ("10.0.0.2", "10.0.0.3", "10.0.0.1")
    state, _ = unassign(state, SIP, "pod-b", 60.0)
    # The bound lags behind the first CIDR with room (.3, position 2)...
    lagging = state.enis[0]
    assert lagging.room_from == 1
    state, address = assign(state, SIP, "pod-d", 100.0)
    assert address == "10.0.0.3"
    # ...and the search that found .3 raised it on the input value, which is otherwise the
    # same (the bound is excluded from equality).
    assert lagging.room_from == 2


# --- Q3: DEL path releases leftover prefixes in SIP mode -----------------------------------------


def _leftover_state() -> NodeState:
    """SIP. eni-0: /32 10.0.0.1 (free), leftover /28s .128 (pod-x at .128), .144 (empty), .160
    (pod-y). eni-1: an empty leftover /28 (must not be touched)."""
    e0 = eni_from_cidrs(
        "eni-0",
        0,
        [
            slash32("10.0.0.1"),
            prefix28("10.0.0.128", addr("10.0.0.128", "pod-x")),
            prefix28("10.0.0.144"),
            prefix28("10.0.0.160", addr("10.0.0.160", "pod-y")),
        ],
        primary=True,
    )
    # Four CIDRs on eni-0: an instance type that allows four per ENI.
    roomy = InstanceLimits(name="test", max_enis=4, ipv4_per_eni=5)
    return node(roomy, SIP, ds(e0, eni("eni-1", 1, prefixes=1)))


def test_q3_del_from_leftover_prefix_releases_every_empty_prefix_of_that_eni() -> None:
    state = _leftover_state()
    assert state.datastore(0).prefix_counter == 4
    state, freed = unassign(state, SIP, "pod-x", 50.0)
    assert freed == "10.0.0.128"
    # 4.5 (b) / Q3: no /32 keyed 10.0.0.128 on eni-0 -> every prefix of eni-0 with 0 assigned
    # (.128, just emptied and cooling: cooldown ignored; and .144) is released at once.
    assert state.outbox == (ReleasePrefixes("eni-0", ("10.0.0.128/28", "10.0.0.144/28")),)
    e0 = state.find_eni("eni-0")
    assert e0 is not None
    assert [c.key for c in e0.cidrs] == ["10.0.0.1/32", "10.0.0.160/28"]
    # 3.3: a datastore delete decrements allocated_prefix by 1 per prefix: 4 - 2 = 2.
    assert state.datastore(0).prefix_counter == 2
    # eni-1's empty prefix is untouched; nothing goes to the reconcile cooldown cache.
    e1 = state.find_eni("eni-1")
    assert e1 is not None
    assert [c.key for c in e1.cidrs] == ["10.0.1.128/28"]
    assert dict(state.reconcile_cooldown) == {}


def test_q3_second_leftover_pod_release_appends_to_the_outbox() -> None:
    state, _ = unassign(_leftover_state(), SIP, "pod-x", 50.0)
    state, _ = unassign(state, SIP, "pod-y", 51.0)
    assert state.outbox == (
        ReleasePrefixes("eni-0", ("10.0.0.128/28", "10.0.0.144/28")),
        ReleasePrefixes("eni-0", ("10.0.0.160/28",)),
    )
    assert state.datastore(0).prefix_counter == 1  # only eni-1's prefix is left


def test_q3_no_release_when_the_pod_ip_came_from_a_slash32() -> None:
    store = ds(eni("eni-0", 0, primary=True, ips=1, assigned=1, prefixes=2))
    state = node(LIMITS, SIP, store)
    state, _ = unassign(state, SIP, "eni-0/ip0", 5.0)
    # 4.5 (b) needs "no CIDR keyed ip/32"; here there is one -> nothing released.
    assert state.outbox == ()
    assert state.datastore(0).prefix_counter == 2


def test_q4_pd_del_never_releases_leftover_slash32s() -> None:
    store = ds(eni("eni-0", 0, primary=True, ips=2, prefixes=1, prefix_pods=(1,)))
    state = node(LIMITS, PD, store)
    state, _ = unassign(state, PD, "eni-0/pfx0/0", 5.0)
    # Q4: the PD branch is dead; the two empty /32s stay and nothing is queued.
    assert state.outbox == ()
    e0 = state.find_eni("eni-0")
    assert e0 is not None
    assert len(e0.cidrs) == 3
    assert state.datastore(0).prefix_counter == 1


# --- excluded ENI: deferred cleanup (4.4 step 4) --------------------------------------------------


def test_excluded_eni_emptied_cidr_queues_deferred_cleanup_5s_later() -> None:
    store = ds(eni("eni-0", 0, primary=True), eni("eni-1", 1, ips=2, assigned=1, excluded=True))
    state = node(LIMITS, SIP, store)
    state, _ = unassign(state, SIP, "eni-1/ip0", 7.0)
    # 4.4 step 4: due 5 s later; the CIDR stays in the datastore until then.
    assert state.deferred_cleanups == (DeferredCleanup("eni-1", 0, ip("10.0.1.1"), 12.0),)
    assert state.outbox == ()
    e1 = state.find_eni("eni-1")
    assert e1 is not None
    assert len(e1.cidrs) == 2


def test_excluded_eni_prefix_still_in_use_queues_nothing() -> None:
    store = ds(
        eni("eni-0", 0, primary=True), eni("eni-1", 1, prefixes=1, prefix_pods=(2,), excluded=True)
    )
    state = node(LIMITS, PD, store)
    state, _ = unassign(state, PD, "eni-1/pfx0/0", 7.0)
    # The /28 still holds eni-1/pfx0/1 -> not empty -> no cleanup.
    assert state.deferred_cleanups == ()
    state, _ = unassign(state, PD, "eni-1/pfx0/1", 8.0)
    assert state.deferred_cleanups == (DeferredCleanup("eni-1", 0, ip("10.0.1.128"), 13.0),)


def test_non_excluded_eni_queues_no_cleanup() -> None:
    state = node(LIMITS, SIP, ds(eni("eni-0", 0, primary=True, ips=1, assigned=1)))
    state, _ = unassign(state, SIP, "eni-0/ip0", 7.0)
    assert state.deferred_cleanups == ()


# --- configuration mismatch --------------------------------------------------------------------


def test_assign_with_a_different_prefix_delegation_raises_config_error() -> None:
    state = node(LIMITS, SIP, ds(eni("eni-0", 0, primary=True, ips=1, assigned=1)))
    with pytest.raises(ConfigError) as info:
        assign_pod_ip(state, PD, "pod-b", 1.0)
    assert info.value.field == "prefix_delegation"
    with pytest.raises(ConfigError):
        unassign_pod_ip(state, PD, "eni-0/ip0", 1.0)
    pd_state = node(LIMITS, PD, ds(eni("eni-0", 0, primary=True, prefixes=1)))
    with pytest.raises(ConfigError):
        assign_pod_ip(pd_state, SIP, "pod-b", 1.0)


def test_prefix_delegation_on_a_non_nitro_instance_is_not_a_mismatch() -> None:
    # 1.4.3: PD is silently off on a non-Nitro, non-bare-metal instance, so asking for it there
    # is the same effective configuration the node booted with.
    xen = InstanceLimits(name="xen", max_enis=3, ipv4_per_eni=4, hypervisor="xen")
    state = node(xen, SIP, ds(eni("eni-0", 0, primary=True, ips=1)))
    assert state.prefix_delegation is False
    state, address = assign(state, PD, "pod-a", 1.0)
    assert address == "10.0.0.1"
