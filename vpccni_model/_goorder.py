"""Go's map order applied to the datastore under ``IterationPolicy.go_random`` (spec 9).

Which of ipamd's loops are Go map iterations (checked in the v1.23.1 source) and so random:
N1 the per-card ``map[int]Decisions`` of a tick, N2 ``GetAllocatableENIs`` (a slice built by
ranging over the ENI map), N3 ``AssignPodIPv4Address`` (the ENI map, then each ENI's CIDR
map), N4 ``getUnusedIP`` (a CIDR's address map), N5 ``tryUnassignCidrsFromAll`` (the map of a
fresh ``GetENIInfos`` copy, itself filled by ranging over the ENI map), N6
``FindFreeableCidrs`` (an ENI's CIDR map) and N7 ``getDeletableENI`` (the ENI map). The card
loop of CNI ADD (``DataStores``) is a slice and stays ascending, as does the scan for a
never-used address inside a /28. Under ``ordered`` none of this runs: callers test
``policy.is_random`` first and keep their own loops.
"""

from __future__ import annotations

import bisect
from operator import attrgetter

from vpccni_model._datastore import Datastore
from vpccni_model._eni import ENI
from vpccni_model._ipv4 import PREFIX_SIZE
from vpccni_model._iteration import (
    MAP_ADDRESSES,
    MAP_CIDRS,
    MAP_ENI_POOL,
    SITE_COOLED,
    SITE_ENI_COPY,
    SITE_POD_CIDR,
    SITE_POD_ENI,
    SMALL_MAP,
    IterationPolicy,
    clock_key,
    fresh_text_key,
    map_start,
    mix,
    operation_key,
    ring,
    ring_order,
    small_map_order,
    text_key,
    visit_order,
)
from vpccni_model._model import Cidr, unchecked_address

_MAP_ENI_INFOS = 104  # the copy GetENIInfos makes: a new map (and hash seed) per call
_ip = attrgetter("ip")


def _device_slots(enis: tuple[ENI, ...]) -> list[int] | None:
    """The ENI map's slots of a small map: device numbers (ipamd attaches at the lowest free
    device index, which the map fills as its lowest free slot), if they fit one group."""
    slots = [e.device_number for e in enis]
    return slots if slots and slots[-1] < SMALL_MAP else None  # sorted by device


def eni_order(policy: IterationPolicy, draw: int, site: int, ds: Datastore) -> list[int]:
    """Positions in ``ds.enis`` in the order one ``range`` over ipamd's ENI map visits them."""
    return _eni_order_keyed(policy, operation_key(policy, draw), site, ds)


def _eni_order_keyed(policy: IterationPolicy, key: int, site: int, ds: Datastore) -> list[int]:
    """``eni_order`` from the operation's ``operation_key``."""
    enis = ds.enis
    start = map_start(key, site, ds.network_card)
    if len(enis) <= SMALL_MAP:
        return small_map_order(start, len(enis), _device_slots(enis))
    keys = tuple(text_key(e.eni_id) for e in enis)
    return ring_order(*ring(policy.seed, MAP_ENI_POOL, ds.network_card, keys), start)


def eni_infos_order(policy: IterationPolicy, draw: int, site: int, ds: Datastore) -> list[int]:
    """N5: the order of ``GetENIInfos().ENIs``, a map made afresh each call and filled by
    ranging over the ENI map; a small copy keeps that insertion order as its slot order."""
    enis = ds.enis
    filled = eni_order(policy, draw, SITE_ENI_COPY, ds)
    fresh = mix(draw, ds.network_card, _MAP_ENI_INFOS)
    second = visit_order(
        policy, draw, site, _MAP_ENI_INFOS, fresh, len(filled),
        lambda: [text_key(enis[i].eni_id) for i in filled],
    )  # fmt: skip
    return [filled[i] for i in second]


def cidr_order(policy: IterationPolicy, draw: int, site: int, eni: ENI) -> list[int]:
    """Positions in ``eni.cidrs`` in the order one ``range`` over its CIDR map visits them."""
    return _cidr_order_keyed(policy, operation_key(policy, draw), site, eni)


def cidr_ring(policy: IterationPolicy, eni: ENI) -> tuple[int, int, list[int], list[int]]:
    """(seed, map key, ring positions, order) of ``eni``'s CIDR map, kept on the ENI while
    its CIDR set is the same (``ENI.go_ring``): a pod's ADD ranges over it every time."""
    kept = eni.go_ring
    if isinstance(kept, tuple) and kept[0] == policy.seed:
        return kept
    map_id = text_key(eni.eni_id)
    made = (policy.seed, map_id, *ring(policy.seed, MAP_CIDRS, map_id, eni.networks))
    object.__setattr__(eni, "go_ring", made)
    return made


def _cidr_order_keyed(policy: IterationPolicy, key: int, site: int, eni: ENI) -> list[int]:
    """``cidr_order`` from the operation's ``operation_key``."""
    count = len(eni.cidrs)
    if count <= SMALL_MAP:
        return small_map_order(map_start(key, site, text_key(eni.eni_id)), count, None)
    _, map_id, positions, order = cidr_ring(policy, eni)
    return ring_order(positions, order, map_start(key, site, map_id))


def take_unused_ip(
    cidr: Cidr, policy: IterationPolicy, draw: int, map_id: int, pod: str, clock: float,
    cooldown: float,
) -> tuple[Cidr, int] | None:  # fmt: skip
    """``Cidr.take_unused_ip`` with N4: the cooled entry reused is the first the address
    map's iteration meets (every cooled entry is purged, as there); else the lowest
    never-used address, as ipamd scans for it in address order."""
    entries = cidr.addresses
    cooled = [i for i, e in enumerate(entries) if e.pod is None and not e.cooling(clock, cooldown)]
    if len(cooled) < 2:  # nothing to choose between: the ordered search gives the same
        return cidr.take_unused_ip(pod, clock, cooldown)
    if cidr.assigned == cidr.size:  # a /28, or an IPv6 /80 (``_ipv6.claim``)
        return None
    order = visit_order(
        policy, draw, SITE_COOLED, MAP_ADDRESSES, mix(map_id, cidr.network), len(entries),
        lambda: [e.ip for e in entries],
    )  # fmt: skip
    purge = set(cooled)
    ip = entries[next(i for i in order if i in purge)].ip
    kept = [e for i, e in enumerate(entries) if i not in purge]
    kept.insert(bisect.bisect_left(kept, ip, key=_ip), unchecked_address(ip, pod, clock, None))
    return cidr.with_addresses(tuple(kept)), ip


def claim_on_eni(
    eni: ENI, policy: IterationPolicy, draw: int, key: int, pod: str, clock: float,
    cooldown: float, prefix_delegation: bool,
) -> tuple[int, Cidr, int] | None:  # fmt: skip
    """``ENI.claim`` with N3's CIDR loop and N4 in Go's order (``key``: the operation's
    ``operation_key``)."""
    cidrs = eni.cidrs
    full = PREFIX_SIZE if prefix_delegation else 1
    map_id = text_key(eni.eni_id) if prefix_delegation else 0  # N4 runs on /28s only
    for index in _cidr_order_keyed(policy, key, SITE_POD_CIDR, eni):
        cidr = cidrs[index]
        if cidr.is_prefix != prefix_delegation or cidr.assigned == full:
            continue
        if cidr.is_prefix:
            taken = take_unused_ip(cidr, policy, draw, map_id, pod, clock, cooldown)
        else:
            taken = cidr.take_unused_ip(pod, clock, cooldown)
        if taken is not None:
            return index, taken[0], taken[1]
    return None


def pod_draw(clock: float, pod: str) -> int:
    """The key of one CNI ADD's iterations: its clock and pod key (spec 9)."""
    return mix(clock_key(clock), fresh_text_key(pod))


def claim(
    ds: Datastore, policy: IterationPolicy, pod: str, clock: float, cooldown: float,
    prefix_delegation: bool,
) -> tuple[int, int, Cidr, int] | None:  # fmt: skip
    """``Datastore.claim`` with N3 in Go's order: the ENI map, then each ENI's CIDR map.

    The ENIs with no room (the ones ``Datastore.claim`` skips) are skipped wherever the order
    puts them, so the order is drawn only when two or more have room, and the operation's
    draw (``pod_draw``: a function of the clock and pod alone) only when at least one has."""
    enis = ds.enis
    roomy = [
        at
        for at, eni in enumerate(enis)
        if not eni.is_excluded
        and (
            eni.assigned_in_prefixes < eni.prefix_cidrs * PREFIX_SIZE
            if prefix_delegation
            else eni.assigned_in_ips < eni.ip_cidrs
        )
    ]
    if not roomy:
        return None
    draw = pod_draw(clock, pod)
    key = operation_key(policy, draw)
    if len(roomy) > 1:
        keep = set(roomy)
        roomy = [at for at in _eni_order_keyed(policy, key, SITE_POD_ENI, ds) if at in keep]
    for eni_at in roomy:
        claimed = claim_on_eni(
            enis[eni_at], policy, draw, key, pod, clock, cooldown, prefix_delegation
        )
        if claimed is not None:
            return eni_at, *claimed
    return None
