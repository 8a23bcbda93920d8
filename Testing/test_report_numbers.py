"""Numbers the study step derives for the report: ROC bands, the Rad-score formula, nomogram scales, truth helpers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from NACResistanceLib import stats, study_numbers
from NACResistanceLib.models import RadScore, make_model
from NACResistanceLib.phantom.recovery import find_truth
from NACResistanceLib.report import sections
from NACResistanceLib.stats import roc_band


def test_band_curve_is_the_roc_curve_of_the_statistics_library(rng):
    y = rng.integers(0, 2, 120)
    score = y * 0.8 + rng.normal(size=120)
    band = roc_band.roc_band(y, score, n_boot=50, seed=1)
    reference = stats.roc_curve_frame(y, score)
    fpr, tpr = 1 - reference["specificity"].to_numpy(), reference["sensitivity"].to_numpy()
    expected = [tpr[fpr <= f + 1e-12].max() for f in band["fpr"]]
    np.testing.assert_allclose(band["tpr"], expected, rtol=0, atol=1e-12)
    assert (band["tpr_low"] <= band["tpr_high"]).all()


def test_perfect_separation_gives_a_band_of_ones():
    y = np.array([0] * 20 + [1] * 10)
    band = roc_band.roc_band(y, np.arange(30.0), n_boot=30, seed=0)
    assert (band[["tpr", "tpr_low", "tpr_high"]].to_numpy() == 1.0).all()


def test_band_is_reproducible_and_covers_the_true_binormal_curve():
    rng = np.random.default_rng(7)
    mu, grid = 1.2, np.array([0.1, 0.2, 0.4])
    truth = norm.cdf(mu + norm.ppf(grid))  # binormal ROC: TPR = Φ(μ + Φ⁻¹(FPR))
    covered = 0
    for _ in range(40):
        y = np.r_[np.zeros(80), np.ones(80)]
        score = np.r_[rng.normal(0, 1, 80), rng.normal(mu, 1, 80)]
        band = roc_band.roc_band(y, score, n_boot=200, seed=3, fpr_grid=grid)
        covered += ((band["tpr_low"] <= truth) & (truth <= band["tpr_high"])).sum()
    assert 0.85 <= covered / (40 * grid.size) <= 1.0  # pointwise 95% bands, 120 checks
    again = roc_band.roc_band(y, score, n_boot=200, seed=3, fpr_grid=grid)
    pd.testing.assert_frame_equal(band, again)


def test_rad_score_formula_is_written_with_signs():
    frame = pd.DataFrame({"feature": ["(intercept)", "adc_mean", "dki_rMK"], "coefficient": [0.5, -1200.0, 2.25]})
    assert sections.rad_score_formula(frame) == "Rad-score = 0.5 − 1200 × adc_mean + 2.25 × dki_rMK"


def test_nomogram_terms_use_training_percentiles_and_binary_ranges(rng):
    radscore = RadScore(0.1, (("adc_mean", -900.0),))
    model = make_model("combined", -1.0, [("rad_score", 1.5), ("er_positive", 0.9)], radscore=radscore,
                       threshold=0.3, training={"data": "test", "n_patients": 50, "n_resistant": 10})
    values = pd.DataFrame({"rad_score": rng.normal(size=50), "er_positive": rng.integers(0, 2, 50).astype(float)})
    terms = study_numbers.nomogram_terms(model, values).set_index("term")
    low, high = np.percentile(values["rad_score"], [1, 99])
    assert terms.loc["rad_score", ["low", "high"]].tolist() == pytest.approx([low, high])
    assert terms.loc["er_positive", ["low", "high", "coefficient"]].tolist() == [0.0, 1.0, 0.9]


def test_truth_is_found_beside_a_manifest(tmp_path):
    (tmp_path / "truth").mkdir()
    manifest = tmp_path / "manifest.csv"
    assert find_truth(manifest) is None
    (tmp_path / "truth" / "truth.json").write_text("{}")
    (tmp_path / "truth" / "truth.csv").write_text("patient_id\n")
    assert find_truth(manifest) == tmp_path / "truth"
