"""JSON in and out for every model value, so states, configs, actions and events can be saved,
diffed, replayed and exchanged with simulators written in other languages.

One module-level :data:`converter` (cattrs) does the work. The format:

* attrs classes are JSON objects with every ``init=True`` field (defaults included, so the
  format does not depend on the library's defaults); the derived ``init=False`` counters of
  ``Cidr`` and ``ENI`` are left out and recomputed on construction;
* tuples are arrays, the read-only mappings of ``NodeState`` are objects;
* every action and event carries its class name under ``"type"`` wherever it appears (top
  level, ``outbox``, ``in_flight``), because ``AllocateIPs`` and ``AllocatePrefixes`` have
  identical fields and only a tag tells them apart; so does an ``AllocateENI``'s
  ``destination`` (``PrimarySubnet`` and ``DiscoveredSubnet`` have no fields at all);
* addresses stay the integers the state holds (an IPv6 /80 and its addresses are 128-bit
  integers, beyond 2**53: a reader in another language needs big integers); keys are sorted,
  so equal values give equal text.

Reading is strict, because JSON is untrusted input: no type coercion (``"5"`` is not an int,
``true`` is not 1, a string is not a list), no unknown or duplicate keys, no NaN or infinity,
and a ``NodeState`` must pass :meth:`NodeState.check`. Every failure is a ``StateError`` whose
``field`` is the path of the first offending value (``$.datastores[0].enis[1].cidrs``) and
whose message lists every problem found.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, TypeVar, get_args, get_origin, overload

import attrs
import cattrs
from cattrs.cols import homogenous_tuple_structure_factory
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)
from cattrs.gen import make_dict_structure_fn, mapping_structure_factory
from cattrs.strategies import configure_tagged_union

from vpccni_model import _datastore, _podindex, _state
from vpccni_model._actions import Action
from vpccni_model._config import Config
from vpccni_model._errors import StateError, VpcCniModelError
from vpccni_model._events import Event
from vpccni_model._limits import InstanceLimits
from vpccni_model._podindex import PodIndex
from vpccni_model._subnets import ENIDestination

__all__ = ["TAG", "converter", "from_dict", "from_json", "to_dict", "to_json"]

T = TypeVar("T")

TAG: Final = "type"
"""Key of the class-name tag on every action and event."""

_Hook = Callable[[Any, Any], Any]


class _ShapeError(TypeError):
    """A JSON value of the wrong kind; turned into a StateError with its path."""

    def __init__(self, expected: str, value: object) -> None:
        self.value = value
        super().__init__(f"expected {expected}, got {type(value).__name__} {_short(value)}")


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


# -- strict primitives -------------------------------------------------------------------------
# cattrs' defaults call int()/float()/str(), which would turn "5" into 5, true into 1 and 5 into
# "5"; a model built from coerced input would be a different model than the one written.


def _structure_int(value: object, _: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _ShapeError("an integer", value)
    return value


def _structure_float(value: object, _: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _ShapeError("a number", value)
    try:
        number = float(value)
    except OverflowError:
        raise _ShapeError("a finite number", value) from None
    if not math.isfinite(number):
        raise _ShapeError("a finite number", value)
    return number


def _structure_str(value: object, _: object) -> str:
    if not isinstance(value, str):
        raise _ShapeError("a string", value)
    return value


def _structure_bool(value: object, _: object) -> bool:
    if not isinstance(value, bool):
        raise _ShapeError("true or false", value)
    return value


# -- containers: check the JSON kind before cattrs iterates it (a string is iterable) ---------


def _is_homogeneous_tuple(tp: Any) -> bool:
    args = get_args(tp)
    return get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis


def _is_mapping(tp: Any) -> bool:
    return get_origin(tp) in (Mapping, dict)


def _tuple_hook(tp: Any, conv: cattrs.Converter) -> _Hook:
    inner = homogenous_tuple_structure_factory(tp, conv)

    def structure(value: object, cl: Any) -> Any:
        if not isinstance(value, list | tuple):
            raise _ShapeError("an array", value)
        return inner(value, cl)

    return structure


def _mapping_hook(tp: Any, conv: cattrs.Converter) -> _Hook:
    inner = mapping_structure_factory(tp, conv)

    def structure(value: object, cl: Any) -> Any:
        if not isinstance(value, Mapping):
            raise _ShapeError("an object", value)
        return inner(value, cl)

    return structure


def _attrs_hook(cl: Any, conv: cattrs.Converter) -> _Hook:
    inner = make_dict_structure_fn(cl, conv)

    def structure(value: object, tp: Any) -> Any:
        if not isinstance(value, Mapping):
            raise _ShapeError(f"an object for {cl.__name__}", value)
        return inner(value, tp)

    return structure


# -- tagged unions ------------------------------------------------------------------------------


class _TagError(ValueError):
    """The ``"type"`` tag is missing or names a class the union does not hold."""

    def __init__(self, value: object, expected: tuple[str, ...]) -> None:
        self.value = value
        super().__init__(f"{TAG!r} must be one of {', '.join(expected)}; got {_short(value)}")


def _configure_union(conv: cattrs.Converter, union: Any) -> None:
    """Tag ``union`` and each member, so a member reads and writes the same text whether it is
    handled as itself or as the union."""
    configure_tagged_union(union, conv, tag_name=TAG)
    members: dict[str, type] = {cl.__name__: cl for cl in get_args(union)}
    tagged_structure = conv.get_structure_hook(union)
    tagged_unstructure = conv.get_unstructure_hook(union)

    def check_tag(value: object, allowed: tuple[str, ...]) -> None:
        if not isinstance(value, Mapping):
            raise _ShapeError(f"an object with a {TAG!r} tag", value)
        tag = value.get(TAG)
        if not isinstance(tag, str) or tag not in allowed:
            raise _TagError(tag, allowed)

    def structure_union(value: object, _: Any) -> Any:
        check_tag(value, tuple(members))
        return tagged_structure(dict(value), union)  # type: ignore[call-overload]

    conv.register_structure_hook(union, structure_union)
    conv.register_structure_hook(
        union | None,
        lambda value, _: None if value is None else structure_union(value, union),
    )
    conv.register_unstructure_hook(
        union | None, lambda value: None if value is None else tagged_unstructure(value)
    )
    for name, cl in members.items():

        def structure_member(value: object, _: Any, _name: str = name) -> Any:
            check_tag(value, (_name,))
            return structure_union(value, union)

        conv.register_structure_hook(cl, structure_member)
        conv.register_unstructure_hook(cl, tagged_unstructure)


# -- the converter ------------------------------------------------------------------------------


def _resolve_forward_references() -> None:
    """_state imports these names only for type checking; cattrs needs them at runtime."""
    names = {"Action": Action, "Config": Config, "InstanceLimits": InstanceLimits}
    attrs.resolve_types(_datastore.InFlight, localns=names)
    attrs.resolve_types(_state.NodeState, localns=names)


def _build_converter() -> cattrs.Converter:
    _resolve_forward_references()
    conv = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook_factory(_is_homogeneous_tuple, _tuple_hook)
    conv.register_structure_hook_factory(_is_mapping, _mapping_hook)
    conv.register_structure_hook_factory(attrs.has, _attrs_hook)
    _configure_union(conv, ENIDestination)  # before Action: AllocateENI holds one
    _configure_union(conv, Action)
    _configure_union(conv, Event)
    # The pod index reads and writes as a JSON object keyed by pod, in sorted key order.
    pods = conv.get_structure_hook(Mapping[str, _podindex.PodIP])
    conv.register_structure_hook(PodIndex, lambda value, _: PodIndex(pods(value, Mapping)))
    conv.register_unstructure_hook(
        PodIndex, lambda index: {pod: conv.unstructure(ref) for pod, ref in index.items()}
    )
    return conv


converter: Final[cattrs.Converter] = _build_converter()
"""The configured converter; use it directly to embed model values in larger documents."""


# -- errors -------------------------------------------------------------------------------------


def _leaves(exc: BaseException, path: str) -> Iterator[tuple[str, BaseException]]:
    """Flatten cattrs' nested exception groups into (JSON path, original error)."""
    if isinstance(exc, ClassValidationError):
        named, unnamed = exc.group_exceptions()
        for sub, note in named:
            yield from _leaves(sub, f"{path}.{note.name}")
        for sub in unnamed:
            yield from _leaves(sub, path)
    elif isinstance(exc, IterableValidationError):
        indexed, unindexed = exc.group_exceptions()
        for item, inote in indexed:
            yield from _leaves(item, f"{path}[{inote.index!r}]")
        for item in unindexed:
            yield from _leaves(item, path)
    elif isinstance(exc, BaseExceptionGroup):
        for member in exc.exceptions:
            yield from _leaves(member, path)
    else:
        yield path, exc


_FIELD_PATH: Final = re.compile(r"[A-Za-z_]\w*(?:[.\[]|$)")
"""A field name, or a path below one (``datastores[0].enis[1].created_at``), as the rules of
``NodeState.check`` name what they refuse."""


def _describe(path: str, exc: BaseException) -> tuple[str, object, str]:
    """(path of the bad value, the value, why) for one leaf error."""
    if isinstance(exc, VpcCniModelError):
        field = getattr(exc, "field", None)
        if isinstance(field, str) and _FIELD_PATH.match(field):
            path = f"{path}.{field}"
        reason = getattr(exc, "reason", None)
        return path, getattr(exc, "value", None), str(reason if reason is not None else exc)
    if isinstance(exc, _ShapeError | _TagError):
        if isinstance(exc, _TagError):
            path = f"{path}.{TAG}"
        return path, exc.value, str(exc)
    if isinstance(exc, ForbiddenExtraKeysError):
        extra = sorted(exc.extra_fields)
        return f"{path}.{extra[0]}", extra, f"unknown field(s) {', '.join(extra)}"
    if isinstance(exc, KeyError):
        return path, None, "required field missing"
    return path, None, f"{type(exc).__name__}: {exc}"


def _state_error(exc: BaseException, root: str = "$") -> StateError:
    problems = [_describe(path, leaf) for path, leaf in _leaves(exc, root)]
    if not problems:  # pragma: no cover - a group always has leaves
        problems = [(root, None, f"{type(exc).__name__}: {exc}")]
    field, value, reason = problems[0]
    if len(repr(value)) > 80:  # keep the message readable; the cause chain has the rest
        value = _short(value, 80)
    if len(problems) > 1:
        others = "; ".join(f"{p}: {r}" for p, _, r in problems[1:6])
        more = f" (+{len(problems) - 6} more)" if len(problems) > 6 else ""
        reason = f"{reason}; also {others}{more}"
    return StateError(field, value, reason)


# -- public API ---------------------------------------------------------------------------------


def _model_class(cls: object) -> bool:
    """One of this library's attrs classes (a value, an action, an event, a result)."""
    return (
        isinstance(cls, type)
        and attrs.has(cls)
        and (cls.__module__ == "vpccni_model" or cls.__module__.startswith("vpccni_model."))
    )


def _check_model_value(value: object) -> None:
    if not _model_class(type(value)):
        raise StateError("value", value, "not a vpccni_model value (a state, action, event...)")


def _check_model_class(cls: object) -> None:
    if cls is not Action and cls is not Event and not _model_class(cls):
        raise StateError("cls", cls, "must be a vpccni_model class, Action or Event")


def to_dict(value: object) -> Any:
    """The JSON-ready form of a model value (dicts, lists, str, int, float, bool, None)."""
    _check_model_value(value)
    return converter.unstructure(value)


@overload
def from_dict(data: object, cls: type[T]) -> T: ...
@overload
def from_dict(data: object, cls: Any) -> Any: ...
def from_dict(data: object, cls: Any) -> Any:
    """Build a ``cls`` (a model class, or the ``Action``/``Event`` union) from its JSON-ready
    form; any problem is a ``StateError`` naming the path of the bad value."""
    _check_model_class(cls)
    try:
        result = converter.structure(data, cls)
        if isinstance(result, _state.NodeState):
            result.check()
    except (cattrs.BaseValidationError, VpcCniModelError, _ShapeError, _TagError) as exc:
        raise _state_error(exc) from exc
    except cattrs.StructureHandlerNotFoundError as exc:
        raise StateError("$", cls, "not a type this module can build") from exc
    except RecursionError as exc:
        raise StateError("$", None, "nested too deeply") from exc
    except (TypeError, ValueError, LookupError, ArithmeticError, AttributeError) as exc:
        raise StateError("$", None, f"{type(exc).__name__}: {exc}") from exc
    return result


def to_json(value: object, *, indent: int | None = None) -> str:
    """Deterministic JSON for a model value: sorted keys, exact floats (shortest repr).

    NaN and infinity have no JSON form and raise ``StateError``. ``indent`` is None (one line)
    or a number of spaces, 0 to 16.
    """
    if indent is not None and (
        isinstance(indent, bool) or not isinstance(indent, int) or not 0 <= indent <= 16
    ):
        raise StateError("indent", indent, "must be None or an int from 0 to 16")
    data = to_dict(value)
    separators = (",", ":") if indent is None else (",", ": ")
    try:
        return json.dumps(
            data, sort_keys=True, allow_nan=False, indent=indent, separators=separators
        )
    except (TypeError, ValueError) as exc:
        raise StateError("$", value, f"no JSON form: {exc}") from exc


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, item in pairs:
        if key in result:
            raise StateError("$", key, "duplicate key in a JSON object")
        result[key] = item
    return result


def _no_constants(name: str) -> Any:
    raise StateError("$", name, "NaN and Infinity are not JSON")


@overload
def from_json(text: str | bytes | bytearray, cls: type[T]) -> T: ...
@overload
def from_json(text: str | bytes | bytearray, cls: Any) -> Any: ...
def from_json(text: str | bytes | bytearray, cls: Any) -> Any:
    """Parse ``text`` written by :func:`to_json` back into a ``cls``.

    ``from_json(to_json(x), type(x)) == x`` for every model value, and for an action or event
    ``cls`` may also be the ``Action`` or ``Event`` union. Invalid JSON or a wrong shape raises
    ``StateError`` whose ``field`` is the JSON path of the first problem.
    """
    if not isinstance(text, str | bytes | bytearray):
        raise StateError("$", text, "JSON text must be str or bytes")
    _check_model_class(cls)
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants)
    except StateError:
        raise
    except RecursionError as exc:
        raise StateError("$", None, "JSON nested too deeply") from exc
    except (ValueError, TypeError) as exc:  # JSONDecodeError, UnicodeDecodeError, int limits
        raise StateError("$", text[:80], f"invalid JSON: {exc}") from exc
    return from_dict(data, cls)
