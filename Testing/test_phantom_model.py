"""The phantom's generative model without images: rates, group differences, labels, Bayes AUC.

5000 patients from the clinical/latent generator alone (about 2 s). Reference numbers: the seed
study (Shan et al. 2026, Tables 1-4): 24.17% resistant, 160/80 split at 2023-07-01; resistant
patients more often ER+, PR+, HER2+, Ki-67 >= 20%, with lower dose intensity, higher rMK and lower
ADC, and no difference in age, BMI, side or size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from NACResistanceLib import labels
from NACResistanceLib.phantom.patient import make_patient
from NACResistanceLib.phantom.truth import bayes_auc, realised_auc, roi_adc

N_PATIENTS = 5000
pytestmark = pytest.mark.slow
BVALS = np.array([0.0, 800.0, 1000.0])


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    rows = []
    for index in range(N_PATIENTS):
        patient = make_patient(index, seed=2024)
        b = patient.biology
        signal = np.exp(-BVALS * b.d_mm2_s + BVALS**2 * b.d_mm2_s**2 * b.kurtosis / 6.0)
        rows.append({**patient.clinical, **patient.outcome, "patient_id": patient.patient_id,
                     "resistant_true": patient.resistant, "probability": b.probability,
                     "rmk": b.kurtosis / b.reference_kurtosis, "rmd": b.d_mm2_s / b.reference_d_mm2_s,
                     "adc": roi_adc(signal, BVALS), "field_sd": b.field_sd})
    return pd.DataFrame(rows)


def test_resistance_rate_is_calibrated_to_the_seed(cohort):
    # 0.24 +/- 3 binomial standard deviations (0.006)
    assert cohort["resistant_true"].mean() == pytest.approx(0.24, abs=0.018)
    assert cohort["probability"].mean() == pytest.approx(0.24, abs=0.013)  # 3 standard errors


def test_outcome_columns_give_the_drawn_label_through_labels_module(cohort):
    derived = labels.label_cohort(cohort)
    assert (derived["resistant"].astype(bool).to_numpy() == cohort["resistant_true"].to_numpy()).all()
    resistant = derived[derived["resistant"].astype(bool)]
    # most resistant patients are resistant by pathology (RCB-II/III), as designed (85%)
    assert resistant["rcb_class"].isin(["RCB-II", "RCB-III"]).mean() == pytest.approx(0.85, abs=0.04)


def test_pathology_group_differences_point_the_seed_way(cohort):
    groups = cohort.groupby("resistant_true")
    for column, code in (("er", "positive"), ("pr", "positive"), ("her2", "positive")):
        share = groups[column].apply(lambda s, code=code: (s == code).mean())
        assert share[True] - share[False] > 0.08, column
    ki67 = groups["ki67_pct"].apply(lambda s: (s >= 20).mean())
    assert ki67[True] - ki67[False] > 0.15
    dose = groups["dose_intensity_pct"].mean()
    assert dose[False] - dose[True] > 3.0  # seed: 95.67 vs 87.23 %


def test_imaging_group_differences_point_the_seed_way(cohort):
    def standardised_difference(column):
        a, b = cohort.loc[cohort.resistant_true, column], cohort.loc[~cohort.resistant_true, column]
        return (a.mean() - b.mean()) / np.sqrt((a.var() + b.var()) / 2.0)

    assert standardised_difference("rmk") > 0.8  # seed Table 3: higher rMK in resistant tumours
    assert standardised_difference("adc") < -0.6  # seed: lower mean ADC
    assert standardised_difference("field_sd") > 0.8  # more heterogeneous enhancement (entropy, contrast)
    assert standardised_difference("rmd") < 0.0  # opposite to the seed's Table 3 (documented in docs/phantom.md)


def test_baseline_characteristics_do_not_differ(cohort):
    groups = cohort.groupby("resistant_true")
    assert abs(np.diff(groups["age_years"].mean())[0]) < 1.5
    assert abs(np.diff(groups["bmi_kg_m2"].mean())[0]) < 0.6
    assert abs(np.diff(groups["tumor_size_mm"].mean())[0]) < 2.5
    assert abs(np.diff(groups["side"].apply(lambda s: (s == "left").mean()))[0]) < 0.05


def test_clinical_margins_match_table_1(cohort):
    assert cohort["age_years"].mean() == pytest.approx(51.5, abs=0.6)
    assert cohort["bmi_kg_m2"].mean() == pytest.approx(23.7, abs=0.2)
    assert (cohort["menopause"] == "post").mean() == pytest.approx(0.42, abs=0.04)
    assert (cohort["er"] == "positive").mean() == pytest.approx(0.44, abs=0.03)
    assert (cohort["exam_date"] < "2023-07-01").mean() == pytest.approx(2.0 / 3.0, abs=0.02)
    assert cohort["exam_date"].min() >= "2021-01-01" and cohort["exam_date"].max() <= "2024-12-31"


def test_bayes_auc_is_the_expected_auc_of_the_true_probabilities(cohort):
    p = cohort["probability"].to_numpy()
    expected = bayes_auc(p)
    assert 0.85 < expected < 0.95
    # Monte Carlo over label draws agrees with the closed form (standard error ~0.002 for 40 draws)
    rng = np.random.default_rng(5)
    draws = [realised_auc(p, rng.random(len(p)) < p) for _ in range(40)]
    assert np.mean(draws) == pytest.approx(expected, abs=0.004)


def test_bayes_auc_small_exact_example():
    # p = (0.2, 0.8): pairs (i positive, j negative): 0.8*0.8 ordered right, 0.2*0.2 wrong -> 0.64/0.68
    assert bayes_auc(np.array([0.2, 0.8])) == pytest.approx(0.64 / 0.68)
