"""Pharmacokinetics with a measured AIF (``aif: measured``, manifest column ``aif_segment``) and a T1 map
(``t1_source: map``, manifest column ``t1_map``).

Truth: a small exam whose tumour follows the (extended) Tofts model with known Ktrans, ve, vp, driven by a
known AIF that is neither Parker's amplitude nor its arrival; its signal comes through the SPGR equation
with a voxelwise T1 (linear in space, on a coarser grid than the DCE, so linear interpolation is exact),
and an artery's signal from the same AIF through the SPGR equation with the configured blood T1.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from NACResistanceLib import dce, io
from NACResistanceLib.cli import main as cli_main
from NACResistanceLib.config import load_analysis_config
from NACResistanceLib.errors import AcquisitionError
from NACResistanceLib.io.exam import DceSeries, Exam
from NACResistanceLib.pipeline import analyze_exam
from NACResistanceLib.pipeline.pk_stage import MIN_AIF_VOXELS

TIMES_S = np.arange(0.0, 241.0, 4.0)
"""61 phases 4 s apart: the first pass is sampled, so extended Tofts is supported."""
TR_MS, FLIP_ANGLE_DEG = 4.5, 15.0
PK = load_analysis_config().pharmacokinetics
"""The shipped defaults: hematocrit 0.42, blood T1 1664 ms, r1 5.0 s⁻¹mM⁻¹."""
SIZE_XYZ, SPACING_MM = (12, 10, 3), (1.0, 1.0, 2.0)
TUMOR = (slice(0, 3), slice(3, 7), slice(3, 8))
"""(z, y, x) block of 60 tumour voxels."""
ARTERY = (slice(0, 2), slice(0, 3), slice(10, 12))
"""(z, y, x) block of 12 artery voxels."""
KEP_PER_MIN = 0.8
"""One kep for the whole tumour, so the tumour-mean curve is itself a model curve (mean Ktrans, mean vp)."""
M0_TISSUE, M0_BLOOD = 1000.0, 1500.0


def true_plasma_aif(times_s: np.ndarray) -> np.ndarray:
    """The patient's plasma AIF, mM: 0.7 × Parker's blood curve arriving at 12 s, made plasma (Hct 0.42)."""
    return dce.plasma_concentration(0.7 * dce.parker_blood(times_s, 12.0), PK.hematocrit)


def t1_field_ms(x_mm, y_mm, z_mm):
    """Native tissue T1, ms: linear in space (900–1500 ms over the tumour), far from the assumed 1400 ms."""
    return 800.0 + 60.0 * x_mm + 25.0 * y_mm + 10.0 * z_mm


@dataclasses.dataclass(frozen=True)
class Truth:
    ktrans: np.ndarray
    """(z, y, x) on the DCE grid, 1/min (0 outside the tumour)."""
    ve: np.ndarray
    vp: np.ndarray
    tumor: np.ndarray


def _grid_image(array: np.ndarray, spacing=SPACING_MM, origin=(0.0, 0.0, 0.0)) -> sitk.Image:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    return image


def _t1_map_on_coarse_grid() -> sitk.Image:
    """The T1 field sampled on a 2 mm grid offset from (and covering) the DCE grid."""
    origin, spacing, size = np.array([-1.5, -1.5, -1.0]), np.array([2.0, 2.0, 2.0]), (9, 8, 4)
    z, y, x = np.meshgrid(*[origin[a] + spacing[a] * np.arange(size[a]) for a in (2, 1, 0)], indexing="ij")
    return _grid_image(t1_field_ms(x, y, z), tuple(spacing), tuple(origin))


def make_exam(model: str) -> tuple[Exam, Truth]:
    """The in-memory exam described in the module docstring, and the true parameter maps."""
    shape = SIZE_XYZ[::-1]
    z, y, x = np.meshgrid(*[np.arange(n) * SPACING_MM[a] for n, a in zip(shape, (2, 1, 0))], indexing="ij")
    tumor = np.zeros(shape, bool)
    tumor[TUMOR] = True
    ktrans = np.where(tumor, 0.08 + 0.02 * x, 0.0)
    vp = np.where(tumor, 0.0 if model == "tofts" else 0.02 + 0.005 * y, 0.0)
    ve = ktrans / KEP_PER_MIN
    cp = true_plasma_aif(TIMES_S)
    tissue = np.zeros(shape + (len(TIMES_S),))
    tissue[tumor] = dce.model_concentration(model, TIMES_S, cp, ktrans_per_min=ktrans[tumor], ve=ve[tumor],
                                            vp=vp[tumor])
    spgr = {"tr_ms": TR_MS, "flip_angle_deg": FLIP_ANGLE_DEG, "relaxivity_per_mm_s": PK.relaxivity_per_mm_s}
    signal = dce.spgr_signal(tissue, t1_ms=t1_field_ms(x, y, z)[..., None], m0=M0_TISSUE, **spgr)
    artery = np.zeros(shape, bool)
    artery[ARTERY] = True
    blood = cp * (1.0 - PK.hematocrit)
    signal[artery] = dce.spgr_signal(blood, t1_ms=PK.blood_t1_ms, m0=M0_BLOOD, **spgr)
    phases = tuple(_grid_image(signal[..., i]) for i in range(len(TIMES_S)))
    exam = Exam(patient_id="P1", tumor_mask=_grid_image(tumor.astype(np.uint8)),
                dce=DceSeries(phases, tuple(TIMES_S), tr_ms=TR_MS, flip_angle_deg=FLIP_ANGLE_DEG),
                aif_mask=_grid_image(artery.astype(np.uint8)), t1_map=_t1_map_on_coarse_grid())
    return exam, Truth(ktrans, ve, vp, tumor)


def pk_config(**options) -> dict:
    return {"radiomics": False, "pharmacokinetics": {"mode": "required", "aif": "measured", "t1_source": "map",
                                                     **options}}


def tumour_map(analysis, name: str, truth: Truth) -> np.ndarray:
    """Values of map ``name`` at the tumour voxels (the map box is the whole small grid here)."""
    values = sitk.GetArrayFromImage(analysis.maps[name]).astype(np.float64)
    assert values.shape == truth.tumor.shape
    return values[truth.tumor]


@pytest.mark.parametrize("model", ["tofts", "extended_tofts"])
def test_measured_aif_and_t1_map_recover_the_truth(model):
    exam, truth = make_exam(model)
    analysis = analyze_exam(exam, pk_config(model=model))
    f = analysis.features
    assert tumour_map(analysis, "pk_ktrans", truth) == pytest.approx(truth.ktrans[truth.tumor], rel=1e-4)
    assert tumour_map(analysis, "pk_ve", truth) == pytest.approx(truth.ve[truth.tumor], rel=1e-4)
    assert f["pk_ktrans_mean"] == pytest.approx(truth.ktrans[truth.tumor].mean(), rel=1e-4)
    assert f["pk_roi_ktrans"] == pytest.approx(truth.ktrans[truth.tumor].mean(), rel=1e-4)
    assert f["pk_roi_ve"] == pytest.approx(truth.ktrans[truth.tumor].mean() / KEP_PER_MIN, rel=1e-4)
    assert f["pk_roi_kep"] == pytest.approx(KEP_PER_MIN, rel=1e-4)
    if model == "extended_tofts":
        assert tumour_map(analysis, "pk_vp", truth) == pytest.approx(truth.vp[truth.tumor], abs=1e-5)
        assert f["pk_roi_vp"] == pytest.approx(truth.vp[truth.tumor].mean(), abs=1e-5)
    assert f["pk_roi_r_squared"] > 1 - 1e-6 and f["pk_poor_fit_fraction"] == 0.0
    assert "pk_roi_delay_s" not in f  # a measured AIF is used as sampled: no arrival is fitted
    assert "AIF measured in the arterial segment" in analysis.descriptions["pk_roi_ktrans"]
    assert "T1 map" in analysis.descriptions["pk_ktrans_mean"]
    provenance = analysis.provenance["pharmacokinetics"]
    assert (provenance["aif"], provenance["t1_source"], provenance["aif_delay_s"]) == ("measured", "map", 0.0)
    assert "not searched" in provenance["aif_delay"] and "baseline_t1_ms" not in provenance
    assert (provenance["aif_voxels"], provenance["blood_t1_ms"]) == (12, PK.blood_t1_ms)
    assert provenance["aif_peak_plasma_mm"] == pytest.approx(np.max(true_plasma_aif(TIMES_S)), rel=1e-9)
    assert provenance["t1_map"]["resampling"] == "linear"
    assert (provenance["t1_map"]["excluded_voxels"], provenance["t1_map"]["excluded_tumour_voxels"]) == (0, 0)
    assert not [w for w in analysis.warnings if "pk_" in w or "T1" in w]


@pytest.mark.parametrize("aif, t1_source, low, high", [
    ("parker", "assumed", 0.5, 0.7),    # population AIF and the assumed 1400 ms (the default path): 0.61
    ("measured", "assumed", 0.8, 0.9),  # right AIF; assumed T1 above the tumour's 1055–1410 ms: 0.87
    ("parker", "map", 0.65, 0.75),      # right T1; population AIF 1/0.7 times the patient's: 0.70
])
def test_population_aif_or_assumed_t1_is_biased_on_the_same_exam(aif, t1_source, low, high):
    """The same exam through the other inputs: Ktrans is 13–40 % low, so the test above can fail."""
    exam, truth = make_exam("tofts")
    analysis = analyze_exam(exam, pk_config(aif=aif, t1_source=t1_source))
    ratio = analysis.features["pk_ktrans_mean"] / truth.ktrans[truth.tumor].mean()
    assert low < ratio < high
    provenance = analysis.provenance["pharmacokinetics"]
    assert (provenance["aif"], provenance["t1_source"]) == (aif, t1_source)
    assert ("baseline_t1_ms" in provenance) == (t1_source == "assumed")
    if aif == "parker":
        assert "pk_roi_delay_s" in analysis.features and "searched" in provenance["aif_delay"]
        assert "Parker 2006 population AIF" in analysis.descriptions["pk_roi_ktrans"]


def test_t1_map_voxels_without_a_usable_value_are_excluded_and_counted():
    exam, truth = make_exam("tofts")
    z, y, x = np.meshgrid(*[np.arange(n) * SPACING_MM[a] for n, a in zip(SIZE_XYZ[::-1], (2, 1, 0))], indexing="ij")
    t1 = t1_field_ms(x, y, z)
    t1[1, 4, 4], t1[1, 4, 5], t1[2, 5, 6], t1[0, 0, 0] = 0.0, -5.0, np.nan, np.inf  # 3 in the tumour, 1 outside
    analysis = analyze_exam(dataclasses.replace(exam, t1_map=_grid_image(t1)), pk_config())
    provenance = analysis.provenance["pharmacokinetics"]["t1_map"]
    assert provenance == {"resampling": "none (DCE grid)", "excluded_voxels": 4, "excluded_tumour_voxels": 3,
                          "tumour_median_t1_ms": pytest.approx(float(np.median(t1[truth.tumor & (t1 > 0)])))}
    assert any(w.startswith("3 of 60 tumour voxels have no finite positive T1") for w in analysis.warnings)
    fitted = tumour_map(analysis, "pk_ktrans", truth)
    assert np.count_nonzero(np.isnan(fitted)) == 3
    usable = np.isfinite(fitted)
    assert fitted[usable] == pytest.approx(truth.ktrans[truth.tumor][usable], rel=1e-4)


def _replace_artery_signal(exam: Exam, signal_per_phase) -> Exam:
    artery = sitk.GetArrayFromImage(exam.aif_mask) != 0
    phases = []
    for phase, value in zip(exam.dce.phases, signal_per_phase):
        array = sitk.GetArrayFromImage(phase)
        array[artery] = value
        phases.append(_grid_image(array))
    return dataclasses.replace(exam, dce=dataclasses.replace(exam.dce, phases=tuple(phases)))


def _mask_with(voxels: int) -> sitk.Image:
    mask = np.zeros(SIZE_XYZ[::-1], np.uint8)
    mask.reshape(-1)[:voxels] = 1
    return _grid_image(mask)


@pytest.mark.parametrize("change, message", [
    (lambda e: dataclasses.replace(e, aif_mask=None), r"no arterial segment for aif: measured \(manifest column aif_segment\)"),
    (lambda e: dataclasses.replace(e, aif_mask=_mask_with(0)), r"aif_segment\) has 0 voxels on the DCE grid"),
    (lambda e: dataclasses.replace(e, aif_mask=_mask_with(MIN_AIF_VOXELS - 1)),
     rf"has {MIN_AIF_VOXELS - 1} voxels on the DCE grid; a measured AIF needs at least {MIN_AIF_VOXELS}"),
    (lambda e: _replace_artery_signal(e, np.full(len(TIMES_S), 500.0)), "never rises above its pre-contrast mean"),
    (lambda e: _replace_artery_signal(e, np.r_[500.0, np.full(len(TIMES_S) - 1, 1e6)]),
     "above what an SPGR acquisition with blood T1 1664 ms can give"),
    (lambda e: dataclasses.replace(e, t1_map=None), r"no T1 map for t1_source: map \(manifest column t1_map\)"),
    (lambda e: dataclasses.replace(e, t1_map=_t1_map_on_coarse_grid() / 1000.0), "give the map in ms"),
])
def test_unusable_inputs_are_refused_before_fitting(change, message):
    """required: AcquisitionError naming the input; auto: the pk_* values omitted with the same reason."""
    exam = change(make_exam("tofts")[0])
    with pytest.raises(AcquisitionError, match="Tofts model is required by the analysis configuration but .*" + message):
        analyze_exam(exam, pk_config())
    config = pk_config()
    config["pharmacokinetics"]["mode"] = "auto"
    analysis = analyze_exam(exam, config)
    assert not [name for name in analysis.features if name.startswith("pk_")]
    assert any(w.startswith("pk_* pharmacokinetic values omitted") for w in analysis.warnings)
    assert any(re.search(message, w) for w in analysis.warnings)


# ------------------------------------------------------------------------------------- through the manifest
@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    """Two exams on disk: P1 with ``aif_segment`` (label 3) and ``t1_map``; P2 (same images) with neither."""
    folder = tmp_path_factory.mktemp("pk_measured")
    exam, _ = make_exam("tofts")
    sitk.WriteImage(sitk.JoinSeries(list(exam.dce.phases)), str(folder / "dce.nii.gz"))
    labels = sitk.GetArrayFromImage(exam.tumor_mask) + 3 * sitk.GetArrayFromImage(exam.aif_mask)
    sitk.WriteImage(_grid_image(labels.astype(np.uint8)), str(folder / "seg.nrrd"))
    sitk.WriteImage(exam.t1_map, str(folder / "t1.nrrd"))
    row = {"patient_id": "P1", "exam_date": "2022-03-04", "dce_phases": "dce.nii.gz",
           "dce_times_s": ";".join(f"{t:g}" for t in TIMES_S), "dce_tr_ms": f"{TR_MS:g}",
           "dce_flip_angle_deg": f"{FLIP_ANGLE_DEG:g}", "segmentation": "seg.nrrd", "reference_segment": "",
           "aif_segment": "3",
           "t1_map": "t1.nrrd"}
    pd.DataFrame([row, {**row, "patient_id": "P2", "aif_segment": "", "t1_map": ""}]).to_csv(
        folder / "manifest.csv", index=False)
    return folder / "manifest.csv"


def test_manifest_columns_reach_the_exam_and_the_fit(manifest):
    loaded = io.read_manifest(manifest)
    exam = io.load_exam(loaded, ("P1", "baseline"))
    assert int(np.count_nonzero(sitk.GetArrayViewFromImage(exam.aif_mask))) == 12
    assert exam.t1_map.GetSpacing() == (2.0, 2.0, 2.0) and exam.source("t1_map").endswith("t1.nrrd")
    truth = make_exam("tofts")[1]
    analysis = analyze_exam(exam, pk_config())
    assert analysis.features["pk_roi_ktrans"] == pytest.approx(truth.ktrans[truth.tumor].mean(), rel=1e-4)
    other = io.load_exam(loaded, ("P2", "baseline"))
    assert other.aif_mask is None and other.t1_map is None


def _extract(manifest, folder, **options) -> tuple[int, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    config = folder / "analysis.yaml"
    config.write_text("radiomics: false\npharmacokinetics:\n" + "".join(f"  {k}: {v}\n" for k, v in options.items()))
    out = folder / "out"
    code = cli_main(["extract", str(manifest), "--out", str(out), "--config", str(config), "--jobs", "1",
                     "--progress", "none"])
    read = {name: pd.read_csv(out / f"{name}.csv", dtype={"patient_id": str}) for name in ("failures", "warnings")}
    features = pd.read_csv(out / "features.csv", index_col="patient_id")
    return code, features, read["failures"], read["warnings"]


@pytest.mark.parametrize("aif, t1_source, column", [("measured", "assumed", "aif_segment"),
                                                    ("parker", "map", "t1_map")])
def test_extract_required_names_the_missing_column_and_the_patient(manifest, tmp_path, aif, t1_source, column):
    code, features, failures, _ = _extract(manifest, tmp_path, mode="required", aif=aif, t1_source=t1_source)
    assert code == 1
    assert failures[["patient_id", "error_type"]].values.tolist() == [["P2", "AcquisitionError"]]
    assert f"manifest column {column}" in failures.loc[0, "message"]
    assert list(features.index) == ["P1"] and np.isfinite(features.loc["P1", "pk_roi_ktrans"])


def test_extract_auto_omits_the_values_with_a_warning_naming_the_column(manifest, tmp_path):
    code, features, failures, warnings = _extract(manifest, tmp_path, mode="auto", aif="measured", t1_source="map")
    assert code == 0 and failures.empty
    assert np.isfinite(features.loc["P1", "pk_roi_ktrans"]) and np.isnan(features.loc["P2", "pk_roi_ktrans"])
    pk = warnings[warnings["message"].str.startswith("pk_* pharmacokinetic values omitted")]
    assert pk["patient_id"].tolist() == ["P2"]
    assert "manifest column aif_segment" in pk["message"].iloc[0]
