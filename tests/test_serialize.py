"""JSON round trips (vpccni_model.serialize): exact, deterministic, strict on input.

The golden strings below are written by hand: they pin the wire format (sorted keys, compact
separators, the ``"type"`` tag on actions and events, no derived counters), so a change to it
shows up here instead of in a consumer written in another language.
"""

from __future__ import annotations

import contextlib
import json
import math
from types import MappingProxyType
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vpccni_model import (
    ENI,
    Action,
    Address,
    AllocateENI,
    AllocateIPs,
    AllocatePrefixes,
    AllocationFailed,
    Cidr,
    Config,
    Datastore,
    DeferredCleanup,
    ENIAttached,
    Event,
    FreeENI,
    InFlight,
    InstanceLimits,
    IPsAllocated,
    MetadataObserved,
    NetworkCard,
    NodeCordoned,
    NodeState,
    NodeTerminating,
    NodeUncordoned,
    ObservedENI,
    PodIP,
    PrefixesAllocated,
    ReleaseIPs,
    ReleasePrefixes,
    StateError,
    catalog,
    instance_limits,
)
from vpccni_model._checks import INT64_MAX, INT64_MIN, MAX_CLOCK
from vpccni_model._ipv4 import int_to_ip, ip_to_int
from vpccni_model._podindex import PodIndex
from vpccni_model.serialize import TAG, converter, from_dict, from_json, to_dict, to_json
from vpccni_model.testing import ERROR_CODES, configs, limits, node_states

ACTION_TYPES: tuple[type, ...] = (
    AllocateENI,
    AllocateIPs,
    AllocatePrefixes,
    ReleaseIPs,
    ReleasePrefixes,
    FreeENI,
)
EVENT_TYPES: tuple[type, ...] = (
    ENIAttached,
    IPsAllocated,
    PrefixesAllocated,
    AllocationFailed,
    MetadataObserved,
    NodeCordoned,
    NodeUncordoned,
    NodeTerminating,
)

# -- strategies for actions and events ----------------------------------------------------------

eni_ids = st.one_of(st.integers(0, 30).map(lambda i: f"eni-{i:017x}"), st.text(max_size=12))
counts = st.one_of(st.integers(0, 64), st.integers(INT64_MIN, INT64_MAX))  # ints are int64
cards = st.integers(0, 15)
ipv4s = st.integers(0, (1 << 32) - 1).map(int_to_ip)
prefixes28 = st.integers(0, (1 << 28) - 1).map(lambda n: f"{int_to_ip(n * 16)}/28")
# Actions and events do not validate their strings (apply does), so any text must survive too.
address_texts = st.one_of(ipv4s, st.text(max_size=16))
prefix_texts = st.one_of(prefixes28, st.text(max_size=20))


def _tuples(elements: st.SearchStrategy[str]) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(elements, max_size=5).map(tuple)


actions: st.SearchStrategy[Any] = st.one_of(
    st.builds(AllocateENI, network_card=cards, count=counts, prefixes=st.booleans()),
    st.builds(AllocateIPs, eni_id=eni_ids, count=counts),
    st.builds(AllocatePrefixes, eni_id=eni_ids, count=counts),
    st.builds(ReleaseIPs, eni_id=eni_ids, addresses=_tuples(address_texts)),
    st.builds(ReleasePrefixes, eni_id=eni_ids, prefixes=_tuples(prefix_texts)),
    st.builds(FreeENI, eni_id=eni_ids),
)

observed_enis = st.builds(
    ObservedENI,
    eni_id=eni_ids,
    device_number=st.integers(0, 99),
    network_card=cards,
    ips=_tuples(address_texts),
    prefixes=_tuples(prefix_texts),
    is_trunk=st.booleans(),
    is_efa=st.booleans(),
    is_excluded=st.booleans(),
    managed=st.booleans(),
)

events: st.SearchStrategy[Any] = st.one_of(
    st.builds(
        ENIAttached,
        eni_id=eni_ids,
        device_number=st.integers(0, 99),
        network_card=cards,
        ips=_tuples(address_texts),
        prefixes=_tuples(prefix_texts),
        is_excluded=st.booleans(),
    ),
    st.builds(IPsAllocated, eni_id=eni_ids, ips=_tuples(address_texts)),
    st.builds(PrefixesAllocated, eni_id=eni_ids, prefixes=_tuples(prefix_texts)),
    st.builds(AllocationFailed, code=st.one_of(st.sampled_from(ERROR_CODES), st.text())),
    st.builds(MetadataObserved, enis=st.lists(observed_enis, max_size=4).map(tuple)),
    st.just(NodeCordoned()),
    st.just(NodeUncordoned()),
    st.just(NodeTerminating()),
)

clocks = st.floats(-MAX_CLOCK, MAX_CLOCK)


def _assert_round_trip(value: object, cls: Any = None) -> str:
    """``from_json(to_json(x), cls) == x``, the text is stable, and re-encoding is identical."""
    text = to_json(value)
    back = from_json(text, type(value) if cls is None else cls)
    assert back == value
    assert type(back) is type(value)
    assert to_json(back) == text
    assert to_json(value) == text
    return text


# -- round trips --------------------------------------------------------------------------------


@given(configs())
def test_config_round_trip(config: Config) -> None:
    _assert_round_trip(config)


@given(limits(max_cards=4))
def test_limits_round_trip(instance: InstanceLimits) -> None:
    _assert_round_trip(instance)


def test_every_catalog_type_round_trips() -> None:
    for instance in catalog().values():
        assert from_json(to_json(instance), InstanceLimits) == instance


def test_network_cards_survive() -> None:
    instance = instance_limits("p4d.24xlarge")
    assert len(instance.network_cards) > 1
    back = from_json(to_json(instance), InstanceLimits)
    assert back.network_cards == instance.network_cards
    assert isinstance(back.network_cards, tuple)
    assert all(isinstance(card, NetworkCard) for card in back.network_cards)


def _public(field: attrs.Attribute[Any], _: object) -> bool:
    return not field.name.startswith("_")


@given(node_states())
def test_node_state_round_trip(generated: tuple[NodeState, Config, object]) -> None:
    state, config, _ = generated
    text = _assert_round_trip(state)
    _assert_round_trip(config)
    back = from_json(text, NodeState)
    # The read-only mappings come back wrapped by NodeState's converters, not as plain dicts.
    assert isinstance(back.pods, PodIndex)
    assert isinstance(back.reconcile_cooldown, MappingProxyType)
    # Derived counters are recomputed, and equal (attrs equality compares them too).
    for before, after in zip(state.enis, back.enis, strict=True):
        assert attrs.astuple(before, recurse=False, filter=_public) == attrs.astuple(
            after, recurse=False, filter=_public
        )
        assert before.latest_unassigned_at == after.latest_unassigned_at


@given(actions)
def test_action_round_trip(action: Any) -> None:
    text = _assert_round_trip(action)
    _assert_round_trip(action, Action)
    assert json.loads(text)[TAG] == type(action).__name__


@given(events)
def test_event_round_trip(event: Any) -> None:
    text = _assert_round_trip(event)
    _assert_round_trip(event, Event)
    assert json.loads(text)[TAG] == type(event).__name__


@given(st.lists(actions, max_size=4).map(tuple))
def test_tuples_of_actions_through_the_converter(batch: tuple[Any, ...]) -> None:
    data = converter.unstructure(batch, tuple[Action, ...])
    assert all(item[TAG] == type(a).__name__ for item, a in zip(data, batch, strict=True))
    assert converter.structure(data, tuple[Action, ...]) == batch


def test_same_fields_different_tag() -> None:
    """AllocateIPs and AllocatePrefixes differ only by the tag."""
    ips = to_json(AllocateIPs("eni-1", 2))
    prefixes = to_json(AllocatePrefixes("eni-1", 2))
    assert ips != prefixes
    assert from_json(ips, Action) == AllocateIPs("eni-1", 2)
    assert from_json(prefixes, Action) == AllocatePrefixes("eni-1", 2)
    with pytest.raises(StateError) as info:
        from_json(ips, AllocatePrefixes)
    assert info.value.field == "$.type"


@given(
    clock=clocks,
    times=st.lists(clocks, min_size=6, max_size=6),
    cooldowns=st.dictionaries(st.text(max_size=8), clocks, max_size=4),
)
def test_floats_are_exact(clock: float, times: list[float], cooldowns: dict[str, float]) -> None:
    """Clocks and timestamps survive bit for bit (shortest repr), including -0.0 and 5e-324."""
    clock = max(clock, *times, *cooldowns.values())  # no timestamp lies after the clock
    network = ip_to_int("10.0.0.16")
    cidr = Cidr(
        network=network,
        is_prefix=True,
        addresses=(
            Address(network + 1, "ns/a", assigned_at=times[0]),
            Address(network + 2, None, assigned_at=times[1], unassigned_at=times[2]),
        ),
    )
    primary = ENI("eni-0", 0, is_primary=True, created_at=times[3], cidrs=(cidr,))
    state = NodeState(
        limits=instance_limits("m5.large"),
        config=Config(),
        primary_eni_id="eni-0",
        datastores=(Datastore.of(0, (primary,)),),
        pods={"ns/a": PodIP("ns/a", 0, "eni-0", network, network + 1)},
        last_pool_action_at=times[4],
        reconcile_cooldown=cooldowns,
        in_flight=InFlight(AllocateIPs("eni-0", 1), 0, times[5]),
        deferred_cleanups=(DeferredCleanup("eni-0", 0, network, clock),),
        clock=clock,
    )
    back = from_json(_assert_round_trip(state), NodeState)

    def bits(value: float | None) -> str:
        return repr(value) if value is None else value.hex()

    assert bits(back.clock) == bits(clock)
    assert bits(back.deferred_cleanups[0].due_at) == bits(clock)
    assert back.in_flight is not None
    assert bits(back.in_flight.started_at) == bits(times[5])
    entries = back.datastores[0].enis[0].cidrs[0].addresses
    assert [bits(entries[0].assigned_at), bits(entries[1].unassigned_at)] == [
        bits(times[0]),
        bits(times[2]),
    ]
    assert {k: bits(v) for k, v in back.reconcile_cooldown.items()} == {
        k: bits(v) for k, v in cooldowns.items()
    }


@pytest.mark.parametrize("value", [0.1 + 0.2, -0.0, 5e-324, 1.7976931348623157e308, 1e16 + 2])
def test_float_edge_values(value: float) -> None:
    config = Config(ip_cooldown_period=value)
    back = from_json(to_json(config), Config)
    assert back.ip_cooldown_period.hex() == value.hex()


# -- determinism --------------------------------------------------------------------------------


def _state_with_pods(order: list[str]) -> NodeState:
    network = ip_to_int("10.0.0.16")
    entries = tuple(
        Address(network + i + 1, f"ns/p{i}", assigned_at=1.0) for i in range(len(order))
    )
    cidr = Cidr(network=network, is_prefix=True, addresses=entries)
    primary = ENI("eni-0", 0, is_primary=True, cidrs=(cidr,))
    pods = {name: PodIP(name, 0, "eni-0", network, network + int(name[-1]) + 1) for name in order}
    return NodeState(
        limits=instance_limits("m5.large"),
        config=Config(),
        primary_eni_id="eni-0",
        datastores=(Datastore.of(0, (primary,)),),
        pods=pods,
        reconcile_cooldown={name: 1.0 for name in reversed(order)},
        clock=1.0,  # not before the timestamps above
    )


def test_mapping_order_does_not_change_the_text() -> None:
    one = _state_with_pods(["ns/p0", "ns/p1", "ns/p2"])
    two = _state_with_pods(["ns/p2", "ns/p0", "ns/p1"])
    assert one == two
    assert to_json(one) == to_json(two)
    one.check()
    text = to_json(one)
    assert text.index('"ns/p0"') < text.index('"ns/p1"') < text.index('"ns/p2"')


def test_indent_is_only_layout() -> None:
    state = _state_with_pods(["ns/p0"])
    pretty = to_json(state, indent=2)
    assert "\n" in pretty
    assert json.loads(pretty) == json.loads(to_json(state))
    assert from_json(pretty, NodeState) == state


# -- golden format ------------------------------------------------------------------------------

TINY_CONFIG = Config(warm_ip_target=2, minimum_ip_target=4, max_eni=2)
TINY_CONFIG_JSON = (
    '{"custom_networking":false,"deallocate_empty_cidr_delay":5.0,"decrease_interval":30.0,'
    '"disable_provisioning":false,"enable_ipv4":true,"enable_ipv6":false,"imds_only":false,'
    '"insufficient_cidr_backoff":120.0,"ip_cooldown_period":30.0,'
    '"manage_enis_non_schedulable":false,"manage_untagged_enis":true,"max_eni":2,'
    '"max_pods":null,"min_eni_lifetime":60.0,"minimum_ip_target":4,"multi_nic":false,'
    '"pod_eni":false,"pool_check_interval":5.0,"prefix_delegation":false,'
    '"reconcile_cooldown":60.0,"reconcile_interval":60.0,"subnet_discovery":true,'
    '"warm_eni_target":1,"warm_ip_target":2,"warm_prefix_target":0}'
)


def test_golden_config() -> None:
    assert to_json(TINY_CONFIG) == TINY_CONFIG_JSON
    assert from_json(TINY_CONFIG_JSON, Config) == TINY_CONFIG


def test_golden_action() -> None:
    text = '{"count":3,"eni_id":"eni-1","type":"AllocateIPs"}'
    assert to_json(AllocateIPs("eni-1", 3)) == text
    assert from_json(text, AllocateIPs) == AllocateIPs("eni-1", 3)
    assert from_json(text, Action) == AllocateIPs("eni-1", 3)
    # Key order and whitespace are free on input.
    assert from_json(' { "type" : "AllocateIPs", "count": 3, "eni_id": "eni-1" } ', Action) == (
        AllocateIPs("eni-1", 3)
    )


def test_golden_events() -> None:
    assert to_json(NodeCordoned()) == '{"type":"NodeCordoned"}'
    assert to_json(PrefixesAllocated("eni-1", ("10.0.0.16/28",))) == (
        '{"eni_id":"eni-1","prefixes":["10.0.0.16/28"],"type":"PrefixesAllocated"}'
    )


def test_golden_cidr_leaves_out_derived_counters() -> None:
    cidr = Cidr(
        network=ip_to_int("10.0.0.16"),
        is_prefix=True,
        addresses=(Address(ip_to_int("10.0.0.17"), "ns/a", assigned_at=1.5),),
    )
    text = (
        '{"addresses":[{"assigned_at":1.5,"ip":167772177,"pod":"ns/a","unassigned_at":null}],'
        '"is_prefix":true,"network":167772176}'
    )
    assert to_json(cidr) == text
    assert from_json(text, Cidr) == cidr
    assert from_json(text, Cidr).assigned == 1


def test_derived_counters_are_not_serialized() -> None:
    derived_cidr = {a.name for a in attrs.fields(Cidr) if not a.init}
    derived_eni = {a.name for a in attrs.fields(ENI) if not a.init}
    assert derived_cidr == {"assigned", "latest_unassigned_at"}
    assert "free_prefix_cidrs" in derived_eni
    state = _state_with_pods(["ns/p0", "ns/p1"])
    eni_data = to_dict(state)["datastores"][0]["enis"][0]
    assert not derived_eni & set(eni_data)
    assert not derived_cidr & set(eni_data["cidrs"][0])
    # ...and a document that carries one is refused rather than trusted.
    eni_data["assigned_in_prefixes"] = 99
    with pytest.raises(StateError) as info:
        from_dict(eni_data, ENI)
    assert info.value.field == "$.assigned_in_prefixes"


# -- errors -------------------------------------------------------------------------------------

_STATE = _state_with_pods(["ns/p0"])


def _state_dict() -> dict[str, Any]:
    data: dict[str, Any] = to_dict(_STATE)
    return data


def _broken(path: tuple[str | int, ...], value: object) -> str:
    data = _state_dict()
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    ("text", "cls", "field"),
    [
        ("", Config, "$"),
        ("{", Config, "$"),
        ("[1, 2]", Config, "$"),
        ("null", Config, "$"),
        ('{"warm_ip_target": "5"}', Config, "$.warm_ip_target"),
        ('{"warm_ip_target": 5.0}', Config, "$.warm_ip_target"),
        ('{"warm_ip_target": true}', Config, "$.warm_ip_target"),
        ('{"warm_ip_target": -1}', Config, "$.warm_ip_target"),
        ('{"prefix_delegation": "false"}', Config, "$.prefix_delegation"),
        ('{"prefix_delegation": 0}', Config, "$.prefix_delegation"),
        ('{"pool_check_interval": 0}', Config, "$.pool_check_interval"),
        ('{"ip_cooldown_period": NaN}', Config, "$"),
        ('{"ip_cooldown_period": Infinity}', Config, "$"),
        ('{"ip_cooldown_period": 1e999}', Config, "$.ip_cooldown_period"),
        ('{"enable_ipv6": true}', Config, "$.enable_ipv6"),
        ('{"bogus": 1}', Config, "$.bogus"),
        ('{"max_eni": 1, "max_eni": 2}', Config, "$"),
        ('{"name": "x", "max_enis": 0, "ipv4_per_eni": 2}', InstanceLimits, "$.max_enis"),
        ('{"name": "x", "max_enis": 1}', InstanceLimits, "$.ipv4_per_eni"),
        (
            '{"name": "x", "max_enis": 1, "ipv4_per_eni": 2, "network_cards": {"index": 0}}',
            InstanceLimits,
            "$.network_cards",
        ),
        (
            '{"name": "x", "max_enis": 1, "ipv4_per_eni": 2,'
            ' "network_cards": [{"index": 0, "max_interfaces": "1"}]}',
            InstanceLimits,
            "$.network_cards[0].max_interfaces",
        ),
        ('{"eni_id": "e", "count": 1}', Action, "$.type"),
        ('{"type": "Nope", "eni_id": "e", "count": 1}', Action, "$.type"),
        ('{"type": ["AllocateIPs"], "eni_id": "e", "count": 1}', Action, "$.type"),
        ('{"type": "NodeCordoned"}', Action, "$.type"),
        ('{"type": "AllocateIPs", "eni_id": "e"}', Action, "$.count"),
        ('{"type": "AllocateIPs", "eni_id": "e", "count": "3"}', AllocateIPs, "$.count"),
        ('{"type": "AllocateIPs", "eni_id": 7, "count": 3}', Action, "$.eni_id"),
        ('{"type": "AllocateIPs", "eni_id": "e", "count": 3, "x": 0}', Action, "$.x"),
        ('{"eni_id": "e", "count": 3}', AllocateIPs, "$.type"),
        ('"AllocateIPs"', Action, "$"),
        ('{"type": "IPsAllocated", "eni_id": "e", "ips": "10.0.0.1"}', Event, "$.ips"),
        ('{"type": "IPsAllocated", "eni_id": "e", "ips": [1]}', Event, "$.ips[0]"),
        (
            '{"type": "MetadataObserved", "enis": [{"eni_id": "e"}]}',
            Event,
            "$.enis[0].device_number",
        ),
        ('{"type": "AllocateIPs", "eni_id": "e", "count": 3}', Event, "$.type"),
    ],
)
def test_garbage_is_a_state_error(text: str, cls: Any, field: str) -> None:
    with pytest.raises(StateError) as info:
        from_json(text, cls)
    assert info.value.field == field
    assert field in str(info.value)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("clock",), "0", "$.clock"),
        (("clock",), None, "$.clock"),
        (("pods",), [], "$.pods"),
        (("pods", "ns/p0", "ip"), "10.0.0.17", "$.pods['ns/p0'].ip"),
        (("reconcile_cooldown",), {"x": "1"}, "$.reconcile_cooldown['x']"),
        (("datastores",), [], "$.datastores"),
        (("datastores", 0, "enis", 0, "eni_id"), "", "$.datastores[0].enis[0].eni_id"),
        (
            ("datastores", 0, "enis", 0, "device_number"),
            100,
            "$.datastores[0].enis[0].device_number",
        ),
        (("datastores", 0, "enis", 0, "cidrs"), "10.0.0.16/28", "$.datastores[0].enis[0].cidrs"),
        (
            ("datastores", 0, "enis", 0, "cidrs", 0, "network"),
            ip_to_int("10.0.0.8"),
            "$.datastores[0].enis[0].cidrs[0].network",
        ),
        (
            ("datastores", 0, "enis", 0, "cidrs", 0, "addresses", 0, "ip"),
            ip_to_int("10.0.0.99"),
            "$.datastores[0].enis[0].cidrs[0].addresses",
        ),
        (("datastores", 0, "enis", 0, "network_card"), 1, "$.datastores[0].enis"),
        (("in_flight",), {"action": None}, "$.in_flight.action"),
        (("in_flight",), {"action": {"type": "FreeENI"}}, "$.in_flight.action.eni_id"),
        (
            ("outbox",),
            [{"type": "NodeCordoned"}],
            "$.outbox[0].type",
        ),
        (("config", "imds_only"), True, "$.config.imds_only"),
        (("limits", "default_network_card"), 3, "$.limits.default_network_card"),
        # Well-formed but inconsistent: NodeState.check() runs on every parsed state.
        (("pods", "ns/p0", "eni_id"), "eni-9", "$.pods"),
        (
            ("pods", "ns/p1"),
            {
                "pod": "ns/p1",
                "network_card": 0,
                "eni_id": "eni-0",
                "cidr": 167772176,
                "ip": 167772177,
            },
            "$.pods",
        ),
    ],
)
def test_bad_state_documents(path: tuple[str | int, ...], value: object, field: str) -> None:
    with pytest.raises(StateError) as info:
        from_json(_broken(path, value), NodeState)
    assert info.value.field == field, info.value


def test_every_problem_is_listed() -> None:
    data = _state_dict()
    data["clock"] = "late"
    data["cordoned"] = 1
    with pytest.raises(StateError) as info:
        from_dict(data, NodeState)
    message = str(info.value)
    assert "$.clock" in message
    assert "$.cordoned" in message
    assert isinstance(info.value.__cause__, Exception)


def test_nan_has_no_json_form() -> None:
    """A NaN cannot even be built into a model value (timestamps are finite), and a value
    that is not one of the model's has no JSON form either."""
    with pytest.raises(StateError):
        Address(ip_to_int("10.0.0.5"), None, unassigned_at=math.nan)
    with pytest.raises(StateError):
        to_json({"unassigned_at": math.nan})


def test_non_text_input() -> None:
    with pytest.raises(StateError):
        from_json(None, Config)  # type: ignore[arg-type]
    assert from_json(TINY_CONFIG_JSON.encode(), Config) == TINY_CONFIG
    with pytest.raises(StateError):
        from_json(b"\xff\xfe\x00", Config)


def test_deep_nesting() -> None:
    with pytest.raises(StateError):
        from_json("[" * 100_000, Config)
    with pytest.raises(StateError):
        from_json('{"type": "MetadataObserved", "enis": ' + "[" * 5_000 + "]" * 5_000 + "}", Event)


SERIALIZED = (Config, InstanceLimits, NodeState, Cidr, ENI, Action, Event, AllocateIPs, ENIAttached)


@given(st.text(), st.sampled_from(SERIALIZED))
def test_random_text_is_refused_or_parsed(text: str, cls: Any) -> None:
    with contextlib.suppress(StateError):
        from_json(text, cls)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10)
    | st.sampled_from(["AllocateIPs", "ENIAttached", "10.0.0.1", "10.0.0.16/28"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["type", "eni_id", "count", "ips", "enis", "network", "x"]) | st.text(),
            inner,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@given(json_values, st.sampled_from(SERIALIZED))
def test_random_json_is_refused_or_parsed(value: object, cls: Any) -> None:
    try:
        result = from_json(json.dumps(value), cls)
    except StateError:
        return
    assert result is not None


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, item in data.items():
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            found.extend(_paths(item, (*prefix, index)))
    return found


@given(node_states(max_steps=12), st.data())
def test_corrupted_state_documents(generated: tuple[NodeState, Config, object], data: Any) -> None:
    """Any one value of a real state's document replaced by junk: refused or parsed, never
    a bare cattrs, JSON or ipaddress exception."""
    state = generated[0]
    document = to_dict(state)
    path = data.draw(st.sampled_from(_paths(document)))
    junk = data.draw(json_values | st.integers(-(2**40), 2**40))
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = junk
    try:
        from_json(json.dumps(document), NodeState)
    except StateError as exc:
        assert exc.field.startswith("$")
