"""End to end through the command line: a small synthetic cohort with two readers and two time points.

The phantom writes the cohort (files on disk); ``nacresistance reproducibility`` reads it back, so the
manifest, the variant label maps, the cohort extraction and the ICC are all exercised. The numbers
checked are recomputed independently from the files (voxel counts, pingouin's ICC).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from pingouin_reference import pingouin_icc
from scipy import ndimage

from NACResistanceLib.cli import main
from NACResistanceLib.io import read_manifest, read_mask
from NACResistanceLib.phantom import PhantomProtocol, make_cohort

pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.dropna")]  # inside pingouin

SMALL_RADIOMICS = """\
imageType:
  Original: {}
featureClass:
  shape:
  firstorder:
  glcm:
setting:
  binWidth: 25
  label: 1
"""


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """5 patients, small protocol, second reader and cycle-2 exams; a light radiomics parameter file."""
    folder = tmp_path_factory.mktemp("cohort")
    manifest = make_cohort(5, 3, folder / "cohort", PhantomProtocol.small(second_reader=True, followup=True))
    (folder / "radiomics.yaml").write_text(SMALL_RADIOMICS, encoding="utf-8")
    (folder / "analysis.yaml").write_text(f"radiomics_params: {folder / 'radiomics.yaml'}\n", encoding="utf-8")
    return manifest, folder / "analysis.yaml"


@pytest.fixture(scope="module")
def reproducibility(cohort, tmp_path_factory):
    manifest, config = cohort
    out = tmp_path_factory.mktemp("repro")
    code = main(["reproducibility", str(manifest), "--out", str(out), "--config", str(config), "--perturb",
                 "--jobs", "1", "--progress", "none"])
    return code, out


def _features(out, variant: str) -> pd.DataFrame:
    return pd.read_csv(out / "variants" / variant / "extraction" / "features.csv", index_col=[0, 1])


def test_reader_two_features_come_from_the_second_outline(cohort, reproducibility):
    code, out = reproducibility
    manifest = read_manifest(cohort[0])
    reader2 = _features(out, "reader2")
    for _, row in manifest.frame[manifest.frame["timepoint"] == "baseline"].iterrows():
        if (row["patient_id"], "baseline") not in reader2.index:
            continue  # failed (listed in failures.csv); checked below
        mask = read_mask(manifest.resolve(row["segmentation_reader2"]), row["tumor_segment_reader2"] or "tumor")
        volume = float(sitk.GetArrayFromImage(mask).sum()) * float(np.prod(mask.GetSpacing()))
        assert reader2.loc[(row["patient_id"], "baseline"), "tumor_volume_mm3"] == pytest.approx(volume)
    failures = pd.read_csv(out / "failures.csv")
    assert code == (1 if len(failures) else 0)


def test_reader_icc_equals_pingouin_on_the_variant_features(reproducibility):
    _, out = reproducibility
    reader1, reader2 = _features(out, "reader1"), _features(out, "reader2")
    common = reader1.index.intersection(reader2.index)
    assert len(common) >= 4
    table = pd.read_csv(out / "icc_readers.csv").set_index(["feature", "icc_type"])
    for feature in ("tumor_volume_mm3", "original_firstorder_Mean", "adc_mean"):
        values = np.column_stack([reader1.loc[common, feature], reader2.loc[common, feature]])
        reference = pingouin_icc(values)
        assert table.loc[(feature, "ICC(2,1)"), "icc"] == pytest.approx(reference.loc["ICC(2,1)", "ICC"], rel=1e-9)
        assert table.loc[(feature, "ICC(3,1)"), "icc"] == pytest.approx(reference.loc["ICC(3,1)", "ICC"], rel=1e-9)


def test_dilation_adds_exactly_the_in_plane_layer(cohort, reproducibility):
    _, out = reproducibility
    manifest = read_manifest(cohort[0])
    changes = pd.read_csv(out / "variant_changes.csv").set_index(["variant", "patient_id"])
    cross_in_plane = np.zeros((3, 3, 3), bool)
    cross_in_plane[1] = ndimage.generate_binary_structure(2, 1)  # (z, y, x): spacing 2.5 x 2.5 x 6 mm
    for _, row in manifest.frame[manifest.frame["timepoint"] == "baseline"].iterrows():
        mask = sitk.GetArrayFromImage(read_mask(manifest.resolve(row["segmentation"]), row["tumor_segment"])) > 0
        added = int((ndimage.binary_dilation(mask, cross_in_plane) & ~mask).sum())
        assert changes.loc[("dilate_1voxel", row["patient_id"]), "voxels_added"] == added
        written = read_mask(out / "variants" / "dilate_1voxel" / "masks" / f"{row['patient_id']}__baseline.nrrd", 1)
        assert int(sitk.GetArrayFromImage(written).sum()) == int(mask.sum()) + added


def test_outputs_agree_with_each_other(reproducibility):
    _, out = reproducibility
    decision = pd.read_csv(out / "icc_filter.csv")
    removed = (out / "features_removed.txt").read_text(encoding="utf-8").split()
    assert removed == list(dict.fromkeys(decision.loc[~decision["kept"], "feature"]))
    readers = pd.read_csv(out / "icc_readers.csv")
    rows = decision[decision["source"] == "readers"].set_index("feature")["icc"]
    icc21 = readers[readers["icc_type"] == "ICC(2,1)"].set_index("feature")["icc"]
    pd.testing.assert_series_equal(rows.sort_index(), icc21.sort_index(), check_names=False)
    page = (out / "reproducibility.html").read_text(encoding="utf-8")
    kept = [f for f in dict.fromkeys(decision["feature"]) if f not in set(removed)]
    assert f"keeps {len(kept)} and removes {len(removed)} features" in page
    least = decision.loc[~decision["kept"]].sort_values("icc")["feature"].head(5)
    assert all(name in page for name in least)


def test_a_second_run_resumes_from_the_cache_with_identical_results(cohort, reproducibility):
    manifest, config = cohort
    _, out = reproducibility
    first = pd.read_csv(out / "icc_perturbations.csv")
    cache = sorted((out / "variants").glob("*/extraction/cache/*.json"))
    stamps = {path: path.stat().st_mtime_ns for path in cache}
    main(["reproducibility", str(manifest), "--out", str(out), "--config", str(config), "--perturb",
          "--jobs", "1", "--progress", "none"])
    assert sorted((out / "variants").glob("*/extraction/cache/*.json")) == cache
    assert all(path.stat().st_mtime_ns == stamp for path, stamp in stamps.items())  # nothing re-analysed
    pd.testing.assert_frame_equal(pd.read_csv(out / "icc_perturbations.csv"), first)
