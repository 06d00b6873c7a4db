"""Address and Cidr values (``vpccni_model._model``): derived counters, cooling, and the pod
path's operations on one CIDR (``Cidr.take_unused_ip``, ``Cidr.release_ip``), which must
leave a CIDR equal to the one construction builds from the same addresses.
"""

from __future__ import annotations

import attrs
import pytest
from builders import addr, ip, prefix28, slash32

from vpccni_model import Address, StateError
from vpccni_model._model import parse_cidrs

COOLDOWN = 30.0


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


def test_parse_cidrs_reads_event_text() -> None:
    got = parse_cidrs(["10.0.0.5"], ["10.0.0.16/28", "10.0.0.32"])
    assert [c.key for c in got] == ["10.0.0.5/32", "10.0.0.16/28", "10.0.0.32/28"]
    with pytest.raises(StateError) as info:
        parse_cidrs([], ["10.0.0.5/32"])
    assert info.value.field == "prefixes"
