"""HTML building blocks of the report: escaped text, tables, embedded figures, the page shell.

Every piece of text that reaches the page passes through :func:`html.escape`; figures are PNG
images rendered with Matplotlib's Agg canvas (no pyplot state) and embedded as base64 data URIs,
so the page needs no network, no JavaScript and no file beside it.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from string import Template

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


@dataclass(frozen=True)
class ReportSection:
    """One section of a report page: its anchor and title (for the table of contents), the escaped
    ``<section>`` element, and the tables it shows (file stem -> flat DataFrame) for pages whose
    numbers are not already in a study folder."""

    anchor: str
    title: str
    html: str
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)


def report_section(anchor: str, title: str, parts: Iterable[str],
                   tables: Mapping[str, pd.DataFrame] | None = None) -> ReportSection:
    """A :class:`ReportSection` from its parts (see :func:`section`)."""
    return ReportSection(anchor, title, section(anchor, title, parts), dict(tables or {}))


_PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<link rel="icon" href="data:,">
<style>
body { font-family: "Helvetica Neue", Arial, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 2px solid #345; padding-bottom: 0.2em;
       margin-top: 2em; } h3 { margin-top: 1.4em; }
.ruo { border: 2px solid #b00; background: #fff4f4; padding: 0.6em 1em; font-weight: bold; }
.note { color: #555; font-size: 0.92em; }
.synthetic { border: 2px solid #c80; background: #fff8e6; padding: 0.5em 1em; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 0.88em; }
caption { caption-side: top; text-align: left; font-weight: bold; padding-bottom: 0.3em; }
th, td { border-top: 1px solid #bbb; border-bottom: 1px solid #bbb; padding: 0.25em 0.6em; text-align: right; }
th { background: #eef2f6; } td.text, th.text { text-align: left; }
figure { margin: 1em 0 1.6em; } figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 0.9em; color: #333; }
code, .formula { font-family: Menlo, Consolas, monospace; font-size: 0.88em; }
.formula { background: #f6f6f6; padding: 0.6em; overflow-wrap: anywhere; }
nav ol { columns: 2; font-size: 0.92em; }
</style>
</head>
<body>
$body
</body>
</html>
""")


def page(title: str, body: str) -> str:
    """The complete HTML document; ``title`` is escaped, ``body`` must already be HTML."""
    return _PAGE.substitute(title=escape(title), body=body)


def text(value: object) -> str:
    """Escaped text of any value."""
    return escape(str(value))


def paragraph(value: str, css_class: str = "") -> str:
    """``<p>`` with escaped content."""
    attribute = f' class="{escape(css_class)}"' if css_class else ""
    return f"<p{attribute}>{escape(value)}</p>"


def section(anchor: str, title: str, parts: Iterable[str]) -> str:
    """``<section>`` with an ``<h2>`` heading and already-built HTML parts."""
    return f'<section id="{escape(anchor)}">\n<h2>{escape(title)}</h2>\n' + "\n".join(parts) + "\n</section>"


def heading(title: str) -> str:
    """An escaped ``<h3>``."""
    return f"<h3>{escape(title)}</h3>"


NUMERICAL_ZERO = 1e-12
"""Table numbers smaller than this in absolute value are floating-point residue of quantities that are 0 by
construction (e.g. the apparent calibration intercept of a logistic model on its own training data) and are
shown as 0; other small numbers are shown in scientific notation."""


def format_value(value: object, digits: int = 3) -> str:
    """Numbers with ``digits`` decimals, small ones in scientific notation, |x| < :data:`NUMERICAL_ZERO` as 0;
    other values as text."""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if value is pd.NA:
        return "–"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "–"
        if abs(value) < NUMERICAL_ZERO:
            return f"{0.0:.{digits}f}"
        return f"{value:.{digits}f}" if abs(value) >= 10 ** -digits else f"{value:.2e}"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return str(value)


def format_p(value: object) -> str:
    """A p-value as the seed paper prints it: three decimals, ``<0.001`` below."""
    if value is None or value is pd.NA:
        return "–"
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(number):
        return "–"
    return "<0.001" if number < 0.001 else f"{number:.3f}"


def table(frame: pd.DataFrame, caption: str, *, index: bool = True, digits: int = 3,
          p_columns: Sequence[str] = ()) -> str:
    """An escaped HTML table of ``frame`` (numbers right-aligned, text left-aligned)."""
    shown = _integral_floats_as_int(frame.reset_index() if index and _has_named_index(frame) else frame)
    head = "".join(f'<th class="{_align(shown[c])}">{escape(str(c))}</th>' for c in shown.columns)
    rows = []
    for record in shown.itertuples(index=False):
        cells = []
        for column, value in zip(shown.columns, record):
            shown_value = format_p(value) if column in p_columns else format_value(value, digits)
            css = "text" if isinstance(value, str) else ""
            cells.append(f'<td class="{css}">{escape(shown_value)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<table>\n<caption>{escape(caption)}</caption>\n<thead><tr>{head}</tr></thead>\n<tbody>\n"
            + "\n".join(rows) + "\n</tbody>\n</table>")


def _integral_floats_as_int(frame: pd.DataFrame) -> pd.DataFrame:
    """Float columns holding only whole numbers (counts, degrees of freedom) are shown without decimals."""
    frame = frame.copy()
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_float_dtype(values) and values.notna().any():
            finite = values.dropna()
            if np.all(np.isfinite(finite)) and np.all(finite == np.round(finite)) and finite.abs().max() < 1e9:
                frame[column] = values.astype("Int64")
    return frame


def _has_named_index(frame: pd.DataFrame) -> bool:
    return any(name is not None for name in frame.index.names)


def _align(column: pd.Series) -> str:
    return "" if pd.api.types.is_numeric_dtype(column) else "text"


def new_figure(width_in: float = 6.4, height_in: float = 4.4) -> Figure:
    """A Matplotlib figure bound to the Agg canvas (no pyplot, no global state)."""
    figure = Figure(figsize=(width_in, height_in), dpi=110)
    FigureCanvasAgg(figure)
    return figure


def figure(fig: Figure, caption: str, alt: str) -> str:
    """``<figure>`` with the PNG of ``fig`` embedded as a base64 data URI."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{encoded}" alt="{escape(alt)}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>")
