"""Keep only reproducible features: an ICC threshold, usable as the first step of the selection funnel."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError, InputFileError
from .icc import ICC_ABSOLUTE, ICC_TYPES, IccResult

_DECISION_COLUMNS = ("source", "feature", "feature_class", "icc", "ci_low", "ci_high", "kept", "reason")
ICC_STATISTICS = ("icc", "ci_low")
"""What is compared with the threshold: the ICC estimate, or the lower bound of its confidence interval."""
PYRADIOMICS_CLASSES = ("shape", "shape2D", "firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm")
_PYRADIOMICS_NAME = re.compile(r"^(?P<image>[^_]+)_(?P<cls>" + "|".join(PYRADIOMICS_CLASSES) + r")_.+$")


def feature_class(name: str) -> str:
    """Feature class of a column name: the pyradiomics class (``original_glcm_Contrast`` -> ``glcm``),
    else the namespace before the first ``_`` (``adc_mean`` -> ``adc``, ``dce_ser_mean`` -> ``dce``)."""
    match = _PYRADIOMICS_NAME.match(name)
    if match:
        return match.group("cls")
    return name.split("_", 1)[0]


def _check(threshold: float, icc_type: str, statistic: str) -> None:
    if icc_type not in ICC_TYPES:
        raise ConfigError(f"icc_type must be one of {ICC_TYPES}, got {icc_type!r} (option --icc-type)")
    if statistic not in ICC_STATISTICS:
        raise ConfigError(f"ICC statistic must be one of {ICC_STATISTICS}, got {statistic!r}")
    if not -1.0 <= threshold <= 1.0:
        raise ConfigError(f"ICC threshold must be in [-1, 1], got {threshold} (option --icc-threshold)")


@dataclass(frozen=True)
class IccFilterDecision:
    """Which features an ICC filter keeps and removes, and why."""

    table: pd.DataFrame
    """One row per (source, feature): ``source, feature, feature_class, icc, ci_low, ci_high, kept, reason``."""
    threshold: float
    icc_type: str
    statistic: str

    @property
    def kept(self) -> tuple[str, ...]:
        """Features kept by every source, in table order."""
        removed = set(self.removed)
        return tuple(dict.fromkeys(f for f in self.table["feature"] if f not in removed))

    @property
    def removed(self) -> tuple[str, ...]:
        """Features removed by at least one source, in table order."""
        return tuple(dict.fromkeys(self.table.loc[~self.table["kept"], "feature"]))

    def to_frame(self) -> pd.DataFrame:
        """The table with the settings as constant columns ``threshold, icc_type, statistic``
        (what :func:`write_decision` stores and :func:`read_decision` reads back)."""
        return self.table.assign(threshold=self.threshold, icc_type=self.icc_type, statistic=self.statistic)


def write_decision(decision: IccFilterDecision, path: str | Path) -> Path:
    """Write the decision as CSV (``icc_filter.csv``), readable by :func:`read_decision`."""
    decision.to_frame().to_csv(path, index=False, lineterminator="\n")
    return Path(path)


def read_decision(path: str | Path) -> IccFilterDecision:
    """Read a decision written by :func:`write_decision` (e.g. to filter features in ``train``/``delta``).

    Raises
    ------
    InputFileError
        If the file is missing or lacks the columns of a decision.
    """
    try:
        frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    except (OSError, pd.errors.ParserError) as error:
        raise InputFileError(f"cannot read ICC filter decision {path}: {error}") from error
    missing = [c for c in _DECISION_COLUMNS + ("threshold", "icc_type", "statistic") if c not in frame.columns]
    if missing or frame.empty:
        raise InputFileError(f"{path} is not an ICC filter decision (missing columns {missing} or no rows); "
                             "write it with `nacresistance reproducibility`")
    first = frame.iloc[0]
    table = frame[list(_DECISION_COLUMNS)].assign(reason=frame["reason"].fillna("").astype(str),
                                                  kept=frame["kept"].astype(bool))
    return IccFilterDecision(table=table,
                             threshold=float(first["threshold"]), icc_type=str(first["icc_type"]),
                             statistic=str(first["statistic"]))


def icc_filter(result: IccResult, threshold: float = 0.75, *, icc_type: str = ICC_ABSOLUTE,
               statistic: str = "icc", source: str = "readers") -> IccFilterDecision:
    """Decide, per feature, whether its ICC reaches ``threshold``.

    Parameters
    ----------
    result : IccResult
        ICCs between readers or perturbations (:func:`robustness.icc`).
    threshold : float
        Minimum ICC kept (0.75 = "good" reliability, Koo & Li 2016).
    icc_type : {"ICC(2,1)", "ICC(3,1)"}
        Absolute agreement (default) or consistency.
    statistic : {"icc", "ci_low"}
        Compare the estimate, or (stricter) the lower bound of its confidence interval.
    source : str
        What the raters were (``"readers"``, ``"perturbations"``), recorded in the table.

    Returns
    -------
    IccFilterDecision
        A feature with an undefined (NaN) ICC is removed with reason ``"ICC undefined"``.
    """
    _check(threshold, icc_type, statistic)
    rows = result.table[result.table["icc_type"] == icc_type]
    value = rows[statistic].to_numpy(dtype=float)
    kept = np.nan_to_num(value, nan=-np.inf) >= threshold
    reason = np.where(np.isnan(value), "ICC undefined",
                      np.where(kept, "", f"{icc_type} {statistic} < {threshold:g}"))
    table = pd.DataFrame({
        "source": source, "feature": rows["feature"].to_numpy(), "feature_class": [feature_class(f) for f in rows["feature"]],
        "icc": rows["icc"].to_numpy(), "ci_low": rows["ci_low"].to_numpy(), "ci_high": rows["ci_high"].to_numpy(),
        "kept": kept, "reason": reason,
    })
    return IccFilterDecision(table=table, threshold=threshold, icc_type=icc_type, statistic=statistic)


def combine_decisions(decisions: Sequence[IccFilterDecision]) -> IccFilterDecision:
    """One decision from several sources (e.g. readers and perturbations): a feature is kept only if every
    source keeps it. The decisions must share threshold, ICC type and statistic."""
    settings = {(d.threshold, d.icc_type, d.statistic) for d in decisions}
    if len(settings) != 1:
        raise ConfigError(f"cannot combine ICC filter decisions with different settings: {sorted(settings)}")
    threshold, icc_type, statistic = settings.pop()
    table = pd.concat([d.table for d in decisions], ignore_index=True)
    return IccFilterDecision(table=table, threshold=threshold, icc_type=icc_type, statistic=statistic)


@dataclass(frozen=True)
class KeepReproducible:
    """Keep rule of the funnel step: every column except those an ICC filter removed (picklable).

    Columns the ICC study did not assess (e.g. clinical variables) are kept.
    """

    removed: frozenset

    def __call__(self, X: pd.DataFrame, y=None) -> list[str]:
        return [c for c in X.columns if c not in self.removed]


def funnel_step(decision: IccFilterDecision, name: str = "icc_filter"):
    """The decision as the first step of :class:`selection.funnel.SelectionFunnel` (a ``LeadingStep``).

    The step is fixed (decided on the reproducibility data, not refitted on training folds) and is
    recorded in the funnel table under ``name`` with the features it removed.
    """
    from ..selection.funnel import LeadingStep

    return LeadingStep(name=name, keep=KeepReproducible(frozenset(decision.removed)))
