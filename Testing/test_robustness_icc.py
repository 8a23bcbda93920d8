"""ICC(2,1) / ICC(3,1) against Shrout & Fleiss 1979 (published worked example) and pingouin."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pingouin_reference import pingouin_icc

from NACResistanceLib.errors import ImageError
from NACResistanceLib.robustness.icc import ICC_ABSOLUTE, ICC_CONSISTENCY, _mean_squares, icc, icc_between

pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.dropna")  # inside pingouin

# Shrout PE, Fleiss JL. Psychol Bull 1979;86:420-428, Table 2: 6 targets (rows) rated by 4 judges (columns).
SHROUT_FLEISS = np.array(
    [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], dtype=float
)


def test_shrout_fleiss_anova_table_3():
    # Published ANOVA of these data: between-targets MS 11.24, between-judges MS 32.49, residual MS 1.02.
    msr, msc, mse = (float(x[0]) for x in _mean_squares(SHROUT_FLEISS[:, :, None]))
    assert (round(msr, 2), round(msc, 2), round(mse, 2)) == (11.24, 32.49, 1.02)


def test_shrout_fleiss_published_iccs():
    # Published for these data: ICC(2,1) = .29, ICC(3,1) = .71.
    wide = icc(SHROUT_FLEISS[:, :, None]).wide()
    assert round(wide.loc["feature_0", ICC_ABSOLUTE], 2) == 0.29
    assert round(wide.loc["feature_0", ICC_CONSISTENCY], 2) == 0.71


def test_shrout_fleiss_intervals_match_pingouin():
    ours = icc(SHROUT_FLEISS[:, :, None]).table.set_index("icc_type")
    reference = pingouin_icc(SHROUT_FLEISS)
    for kind in (ICC_ABSOLUTE, ICC_CONSISTENCY):
        assert ours.loc[kind, "icc"] == pytest.approx(reference.loc[kind, "ICC"], rel=1e-10)
        assert ours.loc[kind, "f_value"] == pytest.approx(reference.loc[kind, "F"], rel=1e-10)
        assert ours.loc[kind, "p_value"] == pytest.approx(reference.loc[kind, "pval"], rel=1e-8)
        # pingouin rounds its CI95 to 2 decimals.
        np.testing.assert_allclose(ours.loc[kind, ["ci_low", "ci_high"]].to_numpy(float),
                                   reference.loc[kind, "CI95"], atol=0.005 + 1e-12)
    # As printed by pingouin 0.7.0 for these data (2 decimals).
    assert ours.loc[ICC_ABSOLUTE, ["ci_low", "ci_high"]].astype(float).round(2).tolist() == [0.02, 0.76]
    assert ours.loc[ICC_CONSISTENCY, ["ci_low", "ci_high"]].astype(float).round(2).tolist() == [0.34, 0.95]


def test_vectorised_over_features_matches_pingouin(rng):
    n, k, p = 25, 3, 6
    truth = rng.normal(0, 2, size=(n, 1, p))
    ratings = truth + rng.normal(0, 1, size=(n, k, p)) + rng.normal(0, 0.5, size=(1, k, p))
    table = icc(ratings, [f"f{i}" for i in range(p)]).table
    assert list(table["feature"]) == [f"f{i}" for i in range(p) for _ in range(2)]
    for i in range(p):
        reference = pingouin_icc(ratings[:, :, i])
        rows = table[table["feature"] == f"f{i}"].set_index("icc_type")
        for kind in (ICC_ABSOLUTE, ICC_CONSISTENCY):
            assert rows.loc[kind, "icc"] == pytest.approx(reference.loc[kind, "ICC"], rel=1e-10)
            np.testing.assert_allclose(rows.loc[kind, ["ci_low", "ci_high"]].to_numpy(float),
                                       reference.loc[kind, "CI95"], atol=0.005 + 1e-12)


def test_missing_subject_is_left_out_of_that_feature_only(rng):
    ratings = rng.normal(size=(12, 2, 3)) + rng.normal(0, 3, size=(12, 1, 3))
    ratings[4, 1, 1] = np.nan
    result = icc(ratings, ["a", "b", "c"])
    rows = result.table.set_index(["feature", "icc_type"])
    assert rows.loc[("b", ICC_CONSISTENCY), "n_subjects"] == 11
    assert rows.loc[("a", ICC_CONSISTENCY), "n_subjects"] == 12
    complete = np.delete(ratings[:, :, 1], 4, axis=0)
    assert rows.loc[("b", ICC_ABSOLUTE), "icc"] == pytest.approx(pingouin_icc(complete).loc[ICC_ABSOLUTE, "ICC"])
    assert any("missing values" in w for w in result.warnings)


def test_perfect_agreement_and_constant_feature():
    subjects = np.arange(5.0)[:, None]
    ratings = np.stack([np.hstack([subjects, subjects]), np.full((5, 2), 3.0)], axis=-1)
    result = icc(ratings, ["identical", "constant"])
    rows = result.table.set_index(["feature", "icc_type"])
    for kind in (ICC_ABSOLUTE, ICC_CONSISTENCY):
        assert rows.loc[("identical", kind), ["icc", "ci_low", "ci_high"]].tolist() == [1.0, 1.0, 1.0]
        assert np.isnan(rows.loc[("constant", kind), "icc"])
    assert any("constant" in w and "constant feature" in w for w in result.warnings)


def test_icc_between_reader_frames_aligns_subjects_and_columns():
    reader1 = pd.DataFrame(SHROUT_FLEISS[:, :2], index=list("abcdef"), columns=["x", "y"])
    reader2 = pd.DataFrame(SHROUT_FLEISS[::-1, 2:], index=list("fedcba"), columns=["x", "y"]).assign(z=1.0)
    table = icc_between({"r1": reader1, "r2": reader2}).table.set_index(["feature", "icc_type"])
    assert set(table.index.get_level_values("feature")) == {"x", "y"}
    expected = pingouin_icc(SHROUT_FLEISS[:, [0, 2]]).loc[ICC_CONSISTENCY, "ICC"]
    assert table.loc[("x", ICC_CONSISTENCY), "icc"] == pytest.approx(expected)


def test_bad_shapes_raise():
    with pytest.raises(ImageError, match="at least 2 raters"):
        icc(np.zeros((5, 1, 2)))
    with pytest.raises(ImageError, match="n_subjects, n_raters, n_features"):
        icc(np.zeros((5, 2)))
    with pytest.raises(ImageError, match="at least 2 feature frames"):
        icc_between({"r1": pd.DataFrame({"x": [1.0]})})
