"""Timing primitives: timeit-style batches with ``time.perf_counter_ns``, medians and p90s.

``measure`` calibrates how many calls make one batch (doubling until a batch lasts at least
``min_batch_s``), runs untimed warm-up batches for ``warmup_s``, then times ``batches``
batches. Each batch gives one sample, its duration divided by its number of calls; the
median and the 90th percentile (nearest rank) are taken over the samples. ``measure_many``
does the same for several cases interleaved in rounds. The garbage collector stays on
(allocation is part of the cost of an immutable model); callers freeze their long-lived
fixtures with ``gc.freeze()`` so full collections do not walk them.
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from itertools import repeat
from typing import Any

#: Calls per batch never exceed this (a guard for functions that are nearly free).
MAX_CALLS_PER_BATCH = 1 << 20


@dataclass(frozen=True)
class Timing:
    """Per-call seconds over ``batches`` timed batches of ``calls_per_batch`` calls each."""

    median_s: float
    p90_s: float
    min_s: float
    mean_s: float
    batches: int
    calls_per_batch: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summarize(samples: list[float], calls_per_batch: int = 1) -> Timing:
    """A Timing from per-call samples (one per batch)."""
    return Timing(
        median_s=statistics.median(samples),
        p90_s=percentile(samples, 0.9),
        min_s=min(samples),
        mean_s=statistics.fmean(samples),
        batches=len(samples),
        calls_per_batch=calls_per_batch,
    )


def _batch(fn: Callable[..., object], args: tuple[object, ...], number: int) -> int:
    """Nanoseconds for ``number`` calls of ``fn(*args)``."""
    start = time.perf_counter_ns()
    for _ in repeat(None, number):
        fn(*args)
    return time.perf_counter_ns() - start


def measure(
    fn: Callable[..., object],
    *args: object,
    batches: int = 30,
    min_batch_s: float = 0.002,
    warmup_s: float = 0.05,
) -> Timing:
    """Time ``fn(*args)``: calibrate, warm up, then ``batches`` timed batches."""
    min_batch_ns = int(min_batch_s * 1e9)
    number = 1
    elapsed = _batch(fn, args, number)  # the first call also warms caches
    while elapsed < min_batch_ns and number < MAX_CALLS_PER_BATCH:
        number *= 2
        elapsed = _batch(fn, args, number)
    warmup_end = time.perf_counter_ns() + int(warmup_s * 1e9)
    while time.perf_counter_ns() < warmup_end:
        _batch(fn, args, number)
    samples = [_batch(fn, args, number) / number / 1e9 for _ in range(batches)]
    return summarize(samples, number)


def measure_many(
    cases: dict[str, tuple[Callable[..., object], tuple[object, ...]]],
    *,
    rounds: int = 5,
    batches: int = 10,
    min_batch_s: float = 0.002,
    warmup_s: float = 0.02,
) -> dict[str, Timing]:
    """Time several cases interleaved: ``rounds`` passes over all of them, each pass a short
    warm-up and ``batches`` timed batches per case, samples pooled per case. A disturbance
    from outside (another process on the machine) then spreads over all cases instead of
    landing on one."""
    min_batch_ns = int(min_batch_s * 1e9)
    numbers: dict[str, int] = {}
    for name, (fn, args) in cases.items():
        number = 1
        elapsed = _batch(fn, args, number)
        while elapsed < min_batch_ns and number < MAX_CALLS_PER_BATCH:
            number *= 2
            elapsed = _batch(fn, args, number)
        numbers[name] = number
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, (fn, args) in cases.items():
            number = numbers[name]
            warmup_end = time.perf_counter_ns() + int(warmup_s * 1e9)
            while time.perf_counter_ns() < warmup_end:
                _batch(fn, args, number)
            samples[name] += [_batch(fn, args, number) / number / 1e9 for _ in range(batches)]
    return {name: summarize(samples[name], numbers[name]) for name in cases}


def reference_workload() -> int:
    """A fixed pure-Python workload, about a pod-path call in size, that runs no library
    code: timed beside a group of cases, it shows how fast the interpreter and the machine
    were at that moment (a shared virtual machine drifts by half or more between quiet and
    busy periods), so two runs can be compared."""
    items = tuple(range(48))
    total = 0
    for i in range(24):
        items = items[:i] + (total,) + items[i + 1 :]  # noqa: RUF005 (what the model does)
        fields = {"position": i, "total": total}
        total += len(fields) + items[i] % 7
    return total


def time_once(fn: Callable[..., object], *args: object) -> tuple[float, object]:
    """Wall seconds of one call, and its result (for runs too long to repeat)."""
    start = time.perf_counter_ns()
    result = fn(*args)
    return (time.perf_counter_ns() - start) / 1e9, result


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 0
    return {
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_build": " ".join(platform.python_build()),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_usable": usable,
        "executable": sys.executable,
    }
