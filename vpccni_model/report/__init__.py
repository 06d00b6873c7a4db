"""HTML reports: one self-contained page per run (``--report FILE``) that people open in a
browser, with the key figures, the plots, explain's findings and every input echoed.

``Report`` and its parts (``KeyFigure``, ``Table``, ``Figure``, ``Finding``) build any page;
``simulation_report``, ``comparison_report``, ``subnet_plan_report`` and ``sweep_report`` are
the pages of ``simulate``, ``compare``, ``plan-subnet`` and ``sweep``. A page for a new
command is a function that fills a ``Report`` from that command's result, e.g.::

    Report(
        "Sweep: WARM_IP_TARGET on m5.large",
        lead="WARM_IP_TARGET=2 keeps p99 time to IP under 1 s with the fewest calls.",
        key_figures=(KeyFigure("Best value", "2", meaning="...", key="best", raw=2),),
        findings=explanation_findings(explanation),
        figures=(Figure("p99 by value", png_bytes(fig), alt="..."),),
        tables=(Table("Runs", ("value", "p99 s"), (("1", "3.00"), ("2", "0.80"))),),
        inputs=tuple(settings_tables({"settings": ..., "env": ...})),
    ).write("sweep.html")

and on the command line ``vpccni_model.cli._report`` adds ``--report``, checks its path
before the run, runs ``explain`` for the findings and writes the page.
"""

from __future__ import annotations

from vpccni_model.report._comparison import comparison_report
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
from vpccni_model.report._inputs import settings_tables
from vpccni_model.report._simulation import seconds, simulation_report
from vpccni_model.report._subnet import subnet_plan_report
from vpccni_model.report._sweep import explain_settings, sweep_report

__all__ = [
    "SEVERITY_LABELS",
    "Figure",
    "Finding",
    "KeyFigure",
    "Report",
    "Table",
    "comparison_report",
    "count",
    "explain_settings",
    "explanation_findings",
    "findings_intro",
    "flatten",
    "lint_findings",
    "png_bytes",
    "seconds",
    "settings_tables",
    "shown_value",
    "simulation_report",
    "subnet_plan_report",
    "sweep_report",
]
