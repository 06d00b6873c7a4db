"""HTML reports: one self-contained page per run (``--report FILE``) that people open in a
browser, with the key figures, the plots, explain's findings and every input echoed.

``Report`` and its parts (``KeyFigure``, ``Table``, ``Figure``, ``Finding``) build any page;
``simulation_report`` and ``subnet_plan_report`` are the pages of ``simulate`` and
``plan-subnet``. A page for a new command is a function that fills a ``Report`` from that
command's result: see ``_subnet`` for one of about 60 lines.
"""

from __future__ import annotations

from vpccni_model.report._document import (
    SEVERITY_LABELS,
    Figure,
    Finding,
    KeyFigure,
    Report,
    Table,
    count,
    flatten,
    shown_value,
)
from vpccni_model.report._figures import png_bytes
from vpccni_model.report._findings import explanation_findings, findings_intro, lint_findings
from vpccni_model.report._simulation import seconds, simulation_report
from vpccni_model.report._subnet import subnet_plan_report

__all__ = [
    "SEVERITY_LABELS",
    "Figure",
    "Finding",
    "KeyFigure",
    "Report",
    "Table",
    "count",
    "explanation_findings",
    "findings_intro",
    "flatten",
    "lint_findings",
    "png_bytes",
    "seconds",
    "shown_value",
    "simulation_report",
    "subnet_plan_report",
]
