"""The pod index: where each pod's address lives (``PodIP``), in a persistent map by pod key.

Every CNI ADD and DEL changes one entry of a node's index. A copied dict costs O(pods) per
change (a few µs at 700 pods); this map shares structure between versions (a HAMT, from the
``immutables`` package), so a change costs O(log pods) and old states stay valid.

Iteration is in sorted key order, never in hash order: string hashes are salted per process
(``PYTHONHASHSEED``), and anything that walks the index (serialization, checks, user code)
must see the same order in every run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, overload

import attrs
import immutables

from vpccni_model._checks import INT64_MAX, as_int, as_pod_key, as_text, slot_setters
from vpccni_model._ip6 import MAX_IPV6
from vpccni_model._ipv4 import int_to_ip


@attrs.frozen
class PodIP:
    """Where a pod's address lives (card, ENI, CIDR, address), so the pod path never scans
    every address."""

    pod: str
    network_card: int
    eni_id: str
    cidr: int
    ip: int

    def __attrs_post_init__(self) -> None:
        as_pod_key(self.pod)
        as_int("network_card", self.network_card, 0, INT64_MAX)
        as_text("eni_id", self.eni_id)
        as_int("cidr", self.cidr, 0, MAX_IPV6)
        as_int("ip", self.ip, 0, MAX_IPV6)

    @property
    def address(self) -> str:
        return int_to_ip(self.ip)


_POD_IP_SLOTS = slot_setters(PodIP)
_new = object.__new__


def unchecked_pod_ip(pod: str, network_card: int, eni_id: str, cidr: int, ip: int) -> PodIP:
    """A ``PodIP`` built without its checks, for the pod path, which found every value in the
    state it points into."""
    ref = _new(PodIP)
    set_pod, set_card, set_eni, set_cidr, set_ip = _POD_IP_SLOTS
    set_pod(ref, pod)
    set_card(ref, network_card)
    set_eni(ref, eni_id)
    set_cidr(ref, cidr)
    set_ip(ref, ip)
    return ref


class PodIndex(Mapping[str, PodIP]):
    """Read-only ``Mapping[str, PodIP]`` with cheap copy-on-write updates (``set``, ``delete``)."""

    __slots__ = ("_map",)
    _map: immutables.Map[str, PodIP]

    def __init__(self, items: Mapping[str, PodIP] | Iterable[tuple[str, PodIP]] = ()) -> None:
        self._map = immutables.Map(items)

    @classmethod
    def of(cls, value: Mapping[str, PodIP] | Iterable[tuple[str, PodIP]]) -> PodIndex:
        """``value`` itself when it already is an index, else an index of its items."""
        return value if isinstance(value, PodIndex) else cls(value)

    def set(self, pod: str, ref: PodIP) -> PodIndex:
        """A new index with ``pod`` mapped to ``ref``; this one is unchanged."""
        index = object.__new__(PodIndex)
        index._map = self._map.set(pod, ref)
        return index

    def delete(self, pod: str) -> PodIndex:
        """A new index without ``pod`` (KeyError if absent); this one is unchanged."""
        index = object.__new__(PodIndex)
        index._map = self._map.delete(pod)
        return index

    def unordered_items(self) -> Iterable[tuple[str, PodIP]]:
        """The entries in the map's own order, which depends on string hashing: only for a
        visit whose outcome does not depend on the order (and where keys may not sort)."""
        return self._map.items()

    def __getitem__(self, pod: str) -> PodIP:
        return self._map[pod]

    @overload
    def get(self, pod: str, /) -> PodIP | None: ...
    @overload
    def get(self, pod: str, /, default: PodIP | Any) -> PodIP | Any: ...
    def get(self, pod: str, /, default: Any = None) -> Any:
        return self._map.get(pod, default)

    def __contains__(self, pod: object) -> bool:
        return pod in self._map

    def __len__(self) -> int:
        return len(self._map)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._map))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PodIndex):
            return self._map == other._map
        if isinstance(other, Mapping):
            return len(self) == len(other) and all(
                key in other and other[key] == value for key, value in self._map.items()
            )
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._map)

    def __repr__(self) -> str:
        return f"PodIndex({dict(self.items())!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (PodIndex, (dict(self.items()),))
