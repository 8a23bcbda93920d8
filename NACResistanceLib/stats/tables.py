"""Descriptive comparison tables (the seed's Tables 1-3): resistant vs sensitive group."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .groups import compare_categorical, compare_continuous, crosstab

COLUMNS = ["variable", "level", "resistant", "sensitive", "test", "statistic", "p_value"]


def _mean_sd(values: pd.Series) -> str:
    values = values.dropna()
    return f"{values.mean():.2f} ± {values.std(ddof=1):.2f}" if len(values) > 1 else "n/a"


def continuous_rows(frame: pd.DataFrame, y: pd.Series, variable: str) -> list[dict]:
    """One row: mean ± SD (ddof 1) per group and the test chosen by :mod:`.groups`'s rule."""
    values = pd.to_numeric(frame[variable], errors="coerce")
    result = compare_continuous(values[y == 1], values[y == 0])
    return [{"variable": variable, "level": "", "resistant": _mean_sd(values[y == 1]),
             "sensitive": _mean_sd(values[y == 0]), "test": result.test, "statistic": result.statistic,
             "p_value": result.p_value}]


def categorical_rows(frame: pd.DataFrame, y: pd.Series, variable: str, levels: Sequence | None = None) -> list[dict]:
    """A header row with the test, then one row per level: count (column %) per group."""
    table = crosstab(frame[variable], y, levels)
    result = compare_categorical(table.to_numpy())
    totals = table.sum(axis=0).replace(0, np.nan)
    rows = [{"variable": variable, "level": "", "resistant": "", "sensitive": "", "test": result.test,
             "statistic": result.statistic, "p_value": result.p_value}]
    for level, counts in table.iterrows():
        pct = 100 * counts / totals
        rows.append({"variable": variable, "level": str(level),
                     "resistant": f"{int(counts[1])} ({pct[1]:.2f})", "sensitive": f"{int(counts[0])} ({pct[0]:.2f})",
                     "test": "", "statistic": np.nan, "p_value": np.nan})
    return rows


def comparison_table(frame: pd.DataFrame, y, continuous: Sequence[str] = (),
                     categorical: Sequence[str] | dict = ()) -> pd.DataFrame:
    """Resistant (y = 1) vs sensitive (y = 0) comparison of the listed columns of ``frame``.

    ``categorical`` may map a column to its level order. Columns absent from ``frame`` are skipped.
    """
    y = pd.Series(np.asarray(y), index=frame.index)
    levels = categorical if isinstance(categorical, dict) else dict.fromkeys(categorical)
    rows: list[dict] = []
    for name in continuous:
        if name in frame:
            rows += continuous_rows(frame, y, name)
    for name, order in levels.items():
        if name in frame:
            rows += categorical_rows(frame, y, name, order)
    return pd.DataFrame(rows, columns=COLUMNS)
