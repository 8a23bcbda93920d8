"""Numbers the study step derives for the paper's figures and tables beyond the fit itself.

The chosen LASSO λ (λ-min and λ-1se), the ROC curves' bootstrap bands (Figure 1), Table 3 in the seed
paper's display units and the nomogram's term ranges. :func:`study.run_study` computes them once, the
study folder stores them, and the report only draws them. Research use only.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .stats.roc_band import roc_band

DISPLAY_UNITS = (  # (name prefix, factor, shown unit) of absolute quantities with awkward units
    ("adc_", 1e3, "×10⁻³ mm²/s"),
    ("dki_MD", 1e3, "×10⁻³ mm²/s"),
    ("tumor_volume_mm3", 1e-3, "cm³"),
)
"""Table 3 shows ADC and MD in ×10⁻³ mm²/s as the seed paper does (in mm²/s they round to 0.00)."""

LAMBDA_COLUMNS = ["choice", "lambda"]


def lasso_lambdas(curve: pd.DataFrame, choice: str) -> pd.DataFrame:
    """λ-min (lowest mean CV deviance), λ-1se (largest λ within one SD of it) and the chosen one.

    Rows ``min``, ``1se`` and ``chosen`` (= ``choice``, "min" or "1se"); empty without a LASSO curve.
    """
    if not len(curve):
        return pd.DataFrame(columns=LAMBDA_COLUMNS)
    best = curve["cv_mean"].idxmin()
    limit = curve.loc[best, "cv_mean"] + curve.loc[best, "cv_sd"]
    values = {"min": float(curve.loc[best, "lambda"]),
              "1se": float(curve.loc[curve["cv_mean"] <= limit, "lambda"].max())}
    values["chosen"] = values["1se" if choice == "1se" else "min"]
    return pd.DataFrame({"choice": list(values), "lambda": list(values.values())})


def roc_bands(predictions: pd.DataFrame, models: Mapping, n_boot: int, seed: int) -> pd.DataFrame:
    """Bootstrap bands of every model's ROC curve per cohort (long: cohort, model, fpr, tpr, low, high)."""
    frames = []
    for cohort, part in predictions.groupby("cohort", sort=False):
        if part["resistant"].nunique() < 2:
            continue
        for name in models:
            band = roc_band(part["resistant"], part[f"{name}_probability"], n_boot=n_boot, seed=seed)
            frames.append(band.assign(cohort=cohort, model=name))
    columns = ["cohort", "model", "fpr", "tpr", "tpr_low", "tpr_high"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def display_scale(variable: str) -> tuple[float, str]:
    """Factor and unit label a Table 3 variable is shown in (1 and "" when shown as stored)."""
    for prefix, factor, unit in DISPLAY_UNITS:
        if variable.startswith(prefix):
            return factor, unit
    return 1.0, ""


def mean_sd_text(values: pd.Series) -> str:
    """``mean ± SD`` (SD with ddof 1) to 3 significant digits of the larger of the two, NaN dropped."""
    values = pd.to_numeric(values, errors="coerce").dropna()
    if len(values) < 2:
        return "n/a"
    mean, sd = float(values.mean()), float(values.std(ddof=1))
    magnitude = max(abs(mean), sd)
    decimals = 0 if magnitude == 0 else max(0, 2 - int(np.floor(np.log10(magnitude))))
    return f"{mean:.{decimals}f} ± {sd:.{decimals}f}"


def table3_display(table3: pd.DataFrame, training_rows: pd.DataFrame | None, resistant: pd.Series) -> pd.DataFrame:
    """Table 3 with each variable in its display unit (named in the row) and 3 significant digits.

    ``resistant`` (0/1 by patient_id) splits ``training_rows``; without rows the table is returned as
    computed. ``table3.csv`` keeps the study's own strings; this one is ``table3_display.csv``.
    """
    shown = table3.copy()
    if training_rows is None:
        return shown
    y = resistant.reindex(training_rows.index)
    for i, variable in shown["variable"].items():
        if variable not in training_rows or shown.at[i, "level"] != "":
            continue
        factor, unit = display_scale(variable)
        values = pd.to_numeric(training_rows[variable], errors="coerce") * factor
        shown.at[i, "resistant"] = mean_sd_text(values[y == 1])
        shown.at[i, "sensitive"] = mean_sd_text(values[y == 0])
        shown.at[i, "variable"] = f"{variable} ({unit})" if unit else variable
    return shown


NOMOGRAM_COLUMNS = ["term", "coefficient", "low", "high"]


def nomogram_terms(model, term_values: pd.DataFrame) -> pd.DataFrame:
    """Per model term: coefficient and the range drawn (training 1st-99th percentile; 0/1 for binary terms)."""
    rows = []
    for term in model.terms:
        values = term_values[term.name].dropna().to_numpy(dtype=float)
        binary = np.isin(values, (0.0, 1.0)).all()
        low, high = (0.0, 1.0) if binary else np.percentile(values, [1, 99])
        rows.append({"term": term.name, "coefficient": term.coefficient, "low": float(low), "high": float(high)})
    return pd.DataFrame(rows, columns=NOMOGRAM_COLUMNS)
