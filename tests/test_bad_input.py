"""Bad input only ever yields typed errors (``VpcCniModelError`` subclasses) naming the field.

Each case asserts the exception type and, where the error has one, ``.field``. A StateError is
also a ValueError, so every check here is on the exact typed class: a bare ``ValueError`` from
``ipaddress`` or a silently accepted value fails the test.
"""

from __future__ import annotations

import contextlib
import ipaddress
import math
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vpccni_model import (
    ENI,
    MANIFEST_ENV,
    Address,
    AllocateENI,
    AllocatePrefixes,
    Cidr,
    Config,
    ConfigError,
    Datastore,
    ENIAttached,
    InFlight,
    InstanceLimits,
    IPsAllocated,
    MetadataObserved,
    NetworkCard,
    NodeCordoned,
    NodeState,
    ObservedENI,
    PodIP,
    PrefixesAllocated,
    StateError,
    UnexpectedEventError,
    UnknownInstanceTypeError,
    UnknownPodError,
    VpcCniModelError,
    apply,
    assign_pod_ip,
    instance_limits,
    reconcile,
    restart,
    unassign_pod_ip,
)
from vpccni_model._config import ENV_VARIABLES
from vpccni_model._ipv4 import int_to_ip, ip_to_int

LIMITS = instance_limits("m5.large")
CONFIG = Config()
CLOCK = 100.0


def raises_typed(
    error: type[VpcCniModelError], call: Callable[[], object], field: str | None = None
) -> VpcCniModelError:
    """Run ``call``; it must raise exactly a typed ``error`` (naming ``field`` if given)."""
    try:
        result = call()
    except VpcCniModelError as exc:
        assert isinstance(exc, error), f"{type(exc).__name__} instead of {error.__name__}: {exc}"
        if field is not None:
            assert getattr(exc, "field", None) == field, f"field {exc.field!r} != {field!r}: {exc}"  # type: ignore[attr-defined]
        return exc
    except Exception as exc:
        pytest.fail(f"untyped {type(exc).__name__} instead of {error.__name__}: {exc}")
    pytest.fail(f"accepted silently (returned {type(result).__name__}), expected {error.__name__}")


def ip(text: str) -> int:
    return ip_to_int(text)


# -- Config.from_env ----------------------------------------------------------------------------

NASTY_TEXTS = (
    "",
    " ",
    " 1",
    "1 ",
    "1.0",
    "1e3",
    "0x10",
    "1_000",
    "+1",
    "-1",
    "-0",
    "\u0663",  # ARABIC-INDIC DIGIT THREE: Python's int() takes it, Go's Atoi does not
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "9" * 5000,
    "true",
    "TRUE",
    "True",
    "tRUE",
    "yes",
    "on",
    "\x00",
    "\ud800",
    "\u0130",
    "none",
    "STRICT",
    "standard\n",
)


@pytest.mark.parametrize("name", ENV_VARIABLES)
@pytest.mark.parametrize("text", NASTY_TEXTS, ids=[repr(t)[:16] for t in NASTY_TEXTS])
def test_from_env_text_values(name: str, text: str) -> None:
    try:
        config = Config.from_env({**MANIFEST_ENV, name: text})
    except ConfigError as exc:
        assert exc.field in ENV_VARIABLES
        return
    except Exception as exc:
        pytest.fail(f"{name}={text[:24]!r}: untyped {type(exc).__name__}: {str(exc)[:200]}")
    assert isinstance(config, Config)


@given(st.dictionaries(st.sampled_from(ENV_VARIABLES), st.text(), max_size=len(ENV_VARIABLES)))
def test_from_env_arbitrary_text(overrides: dict[str, str]) -> None:
    try:
        config = Config.from_env({**MANIFEST_ENV, **overrides})
    except ConfigError as exc:
        assert exc.field in ENV_VARIABLES
        return
    assert isinstance(config, Config)


@pytest.mark.parametrize("value", [None, 1, True, b"1", ["1"]])
def test_from_env_non_str_value(value: object) -> None:
    env: Any = {**MANIFEST_ENV, "WARM_IP_TARGET": value}
    raises_typed(ConfigError, lambda: Config.from_env(env), "WARM_IP_TARGET")


def test_from_env_non_str_key() -> None:
    env: Any = {**MANIFEST_ENV, 7: "1"}
    exc = raises_typed(ConfigError, lambda: Config.from_env(env))
    assert "7" in exc.field  # type: ignore[attr-defined]


# -- Config(...) per field ----------------------------------------------------------------------

HUGE = 10**400  # an int too large for a float
INT_BAD = (-1, True, False, 1.5, "1", None, 2**63)
OPTIONAL_INT_BAD = (0, -1, True, 1.5, "1", 2**63)
BOOL_BAD = ("false", "true", 1, 0, None)
COOLDOWN_BAD = (math.nan, math.inf, -math.inf, "30", True, None, HUGE)
TIMER_BAD = (0, 0.0, -1, -0.5, math.nan, math.inf, "5", True, None, HUGE)

INT_FIELDS = ("warm_eni_target", "warm_ip_target", "minimum_ip_target", "warm_prefix_target")
OPTIONAL_INT_FIELDS = ("max_eni", "max_pods")
BOOL_FIELDS = (
    "prefix_delegation",
    "custom_networking",
    "pod_eni",
    "manage_enis_non_schedulable",
    "disable_provisioning",
    "imds_only",
    "multi_nic",
    "subnet_discovery",
    "manage_untagged_enis",
    "enable_ipv4",
    "enable_ipv6",
)
TIMER_FIELDS = (
    "pool_check_interval",
    "decrease_interval",
    "min_eni_lifetime",
    "insufficient_cidr_backoff",
    "reconcile_interval",
    "reconcile_cooldown",
    "deallocate_empty_cidr_delay",
)
CONFIG_CASES = [
    *((f, v) for f in INT_FIELDS for v in INT_BAD),
    *((f, v) for f in OPTIONAL_INT_FIELDS for v in OPTIONAL_INT_BAD),
    *((f, v) for f in BOOL_FIELDS for v in BOOL_BAD),
    *(("ip_cooldown_period", v) for v in COOLDOWN_BAD),
    *((f, v) for f in TIMER_FIELDS for v in TIMER_BAD),
    # Values of the right type that ipamd refuses (IPv6's other reasons: tests/test_ipv6.py).
    ("enable_ipv4", False),
    ("enable_ipv6", True),  # with IPv4 on: dual stack
    ("imds_only", True),  # without disable_provisioning
]


def test_config_cases_cover_every_field() -> None:
    assert {f for f, _ in CONFIG_CASES} == {a.name for a in attrs.fields(Config)}


@pytest.mark.parametrize(("field", "value"), CONFIG_CASES)
def test_config_out_of_range(field: str, value: object) -> None:
    raises_typed(ConfigError, lambda: Config(**{field: value}), field)


junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
)


@given(st.sampled_from([a.name for a in attrs.fields(Config)]), junk)
def test_config_any_value(field: str, value: object) -> None:
    try:
        Config(**{field: value})
    except ConfigError as exc:
        assert exc.field == field


# -- InstanceLimits -----------------------------------------------------------------------------

LIMITS_CASES: list[tuple[dict[str, Any], str]] = [
    ({"name": 5}, "name"),
    ({"max_enis": 0}, "max_enis"),
    ({"max_enis": True}, "max_enis"),
    ({"ipv4_per_eni": 0}, "ipv4_per_eni"),
    ({"ipv4_per_eni": "4"}, "ipv4_per_eni"),
    ({"default_network_card": -1}, "default_network_card"),
    ({"default_network_card": 2}, "default_network_card"),
    ({"network_cards": [NetworkCard(0, 2)]}, "network_cards"),
    ({"network_cards": (NetworkCard(0, 2), NetworkCard(0, 2))}, "network_cards"),
    ({"network_cards": ((0, 2),)}, "network_cards"),
    ({"hypervisor": None}, "hypervisor"),
    ({"bare_metal": "true"}, "bare_metal"),
]


@pytest.mark.parametrize(("changes", "field"), LIMITS_CASES)
def test_limits_out_of_range(changes: dict[str, Any], field: str) -> None:
    base: dict[str, Any] = {"name": "x", "max_enis": 2, "ipv4_per_eni": 4}
    raises_typed(ConfigError, lambda: InstanceLimits(**{**base, **changes}), field)


@pytest.mark.parametrize(("index", "limit", "field"), [(-1, 1, "index"), (0, 0, "max_interfaces")])
def test_network_card_out_of_range(index: int, limit: int, field: str) -> None:
    raises_typed(ConfigError, lambda: NetworkCard(index, limit), field)


@pytest.mark.parametrize("name", ["m5.lrage", "M5.LARGE", " m5.large", "", "x" * 200])
def test_unknown_instance_type(name: str) -> None:
    exc = raises_typed(UnknownInstanceTypeError, lambda: instance_limits(name))
    assert isinstance(exc, UnknownInstanceTypeError)
    assert exc.name == name
    if name.strip().lower() == "m5.large":
        assert exc.suggestions[0] == "m5.large"


@pytest.mark.parametrize("name", [None, 5, b"m5.large"])
def test_instance_type_that_is_not_a_string(name: object) -> None:
    raises_typed(VpcCniModelError, lambda: instance_limits(name))  # type: ignore[arg-type]


# -- inconsistent values ------------------------------------------------------------------------


def test_duplicate_addresses_in_a_cidr() -> None:
    network = ip("10.0.0.16")
    entries = (Address(network + 1, "ns/a", 1.0), Address(network + 1, "ns/b", 1.0))
    raises_typed(
        StateError, lambda: Cidr(network=network, is_prefix=True, addresses=entries), "addresses"
    )


def test_unsorted_addresses_in_a_cidr() -> None:
    network = ip("10.0.0.16")
    entries = (Address(network + 2, "ns/a", 1.0), Address(network + 1, "ns/b", 1.0))
    raises_typed(
        StateError, lambda: Cidr(network=network, is_prefix=True, addresses=entries), "addresses"
    )


@pytest.mark.parametrize(
    ("network", "is_prefix", "address"),
    [
        ("10.0.0.16", True, "10.0.0.32"),
        ("10.0.0.16", True, "10.0.0.15"),
        ("10.0.0.5", False, "10.0.0.6"),
    ],
)
def test_address_outside_its_cidr(network: str, is_prefix: bool, address: str) -> None:
    entries = (Address(ip(address), "ns/a", 1.0),)
    raises_typed(
        StateError,
        lambda: Cidr(network=ip(network), is_prefix=is_prefix, addresses=entries),
        "addresses",
    )


@pytest.mark.parametrize("network", ["10.0.0.8", "10.0.0.1", "10.0.0.31"])
def test_unaligned_prefix(network: str) -> None:
    raises_typed(StateError, lambda: Cidr(network=ip(network), is_prefix=True), "network")


@pytest.mark.parametrize(
    ("network", "is_prefix"),
    [
        (-5, True),  # currently: AddressValueError from ipaddress while formatting the error
        (-16, True),  # currently: accepted
        (-1, False),  # currently: accepted
        (1 << 32, False),  # currently: accepted
        ((1 << 32) + 16, True),  # currently: accepted
    ],
)
def test_cidr_network_outside_ipv4(network: int, is_prefix: bool) -> None:
    """Library defect: Cidr does not range-check ``network``; from_json accepts such states."""
    raises_typed(StateError, lambda: Cidr(network=network, is_prefix=is_prefix), "network")


@pytest.mark.parametrize(
    "cidrs",
    [
        (("10.0.0.16", True), ("10.0.0.20", False)),  # a /32 inside a /28
        (("10.0.0.5", False), ("10.0.0.5", False)),  # the same /32 twice
        (("10.0.0.16", True), ("10.0.0.16", True)),  # the same /28 twice
        (("10.0.0.32", True), ("10.0.0.16", True)),  # unsorted
    ],
)
def test_overlapping_cidrs_on_an_eni(cidrs: tuple[tuple[str, bool], ...]) -> None:
    built = tuple(Cidr(network=ip(n), is_prefix=p) for n, p in cidrs)
    raises_typed(StateError, lambda: ENI("eni-1", 1, cidrs=built), "cidrs")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"eni_id": ""}, "eni_id"),
        ({"eni_id": 5}, "eni_id"),
        ({"device_number": 100}, "device_number"),
        ({"device_number": -1}, "device_number"),
        ({"device_number": True}, "device_number"),
    ],
)
def test_bad_eni_fields(changes: dict[str, Any], field: str) -> None:
    kwargs: dict[str, Any] = {"eni_id": "eni-1", "device_number": 1, **changes}
    raises_typed(StateError, lambda: ENI(**kwargs), field)


def test_duplicate_eni_ids_in_a_datastore() -> None:
    enis = (ENI("eni-1", 1), ENI("eni-1", 2))
    raises_typed(StateError, lambda: Datastore(0, enis, 0), "enis")


def test_eni_on_the_wrong_card() -> None:
    enis = (ENI("eni-1", 1, network_card=1),)
    raises_typed(StateError, lambda: Datastore(0, enis, 0), "enis")


@pytest.mark.parametrize(
    "enis",
    [
        (ENI("eni-2", 2), ENI("eni-1", 1)),
        (ENI("eni-b", 1), ENI("eni-a", 1)),
    ],
)
def test_unsorted_enis(enis: tuple[ENI, ...]) -> None:
    raises_typed(StateError, lambda: Datastore(0, enis, 0), "enis")


def test_negative_unmanaged_enis() -> None:
    raises_typed(StateError, lambda: Datastore(0, (), 0, unmanaged_enis=-1), "unmanaged_enis")


@pytest.mark.parametrize("cards", [(), (1,), (0, 0), (1, 0)])
def test_bad_datastore_cards(cards: tuple[int, ...]) -> None:
    stores = tuple(Datastore(card, (), 0) for card in cards)
    raises_typed(
        StateError,
        lambda: NodeState(limits=LIMITS, config=CONFIG, primary_eni_id="eni-0", datastores=stores),
        "datastores",
    )


# -- cross-references (NodeState.check) ---------------------------------------------------------

NET = ip("10.0.0.16")


def _node(pods: dict[Any, PodIP], addresses: tuple[Address, ...], *extra: ENI) -> NodeState:
    cidr = Cidr(network=NET, is_prefix=True, addresses=addresses)
    primary = ENI("eni-0", 0, is_primary=True, cidrs=(cidr,))
    return NodeState(
        limits=LIMITS,
        config=CONFIG,
        primary_eni_id="eni-0",
        datastores=(Datastore.of(0, (primary, *extra)),),
        pods=pods,
        clock=1.0,  # not before the addresses' assignment times
    )


def test_consistent_node_passes() -> None:
    _node(
        {"ns/a": PodIP("ns/a", 0, "eni-0", NET, NET + 1)}, (Address(NET + 1, "ns/a", 1.0),)
    ).check()


def test_pod_index_points_at_an_unknown_eni() -> None:
    state = _node({"ns/a": PodIP("ns/a", 0, "eni-9", NET, NET + 1)}, (Address(NET + 1, "ns/a"),))
    raises_typed(StateError, state.check, "pods")


def test_pod_index_points_at_the_wrong_card() -> None:
    state = _node({"ns/a": PodIP("ns/a", 1, "eni-0", NET, NET + 1)}, (Address(NET + 1, "ns/a"),))
    raises_typed(StateError, state.check, "pods")


def test_two_pods_on_one_address() -> None:
    pods = {
        "ns/a": PodIP("ns/a", 0, "eni-0", NET, NET + 1),
        "ns/b": PodIP("ns/b", 0, "eni-0", NET, NET + 1),
    }
    state = _node(pods, (Address(NET + 1, "ns/a"),))
    raises_typed(StateError, state.check, "pods")


def test_one_pod_on_two_addresses() -> None:
    pods = {"ns/a": PodIP("ns/a", 0, "eni-0", NET, NET + 1)}
    state = _node(pods, (Address(NET + 1, "ns/a"), Address(NET + 2, "ns/a")))
    raises_typed(StateError, state.check, "pods")


def test_assigned_address_without_index_entry() -> None:
    state = _node({}, (Address(NET + 1, "ns/a"),))
    raises_typed(StateError, state.check, "pods")


def test_same_address_on_two_enis() -> None:
    other = ENI("eni-1", 1, cidrs=(Cidr(network=NET + 3, is_prefix=False),))
    state = _node({}, (), other)
    raises_typed(StateError, state.check, "cidrs")


@pytest.mark.parametrize("key", [1, None, ("ns", "a"), b"ns/a", ""])
def test_non_string_pod_keys_in_the_index(key: object) -> None:
    """Refused when the state is built (a pod key is a field type), not only by ``check``."""
    pods: dict[Any, PodIP] = {key: PodIP("ns/a", 0, "eni-0", NET, NET + 1)}
    raises_typed(StateError, lambda: _node(pods, (Address(NET + 1, "ns/a"),)).check(), "pods")


# -- the clock ----------------------------------------------------------------------------------


def _booted() -> NodeState:
    return NodeState.boot(LIMITS, CONFIG, CLOCK)


def _with_pod() -> NodeState:
    state = apply(
        _booted(), MetadataObserved((ObservedENI("eni-0", 0, 0, ("10.0.0.5", "10.0.0.6")),)), CLOCK
    )
    state, _ = assign_pod_ip(state, CONFIG, "ns/a", CLOCK)
    return state


OPERATIONS: dict[str, Callable[[NodeState, Any], object]] = {
    "at": lambda s, c: s.at(c),
    "reconcile": lambda s, c: reconcile(s, CONFIG, c),
    "apply": lambda s, c: apply(s, NodeCordoned(), c),
    "assign_pod_ip": lambda s, c: assign_pod_ip(s, CONFIG, "ns/b", c),
    "unassign_pod_ip": lambda s, c: unassign_pod_ip(s, CONFIG, "ns/a", c),
    "restart": lambda s, c: restart(s, CONFIG, c),
}
BAD_CLOCKS = (
    CLOCK - 1,
    CLOCK - 1e-9,
    -math.inf,
    math.inf,
    math.nan,
    True,
    "101",
    None,
)


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("clock", BAD_CLOCKS)
def test_bad_clock(operation: str, clock: object) -> None:
    state = _with_pod()
    raises_typed(StateError, lambda: OPERATIONS[operation](state, clock), "clock")


@pytest.mark.parametrize("operation", OPERATIONS)
def test_equal_clock_is_fine(operation: str) -> None:
    OPERATIONS[operation](_with_pod(), CLOCK)


@pytest.mark.parametrize("clock", [math.nan, math.inf, -math.inf, "0", None])
def test_boot_with_a_bad_clock(clock: object) -> None:
    """Library defect: ``NodeState.boot`` (and the NodeState constructor) accept any clock."""
    raises_typed(StateError, lambda: NodeState.boot(LIMITS, CONFIG, clock), "clock")  # type: ignore[arg-type]


@pytest.mark.parametrize("clock", [math.nan, math.inf])
def test_node_state_with_a_bad_clock(clock: float) -> None:
    raises_typed(StateError, lambda: attrs.evolve(_booted(), clock=clock), "clock")


# -- pod keys -----------------------------------------------------------------------------------


@pytest.mark.parametrize("pod", [5, None, b"ns/a", "", ("ns", "a")])
def test_non_string_pod_keys(pod: object) -> None:
    state = _with_pod()
    raises_typed(StateError, lambda: assign_pod_ip(state, CONFIG, pod, CLOCK), "pod")  # type: ignore[arg-type]
    raises_typed(StateError, lambda: unassign_pod_ip(state, CONFIG, pod, CLOCK), "pod")  # type: ignore[arg-type]


def test_unknown_pod() -> None:
    exc = raises_typed(UnknownPodError, lambda: unassign_pod_ip(_with_pod(), CONFIG, "ns/x", CLOCK))
    assert isinstance(exc, UnknownPodError)
    assert exc.pod == "ns/x"


# -- events carrying garbage addresses ------------------------------------------------------------

GARBAGE_IPS = (
    "10.0.0.300",
    "abc",
    "10.0.0.1/24",
    "10.0.0.0/28",
    "",
    " 10.0.0.1",
    "010.0.0.1",
    "::1",
    "10.0.0",
    "1" * 5000,
)
GARBAGE_PREFIXES = (
    "10.0.0.300/28",
    "abc",
    "10.0.0.1/24",
    "10.0.0.8/28",  # unaligned
    "10.0.0.1/28",  # unaligned
    "10.0.0.16/27",
    "10.0.0.16/33",
    "10.0.0.16/28/28",
    "",
    "/28",
    "::/28",
    "10.0.0.1/32",
)


def _waiting_for(action: Any) -> NodeState:
    return attrs.evolve(_booted(), in_flight=InFlight(action, 0, CLOCK))


def _check_event(state: NodeState, event: Any, field: str) -> None:
    try:
        apply(state, event, CLOCK)
    except StateError as exc:
        assert exc.field == field, exc
        return
    except UnexpectedEventError:
        return
    except Exception as exc:
        pytest.fail(f"untyped {type(exc).__name__}: {exc}")
    pytest.fail(f"{event!r} accepted")


@pytest.mark.parametrize("text", GARBAGE_IPS, ids=[repr(t)[:16] for t in GARBAGE_IPS])
def test_ips_allocated_with_garbage(text: str) -> None:
    state = reconcile(_booted(), CONFIG, CLOCK).state
    assert state.in_flight is not None
    _check_event(state, IPsAllocated("eni-0", ("10.0.0.5", text)), "ips")


@pytest.mark.parametrize("text", GARBAGE_PREFIXES)
def test_prefixes_allocated_with_garbage(text: str) -> None:
    state = _waiting_for(AllocatePrefixes("eni-0", 2))
    _check_event(state, PrefixesAllocated("eni-0", ("10.0.0.32/28", text)), "prefixes")


@pytest.mark.parametrize("text", GARBAGE_IPS, ids=[repr(t)[:16] for t in GARBAGE_IPS])
def test_eni_attached_with_garbage_ips(text: str) -> None:
    state = _waiting_for(AllocateENI(0, 2))
    _check_event(state, ENIAttached("eni-1", 1, 0, ips=("10.0.1.5", text)), "ips")


@pytest.mark.parametrize("text", GARBAGE_PREFIXES)
def test_eni_attached_with_garbage_prefixes(text: str) -> None:
    state = _waiting_for(AllocateENI(0, 2, prefixes=True))
    _check_event(state, ENIAttached("eni-1", 1, 0, prefixes=("10.0.1.0/28", text)), "prefixes")


@pytest.mark.parametrize("text", GARBAGE_IPS, ids=[repr(t)[:16] for t in GARBAGE_IPS])
@pytest.mark.parametrize("eni_id", ["eni-0", "eni-new"])
def test_metadata_with_garbage_ips(text: str, eni_id: str) -> None:
    observed = (ObservedENI("eni-0", 0), ObservedENI(eni_id, 1 if eni_id != "eni-0" else 0))
    seen = tuple(
        attrs.evolve(o, ips=("10.0.2.5", text)) if o.eni_id == eni_id else o for o in observed
    )
    _check_event(_booted(), MetadataObserved(seen), "ips")


@pytest.mark.parametrize("text", GARBAGE_PREFIXES)
@pytest.mark.parametrize("eni_id", ["eni-0", "eni-new"])
def test_metadata_with_garbage_prefixes(text: str, eni_id: str) -> None:
    observed = (ObservedENI("eni-0", 0), ObservedENI(eni_id, 1 if eni_id != "eni-0" else 0))
    seen = tuple(
        attrs.evolve(o, prefixes=("10.0.2.0/28", text)) if o.eni_id == eni_id else o
        for o in observed
    )
    _check_event(_booted(), MetadataObserved(seen), "prefixes")


@given(st.text(max_size=24), st.booleans())
def test_any_address_text(text: str, as_prefix: bool) -> None:
    """Whatever the text, apply returns a state or raises a typed error."""
    if as_prefix:
        state = _waiting_for(AllocatePrefixes("eni-0", 1))
        event: Any = PrefixesAllocated("eni-0", (text,))
    else:
        state = _waiting_for(AllocateENI(0, 1))
        event = ENIAttached("eni-1", 1, 0, ips=(text,))
    with contextlib.suppress(StateError, UnexpectedEventError):
        apply(state, event, CLOCK)


@pytest.mark.parametrize(
    "observed",
    [
        # The same /32 on two ENIs.
        (ObservedENI("eni-0", 0, 0, ("10.0.0.9",)), ObservedENI("eni-1", 1, 0, ("10.0.0.9",))),
        # A /32 of one ENI inside a /28 of another.
        (
            ObservedENI("eni-0", 0, 0, ("10.0.0.17",)),
            ObservedENI("eni-1", 1, 0, (), ("10.0.0.16/28",)),
        ),
    ],
)
def test_metadata_with_an_address_on_two_enis(observed: tuple[ObservedENI, ...]) -> None:
    """Library defect: such an observation is folded in and yields a state that fails
    ``check()``. Refusing it (typed) or keeping the state consistent would both do."""
    try:
        state = apply(_booted(), MetadataObserved(observed), CLOCK)
    except (StateError, UnexpectedEventError):
        return
    state.check()


# -- address text: the fast dotted-quad parser agrees with the standard library -------------

_QUAD_TEXT = st.one_of(
    st.integers(0, 2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n))),
    st.lists(
        st.one_of(st.integers(-300, 300).map(str), st.sampled_from(["", "+1", " 1", "1_0", "01"])),
        min_size=1,
        max_size=5,
    ).map(".".join),
    st.text(alphabet="0123456789.+-_ \u0661x", max_size=20),
)


@given(_QUAD_TEXT)
def test_ip_to_int_reads_exactly_what_ipaddress_reads(text: str) -> None:
    try:
        expected: int | None = int(ipaddress.IPv4Address(text))
    except ValueError:
        expected = None
    if expected is None:
        with pytest.raises(StateError) as raised:
            ip_to_int(text, field="ips")
        assert raised.value.field == "ips"
    else:
        assert ip_to_int(text) == expected


@given(st.integers(0, (1 << 32) - 1))
def test_int_to_ip_writes_what_ipaddress_writes(value: int) -> None:
    assert int_to_ip(value) == str(ipaddress.IPv4Address(value))
    assert ip_to_int(int_to_ip(value)) == value
