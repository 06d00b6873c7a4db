"""Hypothesis profiles.

``ci`` (the default) keeps the whole suite to a few minutes on two cores; ``deep`` runs many
more examples and longer histories: ``python -m pytest --hypothesis-profile=deep``;
``mutation`` is ``ci`` without shrinking, for ``tools/mutation_check.py``.
None derandomizes: failures are replayed from Hypothesis' example database.
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings

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
# tools/mutation_check.py: the ci examples, stopping at the first failure (no shrinking or
# explaining, which can take minutes and add nothing to a kill).
settings.register_profile(
    "mutation",
    settings.get_profile("ci"),
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    database=None,
)
settings.load_profile("ci")
