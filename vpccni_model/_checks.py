"""Validation rules shared by every constructor, ``apply`` and ``from_json``: one home for what
a well-formed value is, so a value one entry point accepts is never refused by another.

Numbers: a bool is never an int here (``True`` is not an ENI count), ints convert to floats
where seconds are wanted, and times are bounded so that every sum the core forms (a clock
plus a timer, a tick count) stays finite and exact: clocks lie in ``[-MAX_CLOCK, MAX_CLOCK]``
and loop timers in ``[MIN_TIMER, MAX_TIMER]``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final, TypeGuard

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
