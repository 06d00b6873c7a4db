"""The HTML document: a report's parts as values, and one self-contained page from them.

Why a builder of its own rather than a template engine: the page is small and fixed, and
every piece of text goes through one function (``_text``, ``html.escape``), so a label such
as ``<script>`` is shown, never run. The page loads nothing: styles are inline, figures are
``data:`` URIs, there is no script and no URL, so it opens offline and from a mail
attachment. The same parts give the same bytes (no clock is read).
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs

from vpccni_model._errors import ConfigError
from vpccni_model.report._style import CSS

#: Finding severities, most severe first, with the word and mark shown (never colour alone).
SEVERITY_LABELS = {
    "error": ("error", "\u2716"),
    "warning": ("warning", "\u25b2"),
    "info": ("info", "i"),
}


def _text(value: object) -> str:
    return html.escape(str(value), quote=True)


def _prose(value: object) -> str:
    """Escaped text in which a `backquoted` part is shown as code (kept on one line)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", _text(value))


@attrs.frozen
class KeyFigure:
    """One big number: ``value`` as shown (units apart), what it means in one line, and its
    ``key`` and ``raw`` value as data attributes, for tools that read the page."""

    label: str
    value: str
    unit: str = ""
    meaning: str = ""
    key: str = ""
    raw: object = None
    alert: bool = False  # shown with an alert border (and the word "alert" for readers)


@attrs.frozen
class Table:
    """A titled table; cells are text. Columns whose cells all look like numbers are
    right-aligned. Wide tables scroll sideways inside the page instead of widening it."""

    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""
    align_numbers: bool = True  # False: every column left-aligned (name/value pairs)
    #: Per row, a ``data-key`` for tools that read the page (empty: none).
    row_keys: tuple[str, ...] = ()
    #: Per row, True to highlight it (a marked border and tint; say why in a cell too, as
    #: colour alone tells some readers nothing).
    marked: tuple[bool, ...] = ()

    @classmethod
    def pairs(cls, title: str, values: Mapping[str, object], caption: str = "") -> Table:
        """A two-column name/value table, in the mapping's order."""
        rows = tuple((str(k), shown_value(v)) for k, v in values.items())
        return cls(title, ("name", "value"), rows, caption, align_numbers=False)


@attrs.frozen
class Figure:
    """A PNG figure, embedded as a ``data:`` URI; ``alt`` says in words what it shows."""

    title: str
    png: bytes = attrs.field(repr=False)
    alt: str
    caption: str = ""


@attrs.frozen
class Finding:
    """A finding as the report shows it: severity (error, warning or info), a stable code,
    a one-line message and the lines under it (the rule, the fix, where upstream says so)."""

    severity: str = attrs.field()
    code: str
    message: str
    details: tuple[str, ...] = ()

    @severity.validator
    def _known(self, _attribute: attrs.Attribute[str], value: str) -> None:
        if value not in SEVERITY_LABELS:
            raise ConfigError("severity", value, f"must be one of {', '.join(SEVERITY_LABELS)}")


def shown_value(value: object) -> str:
    """How an input value reads in a table: booleans as true/false, None as a dash, lists
    comma-separated, nested mappings as ``key=value`` pairs; everything else as ``str``."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={shown_value(v)}" for k, v in value.items()) or "-"
    if isinstance(value, list | tuple):
        return ", ".join(shown_value(v) for v in value) or "-"
    return str(value)


def count(value: int) -> str:
    """A count as the report shows it: thousands separated (``65,531``)."""
    return f"{value:,}"


def flatten(values: Mapping[str, object], prefix: str = "") -> dict[str, object]:
    """Nested mappings as one level, names joined by dots (``latency_s.attach``)."""
    out: dict[str, object] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _numeric(cell: str) -> bool:
    text = cell.replace(",", "").replace("%", "").strip()
    try:
        float(text)
    except ValueError:
        return text in ("-", "never", "from 0", "")
    return True


def _table(table: Table) -> str:
    right = [
        table.align_numbers
        and bool(table.rows)
        and all(_numeric(row[i]) for row in table.rows if i < len(row))
        for i in range(len(table.headers))
    ]

    def cell(tag: str, text: str, i: int) -> str:
        cls = ' class="num"' if i < len(right) and right[i] else ""
        return f"<{tag}{cls}>{_text(text)}</{tag}>"

    def row_start(index: int) -> str:
        key = table.row_keys[index] if index < len(table.row_keys) else ""
        mark = index < len(table.marked) and table.marked[index]
        return (
            "<tr"
            + (f' data-key="{_text(key)}"' if key else "")
            + (' class="marked"' if mark else "")
            + ">"
        )

    head = "".join(cell("th", h, i) for i, h in enumerate(table.headers))
    body = "\n".join(
        row_start(n) + "".join(cell("td", c, i) for i, c in enumerate(row)) + "</tr>"
        for n, row in enumerate(table.rows)
    )
    caption = f'<p class="caption">{_text(table.caption)}</p>' if table.caption else ""
    return (
        f'<div class="table"><h3>{_text(table.title)}</h3>{caption}\n'
        f'<div class="scroll"><table>\n<thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n{body}\n</tbody></table></div></div>"
    )


def _key_figure(fig: KeyFigure) -> str:
    attrs_ = f' data-key="{_text(fig.key)}"' if fig.key else ""
    if fig.raw is not None:
        attrs_ += f' data-value="{_text(fig.raw)}"'
    unit = f' <span class="unit">{_text(fig.unit)}</span>' if fig.unit else ""
    alert = ' <span class="flag">alert</span>' if fig.alert else ""
    return (
        f'<div class="kf{" alert" if fig.alert else ""}"{attrs_}>'
        f'<div class="kf-label">{_text(fig.label)}</div>'
        f'<div class="kf-value"><span class="value">{_text(fig.value)}</span>{unit}{alert}</div>'
        f'<div class="kf-meaning">{_text(fig.meaning)}</div></div>'
    )


def _figure(fig: Figure) -> str:
    data = base64.b64encode(fig.png).decode("ascii")
    caption = f"<figcaption>{_text(fig.caption)}</figcaption>" if fig.caption else ""
    return (
        f"<figure><h3>{_text(fig.title)}</h3>"
        f'<img src="data:image/png;base64,{data}" alt="{_text(fig.alt)}">{caption}</figure>'
    )


def _finding(finding: Finding) -> str:
    word, mark = SEVERITY_LABELS[finding.severity]
    details = "".join(f"<li>{_prose(line)}</li>" for line in finding.details)
    return (
        f'<li class="finding {finding.severity}">'
        f'<span class="sev" aria-hidden="true">{_text(mark)}</span> '
        f'<span class="sev-word">{_text(word)}</span> '
        f"<code>{_text(finding.code)}</code>: {_text(finding.message)}"
        + (f"<ul>{details}</ul>" if details else "")
        + "</li>"
    )


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{_text(title)}</h2>\n{body}\n</section>'


@attrs.frozen
class Report:
    """One report page: a title, subtitle and lead, then the key figures (cards, then the
    ``key_tables``), the findings, the figures, the tables, the inputs and the
    notes, in that order (empty parts are left out).

    Build it whole (every part is a tuple) or add to it with :meth:`add`; ``html()`` is the
    page, ``write(path)`` saves it.
    """

    title: str
    subtitle: str = ""
    lead: str = ""  # the answer in one sentence, under the title
    key_figures: tuple[KeyFigure, ...] = ()
    key_tables: tuple[Table, ...] = ()  # e.g. two runs side by side, under the cards
    findings: tuple[Finding, ...] = ()
    findings_intro: str = ""
    figures: tuple[Figure, ...] = ()
    tables: tuple[Table, ...] = ()
    inputs: tuple[Table, ...] = ()
    notes: tuple[str, ...] = ()
    footer: str = ""

    def add(
        self,
        *,
        key_figures: Iterable[KeyFigure] = (),
        findings: Iterable[Finding] = (),
        figures: Iterable[Figure] = (),
        tables: Iterable[Table] = (),
        inputs: Iterable[Table] = (),
        notes: Iterable[str] = (),
    ) -> Report:
        """A copy with these parts after the ones already there."""
        return attrs.evolve(
            self,
            key_figures=(*self.key_figures, *key_figures),
            findings=(*self.findings, *findings),
            figures=(*self.figures, *figures),
            tables=(*self.tables, *tables),
            inputs=(*self.inputs, *inputs),
            notes=(*self.notes, *notes),
        )

    def html(self) -> str:
        """The page: HTML5, UTF-8, inline CSS, nothing loaded from anywhere."""
        parts = [f"<header><h1>{_text(self.title)}</h1>"]
        if self.subtitle:
            parts.append(f'<p class="subtitle">{_text(self.subtitle)}</p>')
        if self.lead:
            parts.append(f'<p class="lead">{_prose(self.lead)}</p>')
        parts.append("</header>")
        if self.key_figures or self.key_tables:
            body = (
                '<div class="kfs">' + "\n".join(map(_key_figure, self.key_figures)) + "</div>"
                if self.key_figures
                else ""
            )
            body += "\n".join(map(_table, self.key_tables))
            parts.append(_section("key-figures", "Key figures", body))
        intro = f"<p>{_prose(self.findings_intro)}</p>" if self.findings_intro else ""
        if self.findings:
            items = "\n".join(map(_finding, self.findings))
            parts.append(
                _section("findings", "Findings", f'{intro}<ul class="findings">{items}</ul>')
            )
        elif intro:
            parts.append(_section("findings", "Findings", intro))
        if self.figures:
            parts.append(_section("figures", "Figures", "\n".join(map(_figure, self.figures))))
        if self.tables:
            parts.append(_section("tables", "Tables", "\n".join(map(_table, self.tables))))
        if self.inputs:
            grid = '<div class="grid">' + "\n".join(map(_table, self.inputs)) + "</div>"
            parts.append(_section("inputs", "Inputs", grid))
        if self.notes:
            items = "\n".join(f"<li>{_prose(n)}</li>" for n in self.notes)
            parts.append(_section("notes", "Notes", f"<ul>{items}</ul>"))
        if self.footer:
            parts.append(f"<footer>{_text(self.footer)}</footer>")
        return (
            "<!DOCTYPE html>\n"
            '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_text(self.title)}</title>\n<style>\n{CSS}</style>\n</head>\n"
            '<body>\n<main class="page">\n' + "\n".join(parts) + "\n</main>\n</body>\n</html>\n"
        )

    def write(self, path: str | Path) -> Path:
        """Write the page to ``path`` (UTF-8); a ConfigError (field ``path``) when its
        directory does not exist or the file cannot be written."""
        target = Path(path)
        if not target.parent.is_dir():
            raise ConfigError(
                "path", str(path), f"the directory {str(target.parent)!r} does not exist"
            )
        if target.is_dir():
            raise ConfigError("path", str(path), "is a directory, not a file")
        try:
            target.write_text(self.html(), encoding="utf-8")
        except OSError as exc:
            raise ConfigError("path", str(path), f"cannot write there ({exc.strerror})") from None
        return target
