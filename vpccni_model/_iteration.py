"""Where ipamd iterates a Go map, which order the model uses: ``IterationPolicy`` (spec 9).

``IterationPolicy.ordered()`` is the documented fixed order (ENIs by device then id, CIDRs and
addresses by value, cards ascending) and the default everywhere. ``go_random(seed)`` imitates
how Go 1.26's maps (Swiss tables, since Go 1.24) iterate, which is what ipamd v1.23.1 runs:

* Every ``range`` over a map draws a fresh random start (``Iter.Init``: ``entryOffset =
  rand()``) and walks the slots cyclically from there.
* A small map (at most 8 entries, one group) puts each new key in its first empty slot, so
  the order is a rotation of the slot order by a start uniform over the 8 slots: with 3
  entries in slots 0-2 the first comes first 6 times in 8. For the ENI map the model takes
  the device number as the slot (ipamd attaches at the lowest free device index, which is
  also the lowest free slot, the primary ENI first); for CIDR and address maps its own order
  (by value) stands for the slot order (a simplification: Go's follows the insert and
  delete history).
* A larger map places keys by their hash with a per-map seed fixed when the map is made, so
  the cyclic order is fixed for the map's life and only the start is drawn each time. The
  model gives each key a fixed pseudo-random position per (seed, map, key) and draws a start
  uniform over the circle (so an entry comes first with the probability of the gap before it,
  as with the slots). Simplified: which of the two applies is decided by the current size
  (Go's maps never shrink back to small), and growth does not reshuffle the layout.

Pure: a draw is a function of (seed, the clock, a site tag, the map and a key such as the pod),
never of global random state; the same inputs give the same order.
"""

from __future__ import annotations

import bisect
import hashlib
import struct
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Final, Literal

import attrs

from vpccni_model._checks import as_int
from vpccni_model._errors import ConfigError, StateError

ORDERED: Final = "ordered"
GO_RANDOM: Final = "go-random"
Kind = Literal["ordered", "go-random"]
KINDS: Final = (ORDERED, GO_RANDOM)

_MASK: Final = (1 << 64) - 1
SMALL_MAP: Final = 8  # abi.SwissMapGroupSlots: a map of at most 8 entries is one group

# Site tags: one per ``range`` of spec 9, so draws at different sites are independent.
SITE_CARDS: Final = 1  # N1 the per-card decisions map of a tick
SITE_GROW: Final = 2  # N2 GetAllocatableENIs over eniPool
SITE_POD_ENI: Final = 3  # N3 AssignPodIPv4Address over eniPool
SITE_POD_CIDR: Final = 4  # N3 ... over an ENI's AvailableIPv4Cidrs
SITE_COOLED: Final = 5  # N4 getUnusedIP over a CIDR's IPAddresses
SITE_DECREASE_ENI: Final = 6  # N5 tryUnassignCidrsFromAll over GetENIInfos().ENIs
SITE_FREEABLE: Final = 7  # N6 FindFreeableCidrs over AvailableIPv4Cidrs
SITE_FREE_ENI: Final = 8  # N7 getDeletableENI over eniPool
SITE_ENI_COPY: Final = 9  # N5 the copy GetENIInfos builds by ranging over eniPool

# Layout tags: the Go map a position belongs to (two sites over one map share its layout).
MAP_ENI_POOL: Final = 101
MAP_CIDRS: Final = 102
MAP_ADDRESSES: Final = 103


@attrs.frozen
class IterationPolicy:
    """The order at Go's map iterations (spec 9): ``ordered()`` or ``go_random(seed)``.

    Lives in ``NodeState.iteration`` (set by ``NodeState.boot``), so every operation on the
    node uses it without an argument.
    """

    kind: str = ORDERED  # a str, not Kind, so JSON readers report a bad one as a ConfigError
    seed: int = 0
    # Derived, so the hot paths test one attribute: any order but the documented one.
    is_random: bool = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if type(self.kind) is not str or self.kind not in KINDS:
            raise ConfigError("kind", self.kind, f"must be one of {', '.join(KINDS)}")
        try:
            as_int("seed", self.seed, 0, _MASK)
        except StateError as exc:
            raise ConfigError("seed", self.seed, exc.reason) from None
        if self.kind == ORDERED and self.seed != 0:
            raise ConfigError("seed", self.seed, "the ordered policy takes no seed")
        object.__setattr__(self, "is_random", self.kind != ORDERED)

    @classmethod
    def ordered(cls) -> IterationPolicy:
        """The documented fixed order: today's behaviour, for exact replay."""
        return DEFAULT

    @classmethod
    def go_random(cls, seed: int) -> IterationPolicy:
        """Go's randomised map iteration, deterministic for ``seed`` (0 .. 2**64-1)."""
        return cls(kind=GO_RANDOM, seed=seed)


DEFAULT: Final = IterationPolicy()


def _mix(x: int) -> int:
    """splitmix64's finaliser: a bijective 64-bit mix."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def mix(*parts: int) -> int:
    """A 64-bit value from integers, each folded in turn."""
    value = 0
    for part in parts:
        value = _mix(value ^ (part & _MASK))
    return value


def fresh_text_key(text: str) -> int:
    """A stable 64-bit key for an id or pod key (Python's ``hash`` of text is salted)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


#: ``fresh_text_key`` kept for the texts asked again and again (ENI ids). A pod key is asked
#: about once per CNI ADD and mostly never again: it takes ``fresh_text_key``, so a large
#: run's stream of new pods does not churn this cache.
text_key = lru_cache(maxsize=65536)(fresh_text_key)


def clock_key(clock: float) -> int:
    """A stable key for a clock: its IEEE 754 bits (the same on every platform, unlike
    ``hash``, whose modulus depends on the word size)."""
    bits: int = _DOUBLE.unpack(_DOUBLE_BYTES.pack(clock))[0]
    return bits


_DOUBLE_BYTES = struct.Struct("<d")
_DOUBLE = struct.Struct("<Q")


@lru_cache(maxsize=256)
def _drawn(seed: int, draw: int) -> int:
    """``mix(seed, draw)``: one operation (one draw) ranges over several maps."""
    return mix(seed, draw)


def operation_key(policy: IterationPolicy, draw: int) -> int:
    """``mix(seed, draw)``: the part of every start that one operation's draw fixes, mixed
    once by a caller that ranges over several maps in one operation (``visit_order`` keeps
    the last few in ``_drawn`` instead)."""
    return _mix(_mix(policy.seed) ^ (draw & _MASK))  # mix(seed, draw); seed is 0..2**64-1


def map_start(key: int, site: int, map_id: int) -> int:
    """Where one ``range`` starts: ``mix(seed, draw, site, map_id)`` from ``operation_key``'s
    ``key``, its last two folds written out (a pod's CNI ADD computes two or three)."""
    x = ((key ^ (site & _MASK)) + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    x = (((x ^ (x >> 31)) ^ (map_id & _MASK)) + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def visit_order(
    policy: IterationPolicy,
    draw: int,
    site: int,
    layout: int,
    map_id: int,
    count: int,
    keys: Callable[[], Sequence[int]],
    slots: list[int] | None = None,
) -> list[int]:
    """Positions 0..count-1 of a map's entries (in the model's order) in the order one Go
    ``range`` over that map visits them. ``draw`` is the operation's key (clock, pod);
    ``site`` tells iterations apart; ``layout`` and ``map_id`` name the map; ``keys`` gives
    the entries' keys, needed only for a map larger than one group. ``slots``, for a small
    map, are the entries' slots (0..7, in ascending order, as the entries are) when known;
    else their rank."""
    start = map_start(_drawn(policy.seed, draw), site, map_id)
    if count <= SMALL_MAP:
        return small_map_order(start, count, slots)
    positions, order = ring(policy.seed, layout, map_id, tuple(keys()))
    return ring_order(positions, order, start)


def small_map_order(start: int, count: int, slots: list[int] | None) -> list[int]:
    """A small map's visit order from a ``map_start``: a rotation of its slots (see
    ``visit_order``)."""
    first = start & (SMALL_MAP - 1)
    if slots is not None:  # walk the 8 slots from ``first``, wrapping: a rotation
        cut = bisect.bisect_left(slots, first)
        return [*range(cut, count), *range(cut)]
    if first >= count:  # empty slots after the entries: the walk wraps to slot 0
        first = 0
    return [*range(first, count), *range(first)]


def ring_order(positions: list[int], order: list[int], start: int) -> list[int]:
    """A larger map's visit order from its ``ring`` and a ``map_start``: the entries sorted
    by (position - start) mod 2**64, i.e. those at or after ``start`` on the ring in position
    order, then the rest from the ring's origin."""
    cut = bisect.bisect_left(positions, start)
    return order[cut:] + order[:cut]


@lru_cache(maxsize=1 << 17)
def ring(seed: int, layout: int, map_id: int, keys: tuple[int, ...]) -> tuple[list[int], list[int]]:
    """The entries' positions on the 64-bit ring, ascending, and their indices in that order
    (ties by index). A map's keys change far less often than its iterations' start; the
    cache holds every live map of a 10,000-node simulation (about 30,000 ENIs) several times
    over, at a few hundred bytes an entry."""
    ranked = sorted((mix(seed, layout, map_id, key), i) for i, key in enumerate(keys))
    return [p for p, _ in ranked], [i for _, i in ranked]
