"""Clinical and pathology data before treatment, with the distributions of the seed's Tables 1 and 2.

Every value is drawn from one patient's generator, so a patient is the same whether it is made alone
(:func:`..phantom.make_exam`) or inside a cohort. The molecular subtype is derived from ER, PR, HER2
and Ki-67 (St Gallen 2013 surrogate definitions) rather than drawn, so it is always consistent with
the receptors; its margins therefore differ from the seed's Table 2, whose luminal share (65%) is
larger than its ER-positive share (44%).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

SPLIT_DATE = dt.date(2023, 7, 1)
"""Temporal validation split of the seed study: exams before it train, exams on/after validate."""

FIRST_DATE, LAST_DATE = dt.date(2021, 1, 1), dt.date(2024, 12, 31)
TRAINING_SHARE = 2.0 / 3.0
"""Share of exams before :data:`SPLIT_DATE` (the seed: 160 of 240)."""


def sample_clinical(rng: np.random.Generator) -> dict[str, object]:
    """Draw one patient's pre-treatment clinical and pathology values (manifest column names)."""
    age = int(np.clip(round(rng.normal(51.5, 9.2)), 25, 79))
    size = float(np.clip(np.exp(rng.normal(np.log(28.0), 0.40)), 8.0, 90.0))
    grade = int(rng.choice([1, 2, 3], p=[0.23, 0.55, 0.22]))
    er = bool(rng.random() < 0.44)
    pr = bool(rng.random() < (0.80 if er else 0.06))
    her2 = bool(rng.random() < 0.375)
    ki67 = float(np.clip(np.exp(rng.normal(np.log(20.0) + 0.35 * (grade - 2) - 0.15 * er, 0.75)), 1.0, 95.0))
    return {
        "exam_date": _exam_date(rng).isoformat(),
        "age_years": age,
        "menopause": "post" if rng.random() < 1.0 / (1.0 + np.exp(-(age - 53.0) / 2.5)) else "pre",
        "bmi_kg_m2": round(float(np.clip(rng.normal(23.7, 3.45), 16.0, 40.0)), 1),
        "side": "left" if rng.random() < 0.49 else "right",
        "tumor_size_mm": round(size, 1),
        "t_stage": "T1" if size <= 20.0 else "T2" if size <= 50.0 else "T3",
        "n_stage": str(rng.choice(["N0", "N1", "N2", "N3"], p=[0.43, 0.35, 0.15, 0.07])),
        "grade": str(grade),
        "er": _positive(er),
        "pr": _positive(pr),
        "her2": _positive(her2),
        "ki67_pct": round(ki67, 1),
        "subtype": subtype(er, pr, her2, ki67),
        "dose_intensity_pct": round(float(np.clip(100.0 - rng.gamma(1.0, 8.0), 55.0, 105.0)), 1),
    }


def subtype(er: bool, pr: bool, her2: bool, ki67_pct: float) -> str:
    """Surrogate molecular subtype (St Gallen 2013) from the receptors and Ki-67 (%)."""
    if er or pr:
        return "luminal_b" if her2 or ki67_pct >= 20.0 else "luminal_a"
    return "her2_enriched" if her2 else "triple_negative"


def _positive(flag: bool) -> str:
    return "positive" if flag else "negative"


def _exam_date(rng: np.random.Generator) -> dt.date:
    before = rng.random() < TRAINING_SHARE
    start, end = (FIRST_DATE, SPLIT_DATE - dt.timedelta(days=1)) if before else (SPLIT_DATE, LAST_DATE)
    return start + dt.timedelta(days=int(rng.integers(0, (end - start).days + 1)))
