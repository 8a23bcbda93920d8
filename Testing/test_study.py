"""run_study end to end on a small synthetic cohort with a known signal, config loading, and write()."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from NACResistanceLib.config import load_analysis_config, load_study_config
from NACResistanceLib.errors import ClinicalDataError, ConfigError
from NACResistanceLib.models import load
from NACResistanceLib.study import run_study


def synthetic_cohort(rng: np.random.Generator, n: int = 120, p: int = 40):
    """Manifest rows (clinical + outcome columns) and a feature table with a known signal.

    Resistance follows logit = -1.2 + 1.2·er_positive + 1.6·z0 - 1.2·z1 (f000, f001 = z + noise); resistant patients get
    RCB-III pathology and < 30% shrinkage, sensitive ones pCR and 60% shrinkage.
    """
    er = rng.integers(0, 2, n)
    latent = rng.normal(size=(n, 2))
    resistant = rng.uniform(size=n) < 1 / (1 + np.exp(-(-1.2 + 1.2 * er + 1.6 * latent[:, 0] - 1.2 * latent[:, 1])))
    size = rng.uniform(15, 50, n)
    manifest = pd.DataFrame({
        "patient_id": [f"P{i:03d}" for i in range(n)], "timepoint": "baseline",
        "exam_date": pd.date_range("2021-01-04", "2024-12-20", periods=n).strftime("%Y-%m-%d"),
        "age_years": rng.normal(52, 9, n).round(), "menopause": rng.choice(["pre", "post"], n),
        "bmi_kg_m2": rng.normal(23.5, 3, n).round(1), "side": rng.choice(["left", "right"], n),
        "tumor_size_mm": size.round(1), "t_stage": rng.choice(["T1", "T2", "T3"], n),
        "n_stage": rng.choice(["N0", "N1", "N2"], n), "grade": rng.choice([1, 2, 3], n),
        "er": np.where(er == 1, "positive", "negative"), "pr": rng.choice(["positive", "negative"], n),
        "her2": rng.choice(["positive", "negative"], n), "ki67_pct": rng.uniform(1, 60, n).round(),
        "subtype": rng.choice(["luminal_a", "luminal_b", "her2_enriched", "triple_negative"], n),
        "dose_intensity_pct": rng.normal(93, 8, n).clip(50, 110).round(1),
        "rcb_d1_mm": np.where(resistant, 30.0, 0.0), "rcb_d2_mm": np.where(resistant, 20.0, 0.0),
        "rcb_cellularity_pct": np.where(resistant, 50.0, 0.0), "rcb_in_situ_pct": 0.0,
        "rcb_positive_nodes": np.where(resistant, 3, 0), "rcb_largest_metastasis_mm": np.where(resistant, 8.0, 0.0),
        "mri_longest_diameter_post_mm": np.where(resistant, 0.9, 0.4) * size,
    })
    noise = rng.normal(size=(n, p))
    noise[:, :2] = latent + 0.2 * rng.normal(size=(n, 2))
    noise[:, 2] = noise[:, 0] * 0.99 + 0.01 * rng.normal(size=n)  # near-duplicate of f000
    noise[:, 3] = 1.0  # constant
    features = pd.DataFrame(noise, columns=[f"f{j:03d}" for j in range(p)], index=manifest["patient_id"])
    features = features.rename(columns={"f004": "dki_rMK"})
    return manifest, features, resistant.astype(int)


SMALL = {"validation": {"n_boot_optimism": 6, "n_boot_performance": 50, "cv_folds": 3},
         "selection": {"n_lambda": 30}, "data_description": "synthetic test cohort"}


@pytest.fixture(scope="module")
def result():
    manifest, features, _ = synthetic_cohort(np.random.default_rng(7))
    return run_study(features, manifest, SMALL, analysis=load_analysis_config(), seed=3)


def test_labels_split_and_funnel(result):
    cohort = result.cohort
    assert set(cohort["cohort"]) == {"training", "validation"}
    assert (cohort.loc[cohort["cohort"] == "training", "exam_date"] < "2023-07-01").all()
    assert set(cohort.loc[cohort["resistant"] == 1, "rcb_class"]) == {"RCB-III"}
    funnel = result.funnel.set_index("step")
    assert funnel.loc["near_zero_variance", "n_removed"] == 1
    assert funnel.loc["correlation", "n_removed"] >= 1
    assert funnel.loc["lasso", "n_out"] == len(result.rad_score) - 1
    assert {"f000", "f001"} <= set(result.rad_score["feature"])


def test_models_and_tables(result):
    assert set(result.models) == {"clinical", "radiomics", "combined"}
    candidates = set(result.config.models.clinical_candidates)
    assert {t.name for t in result.models["clinical"].terms} <= candidates
    entered = result.stepwise.query("action == 'enter'")
    assert (entered["p_value"] < 0.05).all()
    assert "rad_score" in [t.name for t in result.models["combined"].terms]
    t5 = result.table5.set_index(["cohort", "model"])
    assert t5.loc[("training", "combined"), "auc"] > 0.8
    assert t5.loc[("validation", "combined"), "auc"] > 0.7
    assert np.isnan(t5.loc[("training", "clinical"), "p_vs_clinical"])
    assert result.table1["variable"].iloc[0] == "age_years"
    assert set(result.table2["variable"]) >= {"er", "ki67_ge_20", "dose_intensity_pct"}
    assert result.table3["variable"].tolist() == ["dki_rMK"]
    assert set(result.table4["model"]) == {"clinical", "radiomics", "combined"}
    assert set(result.table6["metric"]) == {"auc", "sensitivity", "specificity", "auc_optimism"}
    assert result.optimism["n_replicates"].min() >= 5
    assert set(result.decision_curves["strategy"]) == {"treat_all", "treat_none", "clinical", "radiomics", "combined"}


def test_thresholds_fixed_on_training(result):
    predictions = result.predictions
    for name, model in result.models.items():
        resistant = predictions[f"{name}_probability"] >= model.threshold
        assert (predictions[f"{name}_class"] == np.where(resistant, "resistant", "sensitive")).all()
    t5 = result.table5
    assert (t5.groupby("model")["threshold"].nunique() == 1).all()


def test_write_outputs_every_table_and_loadable_models(result, tmp_path):
    out = result.write(tmp_path)
    for name in result.TABLES:
        assert (out / f"{name}.csv").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cohorts"]["training"]["n"] + summary["cohorts"]["validation"]["n"] == 120
    model = load(out / "models" / "combined.json")
    assert model.training["data"] == "synthetic test cohort"
    manifest, features, _ = synthetic_cohort(np.random.default_rng(7))
    row = {**features.iloc[0].to_dict(), **manifest.iloc[0].to_dict()}
    assert model.predict(row).probability == pytest.approx(result.predictions["combined_probability"].iloc[0])


def test_config_rejects_unknown_keys_and_bad_values():
    with pytest.raises(ConfigError, match="unknown study key"):
        load_study_config({"validation": {"n_boots": 5}})
    with pytest.raises(ConfigError, match="lasso_choice"):
        load_study_config({"selection": {"lasso_choice": "best"}})
    assert load_study_config().split_date == "2023-07-01"


def test_missing_clinical_value_names_patient_and_variable():
    manifest, features, _ = synthetic_cohort(np.random.default_rng(1), n=60, p=10)
    manifest.loc[3, "er"] = np.nan
    with pytest.raises(ClinicalDataError, match=r"P003.*er_positive"):
        run_study(features, manifest, SMALL)


def test_library_defaults_are_the_yaml_defaults_and_written_once():
    # Defaults live only in params/study.yaml: the section classes have no field defaults, and the
    # library-level fallbacks (SelectionFunnel(), fit_models(), label_cohort()) read the YAML.
    import dataclasses

    from NACResistanceLib.config import ValidationSettings, default_study_config
    from NACResistanceLib.labels import ResistanceRule, default_rule
    from NACResistanceLib.models import ModelSettings
    from NACResistanceLib.selection import SelectionSettings

    for cls in (SelectionSettings, ModelSettings, ValidationSettings, ResistanceRule):
        assert all(f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
                   for f in dataclasses.fields(cls)), cls
    config = load_study_config()
    assert config == default_study_config()
    assert default_rule() == ResistanceRule("RCB-II", 0.30) == config.resistance
    assert config.selection.n_folds == 10 and config.models.p_remove == 0.10
