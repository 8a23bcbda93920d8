"""The study sections of the report, in the order of the seed paper (Tables 1-6, Figures 1-3).

Each function takes a :class:`~NACResistanceLib.study.StudyResult` (and what else it needs) and
returns HTML; every number shown also exists in the CSV files written beside the report.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from . import figures, html
from .html import ReportSection

COHORTS = ("training", "validation")
MODEL_LABELS = figures.MODEL_LABELS


def cohort_section(result) -> ReportSection:
    """Patients per cohort, resistance rate, which criterion fired, exclusions and extraction failures."""
    labels = result.cohort
    rows = []
    for cohort in COHORTS:
        part = labels[labels["cohort"] == cohort]
        if len(part):
            rows.append({"cohort": cohort, "patients": len(part), "resistant": int(part["resistant"].sum()),
                         "resistant_%": 100 * part["resistant"].mean(),
                         "first_exam": part["exam_date"].min(), "last_exam": part["exam_date"].max()})
    counts = pd.DataFrame(rows)
    criteria = labels.groupby(["cohort", "criterion"]).size().rename("patients").reset_index()
    parts = [
        html.paragraph(f"Temporal split at {result.config.split_date}: exams before it train, later exams "
                       f"validate. Resistant = RCB-II/III (Symmans 2007) or MRI shrinkage < 30%."),
        html.table(counts, "Cohorts", index=False, digits=1),
        html.table(criteria, "Which resistance criterion fired", index=False),
    ]
    if len(result.exclusions):
        parts.append(html.table(result.exclusions, "Patients left out of the study", index=False))
    if len(result.failures):
        parts.append(html.table(result.failures, "Exams whose analysis failed (extraction failures.csv)", index=False))
    return html.report_section("cohort", "Cohort", parts)


VARIABLE_LABELS = {
    "age_years": "Age (years)", "bmi_kg_m2": "BMI (kg/m²)", "tumor_size_mm": "Tumour size (mm)",
    "menopause": "Menopausal status", "side": "Side", "t_stage": "T stage", "n_stage": "N stage",
    "grade": "Histological grade", "er": "Oestrogen receptor", "pr": "Progesterone receptor", "her2": "HER2",
    "ki67_ge_20": "Ki-67", "subtype": "Molecular subtype", "dose_intensity_pct": "Relative dose intensity (%)",
    "er_positive": "Oestrogen receptor positive", "pr_positive": "Progesterone receptor positive",
    "her2_positive": "HER2 positive", "rad_score": "Rad-score", "(intercept)": "(intercept)",
    "tumor_volume_mm3": "Tumour volume (mm³)",
}
"""Table row labels as a paper prints them (units in parentheses); other names are shown as they are."""
LEVEL_LABELS = {"pre": "premenopausal", "post": "postmenopausal", "luminal_a": "luminal A",
                "luminal_b": "luminal B", "her2_enriched": "HER2-enriched", "triple_negative": "triple negative",
                ">= 20%": "≥ 20%"}


TEST_LABELS = {"t": "t-test", "mann_whitney": "Mann-Whitney U", "chi2": "χ²", "fisher": "Fisher's exact"}
GROUP_TABLE_HEADERS = {"variable": "Variable", "level": "", "resistant": "Resistant", "sensitive": "Sensitive",
                       "test": "Test", "statistic": "Statistic", "p_value": "P"}


def variable_label(name: object) -> object:
    """The readable label of a table variable (``age_years`` -> ``Age (years)``)."""
    return VARIABLE_LABELS.get(name, name) if isinstance(name, str) else name


def count_percent_text(text: object) -> object:
    """``"12 (40.00)"`` of the study tables as ``"12 (40.0%)"``; other values unchanged."""
    match = re.fullmatch(r"(\d+) \((\d+(?:\.\d+)?|nan)\)", str(text))
    if not match:
        return text
    count, pct = match.groups()
    return f"{count} (–)" if pct == "nan" else f"{count} ({float(pct):.1f}%)"


def group_tables_section(result) -> ReportSection:
    """Tables 1-3: resistant vs sensitive in the training cohort (Table 3 in display units, ``table3_display``)."""
    captions = {
        "table1": "Table 1. Baseline characteristics, training cohort (mean ± SD or n (%))",
        "table2": "Table 2. Pathology and treatment, training cohort (mean ± SD or n (%))",
        "table3": "Table 3. MRI parameters, training cohort (mean ± SD)",
    }
    parts = [html.paragraph("Tests: t-test or Mann-Whitney U for continuous variables, χ² or Fisher's exact "
                            "test for categorical ones, chosen by the rule in docs/statistics.md.")]
    for name, caption in captions.items():
        table = (result.table3_display if name == "table3" and len(result.table3_display) else getattr(result, name)).copy()
        table["variable"] = table["variable"].map(variable_label)
        table["level"] = table["level"].map(lambda level: LEVEL_LABELS.get(level, level))
        for column in ("resistant", "sensitive"):
            table[column] = table[column].map(count_percent_text)
        level_rows = table["level"].astype(str) != ""
        table.loc[level_rows, "variable"] = ""  # name each variable once, on its test row
        table[["statistic", "p_value"]] = table[["statistic", "p_value"]].astype(object)
        table.loc[level_rows, ["statistic", "p_value"]] = ""  # the test belongs to the variable's row
        if not level_rows.any():
            table = table.drop(columns="level")
        table["test"] = table["test"].map(lambda test: TEST_LABELS.get(test, test))
        table = table.rename(columns=GROUP_TABLE_HEADERS)
        parts.append(html.table(table, caption, index=False, p_columns=["P"]))
    return html.report_section("tables-1-3", "Group comparisons (Tables 1–3)", parts)


def selection_section(result) -> ReportSection:
    """Funnel, LASSO CV curve, coefficient path and the Rad-score formula."""
    parts = [html.table(result.funnel, "Feature selection funnel (training cohort)", index=False),
             html.figure(_funnel_figure(result.funnel), "Features left after each selection step.",
                         "bar chart of the feature funnel")]
    curve = result.lasso_cv
    if len(curve):
        lambdas = result.lasso_lambdas.set_index("choice")["lambda"]
        chosen = float(lambdas["chosen"])
        parts.append(html.figure(figures.lasso_cv_figure(curve["lambda"], curve["cv_mean"], curve["cv_sd"],
                                                         float(lambdas["min"]), float(lambdas["1se"])),
                                 f"LASSO {result.config.selection.n_folds}-fold cross-validation: binomial deviance "
                                 f"(mean ± SD over folds) against log(λ); λ chosen ({result.config.selection.lasso_choice})"
                                 f" = {chosen:.4g}.", "LASSO cross-validation curve"))
        path = result.lasso_path.pivot(index="lambda", columns="feature", values="coefficient")
        path = path.sort_index(ascending=False)
        parts.append(html.figure(figures.coefficient_path_figure(path.index.to_numpy(), path.to_numpy(),
                                                                 list(path.columns), chosen),
                                 "LASSO coefficient paths (original feature units); the dotted line is the chosen λ.",
                                 "LASSO coefficient paths"))
    parts.append(f'<p class="formula">{html.text(rad_score_formula(result.rad_score))}</p>')
    parts.append(html.table(result.rad_score.rename(columns={"coefficient": "coefficient (log-odds per unit)"}),
                            "Rad-score coefficients", index=False, digits=6))
    return html.report_section("selection", "Feature selection and Rad-score", parts)


def rad_score_formula(rad_score: pd.DataFrame) -> str:
    """``Rad-score = b0 + w1 × name1 − w2 × name2 ...`` with the coefficients to 6 significant digits."""
    intercept = float(rad_score["coefficient"].iloc[0])
    terms = [f"{'−' if w < 0 else '+'} {abs(w):.6g} × {name}"
             for name, w in zip(rad_score["feature"].iloc[1:], rad_score["coefficient"].iloc[1:])]
    return "Rad-score = " + " ".join([f"{intercept:.6g}", *terms])


def _funnel_figure(funnel: pd.DataFrame):
    fig = html.new_figure(6.4, 0.4 * len(funnel) + 1.2)
    axes = fig.add_subplot(1, 1, 1)
    labels = [f"{step} (−{removed})" for step, removed in zip(funnel["step"], funnel["n_removed"])]
    axes.barh(np.arange(len(funnel)), funnel["n_out"], color="#4a7bb7")
    for y, n in enumerate(funnel["n_out"]):
        axes.text(n, y, f" {n}", va="center", fontsize=8)
    axes.set_yticks(np.arange(len(funnel)), labels, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("Features left")
    return fig


def models_section(result) -> ReportSection:
    """Table 4 (multivariable logistic regression of each model), the stepwise history."""
    columns = ["term", "beta", "se", "wald_chi2", "p_value", "odds_ratio", "or_ci_low", "or_ci_high"]
    parts = [html.paragraph("Multivariable logistic regression on the training cohort; terms chosen by "
                            "forward stepwise selection (score-test entry p < 0.05, likelihood-ratio removal "
                            "p > 0.10, SPSS Forward: LR).")]
    for name in ("combined", "clinical", "radiomics"):
        table = result.table4[result.table4["model"] == name]
        if len(table):
            r2 = float(table["nagelkerke_r2"].iloc[0])
            caption = f"Table 4{'' if name == 'combined' else ' (' + name + ')'}. {MODEL_LABELS[name]} (Nagelkerke R² {r2:.3f})"
            parts.append(html.table(table4_display(table[[c for c in columns if c in table]]), caption, index=False,
                                    p_columns=["p_value"]))
    if len(result.stepwise):
        parts.append(html.table(result.stepwise, "Forward stepwise history", index=False, p_columns=["p_value"]))
    return html.report_section("table-4", "Multivariable models (Table 4)", parts)


def table4_display(table: pd.DataFrame) -> pd.DataFrame:
    """Table 4 with the odds ratio and its 95% CI in one column ("–" for the intercept or a term not estimable)."""
    shown = table.drop(columns=["odds_ratio", "or_ci_low", "or_ci_high"])
    shown["term"] = shown["term"].map(variable_label)
    shown["OR (95% CI)"] = [estimate_ci_text(float(r.odds_ratio), float(r.or_ci_low), float(r.or_ci_high))
                            for r in table.itertuples()]
    return shown.rename(columns={"wald_chi2": "Wald χ²", "se": "SE", "beta": "β"})


def performance_section(result) -> ReportSection:
    """Table 5 with DeLong p-values, ROC curves with bands, calibration with HL, decision curves."""
    table5 = result.table5.copy()
    shown = table5_display(table5)
    bands = result.roc_bands
    n_boot_band = result.config.validation.n_boot_performance
    parts = [
        html.table(shown, "Table 5. Discrimination: AUC with DeLong 95% CI; sensitivity and specificity (Wilson "
                   "95% CI) at the probability threshold fixed on training; P = paired DeLong test against the "
                   "clinical model", index=False, p_columns=["P vs clinical"]),
        html.table(result.comparisons, "Paired DeLong comparisons", index=False, p_columns=["p_value"]),
        html.figure(figures.roc_figure(_roc_panels(result, bands)),
                    f"Figure 1. ROC curves; shaded: pointwise 95% band of sensitivity ({n_boot_band} stratified "
                    "bootstrap replicates, pROC ci.se method).", "ROC curves of the three models"),
        html.table(calibration_display(result.calibration), "Calibration: Hosmer-Lemeshow (10 risk groups), "
                   "calibration intercept and slope, Brier score", index=False, p_columns=["HL P"]),
        html.figure(figures.calibration_figure(_calibration_panels(result)),
                    "Figure 2. Calibration of the combined model: observed fraction resistant against mean "
                    "predicted probability in risk deciles.", "calibration curves"),
    ]
    for letter, cohort in zip("ab", COHORTS):
        curves = result.decision_curves[result.decision_curves["cohort"] == cohort]
        if len(curves):
            parts.append(html.figure(figures.decision_figure(curves, f"Decision curves, {cohort} cohort"),
                                     f"Figure 3{letter}. Net benefit of the three models, treat-all and treat-none "
                                     f"({cohort}).", f"decision curves {cohort}"))
    if len(result.unpaired):
        parts.append(html.table(result.unpaired, "AUC, validation vs training (unpaired DeLong)", index=False,
                                p_columns=["p_value"]))
    return html.report_section("table-5", "Performance (Table 5, Figures 1–3)", parts)


def estimate_ci_text(value: float, low: float, high: float, *, scale: float = 1.0, digits: int = 3,
                     suffix: str = "") -> str:
    """``"0.812 (0.701–0.905)"``; ``"–"`` when the estimate is missing, CI left out when it is."""
    if not np.isfinite(value):
        return "–"
    text = f"{value * scale:.{digits}f}{suffix}"
    if np.isfinite(low) and np.isfinite(high):
        text += f" ({low * scale:.{digits}f}–{high * scale:.{digits}f})"
    return text


def table5_display(table5: pd.DataFrame) -> pd.DataFrame:
    """Table 5 as the seed paper prints it: AUC (95% CI), sensitivity and specificity in % (95% CI) with counts."""
    def rate(row, name, hits, total):
        text = estimate_ci_text(row[name], row[f"{name}_low"], row[f"{name}_high"], scale=100, digits=1, suffix="%")
        return f"{text}, {int(row[hits])}/{int(row[total])}"

    return pd.DataFrame({
        "cohort": table5["cohort"], "model": table5["model"].map(lambda m: MODEL_LABELS.get(m, m)),
        "AUC (95% CI)": [estimate_ci_text(r.auc, r.auc_low, r.auc_high) for r in table5.itertuples()],
        "threshold": table5["threshold"],
        "sensitivity (95% CI)": [rate(r, "sensitivity", "true_positive", "cases") for _, r in table5.iterrows()],
        "specificity (95% CI)": [rate(r, "specificity", "true_negative", "controls") for _, r in table5.iterrows()],
        "P vs clinical": table5["p_vs_clinical"],
    })


def calibration_display(calibration: pd.DataFrame) -> pd.DataFrame:
    """The calibration table with readable headers, cohort first; intercept and slope to 3 decimals
    (an intercept of −1.5e-17 is a numerical 0, shown as 0.000)."""
    names = {"cohort": "cohort", "model": "model", "hl_statistic": "HL χ²", "hl_df": "HL df", "hl_p_value": "HL P",
             "calibration_intercept": "calibration intercept", "calibration_slope": "calibration slope",
             "brier": "Brier score"}
    shown = calibration[[c for c in names if c in calibration]].rename(columns=names)
    for column in ("calibration intercept", "calibration slope"):
        if column in shown:
            shown[column] = shown[column].astype(float).round(3) + 0.0  # + 0.0: no "−0.000"
    shown["model"] = shown["model"].map(lambda m: MODEL_LABELS.get(m, m))
    return shown


def _roc_panels(result, bands: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    panels = {}
    for cohort in COHORTS:
        curves = result.roc_curves[result.roc_curves["cohort"] == cohort]
        if not len(curves):
            continue
        aucs = result.table5[result.table5["cohort"] == cohort].set_index("model")["auc"]
        labels = {name: f"{MODEL_LABELS.get(name, name)} (AUC {aucs[name]:.3f})" for name in aucs.index}
        vertices = pd.DataFrame({"model": curves["model"], "fpr": curves["false_positive_rate"],
                                 "tpr": curves["sensitivity"], "label": curves["model"].map(labels)})
        panels[f"{cohort.capitalize()} cohort"] = (vertices, bands[bands["cohort"] == cohort])
    return panels


def _calibration_panels(result) -> dict[str, pd.DataFrame]:
    panels = {}
    curves = result.calibration_curves
    for cohort in COHORTS:
        part = curves[(curves["cohort"] == cohort) & (curves["model"] == "combined") & (curves["kind"] == "binned")]
        if len(part):
            hl = result.calibration.set_index(["cohort", "model"]).loc[(cohort, "combined")]
            title = (f"{cohort.capitalize()}: HL χ² = {hl['hl_statistic']:.3f}, P = {html.format_p(hl['hl_p_value'])}"
                     if np.isfinite(hl["hl_statistic"]) else f"{cohort.capitalize()}: Hosmer-Lemeshow not computable")
            panels[title] = part.assign(model="combined")
    return panels


def bootstrap_section(result) -> ReportSection:
    """Table 6 (bootstrap stability), Harrell optimism and the 10-fold cross-validation."""
    parts = [
        html.table(result.table6, "Table 6. Bootstrap validation (fixed models, resampled patients; "
                   "auc_optimism from the whole-pipeline bootstrap)", index=False),
        html.table(result.optimism, "Optimism correction (Harrell): the whole pipeline (filters, screening, "
                   "LASSO, stepwise) refitted in every bootstrap sample", index=False),
        html.table(result.cross_validation, f"{result.config.validation.cv_folds}-fold cross-validation of the "
                   "whole pipeline on the training cohort", index=False),
    ]
    return html.report_section("table-6", "Bootstrap and cross-validation (Table 6)", parts)
