"""The boto3 EC2 client ipamd's calls go through, and the meter that counts them.

``make_client`` builds a client with botocore's *standard* retry mode: throttling errors
(RequestLimitExceeded, Throttling, ...) and transient ones are retried with its capped
exponential backoff and jitter, up to ``max_attempts`` attempts, as ipamd leaves throttling to
its AWS SDK's retryer. :class:`ApiMeter` counts every attempt by API and outcome (``ok``,
``failed``, ``throttled``), as :attr:`vpccni_model.cloud.CloudStats.api` counts the fake's
calls: a call throttled twice and then answered counts two ``throttled`` and one ``ok``. It
hears each attempt through botocore's ``response-received`` event; an answer that never
reached the endpoint (``botocore.stub.Stubber`` answers before it) is counted once, from the
call's result.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from vpccni_model._events import Ec2Error
from vpccni_model.cloud._api import FAILED, OK, OUTCOMES, THROTTLED

#: Error codes EC2 (and botocore's standard retryer) treat as throttling.
THROTTLING_CODES: Final = frozenset(
    {
        Ec2Error.REQUEST_LIMIT_EXCEEDED,
        Ec2Error.THROTTLING,
        "ThrottlingException",
        "RequestThrottled",
        "RequestThrottledException",
        "EC2ThrottledException",
    }
)
#: Attempts per call in standard retry mode (botocore's default for that mode is 3; the AWS
#: SDK for Go v2 that ipamd uses defaults to 3 as well).
DEFAULT_MAX_ATTEMPTS: Final = 3


def retry_config(max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> BotoConfig:
    """botocore's standard retry mode with ``max_attempts`` attempts per call, the first
    included (botocore's ``total_max_attempts``)."""
    return BotoConfig(retries={"mode": "standard", "total_max_attempts": max_attempts})


def make_client(
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    session: Any = None,
) -> Any:
    """An EC2 client with :func:`retry_config` (``endpoint_url``: moto's server, a VPC
    endpoint; ``session``: a ``boto3.Session`` with its own credentials)."""
    import boto3

    maker = session if session is not None else boto3
    return maker.client(
        "ec2", region_name=region, endpoint_url=endpoint_url, config=retry_config(max_attempts)
    )


def error_code(error: BaseException) -> str:
    """The EC2 error code of a failed call (``Error.Code``); a failure with no answer from
    EC2 (connection, timeout) is named by its botocore exception class."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code")
        if code:
            return str(code)
    return type(error).__name__


def _outcome(code: str | None) -> str:
    if code is None:
        return OK
    return THROTTLED if code in THROTTLING_CODES else FAILED


class ApiMeter:
    """Per-API attempt counters of one client, and the attempts of the call under way.

    ``attach(client)`` registers the ``response-received`` hook; :meth:`call` makes one call
    and returns ``(response, None)`` or ``(None, error code)``, with every attempt it made
    appended to ``attempts`` as ``(api, outcome)``.
    """

    def __init__(self) -> None:
        self._counts: dict[str, dict[str, int]] = {}
        self.errors: Counter[str] = Counter()
        self._heard: list[str | None] | None = None

    def attach(self, client: Any) -> None:
        client.meta.events.register("response-received.ec2.*", self._on_response)

    def _on_response(
        self, parsed_response: Mapping[str, Any] | None = None, exception: Any = None, **_: Any
    ) -> None:
        if self._heard is None:
            return
        code: str | None = None
        if exception is not None:
            code = type(exception).__name__
        elif parsed_response is not None and parsed_response.get("Error"):
            code = str(parsed_response["Error"].get("Code") or "Unknown")
        self._heard.append(code)

    def _count(
        self,
        api: str,
        code: str | None,
        attempts: list[tuple[str, str]],
        errors: list[tuple[str, str]],
    ) -> None:
        outcome = _outcome(code)
        counts = self._counts.setdefault(api, dict.fromkeys(OUTCOMES, 0))
        counts[outcome] += 1
        if code is not None:
            self.errors[code] += 1
            if outcome == FAILED:
                errors.append((api, code))
        attempts.append((api, outcome))

    def call(
        self,
        client: Any,
        api: str,
        attempts: list[tuple[str, str]],
        errors: list[tuple[str, str]],
        **params: Any,
    ) -> tuple[dict[str, Any] | None, str | None]:
        """``client.<api>(**params)``: the response, or the error code of its last attempt.
        Each attempt is appended to ``attempts`` as ``(api, outcome)``, each failed (not
        throttled) one to ``errors`` as ``(api, code)``."""
        operation = getattr(client, _snake(api))
        self._heard = []
        try:
            response: dict[str, Any] = operation(**params)
            code: str | None = None
        except (ClientError, BotoCoreError) as error:
            response, code = {}, error_code(error)
        heard, self._heard = self._heard, None
        if heard:  # the endpoint answered each attempt: count what it said
            for said in heard:
                self._count(api, said, attempts, errors)
        else:  # answered before the endpoint (a Stubber): one attempt
            self._count(api, code, attempts, errors)
        return (None, code) if code is not None else (response, None)

    @property
    def api(self) -> Mapping[str, Mapping[str, int]]:
        """API name -> outcome -> attempts, for the APIs called (read-only copies)."""
        return MappingProxyType(
            {name: MappingProxyType(dict(c)) for name, c in sorted(self._counts.items())}
        )

    def calls(self) -> Counter[str]:
        return Counter({name: sum(c.values()) for name, c in self._counts.items()})


def _snake(api: str) -> str:
    """``AssignPrivateIpAddresses`` -> ``assign_private_ip_addresses`` (boto3's method)."""
    out = []
    for i, ch in enumerate(api):
        if ch.isupper() and i and not api[i - 1].isupper():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)
