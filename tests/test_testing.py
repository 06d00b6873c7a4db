"""The helpers of ``vpccni_model.testing`` that build nodes and observations."""

from __future__ import annotations

import pytest

from vpccni_model import (
    Config,
    InstanceLimits,
    MetadataObserved,
    NetworkCard,
    StateError,
    apply,
    instance_limits,
)
from vpccni_model.testing import boot_with_unmanaged, card_limit, observation

MULTI = InstanceLimits(
    name="gapped",
    max_enis=3,
    ipv4_per_eni=4,
    network_cards=(NetworkCard(0, 3), NetworkCard(2, 2), NetworkCard(3, 2)),
)


def test_card_limit_reads_the_card_then_the_instance() -> None:
    assert card_limit(MULTI, 2) == 2
    assert card_limit(instance_limits("m5.large"), 0) == 3
    assert card_limit(InstanceLimits(name="plain", max_enis=4, ipv4_per_eni=4), 0) == 4


def test_unmanaged_enis_are_attached_and_counted_on_managed_cards() -> None:
    state, ec2, ids = boot_with_unmanaged(MULTI, Config(multi_nic=True), {0: 2, 3: 1})
    assert ids == ("eni-unmanaged-0-1", "eni-unmanaged-0-2", "eni-unmanaged-3-0")
    assert [ds.unmanaged_enis for ds in state.datastores] == [2, 0, 1]
    assert {(o.eni_id, o.network_card, o.device_number) for o in ec2.observe()} == {
        ("eni-0", 0, 0),
        ("eni-unmanaged-0-1", 0, 1),
        ("eni-unmanaged-0-2", 0, 2),
        ("eni-unmanaged-3-0", 3, 0),
    }
    # A card ipamd does not manage (multi-NIC off) holds the ENI but counts nothing.
    single, _, _ = boot_with_unmanaged(MULTI, Config(), {2: 1})
    assert [(ds.network_card, ds.unmanaged_enis) for ds in single.datastores] == [(0, 0)]


def test_a_card_cannot_hold_more_unmanaged_enis_than_ec2_allows() -> None:
    with pytest.raises(StateError, match="card 0 cannot hold"):
        boot_with_unmanaged(MULTI, Config(), {0: 3})  # the primary takes one of 3 slots
    with pytest.raises(StateError, match="no such network card"):
        boot_with_unmanaged(MULTI, Config(), {1: 1})


def test_an_observation_marks_the_kinds_ec2_does_not_track() -> None:
    state, ec2, ids = boot_with_unmanaged(MULTI, Config(), {0: 1})
    seen = observation(ec2, excluded={"eni-0"}, unmanaged=set(ids))
    assert isinstance(seen, MetadataObserved)
    flags = {o.eni_id: (o.is_excluded, o.managed, o.is_trunk, o.is_efa) for o in seen.enis}
    assert flags == {
        "eni-0": (True, True, False, False),
        "eni-unmanaged-0-1": (False, False, False, False),
    }
    # The reconcile keeps counting the unmanaged ENI and adopts nothing.
    after = apply(state, seen, 0.0)
    assert [e.eni_id for e in after.enis] == ["eni-0"]
    assert after.datastore(0).unmanaged_enis == 1
