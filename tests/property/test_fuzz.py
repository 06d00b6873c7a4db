"""Fuzzing the validation boundary: bad input gets a typed error naming the field, and nothing
is corrupted.

The rule, for every public entry point and ``from_json``: whatever is accepted passes
``NodeState.check()``, round-trips (``from_json(to_json(x)) == x``) and every later operation
works (raises nothing but the library's typed errors, and leaves a state that passes
``check()``); everything else is a typed error (``VpcCniModelError``) naming the field.

* (a) real states (``vpccni_model.testing.node_states``) as documents, mutated: a leaf
  replaced by a value of another type or an edge value, or an edit that keeps the shape and
  breaks a cross-reference (an ENI on two cards, two primaries, an address on two ENIs,
  timestamps past the clock, a cleanup for a missing card, ...);
* (b) valid events (the FakeEC2's answers and observations, node events) and actions with a
  mutated field, applied to real states and held in them;
* (c) every public entry point with one argument of a wrong type.

Deterministic given Hypothesis' seed: nothing here draws randomness elsewhere or iterates in
hash order.
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable
from typing import Any

import attrs
from hypothesis import event, given, settings
from hypothesis import strategies as st

from vpccni_model import (
    Action,
    AllocateENI,
    AllocateIPs,
    AllocatePrefixes,
    AllocationFailed,
    Config,
    Event,
    FakeEC2,
    FreeENI,
    InFlight,
    InstanceLimits,
    MetadataObserved,
    NoAvailableIPError,
    NodeCordoned,
    NodeState,
    NodeTerminating,
    NodeUncordoned,
    ObservedENI,
    ReleaseIPs,
    ReleasePrefixes,
    StateError,
    VpcCniModelError,
    apply,
    assign_pod_ip,
    converge,
    from_json,
    instance_limits,
    max_pods,
    reconcile,
    reconcile_due,
    restart,
    steady_state,
    take_outbox,
    to_json,
    unassign_pod_ip,
)
from vpccni_model._checks import MAX_CLOCK
from vpccni_model._ipv4 import int_to_ip
from vpccni_model.serialize import from_dict, to_dict
from vpccni_model.testing import ec2_outcome, node_states, outcome_kinds

MORE = settings(max_examples=settings.default.max_examples * 3)
"""Three times the profile's examples (ci: 180, about 5 s a test)."""

STATES = node_states(max_steps=20)


# -- what "works" means -------------------------------------------------------------------------


def typed(call: Callable[[], Any]) -> Any:
    """``call()``, or None if it raised a typed error; such an error names a field if it has
    one. Any other exception fails the test."""
    try:
        return call()
    except VpcCniModelError as exc:
        field = getattr(exc, "field", "?")
        assert isinstance(field, str) and field, exc
        return None


def assert_sound(state: NodeState) -> None:
    """Passes ``check()`` and round-trips through JSON."""
    state.check()
    text = to_json(state)
    back = from_json(text, NodeState)
    assert back == state
    assert to_json(back) == text


def assert_usable(state: NodeState) -> None:
    """``state`` is sound, and what a driver does next works, each result sound: a tick (it
    must not raise), DEL of an existing pod (must not raise) and ADD of a new one (may find no
    address), then against a FakeEC2 holding the node (which may refuse to hold it, or see two
    ENIs at one device index that the datastore keeps from an out-of-band detach: typed errors)
    a metadata observation and a few ticks whose answers are applied."""
    assert_sound(state)
    config, clock = state.config, state.clock
    assert_sound(reconcile(state, config, clock).state)
    pod = next(iter(state.pods), None)
    if pod is not None:
        assert_sound(unassign_pod_ip(state, config, pod, clock + 1)[0])
    with contextlib.suppress(NoAvailableIPError):
        assert_sound(assign_pod_ip(state, config, "fuzz/new", clock + 1)[0])
    ec2 = typed(lambda: FakeEC2.for_node(state))
    if ec2 is None:
        return
    seen = typed(lambda: apply(state, MetadataObserved(ec2.observe()), clock + 61))
    if seen is not None:
        assert_sound(seen)
    current = state
    for tick in range(4):
        now = clock + 5.0 * (tick + 1)
        step = reconcile(current, config, now)
        current = step.state
        for action in step.actions:
            answer = ec2.execute(action)
            if answer is not None:
                current = apply(current, answer, now)
        assert_sound(current)


# -- (a) mutated state documents ----------------------------------------------------------------

JUNK: tuple[object, ...] = (
    10**400,
    2**63,
    -(2**63) - 1,
    -1,
    0,
    1,
    99,
    100,
    1.5,
    1.0,
    -0.0,
    1e308,
    -1e308,
    MAX_CLOCK * 2,
    "",
    "x",
    "eni-0",
    "10.0.0.5",
    "10.0.0.16/28",
    None,
    True,
    False,
    [],
    {},
    [[1]],
    [None],
    {"a": 1},
    {"type": "FreeENI", "eni_id": "eni-0"},
    {"type": "AllocateIPs", "eni_id": "eni-0", "count": 1},
)
junk = st.one_of(
    st.sampled_from(JUNK),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every value's path in a JSON document, containers included (document order)."""
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, item in data.items():
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            found.extend(_paths(item, (*prefix, index)))
    return found


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    _get(doc, path[:-1])[path[-1]] = value


def _enis(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [eni for ds in doc["datastores"] for eni in ds["enis"]]


def _times(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Paths of the timestamps a state must not hold past its clock."""
    names = ("created_at", "assigned_at", "unassigned_at", "started_at")
    found = [p for p in _paths(doc) if p and p[-1] in names and _get(doc, p) is not None]
    found += [("reconcile_cooldown", key) for key in doc["reconcile_cooldown"]]
    top = ("last_pool_action_at", "last_decrease_at", "last_insufficient_cidr_at")
    return found + [(name,) for name in top]


def _replace_leaf(doc: dict[str, Any], data: st.DataObject) -> None:
    paths = _paths(doc)
    node = [p for p in paths if p[0] not in ("limits", "config")] or paths
    path = data.draw(st.one_of(st.sampled_from(node), st.sampled_from(paths)), label="path")
    leaves = [p for p in _paths(doc) if not isinstance(_get(doc, p), dict | list)]
    borrowed = data.draw(st.sampled_from(leaves)) if leaves else None
    value = data.draw(st.one_of(junk, st.just(None if borrowed is None else _get(doc, borrowed))))
    _set(doc, path, copy.deepcopy(value))


def _delete_key(doc: dict[str, Any], data: st.DataObject) -> None:
    keyed = [p for p in _paths(doc) if isinstance(p[-1], str)]
    path = data.draw(st.sampled_from(keyed), label="path")
    del _get(doc, path[:-1])[path[-1]]


def _eni_on_another_card(doc: dict[str, Any], data: st.DataObject) -> None:
    enis = _enis(doc)
    eni = copy.deepcopy(data.draw(st.sampled_from(enis)))
    card = data.draw(st.integers(0, 3))
    eni["network_card"] = card
    stores = {ds["network_card"]: ds for ds in doc["datastores"]}
    if card not in stores:
        stores[card] = {"network_card": card, "enis": [], "prefix_counter": 0, "unmanaged_enis": 0}
    stores[card]["enis"].append(eni)
    stores[card]["enis"].sort(key=lambda e: (e["device_number"], e["eni_id"]))
    doc["datastores"] = [stores[c] for c in sorted(stores)]


def _second_primary(doc: dict[str, Any], data: st.DataObject) -> None:
    enis = _enis(doc)
    target = data.draw(st.sampled_from(enis))
    if target["is_primary"]:
        target["is_primary"] = False  # no primary at all
    else:
        target["is_primary"] = True


def _primary_id(doc: dict[str, Any], data: st.DataObject) -> None:
    doc["primary_eni_id"] = data.draw(
        st.sampled_from(["eni-missing", *(e["eni_id"] for e in _enis(doc))])
    )


def _time_past_clock(doc: dict[str, Any], data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(_times(doc)), label="timestamp")
    _set(doc, path, doc["clock"] + data.draw(st.sampled_from((1e-9, 1.0, 1e6))))


def _clock_back(doc: dict[str, Any], data: st.DataObject) -> None:
    doc["clock"] = data.draw(st.sampled_from((-1.0, 0.0, doc["clock"] - 1.0)))


def _cleanup_for_missing_card(doc: dict[str, Any], data: st.DataObject) -> None:
    card = data.draw(st.integers(1, 9))
    due = doc["clock"] + data.draw(st.sampled_from((0.0, 5.0)))
    eni_id = data.draw(st.sampled_from([e["eni_id"] for e in _enis(doc)]))
    task = {"eni_id": eni_id, "network_card": card, "cidr": 167772176, "due_at": due}
    doc["deferred_cleanups"].append(task)


def _cidr_on_two_enis(doc: dict[str, Any], data: st.DataObject) -> None:
    held = [c for e in _enis(doc) for c in e["cidrs"]]
    enis = _enis(doc)
    source = copy.deepcopy(data.draw(st.sampled_from(held))) if held else None
    if source is None:
        return
    source["addresses"] = []
    target = data.draw(st.sampled_from(enis))
    target["cidrs"] = sorted([*target["cidrs"], source], key=lambda c: c["network"])


def _too_many_cidrs(doc: dict[str, Any], data: st.DataObject) -> None:
    target = data.draw(st.sampled_from(_enis(doc)))
    extra = data.draw(st.integers(1, 60))
    base = 0xC0A80000 + 0x1000 * data.draw(st.integers(0, 15))  # 192.168.x.0: nothing there
    cidrs = [{"network": base + i, "is_prefix": False, "addresses": []} for i in range(extra)]
    target["cidrs"] = sorted([*target["cidrs"], *cidrs], key=lambda c: c["network"])


def _too_many_enis(doc: dict[str, Any], data: st.DataObject) -> None:
    ds = data.draw(st.sampled_from(doc["datastores"]))
    if data.draw(st.booleans()):
        ds["unmanaged_enis"] = data.draw(st.integers(1, 200))
        return
    for i in range(data.draw(st.integers(1, 20))):
        ds["enis"].append(
            {
                "eni_id": f"eni-fuzz-{i}",
                "device_number": 90 + i % 10,
                "network_card": ds["network_card"],
                "is_primary": False,
                "is_trunk": False,
                "is_efa": False,
                "is_excluded": False,
                "created_at": doc["clock"],
                "cidrs": [],
            }
        )
    ds["enis"].sort(key=lambda e: (e["device_number"], e["eni_id"]))


def _datastore_for_card(doc: dict[str, Any], data: st.DataObject) -> None:
    have = {ds["network_card"] for ds in doc["datastores"]}
    card = data.draw(st.integers(1, 12).filter(lambda c: c not in have))
    empty = {"network_card": card, "enis": [], "prefix_counter": 0, "unmanaged_enis": 0}
    doc["datastores"] = sorted([*doc["datastores"], empty], key=lambda d: d["network_card"])


def _in_flight(doc: dict[str, Any], data: st.DataObject) -> None:
    eni_id = data.draw(st.sampled_from(["eni-missing", *(e["eni_id"] for e in _enis(doc))]))
    action = data.draw(
        st.sampled_from(
            [
                {"type": "AllocateIPs", "eni_id": eni_id, "count": 1},
                {"type": "AllocatePrefixes", "eni_id": eni_id, "count": 0},
                {"type": "AllocateENI", "network_card": 5, "count": 1, "prefixes": False},
                {"type": "ReleaseIPs", "eni_id": eni_id, "addresses": []},
                {"type": "FreeENI", "eni_id": eni_id},
                None,
            ]
        )
    )
    card = data.draw(st.sampled_from((0, 1, 7)))
    doc["in_flight"] = {
        "action": action,
        "network_card": card,
        "started_at": doc["clock"],
        "skipped_enis": [],
    }


def _outbox(doc: dict[str, Any], data: st.DataObject) -> None:
    doc["outbox"].append(
        data.draw(
            st.sampled_from(
                [
                    {"type": "AllocateIPs", "eni_id": "eni-0", "count": 1},
                    {"type": "ReleaseIPs", "eni_id": "eni-0", "addresses": ["nope"]},
                    {"type": "ReleasePrefixes", "eni_id": "", "prefixes": ["10.0.0.16/28"]},
                    {"type": "ReleasePrefixes", "eni_id": "eni-0", "prefixes": ["10.0.0.5/32"]},
                    {"type": "FreeENI", "eni_id": "eni-9"},
                ]
            )
        )
    )


def _pod_key(doc: dict[str, Any], data: st.DataObject) -> None:
    if not doc["pods"]:
        return
    old = data.draw(st.sampled_from(sorted(doc["pods"])))
    new = data.draw(st.sampled_from(("", " ", "fuzz/other", old + "\x00")))
    ref = doc["pods"].pop(old)
    ref["pod"] = new
    doc["pods"][new] = ref
    for path in _paths(doc):
        if path[-1] == "pod" and path[0] == "datastores" and _get(doc, path) == old:
            _set(doc, path, new)


EDITS: tuple[Callable[[dict[str, Any], st.DataObject], None], ...] = (
    _eni_on_another_card,
    _second_primary,
    _primary_id,
    _time_past_clock,
    _clock_back,
    _cleanup_for_missing_card,
    _cidr_on_two_enis,
    _too_many_cidrs,
    _too_many_enis,
    _datastore_for_card,
    _in_flight,
    _outbox,
    _pod_key,
)
"""Edits that keep the document's shape and break (or may break) a cross-reference; they
compose, so a few are applied in a row. A leaf edit (``_replace_leaf``, ``_delete_key``),
which may break the shape, comes last."""


@MORE
@given(STATES, st.data())
def test_mutated_state_documents(generated: tuple[NodeState, Config, FakeEC2], data: Any) -> None:
    doc = to_dict(generated[0])
    for edit in data.draw(st.lists(st.sampled_from(EDITS), max_size=3), label="edits"):
        edit(doc, data)
    last = data.draw(st.sampled_from((_replace_leaf, _replace_leaf, _delete_key, None)))
    if last is not None:
        last(doc, data)
    try:
        state = from_dict(doc, NodeState)
    except StateError as exc:
        assert exc.field.startswith("$"), exc
        event(f"refused: {exc.field.split('[')[0].split('.')[1] if '.' in exc.field else '$'}")
        return
    event("accepted")
    assert_usable(state)


# -- (b) mutated events and actions ------------------------------------------------------------


def _answer(
    state: NodeState, config: Config, ec2: FakeEC2, data: st.DataObject
) -> tuple[NodeState, Event] | None:
    """The FakeEC2's answer to an allocation of ``state``: the one in flight, or one started
    by ticks after pods used up the pool (releases are run on the FakeEC2 as they come)."""
    clock = state.clock
    for attempt in range(4):
        in_flight = state.in_flight
        if in_flight is not None:
            answer = ec2_outcome(ec2, in_flight.action, data.draw(outcome_kinds()))
            return None if answer is None else (state, answer)
        for index in range(4):
            added = typed(lambda: assign_pod_ip(state, config, f"fuzz/{attempt}-{index}", clock))  # noqa: B023
            if added is not None:
                state = added[0]
        clock += 5.0
        step = reconcile(state, config, clock)
        state = step.state
        for action in step.actions:
            if not isinstance(action, AllocateENI | AllocateIPs | AllocatePrefixes):
                ec2.execute(action)
    return None


def _valid_event(
    state: NodeState, config: Config, ec2: FakeEC2, data: st.DataObject
) -> tuple[NodeState, Event]:
    """An event that fits ``state`` (which may move on a few ticks to start an allocation)."""
    choice = data.draw(
        st.sampled_from(("answer", "answer", "answer", "observe", "observe", "node", "failed")),
        label="event",
    )
    if choice == "answer":
        found = _answer(state, config, ec2, data)
        if found is not None:
            return found
    if choice == "observe":
        return state, MetadataObserved(ec2.observe())
    if choice == "failed":
        return state, AllocationFailed(data.draw(st.sampled_from(("InsufficientCidrBlocks", "x"))))
    return state, data.draw(st.sampled_from((NodeCordoned(), NodeUncordoned(), NodeTerminating())))


def _held_addresses(state: NodeState) -> list[str]:
    return [c.key if c.is_prefix else int_to_ip(c.network) for e in state.enis for c in e.cidrs]


def _mutate_fields(value: Any, state: NodeState, data: st.DataObject) -> dict[str, Any]:
    """The fields of ``value`` with one changed: junk of any type, or a value of the right
    type that does not fit the node: an address or ENI id the node holds elsewhere, more
    addresses than an ENI takes, another card or device, a changed ENI list."""
    fields = {a.name: getattr(value, a.name) for a in attrs.fields(type(value))}
    if not fields:
        return fields
    name = data.draw(st.sampled_from(sorted(fields)), label="field")
    held = _held_addresses(state)
    ips = [h for h in held if "/" not in h] or ["10.0.0.5"]
    prefixes = [h for h in held if "/" in h] or ["10.0.0.16/28"]
    fitting: list[st.SearchStrategy[Any]] = []
    lists = isinstance(fields[name], tuple)  # AllocateENI.prefixes is a flag
    if name in ("ips", "addresses") and lists:
        current = tuple(fields[name])
        fitting.append(st.lists(st.sampled_from(ips), min_size=1).map(lambda x: (*current, *x)))
        fitting.append(st.just(tuple(f"10.200.{i // 256}.{i % 256}" for i in range(70))))
    elif name == "prefixes" and lists:
        current = tuple(fields[name])
        fitting.append(
            st.lists(st.sampled_from(prefixes), min_size=1).map(lambda x: (*current, *x))
        )
        fitting.append(st.just(tuple(f"10.201.{i}.0/28" for i in range(70))))
        fitting.append(st.just((*current, f"{ips[0]}/28")))
    elif name == "enis":
        fitting.append(st.just(_changed_observation(fields["enis"], state, data)))
    elif name == "eni_id":
        fitting.append(st.sampled_from([e.eni_id for e in state.enis]))
    elif name in ("network_card", "device_number", "count"):
        fitting.append(st.sampled_from((0, 1, 2, 3, 99, 100, 1000)))
    junky = st.one_of(junk, st.lists(junk, max_size=3))
    fields[name] = data.draw(st.one_of(*fitting, *fitting, junky) if fitting else junky)
    return fields


def _changed_observation(
    enis: tuple[ObservedENI, ...], state: NodeState, data: st.DataObject
) -> tuple[ObservedENI, ...]:
    listed = list(enis)
    kind = data.draw(
        st.sampled_from(("drop", "unmanage", "card", "device", "many", "moved", "mutate")),
        label="observation",
    )
    if kind == "drop" and listed:
        listed.pop(data.draw(st.integers(0, len(listed) - 1)))
    elif kind == "unmanage" and listed:
        listed[0] = attrs.evolve(listed[0], managed=False)
    elif kind == "card" and listed:
        listed[-1] = attrs.evolve(listed[-1], network_card=data.draw(st.integers(0, 9)))
    elif kind == "device" and listed:
        listed[-1] = attrs.evolve(listed[-1], device_number=data.draw(st.sampled_from((0, 100))))
    elif kind == "many":
        listed += [
            ObservedENI(f"eni-extra-{i}", 50 + i) for i in range(data.draw(st.integers(1, 20)))
        ]
    elif kind == "moved" and len(listed) > 1:
        # An address of one ENI shows up on another instead (EC2 moved it).
        first, second = listed[0], listed[1]
        if first.ips:
            listed[0] = attrs.evolve(first, ips=first.ips[1:])
            listed[1] = attrs.evolve(second, ips=(*second.ips, first.ips[0]))
    elif kind == "mutate" and listed:
        at = data.draw(st.integers(0, len(listed) - 1))
        with contextlib.suppress(VpcCniModelError):
            listed[at] = ObservedENI(**_mutate_fields(listed[at], state, data))
    return tuple(listed)


def _unchanged_after_refusal(state: NodeState, call: Callable[[], NodeState]) -> NodeState | None:
    before = to_json(state)
    try:
        return call()
    except VpcCniModelError as exc:
        assert getattr(exc, "field", "?"), exc
        assert to_json(state) == before
        return None


@MORE
@given(STATES, st.data())
def test_mutated_events(generated: tuple[NodeState, Config, FakeEC2], data: Any) -> None:
    state, config, ec2 = generated
    state, valid = _valid_event(state, config, ec2, data)
    if data.draw(st.sampled_from((True, False, False)), label="through JSON"):
        doc = to_dict(valid)
        for _ in range(data.draw(st.integers(1, 2))):
            if _paths(doc):
                _replace_leaf(doc, data)
        mutated = typed(lambda: from_dict(doc, Event))
    else:
        fields = _mutate_fields(valid, state, data)
        mutated = typed(lambda: type(valid)(**fields))
    if mutated is None:
        event(f"{type(valid).__name__}: refused at construction")
        return
    assert from_json(to_json(mutated), Event) == mutated
    clock = state.clock + data.draw(st.sampled_from((0.0, 61.0)))
    after = _unchanged_after_refusal(state, lambda: apply(state, mutated, clock))
    changed = "valid" if mutated == valid else "mutated"
    event(f"{type(mutated).__name__} ({changed}): {'refused' if after is None else 'applied'}")
    if after is not None:
        assert_usable(after)


ACTIONS = (AllocateENI(0, 1), AllocateIPs("eni-0", 1), AllocatePrefixes("eni-0", 1))
RELEASES = (ReleaseIPs("eni-0", ("10.0.0.5",)), ReleasePrefixes("eni-0", ("10.0.0.16/28",)))


@MORE
@given(STATES, st.sampled_from((*ACTIONS, *RELEASES, FreeENI("eni-0"))), st.data())
def test_mutated_actions(
    generated: tuple[NodeState, Config, FakeEC2], action: Action, data: Any
) -> None:
    """An action with a mutated field, built and then held in a state: in flight (an
    allocation) or in the outbox (a release). Refused with a typed error, or usable."""
    state = generated[0]
    fields = _mutate_fields(action, state, data)
    mutated = typed(lambda: type(action)(**fields))
    if mutated is None:
        return
    assert from_json(to_json(mutated), Action) == mutated
    if isinstance(mutated, AllocateENI | AllocateIPs | AllocatePrefixes):
        card = data.draw(st.sampled_from((0, 1)))
        held = typed(
            lambda: attrs.evolve(state, in_flight=InFlight(mutated, card, state.clock), outbox=())
        )
    else:
        held = typed(lambda: attrs.evolve(state, outbox=(*state.outbox, mutated)))
    if held is None:
        return
    try:
        held.check()
    except StateError as exc:
        assert exc.field, exc
        return
    assert_usable(held)


# -- (c) wrong-typed arguments of every entry point ---------------------------------------------

LIMITS = instance_limits("m5.large")
CONFIG = Config()
STATE = NodeState.boot(LIMITS, CONFIG, 0.0)

_VALUES: tuple[tuple[st.SearchStrategy[Any], type | None], ...] = (
    (st.none(), type(None)),
    (st.booleans(), bool),
    (st.integers(), int),
    (st.floats(), float),
    (st.text(max_size=4), str),
    (st.binary(max_size=2), bytes),
    (st.lists(st.integers(), max_size=2), list),
    (st.dictionaries(st.text(max_size=2), st.integers(), max_size=2), dict),
    (st.just(object()), object),
    (st.sampled_from((STATE, CONFIG, LIMITS, NodeCordoned(), AllocateIPs("eni-0", 1))), None),
)
"""Values of many types, each strategy with the one type it draws (None: several)."""
not_a_value = st.one_of(*(strategy for strategy, _ in _VALUES))


def _kind(kind: type | tuple[type, ...]) -> st.SearchStrategy[Any]:
    """Values that are not a ``kind``."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return st.one_of(
        *(
            strategy.filter(lambda v: not isinstance(v, kind))
            for strategy, drawn in _VALUES
            if drawn is None or not issubclass(drawn, kinds)
        )
    )


bad_clocks = st.one_of(
    st.sampled_from((math.nan, math.inf, -math.inf, 10**400, MAX_CLOCK * 2, True, None, "1")),
    st.floats(min_value=MAX_CLOCK, exclude_min=True),
    st.floats(max_value=-MAX_CLOCK, exclude_max=True),
    st.integers(min_value=int(MAX_CLOCK) + 1),
    st.text(max_size=3),
    st.lists(st.floats(), max_size=1),
)
bad_pods = st.one_of(st.just(""), _kind(str))


EC2 = FakeEC2.for_node(STATE)  # every converge call below is refused before it runs an action


# Each entry point: its valid arguments, and for each position a strategy of wrong ones.
ENTRY_POINTS: dict[
    str, tuple[Callable[..., Any], tuple[Any, ...], tuple[st.SearchStrategy[Any], ...]]
] = {
    "reconcile": (reconcile, (STATE, CONFIG, 1.0), (_kind(NodeState), _kind(Config), bad_clocks)),
    "apply": (
        apply,
        (STATE, NodeCordoned(), 1.0),
        (_kind(NodeState), _kind(Event), bad_clocks),  # type: ignore[arg-type]
    ),
    "assign_pod_ip": (
        assign_pod_ip,
        (STATE, CONFIG, "ns/p", 1.0),
        (_kind(NodeState), _kind(Config), bad_pods, bad_clocks),
    ),
    "unassign_pod_ip": (
        unassign_pod_ip,
        (STATE, CONFIG, "ns/p", 1.0),
        (_kind(NodeState), _kind(Config), bad_pods, bad_clocks),
    ),
    "reconcile_due": (
        reconcile_due,
        (STATE, CONFIG, 1.0),
        (_kind(NodeState), _kind(Config), bad_clocks),
    ),
    "restart": (restart, (STATE, CONFIG, 1.0), (_kind(NodeState), _kind(Config), bad_clocks)),
    "take_outbox": (take_outbox, (STATE,), (_kind(NodeState),)),
    "steady_state": (
        steady_state,
        (LIMITS, CONFIG, 1),
        (
            _kind(InstanceLimits),
            _kind(Config),
            st.one_of(_kind(int), st.integers(max_value=-1), st.just(True)),
        ),
    ),
    "converge": (
        converge,
        (STATE, CONFIG, EC2, 1.0),
        (_kind(NodeState), _kind(Config), _kind(FakeEC2), bad_clocks),
    ),
    "to_json": (to_json, (STATE,), (st.one_of(*(s for s, drawn in _VALUES if drawn is not None)),)),
    "from_json": (
        from_json,
        (to_json(CONFIG), Config),
        (
            _kind((str, bytes)),
            st.one_of(
                not_a_value.filter(lambda v: not isinstance(v, type)),
                st.sampled_from((int, dict, list, object, type(None), tuple[Action, ...])),
            ),
        ),
    ),
    "NodeState.boot": (
        NodeState.boot,
        (LIMITS, CONFIG, 0.0),
        (_kind(InstanceLimits), _kind(Config), bad_clocks),
    ),
    "instance_limits": (instance_limits, ("m5.large",), (_kind(str),)),
    "max_pods": (max_pods, (LIMITS,), (_kind(InstanceLimits),)),
    "Config.from_env": (
        Config.from_env,
        ({"ENABLE_IPv4": "true"},),
        (
            st.one_of(
                _kind(dict),
                st.dictionaries(st.text(max_size=3), not_a_value, min_size=1, max_size=2).filter(
                    lambda d: any(not isinstance(v, str) for v in d.values())
                ),
            ),
        ),
    ),
}


@settings(max_examples=settings.default.max_examples * 4)
@given(st.sampled_from(sorted(ENTRY_POINTS)), st.data())
def test_wrong_argument_types(name: str, data: Any) -> None:
    function, valid, wrong = ENTRY_POINTS[name]
    position = data.draw(st.integers(0, len(valid) - 1), label="argument")
    args = list(valid)
    args[position] = data.draw(wrong[position], label="value")
    try:
        result = function(*args)
    except VpcCniModelError as exc:
        field = getattr(exc, "field", None)
        assert field is None or (isinstance(field, str) and field), exc
        return
    raise AssertionError(f"{name} accepted {args[position]!r} at {position}: {result!r}")
