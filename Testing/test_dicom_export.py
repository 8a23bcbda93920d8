"""DICOM out on phantom exams: SEG voxels equal the masks used for extraction, every SR value equals the
feature table, the SR is a TID 1500 measurement report, and Debian's dciodvfy finds no error.

References: the phantom exams' masks (read by ``io.load_exam``, as the extraction read them), the written
feature table, the model's own prediction, and dicom3tools' dciodvfy (``make dicom3tools`` installs it).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from light_cohort import LIGHT_PARAMS

from NACResistanceLib import io
from NACResistanceLib.cli import main as cli_main
from NACResistanceLib.cohort import read_feature_table, run_extraction
from NACResistanceLib.cohort.predict import model_rows
from NACResistanceLib.feature_catalogue import describe
from NACResistanceLib.phantom import PhantomProtocol, make_cohort

NEEDS_310 = pytest.mark.skipif(sys.version_info < (3, 10), reason="highdicom needs Python 3.10+")
INSTALL_HINT = "dciodvfy is missing: run 'make dicom3tools' (or 'sudo apt-get install -y dicom3tools')"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("dicom")
    manifest = make_cohort(2, 5, root / "cohort", PhantomProtocol.small())
    extraction = run_extraction(manifest, root / "features", {"radiomics_params": str(LIGHT_PARAMS)}, jobs=1)
    code = cli_main(["export-dicom", str(manifest), str(extraction.features_path), "--out", str(root / "dicom")])
    assert code == 0
    return manifest, extraction.features_path, root / "dicom"


@NEEDS_310
def test_seg_voxels_equal_the_masks_used_for_extraction(exported):
    import highdicom as hd

    manifest_path, features_path, out = exported
    manifest = io.read_manifest(manifest_path)
    for patient, timepoint in read_feature_table(features_path).index:
        exam = io.load_exam(manifest, (patient, timepoint))
        folder = out / f"{patient}_{timepoint}"
        seg = hd.seg.segread(folder / "seg.dcm")
        sources = sorted(Path(folder / "source").glob("*.dcm"))
        import pydicom

        uids = [pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID for p in sources]
        volume = seg.get_pixels_by_source_instance(source_sop_instance_uids=uids, segment_numbers=[1, 2])
        from SimpleITK import GetArrayFromImage

        np.testing.assert_array_equal(volume[..., 0] > 0, GetArrayFromImage(exam.tumor_mask) > 0)
        np.testing.assert_array_equal(volume[..., 1] > 0, GetArrayFromImage(exam.reference_mask) > 0)
        assert seg.FrameOfReferenceUID == pydicom.dcmread(sources[0]).FrameOfReferenceUID


@NEEDS_310
def test_sr_is_a_tid1500_report_holding_every_feature_value(exported):
    import highdicom as hd

    from NACResistanceLib.dicom_out import read_measurements
    from NACResistanceLib.dicom_out.export import private_code

    _, features_path, out = exported
    features = read_feature_table(features_path)
    dictionary = pd.read_csv(features_path.parent / "feature_dictionary.csv", keep_default_na=False).set_index("feature")
    for (patient, timepoint), values in features.iterrows():
        path = out / f"{patient}_{timepoint}" / "sr.dcm"
        sr = hd.sr.srread(path)
        assert sr.ContentTemplateSequence[0].TemplateIdentifier == "1500"
        assert sr.ConceptNameCodeSequence[0].CodeValue == "126000"  # Imaging Measurement Report
        groups = sr.content.get_volumetric_roi_measurement_groups()
        assert [g.tracking_identifier for g in groups] == ["tumour ROI", "reference ROI"]
        read = read_measurements(path)
        finite = values[np.isfinite(values.to_numpy(float))]
        assert set(read) == set(finite.index)
        for name, value in finite.items():
            assert read[name]["value"] == value, name  # bit for bit (FloatingPointValue)
            code = dictionary.at[name, "ibsi_code"]
            assert (read[name]["scheme"], read[name]["code"]) == (("IBSI", code) if code else ("99NACR", private_code(name)))
            assert read[name]["segment"] == 1


@NEEDS_310
def test_the_model_probability_is_written_with_the_model_name_and_version(exported, tmp_path):
    from NACResistanceLib import models
    from NACResistanceLib.config.records import features_parameters
    from NACResistanceLib.dicom_out import model_version, read_measurements

    manifest_path, features_path, _ = exported
    radscore = models.RadScore(-0.5, (("tumor_volume_mm3", 1e-4),))
    model = models.make_model("combined", -1.0, [("rad_score", 1.2), ("er_positive", 0.8)], radscore=radscore,
                              threshold=0.4, training={"data": "test", "n_patients": 2, "n_resistant": 1},
                              analysis_config=features_parameters(features_path).to_dict())
    path = models.save(model, tmp_path / "model.json")
    code = cli_main(["export-dicom", str(manifest_path), str(features_path), "--out", str(tmp_path / "out"),
                     "--model", str(path)])
    assert code == 0
    features = read_feature_table(features_path)
    expected = model.predict_frame(model_rows(features, io.read_manifest(manifest_path).frame))["probability"]
    for (patient, timepoint), probability in expected.items():
        read = read_measurements(tmp_path / "out" / f"{patient}_{timepoint}" / "sr.dcm")["probability_resistance"]
        assert read["value"] == probability and 0 < probability < 1
        assert read["algorithm"] == ("NACResistance combined model", model_version(model))
        assert read["group"] == "model combined" and read["segment"] is None


@NEEDS_310
def test_dciodvfy_finds_no_error(exported):
    if shutil.which("dciodvfy") is None:
        pytest.fail(INSTALL_HINT)
    _, _, out = exported
    folder = next(out.iterdir())
    for path in (folder / "seg.dcm", folder / "sr.dcm", next((folder / "source").glob("*.dcm"))):
        report = subprocess.run(["dciodvfy", "-new", str(path)], capture_output=True, text=True,
                                errors="replace").stderr
        errors = [line for line in report.splitlines() if line.startswith("Error")]
        assert errors == [], (path.name, errors)


def test_the_slicer_logic_and_the_command_call_the_same_library_function():
    import ast

    root = Path(__file__).parents[1]
    tree = ast.parse((root / "NACResistance" / "NACResistance.py").read_text(encoding="utf-8"))
    logic = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "exportDicom")
    assert "export_from_files(" in ast.unparse(logic) and "cli" not in ast.unparse(logic)
    command = (root / "NACResistanceLib" / "commands" / "export_dicom.py").read_text(encoding="utf-8")
    assert "export_from_files(" in command


def test_on_python_3_9_the_command_says_it_needs_3_10(monkeypatch):
    from NACResistanceLib.dicom_out import require_highdicom
    from NACResistanceLib.errors import ConfigError

    monkeypatch.setattr(sys, "version_info", (3, 9, 18, "final", 0))
    with pytest.raises(ConfigError, match="needs Python 3.10 or newer"):
        require_highdicom()


@NEEDS_310
def test_an_exam_read_from_dicom_references_its_own_roi_phase_slices(tmp_path, rng):
    import SimpleITK as sitk
    from dicom_writers import write_volume

    from NACResistanceLib.dicom_out import export_exam, read_measurements
    from NACResistanceLib.dicom_out.source import find_source_series

    phases = [rng.integers(0, 1000, size=(4, 12, 10)).astype(np.int16) for _ in range(3)]
    spacing, origin = (0.8, 0.8, 2.0), (-40.0, 10.0, 5.0)
    for index, phase in enumerate(phases):
        write_volume(tmp_path / "dicom", phase, prefix=f"p{index}_", spacing=spacing, origin=origin,
                     series_uid=f"1.2.826.0.1.3680043.8.498.77.{index}", number=index + 1, description=f"phase {index}",
                     FrameOfReferenceUID="1.2.826.0.1.3680043.8.498.77.100")
    grid = sitk.GetImageFromArray(phases[1].astype(np.float32))
    grid.SetSpacing(spacing)
    grid.SetOrigin(origin)
    source = find_source_series(str(tmp_path / "dicom"), grid)
    assert source is not None and [ds.SeriesNumber for ds in source] == [2, 2, 2, 2]
    np.testing.assert_array_equal(np.stack([ds.pixel_array for ds in source]), phases[1])
    assert find_source_series(str(tmp_path / "exam.nii.gz"), grid) is None  # NIfTI: a series is written instead
    shifted = sitk.Image(grid)
    shifted.SetOrigin((origin[0] + 1.0, origin[1], origin[2]))
    assert find_source_series(str(tmp_path / "dicom"), shifted) is None  # another geometry: no match
    tumour = np.zeros(phases[1].shape, bool)
    tumour[1:3, 3:8, 2:6] = True
    exported = export_exam(source, tumour, {"original_firstorder_Mean": 0.25}, {
        "original_firstorder_Mean": describe("original_firstorder_Mean")}, tmp_path / "out")
    import highdicom as hd

    seg = hd.seg.segread(exported.seg_path)
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == source[0].SeriesInstanceUID
    assert read_measurements(exported.sr_path)["original_firstorder_Mean"]["value"] == 0.25
