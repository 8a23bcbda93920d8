"""``nacresistance manifest`` on a synthetic export tree: 3 patients × (DCE, DWI, ADC, SEG) plus distractors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from dicom_writers import uid, write_enhanced, write_presentation_state, write_seg, write_volume

from NACResistanceLib import io
from NACResistanceLib.cli import main

SHAPE = (3, 6, 5)
TIMES = [0.0, 70.0, 140.0]


def _phase(t: int) -> np.ndarray:
    return np.full(SHAPE, 100 + 50 * t, np.int16)


def _clock(seconds: float) -> str:
    hours, rest = divmod(9 * 3600 + seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours):02d}{int(minutes):02d}{secs:09.6f}"


def _write_patient(root, patient: str, layout: str) -> dict[str, str]:
    """One study; returns {role: SeriesInstanceUID} of what must be assigned."""
    study = uid(patient, "study")
    top = root / patient / "study1"
    common = {"patient": patient, "study_uid": study, "study_date": "20240301"}
    expected = {}
    if layout == "one_series":
        expected["dce"] = uid(patient, "dce")
        for t in range(3):
            write_volume(top / "dce", _phase(t), prefix=f"t{t}_", first_instance=1 + 3 * t, series_uid=expected["dce"],
                         number=5, description="Ax VIBRANT MPH", TemporalPositionIdentifier=t + 1,
                         TriggerTime=TIMES[t] * 1000, **common)
    elif layout == "per_phase":
        expected["dce"] = ";".join(uid(patient, "dce", t) for t in range(3))
        for t in range(3):
            write_volume(top / f"dyn_{t}", _phase(t), series_uid=uid(patient, "dce", t), number=10 + t,
                         description=f"t1_fl3d_dyn ph{t}", AcquisitionTime=_clock(TIMES[t]), AcquisitionDate="20240301",
                         **common)
    else:
        expected["dce"] = uid(patient, "dce")
        write_enhanced(top / "dce" / "dce.dcm", [_phase(t) for t in range(3)], series_uid=expected["dce"], number=5,
                       description="DCE enhanced", times=TIMES, patient=patient, study_uid=study)
    expected["dwi"] = uid(patient, "dwi")
    for v, b in enumerate([0.0, 800.0]):
        write_volume(top / "dwi", np.full(SHAPE, 500 - 200 * v, np.int16), prefix=f"b{v}_", first_instance=1 + 3 * v,
                     series_uid=expected["dwi"], number=3, description="DWI b0 b800", DiffusionBValue=b, **common)
    expected["adc"] = uid(patient, "adc")
    write_volume(top / "adc", np.full(SHAPE, 1400, np.int16), series_uid=expected["adc"], number=303,
                 description="ADC (10^-6 mm2/s)", image_type=("DERIVED", "PRIMARY", "ADC"), **common)
    # distractors: a localizer, a subtraction, a MIP and a presentation state
    write_volume(top / "loc", np.zeros((1, 6, 5), np.int16), series_uid=uid(patient, "loc"), number=1,
                 description="3-Plane Localizer", **common)
    write_volume(top / "sub", _phase(1) - _phase(0), series_uid=uid(patient, "sub"), number=50,
                 description="SUB ph1-ph0", image_type=("DERIVED", "SECONDARY", "SUBTRACTION"), **common)
    write_volume(top / "mip", _phase(2), series_uid=uid(patient, "mip"), number=51, description="MIP",
                 image_type=("DERIVED", "SECONDARY", "MIP"), **common)
    write_presentation_state(top / "pr" / "pr.dcm", study)
    tumor = np.zeros(SHAPE, np.uint8)
    tumor[1, 2:4, 1:3] = 1
    reference = np.zeros(SHAPE, np.uint8)
    reference[:, 0, 0] = 1
    seg_uid = uid(patient, "seg")
    write_seg(top / "seg" / "seg.dcm", {1: ("Reference FGT", reference), 2: ("Tumor", tumor)}, patient=patient,
              study_uid=study, series_uid=seg_uid, skip_empty=False)
    expected["segmentation"] = seg_uid
    return expected


@pytest.fixture
def export(tmp_path):
    root = tmp_path / "export"
    expected = {patient: _write_patient(root, patient, layout)
                for patient, layout in (("P1", "one_series"), ("P2", "per_phase"), ("P3", "enhanced"))}
    return root, expected


def test_manifest_assigns_every_series_and_lists_distractors(export, tmp_path, capsys):
    root, expected = export
    out = tmp_path / "out" / "manifest.csv"
    assert main(["manifest", str(root), "--out", str(out)]) == 0
    series = pd.read_csv(out.parent / "series.csv", dtype=str, keep_default_na=False)
    for patient, roles in expected.items():
        rows = series[series["patient_id"] == patient]
        for role, uids in roles.items():
            assigned = set(rows.loc[rows["assigned"] == role, "series_uid"])
            assert assigned == set(uids.split(";")), (patient, role)
        others = rows[rows["assigned"] == ""].set_index("description")["reason"]
        assert sorted(others.index) == ["3-Plane Localizer", "MIP", "SUB ph1-ph0", "presentation"]
        assert others["presentation"].startswith("not an image (modality PR")
        assert others["MIP"].startswith("derived") and "exclude rule" in others["3-Plane Localizer"]
    manifest = io.read_manifest(out)   # passes as written: clinical columns are optional cells
    frame = manifest.frame.set_index("patient_id")
    assert list(frame.index) == ["P1", "P2", "P3"] and set(frame["exam_date"]) == {"2024-03-01"}
    assert (frame["tumor_segment"] == "2").all() and (frame["reference_segment"] == "1").all()
    for patient in ("P1", "P2", "P3"):
        exam = io.load_exam(manifest, (patient, "baseline"))
        np.testing.assert_allclose(exam.dce.times_s, TIMES, atol=1e-3)
        np.testing.assert_array_equal(sitk.GetArrayFromImage(exam.dce.phases[2]), _phase(2))
        assert exam.dwi.bvals == (0.0, 800.0)
        np.testing.assert_allclose(sitk.GetArrayFromImage(exam.adc), 1.4e-3)
        assert int(sitk.GetArrayFromImage(exam.tumor_mask).sum()) == 4
        assert exam.sources["dce_times_s"] in ("TriggerTime (0018,1060)", "AcquisitionTime (0008,0032)",
                                               "FrameAcquisitionDateTime (0018,9074)")
    assert "wrote" in capsys.readouterr().out


def test_rules_file_assigns_a_site_specific_name(export, tmp_path):
    root, expected = export
    rules = tmp_path / "rules.yaml"
    rules.write_text("dce: ['*nothing*']\nexclude: ['*localizer*']\n")
    out = tmp_path / "manifest.csv"
    assert main(["manifest", str(root), "--out", str(out), "--rules", str(rules)]) == 0
    series = pd.read_csv(tmp_path / "series.csv", dtype=str, keep_default_na=False)
    p2 = series[series["patient_id"] == "P2"]
    # P2's per-phase series are single volumes: without a dce rule matching them they stay unassigned
    assert (p2.loc[p2["description"].str.startswith("t1_fl3d_dyn"), "assigned"] == "").all()
    p1 = series[series["patient_id"] == "P1"]
    assert set(p1.loc[p1["assigned"] == "dce", "series_uid"]) == {expected["P1"]["dce"]}


def test_two_studies_of_one_patient_are_baseline_then_exam2(tmp_path):
    from NACResistanceLib.io.dicom_manifest import manifest_from_exports

    for date, name in (("20240510", "late"), ("20240105", "early")):
        write_volume(tmp_path / name, np.zeros(SHAPE, np.int16), patient="P9^x", study_uid=uid("P9", date),
                     series_uid=uid("P9", date, "adc"), description="ADC", study_date=date,
                     image_type=("DERIVED", "PRIMARY", "ADC"))
    found = manifest_from_exports(tmp_path, tmp_path)
    rows = found.manifest[["patient_id", "timepoint", "exam_date", "adc"]].to_dict("records")
    assert rows == [{"patient_id": "P9_x", "timepoint": "baseline", "exam_date": "2024-01-05", "adc": "early"},
                    {"patient_id": "P9_x", "timepoint": "exam2", "exam_date": "2024-05-10", "adc": "late"}]
