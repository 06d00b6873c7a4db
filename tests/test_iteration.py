"""IterationPolicy (spec 9): ``ordered`` keeps the documented order, ``go_random`` imitates Go's
map iteration and is deterministic for a seed. Expected frequencies come from Go's rules for
Swiss-table maps worked by hand (a small map: entries in slots 0..n-1 of 8, a start uniform
over the 8 slots), not from the code under test."""

from __future__ import annotations

import json
from collections import Counter

import attrs
import pytest
from builders import CLOCK, addr, ds, eni, eni_from_cidrs, node, prefix28
from hypothesis import given
from hypothesis import strategies as st
from ticks import MULTI, NOW, c32, ip, primary
from ticks import eni as multi_eni
from ticks import node as multi_node

from vpccni_model import (
    ENI,
    Action,
    AllocateIPs,
    Config,
    ConfigError,
    FreeENI,
    IterationPolicy,
    NodeState,
    ReleaseIPs,
    StateError,
    assign_pod_ip,
    instance_limits,
    reconcile,
    restart,
)
from vpccni_model._goorder import SITE_POD_CIDR, cidr_order
from vpccni_model._ipv4 import ip_to_int
from vpccni_model._iteration import MAP_CIDRS, SMALL_MAP, mix, text_key, visit_order
from vpccni_model.serialize import from_json, to_json

LIMITS = instance_limits("m5.large")
CONFIG = Config()
PD = Config(prefix_delegation=True)
RANDOM = IterationPolicy.go_random(2024)


def _keys(count: int) -> list[int]:
    return list(range(100, 100 + count))


# -- the value ----------------------------------------------------------------------------------


def test_ordered_is_the_default_everywhere() -> None:
    assert IterationPolicy() == IterationPolicy.ordered()
    assert not IterationPolicy.ordered().is_random
    assert NodeState.boot(LIMITS, CONFIG).iteration == IterationPolicy.ordered()
    booted = NodeState.boot(LIMITS, CONFIG, iteration=RANDOM)
    assert booted.iteration == RANDOM and booted.iteration.is_random


@pytest.mark.parametrize(
    ("kind", "seed", "field"),
    [("go_random", 1, "kind"), ("random", 0, "kind"), ("go-random", -1, "seed"),
     ("go-random", 2**64, "seed"), ("go-random", True, "seed"), ("ordered", 3, "seed")],
)  # fmt: skip
def test_bad_policies_name_the_field(kind: str, seed: object, field: str) -> None:
    with pytest.raises(ConfigError) as raised:
        IterationPolicy(kind=kind, seed=seed)  # type: ignore[arg-type]
    assert raised.value.field == field


def test_a_node_refuses_anything_but_a_policy() -> None:
    with pytest.raises(Exception, match="iteration"):
        attrs.evolve(NodeState.boot(LIMITS, CONFIG), iteration="go-random")


def test_the_policy_round_trips_through_json() -> None:
    state = NodeState.boot(LIMITS, CONFIG, iteration=IterationPolicy.go_random(2**64 - 1))
    assert from_json(to_json(state), NodeState) == state
    assert from_json(to_json(RANDOM), IterationPolicy) == RANDOM


@pytest.mark.parametrize(
    ("bad", "path"),
    [({"kind": "random", "seed": 0}, "$.iteration.kind"),
     ({"kind": 3, "seed": 0}, "$.iteration.kind"),
     ({"kind": "go-random", "seed": -1}, "$.iteration.seed"),
     ({"kind": "go-random", "seed": "5"}, "$.iteration.seed"),
     ({"kind": "ordered", "seed": 4}, "$.iteration.seed"), ("go-random", "$.iteration")],
)  # fmt: skip
def test_a_bad_policy_in_json_names_its_path(bad: object, path: str) -> None:
    doc = json.loads(to_json(NodeState.boot(LIMITS, CONFIG, iteration=RANDOM)))
    doc["iteration"] = bad
    with pytest.raises(StateError) as raised:
        from_json(json.dumps(doc), NodeState)
    assert raised.value.field == path


# -- Go's map order -----------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8])
def test_a_small_map_is_a_rotation_starting_at_slot_zero_most_often(count: int) -> None:
    firsts: Counter[int] = Counter()
    draws = 8000
    for draw in range(draws):
        order = visit_order(RANDOM, draw, 1, 1, 0, count, lambda: _keys(count))
        first = order[0]
        assert order == [*range(first, count), *range(first)]
        firsts[first] += 1
    # By hand: starts 0 and count..7 give slot 0; each other start gives its own slot.
    expected_zero = (SMALL_MAP - count + 1) / SMALL_MAP
    assert abs(firsts[0] / draws - expected_zero) < 0.02
    for slot in range(1, count):
        assert abs(firsts[slot] / draws - 1 / SMALL_MAP) < 0.02


def test_a_large_map_keeps_its_cyclic_order_and_only_the_start_moves() -> None:
    count = 20
    orders = [visit_order(RANDOM, d, 1, 1, 7, count, lambda: _keys(count)) for d in range(200)]
    reference = orders[0]
    assert sorted(reference) == list(range(count))
    for order in orders:
        at = reference.index(order[0])
        assert order == reference[at:] + reference[:at]  # a rotation of one fixed cycle
    assert len({order[0] for order in orders}) > count // 2  # the start is drawn each time
    other_map = visit_order(RANDOM, 0, 1, 1, 8, count, lambda: _keys(count))
    assert sorted(other_map) == list(range(count)) and other_map != reference


def test_the_same_inputs_give_the_same_order_and_seeds_differ() -> None:
    args = (5, 1, 1, 3, 12, lambda: _keys(12))
    assert visit_order(RANDOM, *args) == visit_order(IterationPolicy.go_random(2024), *args)
    seeds = {tuple(visit_order(IterationPolicy.go_random(s), *args)) for s in range(16)}
    assert len(seeds) > 8


# -- N3: which ENI and CIDR a pod's address comes from ------------------------------------------


def _three_enis(policy: IterationPolicy) -> NodeState:
    state = node(
        LIMITS,
        CONFIG,
        ds(eni("eni-0", 0, ips=9, primary=True), eni("eni-1", 1, ips=9), eni("eni-2", 2, ips=9)),
        clock=CLOCK,
    )
    return attrs.evolve(state, iteration=policy)


def test_ordered_packs_onto_the_lowest_eni_and_cidr() -> None:
    state = _three_enis(IterationPolicy.ordered())
    addresses = []
    for i in range(10):
        state, ip = assign_pod_ip(state, CONFIG, f"p{i}", CLOCK + i)
        addresses.append(ip)
    assert addresses == [f"10.0.0.{n}" for n in range(1, 10)] + ["10.0.1.1"]


def test_go_random_is_deterministic_for_a_seed() -> None:
    def run(policy: IterationPolicy) -> list[str]:
        state, out = _three_enis(policy), []
        for i in range(12):
            state, ip = assign_pod_ip(state, CONFIG, f"p{i}", CLOCK + i)
            out.append(ip)
        return out

    assert run(RANDOM) == run(IterationPolicy.go_random(2024))
    assert run(RANDOM) != run(IterationPolicy.go_random(2025))
    first = run(RANDOM)
    assert len(set(first)) == 12 and all(ip.startswith("10.0.") for ip in first)


def test_go_random_varies_the_eni_by_seed_clock_and_pod_as_a_small_go_map() -> None:
    state = _three_enis(RANDOM)
    by_pod = Counter(
        assign_pod_ip(state, CONFIG, f"q{k}", CLOCK)[0].pods[f"q{k}"].eni_id for k in range(4000)
    )
    # Three ENIs in slots 0-2 of one group: eni-0 first for starts 0, 3..7 (6 of 8).
    assert abs(by_pod["eni-0"] / 4000 - 6 / 8) < 0.03
    assert abs(by_pod["eni-1"] / 4000 - 1 / 8) < 0.03
    assert abs(by_pod["eni-2"] / 4000 - 1 / 8) < 0.03
    by_clock = {assign_pod_ip(state, CONFIG, "p", CLOCK + t)[0].pods["p"].eni_id for t in range(64)}
    by_seed = {
        assign_pod_ip(attrs.evolve(state, iteration=IterationPolicy.go_random(s)), CONFIG, "p",
                      CLOCK)[0].pods["p"].eni_id
        for s in range(64)
    }  # fmt: skip
    assert by_clock == by_seed == {"eni-0", "eni-1", "eni-2"}


def test_the_eni_map_slots_are_device_numbers_so_a_freed_device_leaves_a_hole() -> None:
    # Devices 0 and 2 (device 1 was freed): slots 0 and 2 of 8. Starts 1 and 2 reach the
    # device-2 ENI first (2 of 8), the other six the primary.
    state = attrs.evolve(
        node(LIMITS, CONFIG, ds(eni("eni-0", 0, ips=9, primary=True), eni("eni-2", 2, ips=9)),
             clock=CLOCK),
        iteration=RANDOM,
    )  # fmt: skip
    by_pod = Counter(
        assign_pod_ip(state, CONFIG, f"q{k}", CLOCK)[0].pods[f"q{k}"].eni_id for k in range(4000)
    )
    assert abs(by_pod["eni-2"] / 4000 - 2 / 8) < 0.03


def test_go_random_spreads_over_the_cidrs_of_a_large_cidr_map() -> None:
    # Nine /32s on one ENI: more than one group, so the CIDR order is hash-like.
    state = attrs.evolve(
        node(LIMITS, CONFIG, ds(eni("eni-0", 0, ips=9, primary=True)), clock=CLOCK),
        iteration=RANDOM,
    )
    chosen = Counter(assign_pod_ip(state, CONFIG, f"q{k}", CLOCK)[1] for k in range(900))
    assert set(chosen) == {f"10.0.0.{n}" for n in range(1, 10)}
    ordered = attrs.evolve(state, iteration=IterationPolicy.ordered())
    assert assign_pod_ip(ordered, CONFIG, "q", CLOCK)[1] == "10.0.0.1"


# -- N4: which cooled address of a /28 is reused ------------------------------------------------


def _cooled_prefix(policy: IterationPolicy) -> NodeState:
    cooled = [addr(f"10.0.0.{n}", unassigned_at=0.0) for n in (130, 133, 137, 140)]
    busy = addr("10.0.0.128", "held")
    enis = eni_from_cidrs("eni-0", 0, [prefix28("10.0.0.128", busy, *cooled)], primary=True)
    return attrs.evolve(node(LIMITS, PD, ds(enis), clock=CLOCK), iteration=policy)


def test_ordered_reuses_the_lowest_cooled_address() -> None:
    state, ip = assign_pod_ip(_cooled_prefix(IterationPolicy.ordered()), PD, "new", CLOCK)
    assert ip == "10.0.0.130"
    entries = state.datastore(0).enis[0].cidrs[0].addresses
    assert [(e.address, e.pod) for e in entries] == [("10.0.0.128", "held"), ("10.0.0.130", "new")]


def test_go_random_reuses_a_cooled_address_in_map_order_and_purges_the_rest() -> None:
    base = _cooled_prefix(RANDOM)
    seen = Counter()
    for k in range(800):
        state, ip = assign_pod_ip(base, PD, f"n{k}", CLOCK)
        seen[ip] += 1
        entries = state.datastore(0).enis[0].cidrs[0].addresses
        assert [(e.address, e.pod) for e in entries] == sorted(
            [("10.0.0.128", "held"), (ip, f"n{k}")]
        )
    # Five entries in slots 0-4 of one group (address order), three empty slots: starts 0, 1
    # and 5-7 reach 10.0.0.130 first (10.0.0.128 is held), 5 of 8; 1 of 8 for each other.
    assert set(seen) == {"10.0.0.130", "10.0.0.133", "10.0.0.137", "10.0.0.140"}
    assert abs(seen["10.0.0.130"] / 800 - 5 / 8) < 0.05
    assert assign_pod_ip(base, PD, "n0", CLOCK) == assign_pod_ip(base, PD, "n0", CLOCK)


# -- the tick: N2 which ENI grows, N5/N6 which ENI and CIDRs are released, N7 which ENI is freed


def _tick_node(config: Config, *enis: ENI, policy: IterationPolicy) -> NodeState:
    return attrs.evolve(node(LIMITS, config, ds(*enis), clock=CLOCK), iteration=policy)


def _over_clocks(state: NodeState, config: Config, count: int = 800) -> list[tuple[Action, ...]]:
    return [reconcile(state, config, CLOCK + 5.0 * k).actions for k in range(count)]


def _grow_node(policy: IterationPolicy) -> NodeState:
    # eni-0 is full (9 of 9 /32s); eni-1 and eni-2 have room. Avail 4 < 9 (W=1): too low.
    return _tick_node(
        CONFIG,
        eni("eni-0", 0, ips=9, assigned=9, primary=True),
        eni("eni-1", 1, ips=3, assigned=1),
        eni("eni-2", 2, ips=3, assigned=1),
        policy=policy,
    )


def test_n2_ordered_grows_the_lowest_eni_with_room() -> None:
    assert reconcile(_grow_node(IterationPolicy.ordered()), CONFIG, CLOCK).actions == (
        AllocateIPs("eni-1", 6),
    )


def test_n2_go_random_grows_an_eni_in_go_map_order() -> None:
    state = _grow_node(RANDOM)
    grown = Counter(a[0] for a in _over_clocks(state, CONFIG))
    # Slots 0-2: eni-1 first for starts 0, 1, 3..7 (eni-0 has no room), eni-2 for start 2.
    assert set(grown) == {AllocateIPs("eni-1", 6), AllocateIPs("eni-2", 6)}
    assert abs(grown[AllocateIPs("eni-2", 6)] / 800 - 1 / 8) < 0.04
    assert _over_clocks(state, CONFIG, 50) == _over_clocks(_grow_node(RANDOM), CONFIG, 50)


def _free_node(policy: IterationPolicy) -> NodeState:
    # eni-1 and eni-2 are empty and old: both deletable; Avail 18 >= (1 + 1) * 9 (5.8).
    return _tick_node(
        CONFIG,
        eni("eni-0", 0, ips=9, assigned=9, primary=True),
        eni("eni-1", 1, ips=9),
        eni("eni-2", 2, ips=9),
        policy=policy,
    )


def test_n7_ordered_frees_the_lowest_deletable_eni() -> None:
    assert reconcile(_free_node(IterationPolicy.ordered()), CONFIG, CLOCK).actions == (
        FreeENI("eni-1"),
    )


def test_n7_go_random_frees_a_deletable_eni_in_go_map_order() -> None:
    freed = Counter(a for a in _over_clocks(_free_node(RANDOM), CONFIG))
    # As for N2: eni-2 only for start 2 of 8.
    assert set(freed) == {(FreeENI("eni-1"),), (FreeENI("eni-2"),)}
    assert abs(freed[(FreeENI("eni-2"),)] / 800 - 1 / 8) < 0.04


WARM13 = Config(warm_ip_target=13)


def _decrease_node(policy: IterationPolicy) -> NodeState:
    # Avail 8 + 8 = 16, W=13: over 3 (5.1); eni-0 has nothing free.
    return _tick_node(
        WARM13,
        eni("eni-0", 0, ips=9, assigned=9, primary=True),
        eni("eni-1", 1, ips=9, assigned=1),
        eni("eni-2", 2, ips=9, assigned=1),
        policy=policy,
    )


def test_n5_n6_ordered_releases_the_lowest_free_cidrs_of_the_lowest_eni() -> None:
    assert reconcile(_decrease_node(IterationPolicy.ordered()), WARM13, CLOCK).actions == (
        ReleaseIPs("eni-1", ("10.0.1.2", "10.0.1.3", "10.0.1.4")),
    )


def test_n5_n6_go_random_releases_over_from_one_eni_in_go_map_order() -> None:
    state = _decrease_node(RANDOM)
    releases = _over_clocks(state, WARM13, 400)
    free = {
        "eni-1": {f"10.0.1.{n}" for n in range(2, 10)},
        "eni-2": {f"10.0.2.{n}" for n in range(2, 10)},
    }
    sets = set()
    for actions in releases:
        (release,) = actions  # over 3 fits on the first ENI with 8 free
        assert isinstance(release, ReleaseIPs)
        assert len(release.addresses) == 3 and set(release.addresses) <= free[release.eni_id]
        assert list(release.addresses) == sorted(release.addresses, key=ip_to_int)
        sets.add((release.eni_id, release.addresses))
    assert {eni_id for eni_id, _ in sets} == {"eni-1", "eni-2"}  # N5 varies
    assert len({ips for eni_id, ips in sets if eni_id == "eni-1"}) > 3  # N6 varies
    assert releases[:20] == _over_clocks(_decrease_node(RANDOM), WARM13, 20)


def test_n1_go_random_varies_the_card_order_of_a_tick() -> None:
    config = Config(warm_ip_target=1, multi_nic=True)
    state = multi_node(
        config, primary(c32(5), c32(6)), multi_eni("eni-1", 0, c32(9), c32(10), card=1),
        limits=MULTI,
    )  # fmt: skip
    card0, card1 = ReleaseIPs("eni-0", (ip(5),)), ReleaseIPs("eni-1", (ip(9),))
    assert reconcile(state, config, NOW).actions == (card0, card1)  # ordered: ascending
    random_state = attrs.evolve(state, iteration=RANDOM)
    orders = Counter(
        tuple(a.eni_id for a in reconcile(random_state, config, NOW + 5.0 * k).actions)
        for k in range(800)
    )
    # Two cards in slots 0-1: card 1 first only for start 1 of 8.
    assert set(orders) == {("eni-0", "eni-1"), ("eni-1", "eni-0")}
    assert abs(orders[("eni-1", "eni-0")] / 800 - 1 / 8) < 0.04


def test_a_restart_keeps_the_nodes_iteration_policy() -> None:
    state = NodeState.boot(LIMITS, CONFIG, iteration=RANDOM)
    assert restart(state, CONFIG, 10.0).iteration == RANDOM


@given(
    seed=st.integers(0, 2**64 - 1),
    draw=st.integers(0, 2**64 - 1),
    map_id=st.integers(0, 2**32),
    keys=st.lists(st.integers(0, 2**32), min_size=SMALL_MAP + 1, max_size=40, unique=True),
)
def test_a_large_map_is_visited_by_distance_from_the_start_on_the_ring(
    seed: int, draw: int, map_id: int, keys: list[int]
) -> None:
    # The definition, written out: entries sorted by (position - start) mod 2**64, ties by
    # index, where position = mix(seed, layout, map, key) and start = mix(seed, draw, site,
    # map). visit_order keeps each map's ring sorted and rotates it at the start.
    policy = IterationPolicy.go_random(seed)
    start = mix(seed, draw, 3, map_id)
    mask = 2**64 - 1
    expected = sorted(
        range(len(keys)), key=lambda i: (((mix(seed, 5, map_id, keys[i]) - start) & mask), i)
    )
    assert visit_order(policy, draw, 3, 5, map_id, len(keys), lambda: list(keys)) == expected


@given(
    seed=st.integers(0, 2**64 - 1),
    draw=st.integers(0, 2**64 - 1),
    slots=st.lists(st.integers(0, SMALL_MAP - 1), min_size=1, max_size=SMALL_MAP),
)
def test_a_small_map_walks_its_slots_from_the_start_slot(
    seed: int, draw: int, slots: list[int]
) -> None:
    # The definition: entries sorted by (slot - first) mod 8, where first is the start's
    # low 3 bits, ties in entry order; the entries (ENIs) come in ascending slot order.
    slots = sorted(slots)
    policy = IterationPolicy.go_random(seed)
    first = mix(seed, draw, 2, 9) & (SMALL_MAP - 1)
    expected = sorted(range(len(slots)), key=lambda i: (slots[i] - first) % SMALL_MAP)
    got = visit_order(policy, draw, 2, 4, 9, len(slots), lambda: list(slots), list(slots))
    assert got == expected


@given(
    seeds=st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=3),
    draw=st.integers(0, 2**64 - 1),
    ips=st.integers(1, 20),
    grow=st.integers(0, 5),
)
def test_the_cidr_order_kept_on_an_eni_is_the_definition_through_its_copies(
    seeds: list[int], draw: int, ips: int, grow: int
) -> None:
    # cidr_order reads the ring kept on the ENI (ENI.go_ring). Whatever the ENI went through
    # (a pod's address taken: same CIDR set, ring kept; CIDRs added or removed: ring dropped;
    # another seed asking), the order is the definition's: visit_order over the networks.
    def definition(policy: IterationPolicy, e: ENI) -> list[int]:
        keys = [c.network for c in e.cidrs]
        return visit_order(
            policy, draw, SITE_POD_CIDR, MAP_CIDRS, text_key(e.eni_id), len(keys), lambda: keys
        )

    base = eni("eni-ring", 1, ips=ips)
    taken = base.claim("pod-a", CLOCK, 30.0, False)
    assert taken is not None
    extra = eni("eni-other", 2, ips=ips + grow).cidrs[ips:]
    for seed in seeds * 2:  # each seed twice: once computing the ring, once reading it
        policy = IterationPolicy.go_random(seed)
        assert cidr_order(policy, draw, SITE_POD_CIDR, base) == definition(policy, base)
        # Copies made now start from the ring ``base`` keeps.
        same_set = base.with_cidr_at(taken[0], taken[1])
        grown, _ = base.with_added_cidrs(extra)
        shrunk = base.without_cidrs({base.cidrs[0].network})
        for e in (same_set, grown, shrunk, base):
            assert cidr_order(policy, draw, SITE_POD_CIDR, e) == definition(policy, e)
