"""Datastore values (``vpccni_model._model``): Address, Cidr, ENI, their derived counters and
the named copies the core uses (``Cidr.take_unused_ip`` / ``release_ip``, ``ENI.claim``,
``with_cidr_at``, ``without_cidrs``, ``with_added_cidrs``).

Every named copy must leave a value equal to the one construction builds from the same
fields (counters recounted from scratch): that is what makes them safe to skip checks.
"""

from __future__ import annotations

import attrs
import pytest
from builders import addr, eni_from_cidrs, ip, prefix28, slash32

from vpccni_model import ENI, Address, Cidr, StateError
from vpccni_model._model import parse_cidrs

COOLDOWN = 30.0


def rebuilt(value: ENI) -> ENI:
    """The same ENI built by construction: every counter recounted."""
    return attrs.evolve(value, cidrs=value.cidrs)


def counters(value: ENI) -> tuple[int, ...]:
    return (
        value.ip_cidrs,
        value.prefix_cidrs,
        value.assigned_in_ips,
        value.assigned_in_prefixes,
        value.free_ip_cidrs,
        value.free_prefix_cidrs,
    )


# -- Address and Cidr ---------------------------------------------------------------------------


def test_cooling_is_unassigned_and_within_the_cooldown_inclusive() -> None:
    freed = Address(ip("10.0.0.1"), None, 0.0, 100.0)
    assert freed.cooling(130.0, COOLDOWN)  # elapsed 30 <= 30 (spec 3.5)
    assert not freed.cooling(130.5, COOLDOWN)
    assert not freed.cooling(100.0, -1.0)  # a negative cooldown never cools
    assert not Address(ip("10.0.0.1"), "p", 0.0).cooling(100.0, COOLDOWN)


def test_cidr_counts_assigned_and_the_newest_unassignment() -> None:
    cidr = prefix28(
        "10.0.0.16",
        addr("10.0.0.16", "a"),
        addr("10.0.0.17", unassigned_at=5.0),
        addr("10.0.0.18", unassigned_at=9.0),
    )
    assert (cidr.assigned, cidr.latest_unassigned_at) == (1, 9.0)
    assert (cidr.key, cidr.cooldown_key, cidr.size) == ("10.0.0.16/28", "10.0.0.16/28", 16)
    single = slash32("10.0.0.5")
    assert (single.key, single.cooldown_key, single.size) == ("10.0.0.5/32", "10.0.0.5", 1)


def test_take_unused_ip_gives_the_lowest_cooled_entry_and_purges_the_cooled_ones() -> None:
    cidr = prefix28(
        "10.0.0.16",
        addr("10.0.0.17", unassigned_at=10.0),  # cooled at 50
        addr("10.0.0.19", unassigned_at=10.0),  # cooled at 50
        addr("10.0.0.20", unassigned_at=45.0),  # still cooling at 50
    )
    taken = cidr.take_unused_ip("p", 50.0, COOLDOWN)
    assert taken is not None
    new, number = taken
    assert number == ip("10.0.0.17")
    # getUnusedIP deletes every cooled entry; the cooling one stays.
    assert [(a.ip, a.pod) for a in new.addresses] == [
        (ip("10.0.0.17"), "p"),
        (ip("10.0.0.20"), None),
    ]
    assert new == attrs.evolve(new, addresses=new.addresses)  # counters as construction's


def test_take_unused_ip_takes_a_fresh_address_when_nothing_has_cooled() -> None:
    cidr = prefix28("10.0.0.16", addr("10.0.0.16", "a"), addr("10.0.0.17", unassigned_at=45.0))
    taken = cidr.take_unused_ip("p", 50.0, COOLDOWN)
    assert taken is not None and taken[1] == ip("10.0.0.18")


def test_take_unused_ip_on_a_slash_32() -> None:
    assert slash32("10.0.0.5", "a").take_unused_ip("p", 50.0, COOLDOWN) is None
    assert slash32("10.0.0.5", unassigned_at=40.0).take_unused_ip("p", 50.0, COOLDOWN) is None
    taken = slash32("10.0.0.5", unassigned_at=10.0).take_unused_ip("p", 50.0, COOLDOWN)
    assert taken is not None and taken[0].addresses == (Address(ip("10.0.0.5"), "p", 50.0),)


def test_release_ip_needs_the_holding_pod() -> None:
    cidr = prefix28("10.0.0.16", addr("10.0.0.16", "a", assigned_at=3.0))
    assert cidr.release_ip(ip("10.0.0.16"), "b", 9.0) is None
    assert cidr.release_ip(ip("10.0.0.17"), "a", 9.0) is None
    freed = cidr.release_ip(ip("10.0.0.16"), "a", 9.0)
    assert freed is not None
    assert freed.addresses == (Address(ip("10.0.0.16"), None, 3.0, 9.0),)
    assert (freed.assigned, freed.latest_unassigned_at) == (0, 9.0)


# -- ENI ----------------------------------------------------------------------------------------


def full_then_free() -> ENI:
    return eni_from_cidrs(
        "eni-1",
        1,
        [slash32("10.0.1.1", "a"), slash32("10.0.1.2", "b"), slash32("10.0.1.3")],
    )


def test_claim_skips_full_cidrs_and_moves_room_from() -> None:
    eni = full_then_free()
    assert eni.room_from == 2  # construction: the first CIDR with room
    claimed = eni.claim("p", 1.0, COOLDOWN, False)
    assert claimed is not None
    position, new_cidr, number = claimed
    assert (position, number) == (2, ip("10.0.1.3"))
    after = eni.with_cidr_at(position, new_cidr)
    assert after.room_from == 3  # filled at room_from: past it
    assert counters(after) == counters(rebuilt(after)) == (3, 0, 3, 0, 0, 0)
    assert after == rebuilt(after)
    assert after.claim("q", 1.0, COOLDOWN, False) is None
    assert after.room_from == 3


def test_claim_ignores_cidrs_of_the_other_mode() -> None:
    eni = eni_from_cidrs("eni-1", 1, [slash32("10.0.1.1"), prefix28("10.0.1.16")])
    claimed = eni.claim("p", 1.0, COOLDOWN, True)
    assert claimed is not None and claimed[2] == ip("10.0.1.16")
    claimed = eni.claim("p", 1.0, COOLDOWN, False)
    assert claimed is not None and claimed[2] == ip("10.0.1.1")


def test_with_cidr_at_lowers_room_from_when_an_address_frees() -> None:
    eni = full_then_free()
    freed = eni.cidrs[0].release_ip(ip("10.0.1.1"), "a", 5.0)
    assert freed is not None
    after = eni.with_cidr_at(0, freed)
    assert after.room_from == 0
    assert after.latest_unassigned_at == 5.0
    assert after == rebuilt(after) and counters(after) == counters(rebuilt(after))


def test_without_cidrs_moves_the_counters_by_what_left() -> None:
    eni = eni_from_cidrs(
        "eni-1",
        1,
        [slash32("10.0.1.1", "a"), slash32("10.0.1.2"), prefix28("10.0.1.16")],
    )
    after = eni.without_cidrs({ip("10.0.1.2"), ip("10.0.1.16")})
    assert [c.key for c in after.cidrs] == ["10.0.1.1/32"]
    assert counters(after) == counters(rebuilt(after)) == (1, 0, 1, 0, 0, 0)
    assert eni.without_cidrs({ip("10.9.9.9")}) is eni


def test_with_added_cidrs_ignores_networks_held_and_counts_prefixes() -> None:
    eni = eni_from_cidrs("eni-1", 1, [slash32("10.0.1.1", "a")])
    new, added = eni.with_added_cidrs(
        [Cidr(ip("10.0.1.1"), False), Cidr(ip("10.0.1.16"), True), Cidr(ip("10.0.1.16"), True)]
    )
    assert added == 1
    assert [c.key for c in new.cidrs] == ["10.0.1.1/32", "10.0.1.16/28"]
    assert new.cidrs[0].assigned == 1  # the held CIDR keeps its addresses
    assert eni.with_added_cidrs([]) == (eni, 0)


def test_eni_construction_refuses_overlapping_cidrs() -> None:
    with pytest.raises(StateError) as info:
        eni_from_cidrs("eni-1", 1, [prefix28("10.0.1.16"), slash32("10.0.1.17")])
    assert info.value.field == "cidrs"


def test_parse_cidrs_reads_event_text() -> None:
    got = parse_cidrs(["10.0.0.5"], ["10.0.0.16/28", "10.0.0.32"])
    assert [c.key for c in got] == ["10.0.0.5/32", "10.0.0.16/28", "10.0.0.32/28"]
    with pytest.raises(StateError) as info:
        parse_cidrs([], ["10.0.0.5/32"])
    assert info.value.field == "prefixes"
