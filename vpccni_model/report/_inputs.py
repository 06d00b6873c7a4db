"""The inputs every command's report echoes the same way: the effective settings (the shape
of the CLI's ``settings_json``) and the aws-node environment as ipamd reads it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vpccni_model.report._document import Table, flatten


def settings_tables(inputs: Mapping[str, Any]) -> list[Table]:
    """A "Settings" table from ``inputs["settings"]`` (without the env and the lint findings,
    shown elsewhere) and the environment from ``inputs["env"]``, sorted by name."""
    tables = []
    settings = inputs.get("settings")
    source = ""
    if isinstance(settings, Mapping):
        source = str(settings.get("source", ""))
        shown = {k: v for k, v in settings.items() if k not in ("env", "findings", "source")}
        tables.append(Table.pairs("Settings", flatten(shown), "what ipamd runs with here"))
    env = inputs.get("env")
    if isinstance(env, Mapping):
        tables.append(
            Table.pairs(
                "aws-node environment, as ipamd reads it",
                dict(sorted(env.items())),
                f"sorted by name; from {source}" if source else "sorted by name",
            )
        )
    return tables
