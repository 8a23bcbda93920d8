"""analyze_exam / score_exam on a small in-memory exam with known kinetics and diffusion values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from NACResistanceLib import pipeline
from NACResistanceLib.dce import extended_tofts
from NACResistanceLib.errors import AcquisitionError, CancelledError, ConfigError
from NACResistanceLib.io import DceSeries, DwiSeries, Exam

DCE_SHAPE = (10, 32, 32)  # (z, y, x), spacing (1, 1, 2) mm (x, y, z)
TIMES = (0.0, 75.0, 150.0, 225.0, 300.0, 375.0, 450.0)
TUMOR = (slice(3, 7), slice(8, 20), slice(8, 20))
REFERENCE = (slice(3, 7), slice(8, 20), slice(22, 30))
BVALS = (0.0, 500.0, 1000.0, 1500.0, 2000.0)
TRUTH = {"tumor": (1.0e-3, 0.9), "reference": (1.8e-3, 0.45)}
"""(MD mm²/s, MK) of the kurtosis-representation DWI signal of each region."""


def image(array: np.ndarray, spacing, origin=(0.0, 0.0, 0.0)) -> sitk.Image:
    result = sitk.GetImageFromArray(array)
    result.SetSpacing(spacing)
    result.SetOrigin(origin)
    return result


def region_mask(region) -> np.ndarray:
    mask = np.zeros(DCE_SHAPE, np.uint8)
    mask[region] = 1
    return mask


def dce_series() -> DceSeries:
    washout = 1 + 2 * extended_tofts(np.array(TIMES), ktrans_per_min=1.0, kep_per_min=2.0, vp=0.05, onset_s=30.0)
    persistent = 1 + 2 * extended_tofts(np.array(TIMES), ktrans_per_min=0.15, kep_per_min=0.05, vp=0.01, onset_s=30.0)
    phases = []
    for t in range(len(TIMES)):
        array = np.full(DCE_SHAPE, 50.0)
        array[TUMOR] = 200.0 * washout[t]
        array[REFERENCE] = 300.0 * persistent[t]
        phases.append(image(array, (1.0, 1.0, 2.0)))
    return DceSeries(tuple(phases), TIMES, roi_phase=2)


def dwi_series(bvecs=None) -> DwiSeries:
    """Trace DWI on a 2 mm grid covering the DCE field of view (voxel i = DCE x 2i..2i+1)."""
    b = np.array(BVALS)
    volumes = []
    for j in range(len(b)):
        array = np.full((10, 16, 16), 5.0)
        for region, (md, mk) in (("tumor", TRUTH["tumor"]), ("reference", TRUTH["reference"])):
            z, y, x = TUMOR if region == "tumor" else REFERENCE
            array[z, y.start // 2:y.stop // 2, x.start // 2:x.stop // 2] = 800 * np.exp(-b[j] * md + b[j] ** 2 * md**2 * mk / 6)
        volumes.append(image(array, (2.0, 2.0, 2.0), origin=(0.5, 0.5, 0.0)))
    return DwiSeries(tuple(volumes), BVALS, bvecs)


def synthetic_exam(**changes) -> Exam:
    fields = dict(patient_id="P001", tumor_mask=image(region_mask(TUMOR), (1.0, 1.0, 2.0)),
                  reference_mask=image(region_mask(REFERENCE), (1.0, 1.0, 2.0)), dce=dce_series(), dwi=dwi_series(),
                  clinical={"age": 50.0})
    fields.update(changes)
    return Exam(**fields)


NO_RADIOMICS = {"radiomics": False, "diffusion": {"adc_method": "ols"}}


@pytest.fixture(scope="module")
def analysis() -> pipeline.ExamAnalysis:
    return pipeline.analyze_exam(synthetic_exam(), NO_RADIOMICS)


def test_diffusion_values_match_truth(analysis):
    f = analysis.features
    md_t, mk_t = TRUTH["tumor"]
    md_r, mk_r = TRUTH["reference"]
    assert f["dki_md_roi"] == pytest.approx(md_t, rel=1e-9) and f["dki_mk_roi"] == pytest.approx(mk_t, rel=1e-9)
    assert f["dki_rMK"] == pytest.approx(mk_t / mk_r, rel=1e-9) and f["dki_rMD"] == pytest.approx(md_t / md_r, rel=1e-9)
    b = np.array([0.0, 500.0, 1000.0])  # ADC uses b <= 1000 (analysis.yaml); OLS truth from numpy.polyfit
    adc_t = -np.polyfit(b, -b * md_t + b**2 * md_t**2 * mk_t / 6, 1)[0]
    adc_r = -np.polyfit(b, -b * md_r + b**2 * md_r**2 * mk_r / 6, 1)[0]
    for key in ("adc_mean", "adc_median", "adc_p10", "adc_min_p5", "adc_max_p95"):
        assert f[key] == pytest.approx(adc_t, rel=1e-9)
    assert f["adc_rADC"] == pytest.approx(adc_t / adc_r, rel=1e-9)
    assert analysis.units["adc_mean"] == "mm²/s" and "minimum" in analysis.descriptions["adc_min_p5"]
    assert analysis.provenance["mean_kurtosis"]["feature_source"] == "roi_averaged_signal"


def test_tensor_values_omitted_from_trace_dwi_with_warning(analysis):
    assert "dki_rKa" not in analysis.features and "dki_rKr" not in analysis.features
    assert any("dki_rKa, dki_rKr" in w and "trace-weighted" in w for w in analysis.warnings)


def test_tensor_required_raises():
    config = {"radiomics": False, "diffusion": {"tensor_kurtosis": "required"}}
    with pytest.raises(AcquisitionError, match="required by the analysis configuration.*trace-weighted"):
        pipeline.analyze_exam(synthetic_exam(), config)


def test_dce_values_match_tofts_truth(analysis):
    t = np.array(TIMES)
    conc = extended_tofts(t, ktrans_per_min=1.0, kep_per_min=2.0, vp=0.05, onset_s=30.0)
    f = analysis.features
    assert f["dce_pe_mean"] == pytest.approx(200 * conc.max(), rel=1e-9)
    assert f["dce_ie_mean"] == pytest.approx(200 * conc[2], rel=1e-9)
    assert f["dce_ttp_mean"] == t[np.argmax(conc)]
    assert f["dce_ser_mean"] == pytest.approx(conc[2] / conc[6], rel=1e-9)
    assert f["dce_curve_washout_fraction"] == 1.0 and f["dce_ftv_mm3"] == 4 * 12 * 12 * 2.0
    assert f["tumor_volume_mm3"] == 4 * 12 * 12 * 2.0
    np.testing.assert_allclose(analysis.curves["tumor"], 200 * (1 + 2 * conc))
    assert analysis.curves.columns.tolist() == ["time_s", "tumor", "reference"]


def test_maps_are_on_source_grids(analysis):
    adc = analysis.maps["adc"]
    assert adc.GetSpacing() == (2.0, 2.0, 2.0)
    index = adc.TransformPhysicalPointToIndex((2 * 5 + 0.5, 2 * 5 + 0.5, 8.0))  # a tumour voxel of the DWI grid
    assert adc.GetPixel(index) == pytest.approx(analysis.features["adc_mean"], rel=1e-6)
    ser = analysis.maps["dce_ser"]
    assert ser.GetSpacing() == (1.0, 1.0, 2.0)
    assert ser.GetPixel(ser.TransformPhysicalPointToIndex((10.0, 10.0, 8.0))) == pytest.approx(
        analysis.features["dce_ser_mean"], rel=1e-6)


def test_to_frame_and_config_round_trip(analysis):
    frame = analysis.to_frame()
    assert frame.index.tolist() == [("P001", "baseline")] and frame.loc[("P001", "baseline"), "dce_ser_mean"] > 1
    config = pipeline.load_analysis_config(NO_RADIOMICS)
    assert pipeline.load_analysis_config(config.to_dict()) == config
    assert analysis.provenance["analysis_config"] == config.to_dict()


def test_config_rejects_unknown_and_bad_values(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown analysis key\(s\) \['diffusion.adc_metod'\]"):
        pipeline.load_analysis_config({"diffusion": {"adc_metod": "ols"}})
    with pytest.raises(ConfigError, match="diffusion.tensor_kurtosis = 'yes' is not allowed: expected one of"):
        pipeline.load_analysis_config({"diffusion": {"tensor_kurtosis": "yes"}})
    path = tmp_path / "a.yaml"
    path.write_text("radiomics_maps: [adc, t2]\n")
    with pytest.raises(ConfigError, match=r"radiomics_maps = \['adc', 't2'\] is not allowed"):
        pipeline.load_analysis_config(path)


def test_progress_can_cancel():
    with pytest.raises(CancelledError):
        pipeline.analyze_exam(synthetic_exam(), NO_RADIOMICS, progress=lambda message, fraction: fraction >= 0.3)


def test_score_exam_with_study_model_file(tmp_path):
    """A StudyModel saved and loaded as JSON: score_exam uses its analysis_config and predicts from the row."""
    from NACResistanceLib import models

    config = pipeline.load_analysis_config(NO_RADIOMICS)
    model = models.make_model("tiny", -3.0, [("dce_ser_mean", 1.5), ("dki_rMK", 0.5)], radscore=None, threshold=0.5,
                              training={"data": "test", "n_patients": 10, "n_resistant": 4},
                              analysis_config=config.to_dict())
    models.save(model, tmp_path / "model.json")
    loaded = models.load(tmp_path / "model.json")
    score = pipeline.score_exam(synthetic_exam(), loaded)
    f = score.analysis.features
    assert score.analysis.provenance["analysis_config"] == config.to_dict()
    expected = 1 / (1 + np.exp(3.0 - 1.5 * f["dce_ser_mean"] - 0.5 * f["dki_rMK"]))
    assert score.prediction.probability == pytest.approx(expected, rel=1e-12)
    assert score.prediction.predicted_class == ("resistant" if expected >= 0.5 else "sensitive")
    assert isinstance(score.analysis.curves, pd.DataFrame)
    other = pipeline.score_exam(synthetic_exam(), loaded, {**NO_RADIOMICS, "map_margin_mm": 4.0})
    assert any("differs from the one the model was trained with" in w for w in other.analysis.warnings)


def directional_dwi() -> DwiSeries:
    """b=0 + 20 directions on b=1000 and 2000 with isotropic kurtosis signals: tensor MK = Ka = Kr = MK."""
    from dipy.data import get_sphere

    dirs = get_sphere(name="repulsion100").vertices[:20]
    bvals = np.concatenate([[0.0], np.full(20, 1000.0), np.full(20, 2000.0)])
    bvecs = np.vstack([[0.0, 0.0, 0.0], dirs, dirs])
    volumes = []
    for b in bvals:
        array = np.full((10, 16, 16), 5.0)
        for region, (md, mk) in TRUTH.items():
            z, y, x = TUMOR if region == "tumor" else REFERENCE
            array[z, y.start // 2:y.stop // 2, x.start // 2:x.stop // 2] = 800 * np.exp(-b * md + b**2 * md**2 * mk / 6)
        volumes.append(image(array, (2.0, 2.0, 2.0), origin=(0.5, 0.5, 0.0)))
    return DwiSeries(tuple(volumes), tuple(bvals), bvecs)


def test_tensor_kurtosis_from_directional_dwi():
    config = {"radiomics": False, "diffusion": {"tensor_kurtosis": "required"}}
    f = pipeline.analyze_exam(synthetic_exam(dwi=directional_dwi()), config).features
    (md_t, mk_t), (md_r, mk_r) = TRUTH["tumor"], TRUTH["reference"]
    for key in ("dki_tensor_mk_mean", "dki_tensor_ak_mean", "dki_tensor_rk_mean", "dki_mk_roi"):
        assert f[key] == pytest.approx(mk_t, abs=1e-6)
    for key in ("dki_rKa", "dki_rKr", "dki_rMK_tensor", "dki_rMK"):
        assert f[key] == pytest.approx(mk_t / mk_r, rel=1e-5)
    assert f["dki_tensor_md_mean"] == pytest.approx(md_t, rel=1e-6)
    assert f["dki_rMD_tensor"] == pytest.approx(md_t / md_r, rel=1e-6)


SMALL_PARAMS = """\
imageType:
  Original: {}
featureClass:
  firstorder:
  glcm: [JointEnergy, Contrast]
setting:
  binWidth: 0.05
  voxelArrayShift: 3
  label: 1
"""


def test_radiomics_of_roi_phase_and_adc_map_equal_direct_calls(tmp_path, rng):
    """analyze_exam passes the ROI phase (and the ADC map) through preprocess + extract unchanged."""
    from NACResistanceLib import features, preprocessing

    params = tmp_path / "small.yaml"
    params.write_text(SMALL_PARAMS)
    exam = synthetic_exam()
    noisy = sitk.GetArrayFromImage(exam.dce.roi_image) * (1 + 0.05 * rng.standard_normal(DCE_SHAPE))
    roi = image(noisy, (1.0, 1.0, 2.0))
    exam = synthetic_exam(dce=DceSeries(exam.dce.phases[:2] + (roi,) + exam.dce.phases[3:], TIMES, roi_phase=2))
    config = {"radiomics_params": str(params), "radiomics_maps": ["adc"], "diffusion": {"adc_method": "ols"}}
    analysis = pipeline.analyze_exam(exam, config)
    prepared = preprocessing.preprocess(roi, exam.tumor_mask)
    direct = features.extract(prepared.image, prepared.mask, params, preprocessing_steps=prepared.steps)
    assert len(direct) == 20
    for name, value in direct.items():
        assert analysis.features[name] == pytest.approx(value, rel=1e-12)
    adc_prepared = preprocessing.preprocess(analysis.maps["adc"], exam.tumor_mask)
    adc_direct = features.extract(adc_prepared.image, adc_prepared.mask, params)
    assert analysis.features["adc_original_firstorder_Mean"] == pytest.approx(adc_direct["original_firstorder_Mean"], rel=1e-12)


def test_scanner_adc_map_when_no_dwi():
    """Without DWI the ADC statistics come from the scanner map (mm²/s); kurtosis and DCE still work."""
    adc = np.full((10, 16, 16), 2.0e-3)
    adc[3:7, 4:10, 4:10] = 0.8e-3  # the tumour on the 2 mm grid
    adc[3:7, 4:10, 11:15] = 1.6e-3  # the reference region
    exam = synthetic_exam(dwi=None, adc=image(adc, (2.0, 2.0, 2.0), origin=(0.5, 0.5, 0.0)))
    analysis = pipeline.analyze_exam(exam, NO_RADIOMICS)
    assert analysis.features["adc_mean"] == pytest.approx(0.8e-3) and analysis.features["adc_rADC"] == pytest.approx(0.5)
    assert "dki_mk_roi" not in analysis.features and "dce_ser_mean" in analysis.features
    assert any("scanner ADC map" in w for w in analysis.warnings)


def test_missing_dce_gives_warnings_and_empty_curves():
    analysis = pipeline.analyze_exam(synthetic_exam(dce=None), {"radiomics": True})
    assert analysis.curves.empty and analysis.curves.columns.tolist() == ["time_s", "tumor", "reference"]
    assert not any(name.startswith("dce_") or name.startswith("original_") for name in analysis.features)
    assert sum("no DCE series" in w for w in analysis.warnings) == 2
    assert analysis.features["dki_mk_roi"] == pytest.approx(TRUTH["tumor"][1], rel=1e-9)


def test_scoring_an_exam_imports_no_fitting_library():
    """Cold start: scoring needs neither scipy.stats, statsmodels, scikit-learn nor DIPY (a trace-weighted DWI);
    in a fresh interpreter they stay unimported (about 0.9 s of imports saved on a first Apply)."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from NACResistanceLib import models, pipeline\n"
        "from NACResistanceLib.phantom import PhantomProtocol, make_exam\n"
        "model = models.load('NACResistance/Resources/demo_model.json')\n"
        "score = pipeline.score_exam(make_exam(0, 0, PhantomProtocol.small()).exam, model)\n"
        "assert 0 < score.prediction.probability < 1\n"
        "heavy = ('scipy.stats', 'statsmodels', 'sklearn', 'dipy')\n"
        "print(sorted({m.split('.')[0] if not m.startswith('scipy') else 'scipy.stats' for m in sys.modules\n"
        "              if m.startswith(heavy)}))\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
