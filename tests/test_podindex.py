"""The pod index (``PodIndex``, ``PodIP``): a persistent map with sorted iteration.

Old versions must stay valid after a change (states are immutable values), iteration must not
depend on the hash seed, and an index must compare equal to the dict of its items.
"""

from __future__ import annotations

import pickle

import pytest

from vpccni_model import PodIndex, PodIP


def ref(pod: str, ip: int = 1) -> PodIP:
    return PodIP(pod=pod, network_card=0, eni_id="eni-0", cidr=ip, ip=ip)


def test_iteration_is_in_sorted_key_order_whatever_the_insertion_order() -> None:
    index = PodIndex([("b/2", ref("b/2")), ("a/1", ref("a/1")), ("c/0", ref("c/0"))])
    assert list(index) == ["a/1", "b/2", "c/0"]
    assert [p for p, _ in index.items()] == ["a/1", "b/2", "c/0"]


def test_set_and_delete_leave_the_old_index_unchanged() -> None:
    empty = PodIndex()
    one = empty.set("a", ref("a"))
    two = one.set("b", ref("b", 2))
    back = two.delete("a")
    assert (len(empty), len(one), len(two), len(back)) == (0, 1, 2, 1)
    assert "a" in one and "a" not in back
    assert two["b"].ip == 2
    with pytest.raises(KeyError):
        back.delete("a")


def test_equality_with_dicts_and_indexes_and_equal_hashes() -> None:
    items = {"a": ref("a"), "b": ref("b", 2)}
    left = PodIndex(items)
    right = PodIndex(reversed(list(items.items())))
    assert left == right and left == items and hash(left) == hash(right)
    assert left != {"a": ref("a")}
    assert left != PodIndex({"a": ref("a"), "b": ref("b", 3)})


def test_get_with_default_and_pickle_round_trip() -> None:
    index = PodIndex({"a": ref("a")})
    assert index.get("a") == ref("a") and index.get("x") is None and index.get("x", 5) == 5
    again = pickle.loads(pickle.dumps(index))
    assert again == index and type(again) is PodIndex


def test_of_keeps_an_index_and_converts_a_mapping() -> None:
    index = PodIndex({"a": ref("a")})
    assert PodIndex.of(index) is index
    assert PodIndex.of({"a": ref("a")}) == index


def test_pod_ip_formats_its_address() -> None:
    assert ref("a", (10 << 24) + 5).address == "10.0.0.5"
