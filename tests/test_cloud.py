"""FakeEC2: the deterministic EC2 stand-in (address carving, limits, error codes, call counts).

Expected values are worked out by hand from the subnet arithmetic: EC2 reserves the first four
addresses and the last one of every subnet, so in 10.0.0.0/24 the first address handed out is
10.0.0.4 (eni-0's primary IP when the fake is built from a booted node) and the last is
10.0.0.254. Retry and resync rules are spec 6.2 and 8 of /work/shared/docs/ipamd-spec.md.
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vpccni_model import NodeState
from vpccni_model._actions import (
    AllocateENI,
    AllocateIPs,
    AllocatePrefixes,
    FreeENI,
    ReleaseIPs,
    ReleasePrefixes,
)
from vpccni_model._config import Config
from vpccni_model._errors import StateError
from vpccni_model._events import (
    AllocationFailed,
    Ec2Error,
    ENIAttached,
    IPsAllocated,
    ObservedENI,
    PrefixesAllocated,
)
from vpccni_model._ipv4 import ip_to_int
from vpccni_model._limits import InstanceLimits, NetworkCard
from vpccni_model.cloud import FakeEC2
from vpccni_model.cloud._subnet import Subnet

LIMITS = InstanceLimits(name="test.small", max_enis=3, ipv4_per_eni=4)  # 3 secondary slots
WIDE = InstanceLimits(name="test.wide", max_enis=3, ipv4_per_eni=50)  # 49 secondary slots
SUBNET = "10.0.0.0/24"  # booted()'s subnet, named by its CIDR: the subnet id ENIs report
DEFAULT_SUBNET = "10.0.0.0/16"  # FakeEC2.for_node's


def ip(n: int) -> str:
    return f"10.0.0.{n}"


def pfx(n: int) -> str:
    return f"10.0.0.{n}/28"


def booted(limits: InstanceLimits = LIMITS, subnet: str = "10.0.0.0/24") -> FakeEC2:
    """A fake holding a freshly booted node's primary ENI eni-0 (no secondary IPs)."""
    return FakeEC2.for_node(NodeState.boot(limits, Config()), subnet)


# -- addresses --------------------------------------------------------------------------------


def test_the_four_reserved_addresses_are_skipped() -> None:
    ec2 = booted()
    # /24: 256 - 4 reserved - 1 broadcast = 251 usable; eni-0's primary took one (.4).
    assert ec2.free_addresses == 250
    assert ec2.describe("eni-0") == ObservedENI("eni-0", 0, ips=(), prefixes=(), subnet_id=SUBNET)
    assert ec2.execute(AllocateIPs("eni-0", 3)) == IPsAllocated("eni-0", (ip(5), ip(6), ip(7)))
    assert ec2.free_addresses == 247


def test_fresh_subnet_starts_at_the_fifth_address() -> None:
    ec2 = FakeEC2(LIMITS, "10.1.2.0/24")
    ec2.register_eni("eni-0", 0, 0)
    ec2.register_eni("eni-1", 0, 1)
    ec2.execute(AllocateIPs("eni-1", 1))
    # Primaries .4 and .5, then the secondary .6.
    assert ec2.describe("eni-1") == ObservedENI(
        "eni-1", 1, ips=("10.1.2.6",), subnet_id="10.1.2.0/24"
    )


def test_lowest_free_addresses_fill_gaps() -> None:
    ec2 = booted()
    ec2.register_eni("eni-7", 0, 1, ips={ip_to_int(ip(6)), ip_to_int(ip(8))})
    # eni-7's primary is the lowest free address, .5; the secondaries skip .6 and .8.
    assert ec2.execute(AllocateIPs("eni-0", 3)) == IPsAllocated("eni-0", (ip(7), ip(9), ip(10)))


def test_prefixes_are_aligned_slash28_blocks() -> None:
    ec2 = booted()
    # 10.0.0.0/28 holds the reserved .0-.3 and the primary .4, so the first free block is .16.
    assert ec2.execute(AllocatePrefixes("eni-0", 2)) == PrefixesAllocated(
        "eni-0", (pfx(16), pfx(32))
    )
    # Single IPs still come from the low gap .5-.15.
    assert ec2.execute(AllocateIPs("eni-0", 1)) == IPsAllocated("eni-0", (ip(5),))
    assert ec2.free_addresses == 250 - 32 - 1


def test_a_block_with_one_used_address_is_skipped() -> None:
    ec2 = booted()
    ec2.register_eni("eni-7", 0, 1, ips={ip_to_int(ip(20))})
    # .16/28 contains .20 -> the first whole free block is .32/28.
    assert ec2.execute(AllocatePrefixes("eni-0", 1)) == PrefixesAllocated("eni-0", (pfx(32),))


# -- limits, resync and fallbacks (spec 6.2, 8) -----------------------------------------------


def test_private_ip_limit_exceeded_resyncs_with_every_ip_of_the_eni() -> None:
    ec2 = booted()
    ec2.execute(AllocateIPs("eni-0", 1))  # .5; 2 slots left
    # 3 > 2 free slots: EC2 refuses (PrivateIpAddressLimitExceeded), ipamd describes the ENI
    # and reports every secondary IP it has - and nothing new is taken from the subnet.
    before = ec2.free_addresses
    assert ec2.execute(AllocateIPs("eni-0", 3)) == IPsAllocated("eni-0", (ip(5),))
    assert ec2.free_addresses == before
    assert ec2.calls["DescribeNetworkInterfaces"] == 1
    assert ec2.calls["AssignPrivateIpAddresses"] == 2


def test_private_ip_limit_exceeded_resync_for_prefixes() -> None:
    ec2 = booted()
    ec2.execute(AllocatePrefixes("eni-0", 3))  # .16, .32, .48: the ENI is full (3 slots)
    event = ec2.execute(AllocatePrefixes("eni-0", 1))
    assert event == PrefixesAllocated("eni-0", (pfx(16), pfx(32), pfx(48)))
    assert ec2.calls["DescribeNetworkInterfaces"] == 1


def test_secondary_ips_and_prefixes_share_the_slots() -> None:
    ec2 = booted()
    ec2.execute(AllocatePrefixes("eni-0", 2))
    # 2 of 3 slots used by prefixes: asking for 2 IPs exceeds the limit -> resync (no prefixes
    # reported for an IP call, and no IPs on the ENI yet).
    assert ec2.execute(AllocateIPs("eni-0", 2)) == IPsAllocated("eni-0", ())
    assert ec2.execute(AllocateIPs("eni-0", 1)) == IPsAllocated("eni-0", (ip(5),))


def test_more_than_free_falls_back_to_one() -> None:
    # 10.0.0.0/28: usable .4-.14 = 11 addresses; eni-0's primary takes .4 -> 10 free.
    ec2 = booted(WIDE, "10.0.0.0/28")
    assert ec2.free_addresses == 10
    # 11 > 10 free: the N-sized call fails, ipamd retries once with count 1 (spec 8).
    assert ec2.execute(AllocateIPs("eni-0", 11)) == IPsAllocated("eni-0", (ip(5),))
    assert ec2.calls["AssignPrivateIpAddresses"] == 2
    assert ec2.free_addresses == 9


def test_exhausted_subnet_reports_insufficient_free_addresses() -> None:
    ec2 = booted(WIDE, "10.0.0.0/28")
    assert ec2.execute(AllocateIPs("eni-0", 10)) == IPsAllocated(
        "eni-0", tuple(ip(n) for n in range(5, 15))
    )
    assert ec2.free_addresses == 0
    failed = AllocationFailed(Ec2Error.INSUFFICIENT_FREE_ADDRESSES)
    assert ec2.execute(AllocateIPs("eni-0", 1)) == failed
    # ipamd retries with count 1 even when the failed call already asked for 1 (tryAssignIPs
    # does not look at the first count): 1 (first) + 2 (this) calls so far.
    assert ec2.calls["AssignPrivateIpAddresses"] == 3
    assert ec2.execute(AllocateIPs("eni-0", 2)) == failed
    # The 2-sized call failed and was retried with 1: two more calls.
    assert ec2.calls["AssignPrivateIpAddresses"] == 5
    assert ec2.execute(AllocateENI(0, 1)) == failed


def test_fragmented_small_subnet_has_addresses_but_no_aligned_block() -> None:
    # 10.0.0.0/26: usable .4-.62. Whole blocks inside that range: .16/28 and .32/28 only
    # (.48/28 would need the broadcast .63). eni-7 holds .20 and .40, breaking both.
    ec2 = booted(LIMITS, "10.0.0.0/26")
    ec2.register_eni("eni-7", 0, 1, ips={ip_to_int(ip(20)), ip_to_int(ip(40))})
    # 59 usable - eni-0 primary - eni-7 primary - 2 secondaries.
    assert ec2.free_addresses == 55
    blocks = AllocationFailed(Ec2Error.INSUFFICIENT_CIDR_BLOCKS)
    assert ec2.execute(AllocatePrefixes("eni-0", 1)) == blocks
    assert ec2.execute(AllocatePrefixes("eni-0", 2)) == blocks
    before = ec2.free_addresses
    # Creating a prefix ENI fails the same way and gives back the primary IP it took.
    assert ec2.execute(AllocateENI(0, 1, prefixes=True)) == blocks
    assert ec2.free_addresses == before
    # Single IPs are still there.
    assert ec2.execute(AllocateIPs("eni-0", 1)) == IPsAllocated("eni-0", (ip(6),))


def test_a_slash27_never_holds_a_prefix() -> None:
    # 10.0.0.0/27: usable .4-.30; .16/28 would need the broadcast .31.
    ec2 = booted(LIMITS, "10.0.0.0/27")
    assert ec2.free_addresses == 26
    assert ec2.execute(AllocatePrefixes("eni-0", 1)) == AllocationFailed(
        Ec2Error.INSUFFICIENT_CIDR_BLOCKS
    )


def test_unknown_eni_fails_with_not_found() -> None:
    ec2 = booted()
    event = ec2.execute(AllocateIPs("eni-404", 1))
    assert event == AllocationFailed(Ec2Error.NOT_FOUND)


# -- ENI creation and release -----------------------------------------------------------------


def test_new_enis_take_the_lowest_free_device_number() -> None:
    ec2 = booted()
    # The new ENI's primary is the lowest free address, its secondaries the next ones.
    assert ec2.execute(AllocateENI(0, 1)) == ENIAttached(
        "eni-1", 1, 0, ips=(ip(6),), subnet_id=SUBNET
    )
    assert ec2.execute(AllocateENI(0, 2)) == ENIAttached(
        "eni-2", 2, 0, ips=(ip(8), ip(9)), subnet_id=SUBNET
    )
    assert ec2.execute(FreeENI("eni-1")) is None
    # Device 1 and eni-1's .5 (primary) and .6 are free again.
    assert ec2.execute(AllocateENI(0, 1)) == ENIAttached(
        "eni-3", 1, 0, ips=(ip(6),), subnet_id=SUBNET
    )
    # The card allows 3 ENIs: eni-0, eni-2, eni-3.
    assert ec2.execute(AllocateENI(0, 1)) == AllocationFailed(Ec2Error.ATTACHMENT_LIMIT_EXCEEDED)


def test_prefix_eni_creation() -> None:
    ec2 = booted()
    event = ec2.execute(AllocateENI(0, 2, prefixes=True))
    assert event == ENIAttached("eni-1", 1, 0, prefixes=(pfx(16), pfx(32)), subnet_id=SUBNET)
    # Primary .5, plus 32 prefix addresses.
    assert ec2.free_addresses == 250 - 1 - 32


def test_device_numbers_and_limits_are_per_card() -> None:
    limits = InstanceLimits(
        name="test.multi",
        max_enis=3,
        ipv4_per_eni=4,
        network_cards=(NetworkCard(0, 3), NetworkCard(1, 1)),
    )
    ec2 = booted(limits)
    assert ec2.execute(AllocateENI(1, 1)) == ENIAttached(
        "eni-1", 0, 1, ips=(ip(6),), subnet_id=SUBNET
    )
    # Card 1 allows a single ENI: eni-2 is created, EC2 refuses its attach, and it is deleted.
    assert ec2.execute(AllocateENI(1, 1)) == AllocationFailed(Ec2Error.ATTACHMENT_LIMIT_EXCEEDED)
    # Card 0 still has room (device 1); eni-2's addresses are free again.
    assert ec2.execute(AllocateENI(0, 1)) == ENIAttached(
        "eni-3", 1, 0, ips=(ip(8),), subnet_id=SUBNET
    )
    assert [(o.eni_id, o.network_card, o.device_number) for o in ec2.observe()] == [
        ("eni-0", 0, 0),
        ("eni-3", 0, 1),
        ("eni-1", 1, 0),
    ]


def test_an_eni_on_a_card_the_node_lacks_is_refused_before_any_call() -> None:
    ec2 = booted()  # one card (0)
    before = ec2.free_addresses
    with pytest.raises(StateError, match="network_card"):
        ec2.execute(AllocateENI(1, 1))
    assert not ec2.calls
    assert ec2.free_addresses == before


def test_released_ips_return_to_the_subnet() -> None:
    ec2 = booted()
    ec2.execute(AllocateIPs("eni-0", 3))  # .5 .6 .7
    assert ec2.execute(ReleaseIPs("eni-0", (ip(6),))) is None
    assert ec2.free_addresses == 248
    assert ec2.describe("eni-0") == ObservedENI("eni-0", 0, ips=(ip(5), ip(7)), subnet_id=SUBNET)
    # The lowest free address is the released one.
    assert ec2.execute(AllocateIPs("eni-0", 1)) == IPsAllocated("eni-0", (ip(6),))


def test_released_prefixes_return_to_the_subnet() -> None:
    ec2 = booted()
    ec2.execute(AllocatePrefixes("eni-0", 2))  # .16/28 .32/28
    assert ec2.execute(ReleasePrefixes("eni-0", (pfx(16),))) is None
    assert ec2.free_addresses == 250 - 16
    assert ec2.describe("eni-0") == ObservedENI("eni-0", 0, prefixes=(pfx(32),), subnet_id=SUBNET)
    assert ec2.execute(AllocatePrefixes("eni-0", 1)) == PrefixesAllocated("eni-0", (pfx(16),))


def test_releasing_what_the_eni_does_not_hold_changes_nothing() -> None:
    ec2 = booted()
    ec2.execute(AllocateIPs("eni-0", 1))  # .5
    ec2.register_eni("eni-7", 0, 1, ips={ip_to_int(ip(9))})
    before = ec2.free_addresses
    ec2.execute(ReleaseIPs("eni-0", (ip(9), ip(100))))
    assert ec2.free_addresses == before
    assert ec2.describe("eni-7") == ObservedENI("eni-7", 1, ips=(ip(9),), subnet_id=SUBNET)


def test_freed_eni_returns_all_its_addresses() -> None:
    ec2 = booted()
    ec2.execute(AllocateENI(0, 2))  # primary .5, secondaries .6 .7; one slot left
    ec2.execute(AllocatePrefixes("eni-1", 1))  # .16/28
    assert ec2.free_addresses == 250 - 3 - 16
    ec2.execute(FreeENI("eni-1"))
    assert ec2.free_addresses == 250
    assert ec2.describe("eni-1") is None


def test_calls_are_counted_by_api() -> None:
    ec2 = booted()
    ec2.execute(AllocateIPs("eni-0", 1))
    ec2.execute(AllocateENI(0, 1))
    ec2.execute(ReleaseIPs("eni-0", (ip(5),)))
    ec2.execute(ReleasePrefixes("eni-0", ()))
    ec2.execute(FreeENI("eni-1"))
    assert dict(ec2.calls) == {
        "AssignPrivateIpAddresses": 1,
        "CreateNetworkInterface": 1,
        "AttachNetworkInterface": 1,
        "ModifyNetworkInterfaceAttribute": 1,
        "UnassignPrivateIpAddresses": 2,
        "DescribeNetworkInterfaces": 1,
        "DetachNetworkInterface": 1,
        "DeleteNetworkInterface": 1,
    }


def test_failed_creation_is_counted_without_an_attach() -> None:
    ec2 = booted(WIDE, "10.0.0.0/28")
    ec2.execute(AllocateIPs("eni-0", 10))
    assert ec2.execute(AllocateENI(0, 1)) == AllocationFailed(Ec2Error.INSUFFICIENT_FREE_ADDRESSES)
    assert ec2.calls["CreateNetworkInterface"] == 1
    assert ec2.calls["AttachNetworkInterface"] == 0


# -- registration -----------------------------------------------------------------------------


def test_for_node_registers_every_eni_and_cidr() -> None:
    config = Config()
    state = NodeState.boot(LIMITS, config)
    ec2 = FakeEC2.for_node(state)
    ec2.execute(AllocateIPs("eni-0", 2))
    ec2.execute(AllocateENI(0, 1))
    assert ec2.observe() == (
        ObservedENI("eni-0", 0, ips=(ip(5), ip(6)), subnet_id=DEFAULT_SUBNET),
        ObservedENI("eni-1", 1, ips=(ip(8),), subnet_id=DEFAULT_SUBNET),
    )


@pytest.mark.parametrize("subnet", ["10.0.0.0/29", "10.0.0.1/24", "not-a-subnet"])
def test_bad_subnets_are_refused(subnet: str) -> None:
    with pytest.raises(StateError):
        FakeEC2(LIMITS, subnet)


def test_registering_overlapping_addresses_is_refused() -> None:
    ec2 = booted()
    ec2.execute(AllocateIPs("eni-0", 1))  # .5
    with pytest.raises(StateError):
        ec2.register_eni("eni-7", 0, 1, ips={ip_to_int(ip(5))})
    with pytest.raises(StateError):
        ec2.register_eni("eni-0", 0, 2)


# -- the subnet's search starts (an optimization) agree with a plain rescan -------------------


_SUBNET_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("ips"), st.integers(1, 40)),
        st.tuples(st.just("prefixes"), st.integers(1, 4)),
        st.tuples(st.just("free"), st.integers(0, 10_000)),
    ),
    max_size=60,
)


@given(ops=_SUBNET_OPS, cidr=st.sampled_from(["10.0.0.0/24", "10.0.0.0/23", "10.1.2.0/26"]))
def test_subnet_hands_out_the_lowest_free_addresses_and_blocks(
    ops: list[tuple[str, int]], cidr: str
) -> None:
    subnet = Subnet("s", ipaddress.IPv4Network(cidr))
    used: set[int] = set()
    usable = range(subnet.first, subnet.last + 1)
    for op, n in ops:
        if op == "ips":
            free = [ip for ip in usable if ip not in used]
            expected = free[:n] if n <= len(free) else []
            assert subnet.take_ips(n) == expected
            used.update(expected)
        elif op == "prefixes":
            blocks = [
                base
                for base in range(usable.start - usable.start % 16, usable.stop, 16)
                if base >= usable.start
                and base + 15 < usable.stop
                and not any(ip in used for ip in range(base, base + 16))
            ]
            expected = blocks[:n] if n <= len(blocks) else []
            assert subnet.take_prefixes(n) == expected
            used.update(ip for base in expected for ip in range(base, base + 16))
        elif used:
            victim = sorted(used)[n % len(used)]
            subnet.unmark(victim)
            used.discard(victim)
        assert subnet.used == used
        assert subnet.free_addresses == len(usable) - len(used)


def test_subnet_holes_retaken_as_prefixes_do_not_pile_up() -> None:
    """Prefix mode frees /28s address by address and takes them back as whole blocks: the
    freed addresses below the IP scan start stay listed (taken again, they are skipped) until
    they outnumber that range twice over; then only the free ones are kept."""
    subnet = Subnet("s", ipaddress.IPv4Network("10.0.0.0/24"))
    assert len(subnet.take_ips(40)) == 40  # the IP scan start is now past 10.0.0.43
    low = subnet.take_prefixes(1)[0]
    assert low == ip_to_int("10.0.0.48")
    first = subnet.first
    for _ in range(200):
        for ip in range(first, first + 16):  # free the first 16 addresses, take them back
            subnet.unmark(ip)
        for ip in range(first, first + 16):
            subnet.mark(ip)
    assert len(subnet._holes) <= 2 * 40 + 64 + 16
    subnet.unmark(first + 5)
    assert subnet.take_ips(2) == [first + 5, first + 40]  # the hole, then the scan start
