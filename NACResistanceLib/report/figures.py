"""The report's figures, drawn with Matplotlib's object API on the Agg canvas (no pyplot state).

Each function takes plain arrays or long tables and returns a :class:`matplotlib.figure.Figure`;
:func:`NACResistanceLib.report.html.figure` embeds it. No statistic is computed here beyond
what drawing needs (axis ranges, nomogram point scales).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .html import new_figure

MODEL_COLOURS = {"clinical": "#1f77b4", "radiomics": "#2ca02c", "combined": "#d62728"}
STRATEGY_STYLE = {"treat_all": ("#555555", "--"), "treat_none": ("#000000", ":")}
MODEL_LABELS = {"clinical": "Clinical model", "radiomics": "Radiomics model", "combined": "Combined model"}


def _colour(name: str, position: int) -> str:
    palette = ("#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
    return MODEL_COLOURS.get(name, palette[position % len(palette)])


def roc_figure(panels: Mapping[str, tuple[pd.DataFrame, pd.DataFrame]]) -> Figure:
    """ROC curves with pointwise confidence bands, one panel per cohort.

    ``panels`` maps a cohort title to ``(curves, bands)``: ``curves`` has columns ``model``,
    ``fpr``, ``tpr`` (the ROC vertices) and ``label`` (legend text); ``bands`` has ``model``,
    ``fpr``, ``tpr_low``, ``tpr_high`` on a false-positive-rate grid (may be empty).
    """
    fig = new_figure(5.0 * len(panels), 4.8)
    for position, (title, (curves, bands)) in enumerate(panels.items()):
        axes = fig.add_subplot(1, len(panels), position + 1)
        for index, (model, curve) in enumerate(curves.groupby("model", sort=False)):
            colour = _colour(str(model), index)
            curve = curve.sort_values(["fpr", "tpr"])
            axes.plot(curve["fpr"], curve["tpr"], color=colour, label=str(curve["label"].iloc[0]), lw=1.6)
            band = bands[bands["model"] == model]
            if len(band):
                axes.fill_between(band["fpr"], band["tpr_low"], band["tpr_high"], step="post", color=colour,
                                  alpha=0.13, lw=0)
        axes.plot([0, 1], [0, 1], color="#999999", lw=0.8, ls="--")
        _square(axes, "1 − specificity", "Sensitivity", title)
        axes.legend(loc="lower right", fontsize=7.5)
    fig.tight_layout()
    return fig


def calibration_figure(panels: Mapping[str, pd.DataFrame]) -> Figure:
    """Calibration curves: observed event fraction against mean predicted risk per risk group.

    ``panels`` maps a panel title (cohort and Hosmer-Lemeshow result) to a table with columns
    ``predicted``, ``observed`` and optionally ``n`` and ``model``.
    """
    fig = new_figure(5.0 * len(panels), 4.8)
    for position, (title, frame) in enumerate(panels.items()):
        axes = fig.add_subplot(1, len(panels), position + 1)
        groups = frame.groupby("model", sort=False) if "model" in frame else [("model", frame)]
        for index, (model, part) in enumerate(groups):
            axes.plot(part["predicted"], part["observed"], marker="o", ms=4, lw=1.2,
                      color=_colour(str(model), index), label=MODEL_LABELS.get(str(model), str(model)))
        axes.plot([0, 1], [0, 1], color="#999999", lw=0.8, ls="--", label="ideal")
        _square(axes, "Predicted probability of resistance", "Observed fraction resistant", title)
        axes.legend(loc="upper left", fontsize=7.5)
    fig.tight_layout()
    return fig


def decision_figure(frame: pd.DataFrame, title: str) -> Figure:
    """Decision curves: net benefit against threshold probability for each ``strategy``."""
    fig = new_figure(6.4, 4.4)
    axes = fig.add_subplot(1, 1, 1)
    models = [s for s in frame["strategy"].unique() if s not in STRATEGY_STYLE]
    for index, strategy in enumerate(models + list(STRATEGY_STYLE)):
        part = frame[frame["strategy"] == strategy]
        colour, style = STRATEGY_STYLE.get(strategy, (_colour(str(strategy), index), "-"))
        axes.plot(part["threshold"], part["net_benefit"], color=colour, ls=style, lw=1.5,
                  label=MODEL_LABELS.get(str(strategy), str(strategy).replace("_", " ")))
    top = float(frame["net_benefit"].max())
    axes.set_ylim(-0.05, max(top * 1.1, 0.05))
    axes.set_xlim(float(frame["threshold"].min()), float(frame["threshold"].max()))
    axes.set_xlabel("Threshold probability")
    axes.set_ylabel("Net benefit")
    axes.set_title(title, fontsize=10)
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3)
    return fig


def lasso_cv_figure(lambdas: np.ndarray, cv_mean: np.ndarray, cv_sd: np.ndarray, lambda_min: float,
                    lambda_1se: float) -> Figure:
    """Cross-validated binomial deviance (mean ± 1 SD over folds) against log(λ), glmnet style."""
    fig = new_figure(6.4, 4.2)
    axes = fig.add_subplot(1, 1, 1)
    log_lambda = np.log(np.asarray(lambdas, dtype=float))
    axes.errorbar(log_lambda, cv_mean, yerr=cv_sd, fmt="o", ms=3, color="#d62728", ecolor="#aaaaaa",
                  elinewidth=0.8, capsize=1.5)
    for value, label, style in ((lambda_min, "λ min (lowest deviance)", ":"), (lambda_1se, "λ 1se", "--")):
        axes.axvline(np.log(value), color="#333333", ls=style, lw=1, label=f"{label}: log(λ) = {np.log(value):.2f}")
    axes.legend(loc="upper right", fontsize=7.5)
    axes.set_xlabel("log(λ)")
    axes.set_ylabel("Binomial deviance (10-fold CV)")
    axes.grid(alpha=0.3)
    return fig


def coefficient_path_figure(lambdas: np.ndarray, coefficients: np.ndarray, names: Sequence[str],
                            chosen_lambda: float, label_top: int = 10) -> Figure:
    """LASSO coefficient paths (coefficients in log-odds per feature unit against log(λ)).

    ``coefficients`` is ``(n_lambdas, n_features)``; the ``label_top`` features with the largest
    coefficient at ``chosen_lambda`` are named in full in a legend below the axes.
    """
    log_lambda = np.log(np.asarray(lambdas, dtype=float))
    paths = np.asarray(coefficients, dtype=float)
    active = np.flatnonzero(np.any(paths != 0, axis=0))
    chosen = int(np.argmin(np.abs(log_lambda - np.log(chosen_lambda))))
    named = [c for c in sorted(active, key=lambda c: -abs(paths[chosen, c]))[:label_top] if paths[chosen, c] != 0]
    fig = new_figure(6.4, 4.4 + 0.18 * len(named))
    axes = fig.add_subplot(1, 1, 1)
    for column in active:
        axes.plot(log_lambda, paths[:, column], lw=1.4 if column in named else 0.8,
                  label=str(names[column]) if column in named else None)
    axes.axvline(np.log(chosen_lambda), color="#333333", ls=":", lw=1)
    axes.axhline(0, color="#999999", lw=0.6)
    if named:
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=7, frameon=False,
                    title="selected at the chosen λ", title_fontsize=7.5)
    axes.set_xlabel("log(λ)")
    axes.set_ylabel("Coefficient (log-odds per feature unit)")
    axes.grid(alpha=0.3)
    return fig


def nomogram_figure(terms: pd.DataFrame, intercept: float) -> Figure:
    """A Harrell-style nomogram of a logistic model.

    ``terms`` has columns ``term``, ``coefficient`` (per unit of the variable), ``low`` and
    ``high`` (the variable's range to draw: the training 1st to 99th percentile, or 0/1 for
    binary terms). Each term's contribution ``β·x`` is mapped to 0–100 points, the term with
    the widest contribution range spanning 100; total points map back to the linear predictor
    and then to the probability of resistance ``1 / (1 + exp(-lp))``.
    """
    spans = (terms["coefficient"] * (terms["high"] - terms["low"])).abs()
    points_per_lp = 100.0 / float(spans.max())
    minimum_lp = float(intercept + np.minimum(terms["coefficient"] * terms["low"],
                                              terms["coefficient"] * terms["high"]).sum())
    rows = len(terms) + 3
    fig = new_figure(9.0, 0.6 * rows + 1.0)
    axes = fig.add_subplot(1, 1, 1)
    _nomogram_scale(axes, rows - 1, "Points", np.linspace(0, 100, 11), np.linspace(0, 100, 11))
    for row, term in enumerate(terms.itertuples(index=False)):
        values = np.linspace(term.low, term.high, 2 if _is_binary(term) else 5)
        contribution = term.coefficient * values - min(term.coefficient * term.low, term.coefficient * term.high)
        _nomogram_scale(axes, rows - 2 - row, str(term.term), contribution * points_per_lp, values)
    total = float(spans.sum()) * points_per_lp
    _nomogram_scale(axes, 1, "Total points", np.linspace(0, total, 6), np.linspace(0, total, 6), total)
    _probability_scale(axes, minimum_lp, points_per_lp, total)
    axes.set_xlim(-45, 105)
    axes.set_ylim(-0.8, rows - 0.3)
    axes.axis("off")
    return fig


def _is_binary(term) -> bool:
    return float(term.low) == 0.0 and float(term.high) == 1.0


def _nomogram_scale(axes, y: float, label: str, positions, values, total: float | None = None) -> None:
    positions = np.asarray(positions, dtype=float)
    scale = 100.0 / total if total else 1.0
    x = positions * scale
    axes.plot([x.min(), x.max()], [y, y], color="#222222", lw=1)
    for position, value in zip(x, values):
        axes.plot([position, position], [y, y + 0.12], color="#222222", lw=0.8)
        axes.text(position, y + 0.18, _tick(value), ha="center", va="bottom", fontsize=8.5)
    axes.text(-3, y, label, ha="right", va="center", fontsize=9.5)


def _probability_scale(axes, minimum_lp: float, points_per_lp: float, total: float) -> None:
    probabilities = np.array([0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95])
    points = (np.log(probabilities / (1 - probabilities)) - minimum_lp) * points_per_lp
    keep = (points >= 0) & (points <= total)
    axes.plot([0, 100], [0, 0], color="#222222", lw=1)
    last_label = -np.inf
    for point, probability in zip(points[keep] * 100.0 / total, probabilities[keep]):
        axes.plot([point, point], [0, 0.12], color="#222222", lw=0.8)
        if point - last_label >= 5.0:  # skip labels that would overlap the previous one
            axes.text(point, 0.18, f"{probability:g}", ha="center", va="bottom", fontsize=8.5)
            last_label = point
    axes.text(-3, 0, "Probability of resistance", ha="right", va="center", fontsize=9.5)


def _tick(value: float) -> str:
    return f"{value:.3g}"


def truth_figure(comparison: pd.DataFrame) -> Figure:
    """Ground truth against what the study recovered: a bar per predictor.

    ``comparison`` has columns ``predictor``, ``in_truth`` (bool: the generative model uses it)
    and ``selected`` (bool: the combined model kept it).
    """
    fig = new_figure(6.4, 0.32 * len(comparison) + 1.4)
    axes = fig.add_subplot(1, 1, 1)
    y = np.arange(len(comparison))
    colours = ["#2ca02c" if (t and s) else "#d62728" if (t and not s) else "#ff7f0e" if s else "#cccccc"
               for t, s in zip(comparison["in_truth"], comparison["selected"])]
    axes.barh(y, np.ones(len(y)), color=colours)
    axes.set_yticks(y, [str(name)[:40] for name in comparison["predictor"]], fontsize=7.5)
    axes.set_xticks([])
    axes.invert_yaxis()
    axes.set_title("green: true and recovered · red: true, missed · orange: selected, not in the truth",
                   fontsize=8)
    return fig


def _square(axes, xlabel: str, ylabel: str, title: str) -> None:
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.01)
    axes.set_aspect("equal")
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title, fontsize=10)
    axes.grid(alpha=0.3)
