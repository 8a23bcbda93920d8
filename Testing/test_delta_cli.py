"""Phantom -> ``reproducibility`` -> ``delta`` end to end: two readers, a baseline and a cycle-2 exam.

``delta`` extracts the features itself and applies the ICC filter ``reproducibility`` decided, so the
manifest, the cohort runner, the segmentation variants, the delta features and three full studies are
exercised. The checks recompute the numbers from the files: tumour volumes from the segmentations,
AUCs with scikit-learn, the funnel's input from the ICC filter decision.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from sklearn.metrics import roc_auc_score

from NACResistanceLib.cli import main
from NACResistanceLib.io import read_manifest, read_mask
from NACResistanceLib.phantom import PhantomProtocol, make_cohort
from NACResistanceLib.robustness import read_decision

pytestmark = pytest.mark.slow

SMALL_RADIOMICS = """\
imageType:
  Original: {}
featureClass:
  shape:
  firstorder:
setting:
  binWidth: 25
  label: 1
"""
FAST_STUDY = """\
validation:
  n_boot_optimism: 0
  n_boot_performance: 20
  cv_folds: 3
"""


@pytest.fixture(scope="module")
def delta_run(tmp_path_factory):
    """Phantom (two readers, two time points) -> reproducibility (readers) -> delta with its ICC filter."""
    folder = tmp_path_factory.mktemp("delta")
    protocol = PhantomProtocol.small(followup=True, second_reader=True)
    manifest = make_cohort(24, 5, folder / "cohort", protocol, jobs=2)
    (folder / "radiomics.yaml").write_text(SMALL_RADIOMICS, encoding="utf-8")
    (folder / "analysis.yaml").write_text(f"radiomics_params: {folder / 'radiomics.yaml'}\n", encoding="utf-8")
    (folder / "study.yaml").write_text(FAST_STUDY, encoding="utf-8")
    common = ["--config", str(folder / "analysis.yaml"), "--jobs", "2", "--progress", "none"]
    main(["reproducibility", str(manifest), "--out", str(folder / "repro"), *common])
    out = folder / "out"
    code = main(["delta", str(manifest), "--out", str(out), "--study-config", str(folder / "study.yaml"),
                 "--icc-filter", str(folder / "repro" / "icc_filter.csv"), *common])
    return code, manifest, out, read_decision(folder / "repro" / "icc_filter.csv")


def _volume_mm3(manifest, row) -> float:
    mask = read_mask(manifest.resolve(row["segmentation"]), row["tumor_segment"])
    return float(sitk.GetArrayFromImage(mask).sum()) * float(np.prod(mask.GetSpacing()))


def test_delta_volume_equals_the_change_of_the_segmented_volume(delta_run):
    code, manifest_path, out, _ = delta_run
    manifest = read_manifest(manifest_path)
    deltas = pd.read_csv(out / "delta_features.csv", index_col=0)
    assert len(deltas) >= 12
    rows = manifest.frame.set_index(["patient_id", "timepoint"])
    for patient in deltas.index:
        before = _volume_mm3(manifest, rows.loc[(patient, "baseline")])
        after = _volume_mm3(manifest, rows.loc[(patient, "cycle2")])
        assert deltas.loc[patient, "delta_tumor_volume_mm3"] == pytest.approx(after - before)
        assert deltas.loc[patient, "reldelta_tumor_volume_mm3"] == pytest.approx((after - before) / before)
    failures = pd.read_csv(out / "extraction" / "failures.csv")
    assert code == (1 if len(failures) else 0)


def test_aucs_match_scikit_learn_on_the_written_predictions(delta_run):
    _, _, out, _ = delta_run
    predictions = pd.read_csv(out / "delta_predictions.csv", index_col=0)
    aucs = pd.read_csv(out / "delta_auc.csv", index_col=0)
    assert list(aucs.index) == ["baseline", "followup", "delta"]
    for name in aucs.index:
        assert aucs.loc[name, "auc"] == pytest.approx(roc_auc_score(predictions["resistant"], predictions[name]))
    tests = pd.read_csv(out / "delta_delong.csv", index_col=[0, 1])
    assert tests.loc[("delta", "baseline"), "difference"] == pytest.approx(
        aucs.loc["delta", "auc"] - aucs.loc["baseline", "auc"])
    assert "Delta RS" in (out / "delta.html").read_text(encoding="utf-8")


def test_icc_filter_is_the_first_funnel_step_and_removes_features_and_their_deltas(delta_run):
    _, _, out, decision = delta_run
    removed = set(decision.removed)
    assert removed and decision.kept  # the two-reader ICC removes some features and keeps others
    features = pd.read_csv(out / "extraction" / "features.csv", index_col=[0, 1])
    deltas = pd.read_csv(out / "delta_features.csv", index_col=0)
    complete = deltas.columns[deltas.notna().all().to_numpy()]
    unreproducible = {f"{p}{name}" for p in ("delta_", "reldelta_") for name in removed}
    for name, columns, dropped in (("baseline", list(features.columns), removed),
                                   ("delta", list(complete), unreproducible)):
        first = pd.read_csv(out / name / "funnel.csv").iloc[0]
        n_removed = len([c for c in columns if c in dropped])
        assert (first["step"], first["n_in"], first["n_removed"]) == ("icc_filter", len(columns), n_removed)
        assert first["n_out"] == len(columns) - n_removed
