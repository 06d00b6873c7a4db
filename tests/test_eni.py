"""The ENI value (``vpccni_model._eni``): counters, the ``room_from`` hint, the search
``claim`` and the named copies (``with_cidr_at``, ``without_cidrs``, ``with_added_cidrs``).

Every named copy must leave a value equal to the one construction builds from the same fields
(counters recounted from scratch): that is what makes them safe to skip checks.
"""

from __future__ import annotations

import attrs
import pytest
from builders import eni_from_cidrs, ip, prefix28, slash32

from vpccni_model import ENI, Cidr, StateError

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
