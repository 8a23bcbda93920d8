"""Intraclass correlation coefficients per feature: ICC(2,1) and ICC(3,1) with F-based 95% CIs.

Everything is vectorised over features: a ``(n_subjects, n_raters, n_features)`` array gives one
two-way ANOVA per feature in a handful of numpy operations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ImageError

ICC_ABSOLUTE = "ICC(2,1)"
"""Two-way random effects, absolute agreement, single rater (McGraw & Wong ICC(A,1))."""
ICC_CONSISTENCY = "ICC(3,1)"
"""Two-way mixed effects, consistency, single rater (McGraw & Wong ICC(C,1))."""
ICC_TYPES = (ICC_ABSOLUTE, ICC_CONSISTENCY)
ICC_COLUMNS = ("feature", "icc_type", "icc", "ci_low", "ci_high", "f_value", "df1", "df2", "p_value",
               "n_subjects", "n_raters")


@dataclass(frozen=True)
class IccResult:
    """ICC(2,1) and ICC(3,1) of every feature, one row per (feature, ICC type)."""

    table: pd.DataFrame
    """Tidy table with columns :data:`ICC_COLUMNS`; ``ci_low``/``ci_high`` bound the ``confidence`` interval."""
    confidence: float
    """Two-sided confidence level of the intervals (0.95 = 95%)."""
    warnings: tuple[str, ...] = ()
    """Features whose ICC is undefined (constant over all subjects and raters) or computed on fewer subjects."""

    def to_frame(self) -> pd.DataFrame:
        """The tidy table (a copy)."""
        return self.table.copy()

    @classmethod
    def from_table(cls, table: pd.DataFrame, confidence: float = 0.95) -> IccResult:
        """Rebuild a result from its tidy table (e.g. read back from ``icc_readers.csv``), warnings included."""
        missing = [c for c in ICC_COLUMNS if c not in table.columns]
        if missing:
            raise ImageError(f"an ICC table needs the columns {list(ICC_COLUMNS)}; missing {missing}")
        table = table[list(ICC_COLUMNS)].reset_index(drop=True)
        return cls(table=table, confidence=confidence, warnings=_warnings(table))

    def wide(self, column: str = "icc") -> pd.DataFrame:
        """One row per feature, one column per ICC type, holding ``column`` (e.g. ``"icc"``, ``"ci_low"``)."""
        return self.table.pivot(index="feature", columns="icc_type", values=column).reindex(
            columns=list(ICC_TYPES))


def _mean_squares(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two-way ANOVA mean squares without replication for ``y`` of shape ``(n, k, p)``.

    Returns ``(ms_subjects, ms_raters, ms_error)``, each of shape ``(p,)``.
    """
    n, k = y.shape[:2]
    grand = y.mean(axis=(0, 1))
    ss_subjects = k * ((y.mean(axis=1) - grand) ** 2).sum(axis=0)
    ss_raters = n * ((y.mean(axis=0) - grand) ** 2).sum(axis=0)
    ss_total = ((y - grand) ** 2).sum(axis=(0, 1))
    ss_error = np.maximum(ss_total - ss_subjects - ss_raters, 0.0)
    return ss_subjects / (n - 1), ss_raters / (k - 1), ss_error / ((n - 1) * (k - 1))


def _consistency(msr, mse, n: int, k: int, alpha: float) -> dict[str, np.ndarray]:
    """ICC(3,1) and its exact F-based interval (Shrout & Fleiss 1979, eq. 11-12; McGraw & Wong case 3)."""
    df1, df2 = n - 1, (n - 1) * (k - 1)
    f_obs = msr / mse
    f_low = f_obs / stats.f.ppf(1 - alpha / 2, df1, df2)
    f_high = f_obs * stats.f.ppf(1 - alpha / 2, df2, df1)
    return {
        "icc": (msr - mse) / (msr + (k - 1) * mse),
        "ci_low": (f_low - 1) / (f_low + k - 1),
        "ci_high": (f_high - 1) / (f_high + k - 1),
        "f_value": f_obs, "df1": np.full_like(f_obs, df1), "df2": np.full_like(f_obs, df2),
        "p_value": stats.f.sf(f_obs, df1, df2),
    }


def _absolute(msr, msc, mse, n: int, k: int, alpha: float) -> dict[str, np.ndarray]:
    """ICC(2,1) and its approximate interval (Satterthwaite df; McGraw & Wong 1996, Table 7, case 2A)."""
    icc = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    a = k * icc / (n * (1 - icc))
    b = 1 + k * icc * (n - 1) / (n * (1 - icc))
    v = (a * msc + b * mse) ** 2 / ((a * msc) ** 2 / (k - 1) + (b * mse) ** 2 / ((n - 1) * (k - 1)))
    f_star = stats.f.ppf(1 - alpha / 2, n - 1, v)
    f_star_rev = stats.f.ppf(1 - alpha / 2, v, n - 1)
    c = k * msc + (k * n - k - n) * mse
    df1, df2 = n - 1, (n - 1) * (k - 1)
    f_obs = msr / mse
    return {
        "icc": icc,
        "ci_low": n * (msr - f_star * mse) / (f_star * c + n * msr),
        "ci_high": n * (f_star_rev * msr - mse) / (c + n * f_star_rev * msr),
        "f_value": f_obs, "df1": np.full_like(f_obs, df1), "df2": np.full_like(f_obs, df2),
        "p_value": stats.f.sf(f_obs, df1, df2),
    }


def _icc_block(y: np.ndarray, alpha: float) -> dict[str, dict[str, np.ndarray]]:
    """Both ICC types for a complete ``(n, k, p)`` block (no missing values)."""
    n, k = y.shape[:2]
    msr, msc, mse = _mean_squares(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        results = {ICC_ABSOLUTE: _absolute(msr, msc, mse, n, k, alpha),
                   ICC_CONSISTENCY: _consistency(msr, mse, n, k, alpha)}
    for result in results.values():  # perfect agreement (MSE = 0): the interval degenerates to [1, 1]
        perfect = result["icc"] >= 1.0
        result["ci_low"] = np.where(perfect, 1.0, result["ci_low"])
        result["ci_high"] = np.where(perfect, 1.0, result["ci_high"])
    return results


def _check_ratings(ratings: np.ndarray, features: Sequence[str]) -> None:
    if ratings.ndim != 3:
        raise ImageError(f"ICC ratings must be a (n_subjects, n_raters, n_features) array, got shape {ratings.shape}")
    if ratings.shape[1] < 2:
        raise ImageError(f"ICC needs at least 2 raters (or perturbations) per subject, got {ratings.shape[1]}")
    if len(features) != ratings.shape[2]:
        raise ImageError(f"{len(features)} feature names for {ratings.shape[2]} features in the ratings array")


def icc(ratings: np.ndarray, features: Sequence[str] | None = None, *, confidence: float = 0.95) -> IccResult:
    """ICC(2,1) and ICC(3,1) of every feature, with confidence intervals.

    Parameters
    ----------
    ratings : (n_subjects, n_raters, n_features) array
        ``ratings[i, j, f]`` is feature ``f`` of subject ``i`` measured by rater ``j`` (a reader, or a
        segmentation perturbation). A subject with a missing (NaN) value for a feature is left out of that
        feature's ICC only; features with different missing subjects are computed in separate blocks.
    features : sequence of str, optional
        Feature names (default ``"feature_0"``, ...).
    confidence : float
        Two-sided confidence level of the intervals.

    Returns
    -------
    IccResult
        ``table`` with one row per (feature, ICC type). An ICC is NaN (listed in ``warnings``) when the
        feature is constant over every subject and rater, or fewer than 2 complete subjects remain.

    Raises
    ------
    ImageError
        If ``ratings`` is not 3D, has fewer than 2 raters, or the names do not match the features.

    Notes
    -----
    With the two-way ANOVA mean squares for subjects (MSR), raters (MSC) and error (MSE) over ``n``
    subjects and ``k`` raters:

    ICC(3,1) = (MSR - MSE) / (MSR + (k - 1) MSE)   (consistency; raters fixed)

    ICC(2,1) = (MSR - MSE) / (MSR + (k - 1) MSE + k (MSC - MSE) / n)   (absolute agreement; raters random)

    The ICC(3,1) interval is exact from F = MSR/MSE with (n - 1, (n - 1)(k - 1)) df; the ICC(2,1) interval
    uses Satterthwaite's approximate df (Shrout & Fleiss 1979, eq. 13-14; McGraw & Wong 1996, Table 7).

    References
    ----------
    Shrout PE, Fleiss JL. Intraclass correlations: uses in assessing rater reliability.
    Psychol Bull 1979;86(2):420-428. McGraw KO, Wong SP. Forming inferences about some intraclass
    correlation coefficients. Psychol Methods 1996;1(1):30-46.
    """
    ratings = np.asarray(ratings, dtype=np.float64)
    names = [f"feature_{i}" for i in range(ratings.shape[-1])] if features is None else list(features)
    _check_ratings(ratings, names)
    alpha = 1.0 - confidence
    complete = ~np.isnan(ratings).any(axis=1)  # (n_subjects, n_features)
    patterns, group = np.unique(complete, axis=1, return_inverse=True)
    blocks = []
    for g in range(patterns.shape[1]):
        columns = np.flatnonzero(np.ravel(group) == g)
        blocks.append(_block_frame(ratings[patterns[:, g]][:, :, columns], [names[c] for c in columns], alpha))
    table = pd.concat(blocks, ignore_index=True)
    position = table["feature"].map({name: i for i, name in enumerate(names)})
    table = table.iloc[np.lexsort((table["icc_type"].to_numpy(), position.to_numpy()))].reset_index(drop=True)
    return IccResult(table=table, confidence=confidence, warnings=_warnings(table))


def _block_frame(y: np.ndarray, names: list[str], alpha: float) -> pd.DataFrame:
    """The tidy rows of one complete block ``y`` of shape ``(n, k, p)``."""
    n, k, p = y.shape
    if n < 2:
        results = {t: {c: np.full(p, np.nan) for c in ICC_COLUMNS[2:9]} for t in ICC_TYPES}
    else:
        results = _icc_block(y, alpha)
    frames = [pd.DataFrame({"feature": names, "icc_type": t, **results[t]}) for t in ICC_TYPES]
    frame = pd.concat(frames, ignore_index=True)
    frame["n_subjects"] = n
    frame["n_raters"] = k
    return frame[list(ICC_COLUMNS)]


def _warnings(table: pd.DataFrame) -> tuple[str, ...]:
    messages = []
    undefined = sorted(set(table.loc[table["icc"].isna(), "feature"]))
    if undefined:
        messages.append(f"ICC undefined (constant feature or < 2 complete subjects) for {len(undefined)} "
                        f"feature(s): {', '.join(undefined[:10])}{' ...' if len(undefined) > 10 else ''}")
    full = int(table["n_subjects"].max()) if len(table) else 0
    partial = sorted(set(table.loc[table["n_subjects"] < full, "feature"]))
    if partial:
        messages.append(f"{len(partial)} feature(s) had missing values; their ICC uses fewer than {full} subjects")
    return tuple(messages)


def icc_between(readers: Mapping[str, pd.DataFrame], *, confidence: float = 0.95) -> IccResult:
    """ICC between readers given one feature frame per reader (rows = subjects, columns = features).

    Parameters
    ----------
    readers : mapping of str to DataFrame
        Reader name -> frame indexed by subject (e.g. ``patient_id``). Only the subjects and numeric
        feature columns present in every frame are used, in the first frame's order.
    confidence : float
        Two-sided confidence level of the intervals.

    Raises
    ------
    ImageError
        If fewer than two readers are given or they share no subject or feature.
    """
    frames = list(readers.values())
    if len(frames) < 2:
        raise ImageError(f"ICC between readers needs at least 2 feature frames, got {len(frames)}")
    subjects = [s for s in frames[0].index if all(s in f.index for f in frames[1:])]
    numeric = frames[0].select_dtypes("number").columns
    columns = [c for c in numeric if all(c in f.columns for f in frames[1:])]
    if not subjects or not columns:
        raise ImageError(f"readers {list(readers)} share {len(subjects)} subjects and {len(columns)} feature columns")
    ratings = np.stack([f.loc[subjects, columns].to_numpy(dtype=np.float64) for f in frames], axis=1)
    return icc(ratings, columns, confidence=confidence)
