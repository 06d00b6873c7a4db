"""The cost model at run time: what each submitted EC2 call costs (buckets, latency, faults).

:class:`~vpccni_model.cloud.Latency`, :class:`~vpccni_model.cloud.Throttle` and
:class:`~vpccni_model.cloud.FaultRule` are the configuration; :class:`Meter` holds what
changes as calls are made (one token bucket per API, shared by every node; the seeded
generators behind fault rates and jitter). ``FakeEC2.execute`` runs at once (``_run.AT_ONCE``)
and never touches the meter.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from vpccni_model.cloud._api import EC2_APIS, FaultRule, Latency, Throttle, TokenBucket

_EPSILON = 1e-9
"""Slack when comparing token counts, so that rate * t tokens are exactly rate * t calls."""


class Bucket:
    """A token bucket; a call at a time earlier than one already seen refills nothing."""

    def __init__(self, spec: TokenBucket) -> None:
        self.capacity = float(spec.capacity)
        self.rate = float(spec.refill_per_second)
        self.tokens = self.capacity
        self.updated_at: float | None = None
        self.submitted_at = -math.inf

    def take(self, at: float) -> bool:
        if self.updated_at is None:
            self.updated_at = at
        elif at > self.updated_at:
            refill = self.rate * (at - self.updated_at)
            self.tokens = min(self.capacity, self.tokens + refill)
            self.updated_at = at
        if self.tokens >= 1 - _EPSILON:
            self.tokens = max(0.0, self.tokens - 1)
            return True
        return False


class Meter:
    """Token buckets, latency draws and fault draws of one fake.

    ``seed`` seeds three generators, for fault rates, latency jitter and the SDK's backoff, so
    that turning jitter or retries on does not shift the sequence of fault draws.
    ``throttle=None`` never throttles.
    """

    def __init__(
        self, seed: int, latency: Latency, throttle: Throttle | None, faults: Sequence[FaultRule]
    ) -> None:
        self.latency = latency
        self._base = {api: latency.of(api) for api in EC2_APIS}  # before jitter
        self.faults = tuple(faults)
        self._fault_rng = random.Random(seed)
        self._jitter_rng = random.Random(f"latency-jitter:{seed}")
        #: The SDK's backoff jitter (``_retry``): its own generator, so that retries do not
        #: shift the fault or latency draws.
        self.backoff_rng = random.Random(f"sdk-backoff:{seed}")
        limits_of = throttle if throttle is not None else Throttle.unlimited()
        self.buckets = {api: Bucket(limits_of.bucket(api)) for api in sorted(EC2_APIS)}

    def latency_of(self, api: str) -> float:
        """The latency of one call of ``api``, jitter drawn."""
        base = self._base[api]
        if base > 0 and self.latency.jitter > 0:
            jitter = self.latency.jitter
            return base * (1 + self._jitter_rng.uniform(-jitter, jitter))
        return base

    def injected(self, api: str, at: float) -> str | None:
        """The code of the first fault rule that fires for a call of ``api`` at ``at``."""
        for rule in self.faults:
            if not rule.active(api, at) or rule.rate <= 0:
                continue
            if rule.rate >= 1 or self._fault_rng.random() < rule.rate:
                return rule.code
        return None
