"""The aws-node environment (``vpccni_model._env``): Go's ``strconv.Atoi`` and
``strconv.ParseBool`` bit for bit, and the shipped manifest's values.
"""

from __future__ import annotations

import pytest

from vpccni_model._checks import INT64_MAX, INT64_MIN
from vpccni_model._env import ENV_VARIABLES, MANIFEST_ENV, go_atoi, go_parse_bool

I64 = "9223372036854775807"
I64_OVER = "9223372036854775808"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("7", 7),
        ("+3", 3),
        ("-0", 0),
        ("-5", -5),
        ("007", 7),
        (I64, INT64_MAX),
        ("-9223372036854775808", INT64_MIN),
        (I64_OVER, None),
        ("-9223372036854775809", None),
        ("99999999999999999999999", None),
        (" 1", None),
        ("1 ", None),
        ("1\n", None),
        ("\t1", None),
        ("1_0", None),
        ("1.0", None),
        ("1e3", None),
        ("0x10", None),
        ("", None),
        ("+", None),
        ("-", None),
        ("+-1", None),
        ("--1", None),
        ("\u0661", None),  # ARABIC-INDIC DIGIT ONE: Python's int() accepts it, Go does not
        ("\uff11", None),  # FULLWIDTH DIGIT ONE
    ],
)
def test_go_atoi(text: str, expected: int | None) -> None:
    assert go_atoi(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        *((t, True) for t in ("1", "t", "T", "TRUE", "true", "True")),
        *((f, False) for f in ("0", "f", "F", "FALSE", "false", "False")),
        *(
            (bad, None)
            for bad in (
                "",
                "yes",
                "no",
                "on",
                "off",
                "tRuE",
                "TrUe",
                "fALSE",
                " true",
                "true ",
                "y",
                "2",
                "01",
            )
        ),
    ],
)
def test_go_parse_bool(text: str, expected: bool | None) -> None:
    assert go_parse_bool(text) is expected


def test_manifest_env_content() -> None:
    assert dict(MANIFEST_ENV) == {
        "WARM_ENI_TARGET": "1",
        "WARM_PREFIX_TARGET": "1",
        "ENABLE_PREFIX_DELEGATION": "false",
        "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "false",
        "ENABLE_POD_ENI": "false",
        "DISABLE_NETWORK_RESOURCE_PROVISIONING": "false",
        "ENABLE_IMDS_ONLY_MODE": "false",
        "ENABLE_MULTI_NIC": "false",
        "ENABLE_IPv4": "true",
        "ENABLE_IPv6": "false",
        "ENABLE_SUBNET_DISCOVERY": "true",
    }


def test_manifest_env_is_read_only() -> None:
    with pytest.raises(TypeError):
        MANIFEST_ENV["WARM_ENI_TARGET"] = "2"  # type: ignore[index]
    assert MANIFEST_ENV["WARM_ENI_TARGET"] == "1"


def test_every_manifest_variable_is_one_ipamd_reads() -> None:
    assert set(MANIFEST_ENV) <= set(ENV_VARIABLES)
