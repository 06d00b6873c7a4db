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

    @property
    def address(self) -> str:
        return int_to_ip(self.ip)


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
