"""Validation rules shared by every constructor, ``apply`` and ``from_json``: one home for what
a well-formed value is, so a value one entry point accepts is never refused by another.

Numbers: a bool is never an int here (``True`` is not an ENI count), ints convert to floats
where seconds are wanted, and times are bounded so that every sum the core forms (a clock
plus a timer, a tick count) stays finite and exact: clocks lie in ``[-MAX_CLOCK, MAX_CLOCK]``
and loop timers in ``[MIN_TIMER, MAX_TIMER]``.

Two families: the attrs validators of ``Config`` and ``InstanceLimits`` (``ConfigError``),
and the field rules of state values, events and actions (``as_int``, ``as_text``, ...,
``StateError`` naming the field). The field rules accept exactly what the strict JSON reader
(``serialize``) reads: real ints, bools and strings, tuples of the declared element type,
finite bounded times; so whatever a constructor accepts, ``to_json`` writes and
``from_json`` reads back equal. Which values must agree with each other is ``_rules``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, Final, TypeGuard, TypeVar

import attrs

from vpccni_model._errors import ConfigError, StateError

INT64_MIN: Final = -(1 << 63)
INT64_MAX: Final = (1 << 63) - 1

MAX_CLOCK: Final = 1e12
"""Largest clock magnitude, in seconds (about 31,700 years): far past any run, and small
enough that adding a 1 ms timer still moves the clock."""

MIN_TIMER: Final = 1e-3
MAX_TIMER: Final = 1e9
"""Bounds of ipamd's loop timers (its own are 5 s to 120 s)."""


def is_int(value: object) -> TypeGuard[int]:
    """A real int: bool is refused."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> TypeGuard[float]:
    """An int or float that is not a bool and not NaN (infinities pass)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def check_clock(value: object, field: str = "clock") -> float:
    """A clock as a float: a finite number of seconds within ``MAX_CLOCK``, else StateError."""
    if type(value) is float:
        if -MAX_CLOCK <= value <= MAX_CLOCK:
            return value
    elif is_int(value) and -MAX_CLOCK <= value <= MAX_CLOCK:
        return float(value)
    if not is_number(value) or (isinstance(value, float) and not math.isfinite(value)):
        raise StateError(field, value, "must be a finite number of seconds")
    raise StateError(field, value, f"must be within +-{MAX_CLOCK:g} seconds")


def int_to_float(value: float) -> float:
    """attrs converter: an int (not bool) becomes a float; anything else goes to the validator."""
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            return value  # the validator reports it, with the caller's value
    return value


def check_non_negative_int(_inst: object, attribute: attrs.Attribute[int], value: object) -> None:
    """A real int (bool refused) in [0, INT64_MAX]; ipamd holds these in a Go int."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(attribute.name, value, "must be an int (bool is not accepted)")
    if value < 0:
        raise ConfigError(attribute.name, value, "must be >= 0")
    if value > INT64_MAX:
        raise ConfigError(attribute.name, value, "must fit in int64 (ipamd uses a Go int)")


def check_optional_positive_int(
    _inst: object, attribute: attrs.Attribute[int | None], value: object
) -> None:
    """None, or a real int (bool refused) in [1, INT64_MAX]."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(attribute.name, value, "must be None or an int (bool is not accepted)")
    if value < 1:
        raise ConfigError(attribute.name, value, "must be None or >= 1")
    if value > INT64_MAX:
        raise ConfigError(attribute.name, value, "must fit in int64 (ipamd uses a Go int)")


def check_finite_float(_inst: object, attribute: attrs.Attribute[float], value: object) -> None:
    """A finite float (ints were converted already; bool and str are refused)."""
    if isinstance(value, int) and not isinstance(value, bool):
        raise ConfigError(attribute.name, value, "too large to convert to a float")
    if not isinstance(value, float):
        raise ConfigError(attribute.name, value, "must be a number of seconds (int or float)")
    if not math.isfinite(value):
        raise ConfigError(attribute.name, value, "must be finite")


def check_timer(_inst: object, attribute: attrs.Attribute[float], value: object) -> None:
    """A loop timer: a finite float in ``[MIN_TIMER, MAX_TIMER]`` seconds."""
    check_finite_float(_inst, attribute, value)
    if isinstance(value, float) and value <= 0:
        raise ConfigError(attribute.name, value, "must be > 0 seconds")
    if isinstance(value, float) and not MIN_TIMER <= value <= MAX_TIMER:
        raise ConfigError(
            attribute.name, value, f"must be between {MIN_TIMER:g} and {MAX_TIMER:g} seconds"
        )


def check_bool(_inst: object, attribute: attrs.Attribute[bool], value: object) -> None:
    """A real bool: a truthy string such as "false" or an int must not pass as a flag."""
    if not isinstance(value, bool):
        raise ConfigError(attribute.name, value, "must be a bool")


def int_field(default: int) -> int:
    return attrs.field(default=default, validator=check_non_negative_int)


def optional_int_field() -> int | None:
    return attrs.field(default=None, validator=check_optional_positive_int)


def bool_field(
    default: bool,
    validator: Callable[[object, attrs.Attribute[bool], object], None] = check_bool,
) -> bool:
    return attrs.field(default=default, validator=validator)


def timer_field(default: float) -> float:
    return attrs.field(default=default, converter=int_to_float, validator=check_timer)


# ---------------------------------------------------------------------------------------------


def check_seconds(_inst: object, attribute: attrs.Attribute[float], value: object) -> None:
    """attrs validator: a finite number of seconds >= 0 (a latency)."""
    if not is_number(value) or not math.isfinite(value) or value < 0:
        raise ConfigError(attribute.name, value, "must be a finite number of seconds >= 0")


def check_fraction(_inst: object, attribute: attrs.Attribute[float], value: object) -> None:
    """attrs validator: a number in [0, 1] (a rate)."""
    if not is_number(value) or not 0 <= value <= 1:
        raise ConfigError(attribute.name, value, "must be a number between 0 and 1")


def check_positive(_inst: object, attribute: attrs.Attribute[float], value: object) -> None:
    """attrs validator: a number > 0, infinity allowed (a bucket size)."""
    if not is_number(value) or value <= 0:
        raise ConfigError(attribute.name, value, "must be a number > 0 (math.inf allowed)")


def check_non_negative(_inst: object, attribute: attrs.Attribute[float], value: object) -> None:
    """attrs validator: a number >= 0, infinity allowed (a refill rate)."""
    if not is_number(value) or value < 0:
        raise ConfigError(attribute.name, value, "must be a number >= 0 (math.inf allowed)")


def int_at_least(minimum: int) -> Callable[[object, attrs.Attribute[int], object], None]:
    """attrs validator: a real int (bool refused) >= ``minimum``, else ConfigError."""

    def check(_inst: object, attribute: attrs.Attribute[int], value: object) -> None:
        if not is_int(value):
            raise ConfigError(attribute.name, value, "must be an int")
        if value < minimum:
            raise ConfigError(attribute.name, value, f"must be >= {minimum}")

    return check


def check_str(_inst: object, attribute: attrs.Attribute[str], value: object) -> None:
    """attrs validator: a plain str, so a None or an enum never leaks into comparisons."""
    if not isinstance(value, str):
        raise ConfigError(attribute.name, value, "must be a str")


# -- field rules of state values, events and actions (StateError) ----------------------------

_T = TypeVar("_T")


def as_int(field: str, value: object, minimum: int = INT64_MIN, maximum: int = INT64_MAX) -> int:
    """A real int (bool and 1.0 are refused) in ``[minimum, maximum]``, by default int64: ipamd
    and EC2 hold these in Go ints, and a bounded int always has a JSON form."""
    if type(value) is not int and not is_int(value):
        raise StateError(field, value, "must be an int (a bool or float is not accepted)")
    if value < minimum:
        raise StateError(field, value, f"must be >= {minimum}")
    if value > maximum:
        reason = "must fit in int64 (a Go int)" if maximum == INT64_MAX else f"must be <= {maximum}"
        raise StateError(field, value, reason)
    return value


def as_bool(field: str, value: object) -> bool:
    """A real bool: 1 or "false" is not a flag."""
    if type(value) is not bool:
        raise StateError(field, value, "must be a bool")
    return value


def as_text(field: str, value: object, *, empty: bool = False) -> str:
    """A real ``str`` (a subclass could compare or hash unlike its text); non-empty unless
    ``empty``."""
    if type(value) is not str:
        raise StateError(field, value, "must be a str")
    if not value and not empty:
        raise StateError(field, value, "must not be empty")
    return value


def as_pod_key(value: object, field: str = "pod") -> str:
    """A pod key: a non-empty plain ``str``, the only kind the pod path can find again on DEL."""
    if type(value) is not str or not value:
        raise StateError(field, value, "a pod key must be a non-empty str")
    return value


def as_time(field: str, value: object) -> float:
    """A timestamp: ``check_clock`` under the field's name (an int becomes a float)."""
    return check_clock(value, field)


def as_optional_time(field: str, value: object) -> float | None:
    """None, or a timestamp (``as_time``)."""
    return None if value is None else check_clock(value, field)


def as_tuple(
    field: str, value: object, kind: type | tuple[type, ...], what: str
) -> tuple[Any, ...]:
    """A tuple whose every element is a ``kind`` (exactly ``str`` when ``kind`` is str); a list
    is refused too, since a state holds tuples (hashable, and equal to what JSON reads)."""
    if not isinstance(value, tuple):
        raise StateError(field, value, f"must be a tuple of {what}")
    exact = kind is str
    for item in value:
        if (type(item) is not kind) if exact else not isinstance(item, kind):
            raise StateError(field, item, f"must be a tuple of {what}")
    return value


def as_str_tuple(field: str, value: object) -> tuple[str, ...]:
    """The converter of the events' address lists: one string, or any iterable of strings,
    as a tuple; a non-iterable or a non-string element is a StateError, not a TypeError."""
    if type(value) is str:
        return (value,)
    if type(value) is tuple:
        items: tuple[Any, ...] = value
    elif isinstance(value, Iterable):
        items = tuple(value)
    else:
        raise StateError(field, value, "must be a str or an iterable of str")
    for item in items:
        if type(item) is not str:
            raise StateError(field, item, "must be a str or an iterable of str")
    return items


def as_instance(field: str, value: object, kind: type[_T] | tuple[type, ...], what: str) -> Any:
    """``value`` if it is a ``kind``, else a StateError."""
    if not isinstance(value, kind):
        raise StateError(field, value, f"must be {what}")
    return value


def slot_setters(cls: type) -> tuple[Callable[[object, Any], None], ...]:
    """The slot setters of a frozen, slotted attrs class, in field order.

    The core's unchecked constructors (``_model.unchecked_address`` and its kind) build
    values it knows are right through them, skipping ``__init__`` and its checks; a slot's
    own setter is cheaper than the ``object.__setattr__`` the generated ``__init__`` calls.
    """
    return tuple(cls.__dict__[a.name].__set__ for a in attrs.fields(cls))
