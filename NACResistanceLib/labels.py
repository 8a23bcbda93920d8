"""Outcome labels: Residual Cancer Burden (Symmans 2007), MRI shrinkage and the resistance rule.

The seed paper prints a garbled RCB formula
(``RCB = 1.4 (d_prim)^0.17 (N_prim)^0.17 [1 + 0.75 d(LN>0.2) NLN]``) that multiplies the nodal term
instead of adding it (so a ypT0 ypN+ case would get RCB = 0, i.e. pCR) and makes it linear and
unbounded. It is NOT used here: :func:`rcb_index` implements Symmans et al., J Clin Oncol
2007;25:4414-4422 (the MD Anderson RCB calculator).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import ClinicalDataError

RCB_I_UPPER = 1.36
"""Largest RCB index of class RCB-I (inclusive, Symmans 2007)."""
RCB_II_UPPER = 3.28
"""Largest RCB index of class RCB-II (inclusive, Symmans 2007)."""
RCB_CLASSES = ("RCB-0", "RCB-I", "RCB-II", "RCB-III")

OUTCOME_COLUMNS = {
    "d1_mm": "rcb_d1_mm",
    "d2_mm": "rcb_d2_mm",
    "cancer_cellularity_pct": "rcb_cellularity_pct",
    "in_situ_pct": "rcb_in_situ_pct",
    "positive_nodes": "rcb_positive_nodes",
    "largest_metastasis_mm": "rcb_largest_metastasis_mm",
}
""":func:`rcb_index` argument -> manifest column (docs/manifest.md)."""


def _check_range(value: float, name: str, low: float, high: float, patient: str) -> float:
    where = f"patient {patient}: " if patient else ""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ClinicalDataError(f"{where}{name} = {value!r} is not a number") from None
    if not (low <= number <= high):  # also rejects NaN
        raise ClinicalDataError(
            f"{where}{name} = {value!r} is outside [{low:g}, {high:g}]; fix the manifest value"
        )
    return number


def rcb_index(
    d1_mm: float,
    d2_mm: float,
    cancer_cellularity_pct: float,
    in_situ_pct: float,
    positive_nodes: float,
    largest_metastasis_mm: float,
    *,
    patient: str = "",
) -> float:
    """Residual Cancer Burden index (Symmans et al. 2007).

    Parameters
    ----------
    d1_mm, d2_mm : float
        The two largest dimensions of the residual tumour bed, mm (>= 0).
    cancer_cellularity_pct : float
        Overall cancer cellularity of the tumour bed, % (0-100).
    in_situ_pct : float
        Share of the cancer that is in situ, % (0-100).
    positive_nodes : float
        Number of positive lymph nodes (a whole number >= 0).
    largest_metastasis_mm : float
        Diameter of the largest nodal metastasis, mm (>= 0).
    patient : str
        Patient identifier, used only in error messages.

    Returns
    -------
    float
        ``1.4 (f_inv d_prim)^0.17 + [4 (1 - 0.75^LN) d_met]^0.17`` with ``d_prim = sqrt(d1 d2)`` and
        ``f_inv = (1 - %CIS/100) %CA/100``; each term is 0 when its base is 0.

    Raises
    ------
    ClinicalDataError
        An input is not a number or out of range, or the nodal inputs contradict each other (positive
        nodes without a metastasis size, or a metastasis without a positive node); the message names
        the patient and the fields.
    """
    d1 = _check_range(d1_mm, "rcb_d1_mm", 0.0, 1000.0, patient)
    d2 = _check_range(d2_mm, "rcb_d2_mm", 0.0, 1000.0, patient)
    ca = _check_range(cancer_cellularity_pct, "rcb_cellularity_pct", 0.0, 100.0, patient)
    cis = _check_range(in_situ_pct, "rcb_in_situ_pct", 0.0, 100.0, patient)
    nodes = _check_range(positive_nodes, "rcb_positive_nodes", 0.0, 200.0, patient)
    d_met = _check_range(largest_metastasis_mm, "rcb_largest_metastasis_mm", 0.0, 1000.0, patient)
    if nodes != math.floor(nodes):
        raise ClinicalDataError(f"patient {patient}: rcb_positive_nodes = {positive_nodes!r} is not a count")
    if nodes == 0 and d_met > 0:
        raise ClinicalDataError(f"patient {patient}: rcb_positive_nodes = 0 but rcb_largest_metastasis_mm = "
                                f"{largest_metastasis_mm!r}: a nodal metastasis needs a positive node; correct one of "
                                "the two (0 positive nodes go with a metastasis of 0 mm)")
    if nodes > 0 and d_met == 0:
        raise ClinicalDataError(f"patient {patient}: rcb_positive_nodes = {positive_nodes!r} but "
                                "rcb_largest_metastasis_mm = 0: positive nodes hold a metastasis of some size; "
                                "enter its diameter (mm) or correct the node count")
    f_inv = (1.0 - cis / 100.0) * (ca / 100.0)
    breast = f_inv * math.sqrt(d1 * d2)
    nodal = 4.0 * (1.0 - 0.75**nodes) * d_met
    return 1.4 * breast**0.17 + nodal**0.17


def rcb_class(index: float) -> str:
    """RCB class of an index: "RCB-0" (= 0), "RCB-I" (<= 1.36), "RCB-II" (<= 3.28) or "RCB-III".

    The boundaries are inclusive upper limits as in Symmans 2007 (RCB-I <= 1.36 < RCB-II <= 3.28 <
    RCB-III); ohsu-qin/qiprofile uses strict ``<`` and differs exactly at 1.36 and 3.28.
    """
    value = float(index)
    if not value >= 0.0:
        raise ClinicalDataError(f"RCB index {index!r} must be a number >= 0")
    if value == 0.0:
        return "RCB-0"
    if value <= RCB_I_UPPER:
        return "RCB-I"
    return "RCB-II" if value <= RCB_II_UPPER else "RCB-III"


def shrinkage(pre_mm: float, post_mm: float, *, patient: str = "") -> float:
    """Fractional shrinkage of the longest MRI diameter, ``1 - post / pre`` (1 = vanished, < 0 = grew)."""
    pre = _check_range(pre_mm, "tumor_size_mm", 1e-9, 1000.0, patient)
    post = _check_range(post_mm, "mri_longest_diameter_post_mm", 0.0, 1000.0, patient)
    return 1.0 - post / pre


@dataclass(frozen=True)
class ResistanceRule:
    """Which criteria make a tumour "resistant"; the default is the seed's (either criterion fires).

    ``min_rcb_class`` "RCB-II" means RCB-II or RCB-III is resistant; None disables the RCB criterion.
    ``shrinkage_below`` 0.30 means shrinkage < 30% is resistant; None disables the MRI criterion.
    """

    min_rcb_class: str | None
    shrinkage_below: float | None

    def __post_init__(self) -> None:
        if self.min_rcb_class is not None and self.min_rcb_class not in RCB_CLASSES:
            raise ClinicalDataError(f"min_rcb_class {self.min_rcb_class!r} is not one of {RCB_CLASSES}")
        if self.min_rcb_class is None and self.shrinkage_below is None:
            raise ClinicalDataError("a resistance rule needs at least one criterion")


@dataclass(frozen=True)
class ResistanceLabel:
    """The label of one tumour and why."""

    resistant: bool
    rcb_fired: bool
    """True when the RCB class reached ``rule.min_rcb_class``."""
    shrinkage_fired: bool
    """True when shrinkage was below ``rule.shrinkage_below``."""

    @property
    def criterion(self) -> str:
        """"rcb", "shrinkage", "rcb+shrinkage" or "none"."""
        fired = [name for name, flag in (("rcb", self.rcb_fired), ("shrinkage", self.shrinkage_fired)) if flag]
        return "+".join(fired) if fired else "none"


def resistance_label(
    rcb_class_name: str | None, shrinkage_fraction: float | None, rule: ResistanceRule | None = None
) -> ResistanceLabel:
    """Apply a :class:`ResistanceRule` (default: RCB-II/III or shrinkage < 30%) to one tumour.

    A criterion whose input is None while the rule needs it raises :class:`ClinicalDataError`.
    """
    rule = rule or default_rule()
    rcb_fired = shrink_fired = False
    if rule.min_rcb_class is not None:
        if rcb_class_name not in RCB_CLASSES:
            raise ClinicalDataError(f"RCB class {rcb_class_name!r} is not one of {RCB_CLASSES}")
        rcb_fired = RCB_CLASSES.index(rcb_class_name) >= RCB_CLASSES.index(rule.min_rcb_class)
    if rule.shrinkage_below is not None:
        if shrinkage_fraction is None or not np.isfinite(shrinkage_fraction):
            raise ClinicalDataError("the resistance rule needs the MRI shrinkage, which is missing")
        shrink_fired = shrinkage_fraction < rule.shrinkage_below
    return ResistanceLabel(rcb_fired or shrink_fired, rcb_fired, shrink_fired)


def _label_row(row: pd.Series, patient: str, rule: ResistanceRule) -> dict[str, object]:
    missing = [c for c in (*OUTCOME_COLUMNS.values(), "tumor_size_mm", "mri_longest_diameter_post_mm")
               if pd.isna(row.get(c))]
    if missing:
        raise ClinicalDataError(f"patient {patient}: outcome column(s) {missing} are empty; "
                                "fill them or drop the patient from training")
    args = {arg: row[col] for arg, col in OUTCOME_COLUMNS.items()}
    index = rcb_index(**args, patient=patient)
    klass = rcb_class(index)
    shrink = shrinkage(row["tumor_size_mm"], row["mri_longest_diameter_post_mm"], patient=patient)
    label = resistance_label(klass, shrink, rule)
    return {"rcb_index": index, "rcb_class": klass, "shrinkage": shrink,
            "resistant": int(label.resistant), "criterion": label.criterion}


def label_cohort(frame: pd.DataFrame, rule: ResistanceRule | None = None) -> pd.DataFrame:
    """Label every exam of a manifest frame from its outcome columns (docs/manifest.md).

    Parameters
    ----------
    frame : DataFrame
        Manifest rows with ``patient_id``, the ``rcb_*`` columns, ``tumor_size_mm`` (mm) and
        ``mri_longest_diameter_post_mm`` (mm). The seed's garbled RCB formula is not used.
    rule : ResistanceRule, optional
        Default: resistant if RCB-II/III or shrinkage < 30%.

    Returns
    -------
    DataFrame
        Indexed like ``frame``; columns ``patient_id``, ``rcb_index``, ``rcb_class``, ``shrinkage``
        (fraction), ``resistant`` (0/1) and ``criterion`` (which criterion fired).
    """
    rule = rule or default_rule()
    rows = [
        {"patient_id": str(row.get("patient_id", i)), **_label_row(row, str(row.get("patient_id", i)), rule)}
        for i, row in frame.iterrows()
    ]
    columns = ["patient_id", "rcb_index", "rcb_class", "shrinkage", "resistant", "criterion"]
    return pd.DataFrame(rows, index=frame.index, columns=columns)


def default_rule() -> ResistanceRule:
    """The seed's rule as ``params/study.yaml`` sets it (RCB-II or worse, or shrinkage below 30 %)."""
    from .config.study import default_study_config

    return default_study_config().resistance
