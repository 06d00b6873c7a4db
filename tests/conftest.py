"""Hypothesis profiles.

``ci`` (the default) keeps the whole suite to a few minutes on two cores; ``deep`` runs many
more examples and longer histories: ``python -m pytest --hypothesis-profile=deep``.
Both derandomize nothing: failures are replayed from Hypothesis' example database.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=60,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile(
    "deep",
    max_examples=1_500,
    stateful_step_count=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.load_profile("ci")
