"""The CNI's retries for a pod that waits for an address, and which of them can succeed.

A pod placed at ``placed`` tries at ``placed + k * interval`` for k = 0, 1, 2, ... (the grid
is computed by multiplication, not by adding the interval again and again, so a long wait
does not drift) and gives up at its attempt ``give_up_attempt(interval, timeout)``, the first
one at least ``timeout`` after placement.

Between two changes of its node's datastores an attempt can only succeed once an address
leaves its cooldown: ``assign_pod_ip`` depends on nothing else. So the engine makes only the
attempts that can succeed (the first after each change of the datastores, the first after the
next cooling address cools, the last one) and skips the rest, which would fail the same way;
the pods get their addresses at the same attempts as if every one were made.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from vpccni_model._datastore import Datastore
from vpccni_model._ipv4 import PREFIX_SIZE


def attempt_time(placed: float, k: int, interval: float) -> float:
    """When attempt ``k`` of a pod placed at ``placed`` is made."""
    return placed + k * interval


def give_up_attempt(interval: float, timeout: float) -> int:
    """The attempt at which a pod gives up: the first ``k >= 1`` with ``k * interval >=
    timeout``."""
    k = max(1, math.ceil(timeout / interval))
    while k > 1 and (k - 1) * interval >= timeout:
        k -= 1
    while k * interval < timeout:
        k += 1
    return k


def first_attempt_from(placed: float, interval: float, after: int, time: float) -> int:
    """The first attempt after attempt ``after`` made at ``time`` or later."""
    k = max(after + 1, math.ceil((time - placed) / interval))
    while k > after + 1 and attempt_time(placed, k - 1, interval) >= time:
        k -= 1
    while attempt_time(placed, k, interval) < time:
        k += 1
    return k


def first_attempt_after(placed: float, interval: float, after: int, time: float) -> int:
    """The first attempt after attempt ``after`` made strictly after ``time``."""
    k = first_attempt_from(placed, interval, after, time)
    while attempt_time(placed, k, interval) <= time:
        k += 1
    return k


def no_free_address(stores: Sequence[Datastore], prefix_delegation: bool) -> bool:
    """True when no ENI has an unassigned IPv4 address of the mode, cooling or not (from the
    per-ENI counters): then every attempt fails until the datastores change."""
    for ds in stores:
        for eni in ds.enis:
            if prefix_delegation:
                if eni.prefix_cidrs * PREFIX_SIZE > eni.assigned_in_prefixes:
                    return False
            elif eni.ip_cidrs > eni.assigned_in_ips:
                return False
    return True


def cooling_ends(stores: Sequence[Datastore], clock: float, cooldown: float) -> float | None:
    """The earliest instant after which an address cooling at ``clock`` has cooled (an address
    cools while ``clock - unassigned_at <= cooldown``), or None if none is cooling."""
    earliest: float | None = None
    for ds in stores:
        for eni in ds.enis:
            if not eni.has_ip_in_cooling(clock, cooldown):
                continue
            for cidr in eni.cidrs:
                for entry in cidr.addresses:
                    if entry.pod is None and entry.cooling(clock, cooldown):
                        assert entry.unassigned_at is not None  # cooling implies unassigned
                        ends = entry.unassigned_at + cooldown
                        if earliest is None or ends < earliest:
                            earliest = ends
    return earliest


__all__ = [
    "attempt_time",
    "cooling_ends",
    "first_attempt_after",
    "first_attempt_from",
    "give_up_attempt",
    "no_free_address",
]
