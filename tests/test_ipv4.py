"""IPv4 text <-> int, CIDR parsing and the /28 arithmetic (``vpccni_model._ipv4``).

Expected values are written out by hand (dotted quads and their integer values).
"""

from __future__ import annotations

import pytest

from vpccni_model import StateError
from vpccni_model._ipv4 import (
    PREFIX_SIZE,
    ceil16,
    int_to_ip,
    ip_to_int,
    parse_cidr,
    prefix_text,
)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("0.0.0.0", 0),
        ("10.0.0.1", (10 << 24) + 1),
        ("192.168.1.17", (192 << 24) + (168 << 16) + (1 << 8) + 17),
        ("255.255.255.255", (1 << 32) - 1),
    ],
)
def test_dotted_quads_read_and_write_back(text: str, number: int) -> None:
    assert ip_to_int(text) == number
    assert int_to_ip(number) == text


@pytest.mark.parametrize(
    "text",
    ["+10.0.0.1", " 10.0.0.1", "10.0.0.1 ", "1_0.0.0.1", "10.0.0", "10.0.0.256", "", "::1"],
)
def test_lenient_or_wrong_text_is_refused(text: str) -> None:
    # int() would accept "+10", " 10" and "1_0"; an address must read back exactly.
    with pytest.raises(StateError) as info:
        ip_to_int(text, field="ips")
    assert info.value.field == "ips"
    assert info.value.value == text


@pytest.mark.parametrize("value", [True, False, -1, 1 << 32, None, 1.5])
def test_non_addresses_are_refused(value: object) -> None:
    with pytest.raises(StateError):
        ip_to_int(value)  # type: ignore[arg-type]


def test_ints_in_range_pass_through() -> None:
    assert ip_to_int(167772161) == 167772161


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.0.0.5/32", ((10 << 24) + 5, False)),
        ("10.0.0.16/28", ((10 << 24) + 16, True)),
    ],
)
def test_parse_cidr(text: str, expected: tuple[int, bool]) -> None:
    assert parse_cidr(text) == expected


@pytest.mark.parametrize("text", ["10.0.0.17/28", "10.0.0.0/24", "10.0.0.0/29", "10.0.0.0/33"])
def test_parse_cidr_refuses_what_ipamd_never_holds(text: str) -> None:
    # ipamd holds /32 secondary IPs and aligned /28 prefixes only.
    with pytest.raises(StateError) as info:
        parse_cidr(text, field="prefixes")
    assert info.value.field == "prefixes"


def test_a_bare_address_is_a_slash_32() -> None:
    assert parse_cidr("10.0.0.1") == ((10 << 24) + 1, False)


def test_prefix_text_and_size() -> None:
    assert PREFIX_SIZE == 16
    assert prefix_text((10 << 24) + 32) == "10.0.0.32/28"


@pytest.mark.parametrize(("addresses", "prefixes"), [(0, 0), (1, 1), (16, 1), (17, 2), (33, 3)])
def test_ceil16_is_gos_divceil_by_16(addresses: int, prefixes: int) -> None:
    assert ceil16(addresses) == prefixes
