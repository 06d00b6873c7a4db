"""What the report shows of ``explain``'s findings and of the environment lint: severity,
code, one line, and the rule, the fix and the upstream page under it.

Upstream pages are shown as text without their scheme (``github.com/...``): the page holds
no URL at all, so nothing in it can reach the network, and the address still reads and
pastes into a browser.
"""

from __future__ import annotations

from collections.abc import Iterable

from vpccni_model._lint import EnvFinding
from vpccni_model.report._document import Finding
from vpccni_model.sim.explain import SEVERITIES, Explanation


def _address(url: str) -> str:
    return url.removeprefix("https://").removeprefix("http://")


def explanation_findings(explanation: Explanation) -> tuple[Finding, ...]:
    """``explain``'s findings, most severe first, as the report shows them."""
    out = []
    for f in explanation.findings:
        details = [f.detail, f"rule: {f.rule}", f"fix: {f.suggestion}"]
        if f.reference:
            details.append(f"see: {_address(f.reference)}")
        if f.depends_on_order:
            details.append(
                "note: the simulated churn places pods in Go's randomised map order, as ipamd "
                "does; with pods packed in order the model does not show this"
            )
        out.append(Finding(f.severity, f.code, f.title, tuple(details)))
    return tuple(out)


def lint_findings(found: Iterable[EnvFinding]) -> tuple[Finding, ...]:
    """The environment lint's findings (unknown names, values ipamd ignores...), most
    severe first, then by variable and code."""
    out = []
    for f in sorted(found, key=lambda f: (SEVERITIES.index(f.severity), f.variable, f.code)):
        details = []
        if f.ipamd_uses is not None:
            details.append(f"ipamd uses: {f.ipamd_uses}")
        if f.suggestion is not None:
            details.append(f"did you mean {f.suggestion}?")
        out.append(Finding(f.severity, f"env/{f.code}", f.message, tuple(details)))
    return tuple(out)


def report_findings(
    lint: Iterable[EnvFinding], explanation: Explanation | None
) -> tuple[Finding, ...]:
    """The env lint's findings and ``explain``'s together, most severe first: an error or
    warning of either is never listed below the other's notes. Within a severity the lint's
    come first (they are about the inputs as written), each list in its own order."""
    both = lint_findings(lint) + (() if explanation is None else explanation_findings(explanation))
    return tuple(sorted(both, key=lambda f: SEVERITIES.index(f.severity)))


def findings_intro(explanation: Explanation | None) -> str:
    """The sentence above the findings: what produced them, and how to see them again."""
    if explanation is None:
        return "The configuration was not explained (see the notes)."
    if explanation.ok:
        lead = "explain finds nothing: the pool settles and every pod up to max pods gets an IP."
    else:
        lead = "What explain finds in this configuration, most severe first."
    return (
        f"{lead} They are what `vpccni-model explain --instance {explanation.instance_type}` "
        "prints for the same aws-node inputs, max pods and host-network pods "
        f"({explanation.churn_minutes:g} minutes of simulated churn)."
    )
