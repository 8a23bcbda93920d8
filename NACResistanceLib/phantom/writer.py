"""Write a synthetic cohort: images, segmentations, the manifest and the truth files.

Layout under ``out_dir``::

    manifest.csv                       one row per exam (docs/manifest.md)
    label_table.txt                    label values and names of the segmentation label maps
    exams/<patient>/<timepoint>/       dce_00..06.nrrd, dwi_b*.nrrd (or dwi.nii.gz + dwi.bval/.bvec),
                                       adc.nrrd, segmentation.seg.nrrd + segmentation.nii.gz,
                                       segmentation_reader2.seg.nrrd + .nii.gz (option)
    truth/truth.csv, truth/truth.json  ground truth (never read by the analysis)

Files are byte-identical for one seed: NIfTI and NRRD gzip headers carry no time stamp, CSV/JSON
are written in a fixed order, and every patient draws from its own generators.
"""

from __future__ import annotations

import concurrent.futures
import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk

from ..errors import CancelledError
from ..io.manifest import write_manifest
from ..threads import ignore_interrupt
from . import biology
from .protocol import PhantomProtocol
from .segmentation import SEGMENT_NAMES
from .synthesis import SyntheticExam, make_exam
from .truth import bayes_auc, realised_auc

SEGMENT_COLORS = {1: (230, 80, 80), 2: (80, 160, 230)}
"""Display colour (RGB 0-255) of each label value."""
GZIP_LEVEL = 3
"""gzip level of the NRRD files: as small as level 6 within 5% on noisy images, four times faster."""
OUTCOME_COLUMNS = ("rcb_d1_mm", "rcb_d2_mm", "rcb_cellularity_pct", "rcb_in_situ_pct", "rcb_positive_nodes",
                   "rcb_largest_metastasis_mm", "mri_longest_diameter_post_mm")


def make_cohort(
    n_patients: int, seed: int, out_dir: str | Path, protocol: PhantomProtocol | None = None, *,
    jobs: int = 1, progress: Callable[[str, float], bool] | None = None,
) -> Path:
    """Generate and write ``n_patients`` synthetic patients; returns the path of ``manifest.csv``.

    Parameters
    ----------
    n_patients : int
        Number of patients (each one exam, two with ``protocol.followup``).
    seed : int
        Seed of the cohort; the same seed gives byte-identical files whatever ``jobs`` is.
    out_dir : str or Path
        Output folder (created; existing files of the same names are overwritten).
    protocol : PhantomProtocol, optional
        Acquisition protocol (default: the seed study's).
    jobs : int
        Worker processes (1 = in this process).
    progress : callable, optional
        ``progress(message, fraction) -> bool``; True cancels (:class:`~NACResistanceLib.errors.CancelledError`).
    """
    protocol = protocol or PhantomProtocol()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tasks = [(index, seed, protocol, str(out)) for index in range(n_patients)]
    results = []
    with _executor(jobs) as executor:
        for done, result in enumerate(executor.map(write_patient, tasks), start=1):
            results.append(result)
            if progress is not None and progress(f"patient {done} of {n_patients}", done / n_patients):
                executor.shutdown(wait=False, cancel_futures=True)
                raise CancelledError(f"phantom generation cancelled after {done} of {n_patients} patients")
    manifest_rows = [row for rows, _ in results for row in rows]
    truth_rows = [row for _, rows in results for row in rows]
    _write_label_table(out / "label_table.txt")
    _write_truth(truth_rows, out / "truth", seed, protocol)
    return write_manifest(pd.DataFrame(manifest_rows), out / "manifest.csv")


def write_patient(task: tuple[int, int, PhantomProtocol, str]) -> tuple[list[dict], list[dict]]:
    """Generate and write every exam of one patient; returns its manifest rows and truth rows."""
    index, seed, protocol, out = task
    timepoints = ("baseline", "cycle2") if protocol.followup else ("baseline",)
    manifest_rows, truth_rows = [], []
    for timepoint in timepoints:
        synthetic = make_exam(index, seed, protocol, timepoint)
        folder = Path(out) / "exams" / synthetic.exam.patient_id / timepoint
        manifest_rows.append(_write_exam(synthetic, folder, Path(out)))
        truth_rows.append(synthetic.truth)
    return manifest_rows, truth_rows


def _executor(jobs: int):
    if jobs <= 1:
        return _InProcess()
    return concurrent.futures.ProcessPoolExecutor(max_workers=jobs, initializer=ignore_interrupt)


class _InProcess:
    """The part of the executor interface make_cohort uses, running in this process."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def map(self, function, items):
        return map(function, items)

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        return None


def _write_exam(synthetic: SyntheticExam, folder: Path, root: Path) -> dict[str, object]:
    folder.mkdir(parents=True, exist_ok=True)
    exam = synthetic.exam

    def save(image: sitk.Image, name: str) -> str:
        sitk.WriteImage(image, str(folder / name), True, GZIP_LEVEL)
        return (folder / name).relative_to(root).as_posix()

    row: dict[str, object] = {"patient_id": exam.patient_id, "timepoint": exam.timepoint, "exam_date": exam.exam_date}
    row["dce_phases"] = ";".join(save(p, f"dce_{k:02d}.nrrd") for k, p in enumerate(exam.dce.phases))
    row["dce_times_s"] = ";".join(f"{t:g}" for t in exam.dce.times_s)
    row["dce_roi_phase"] = exam.dce.roi_phase
    row.update({"dce_tr_ms": exam.dce.tr_ms, "dce_flip_angle_deg": exam.dce.flip_angle_deg})
    row.update(_write_dwi(exam, folder, save))
    if "t2w" in exam.extra_series:
        row["t2w"] = save(exam.extra_series["t2w"], "t2w.nrrd")
    if synthetic.adc_um2_s is not None:
        row.update({"adc": save(synthetic.adc_um2_s, "adc.nrrd"), "adc_unit": "um2/s"})
    row.update({"segmentation": _save_segmentation(synthetic.segmentation, "segmentation", save),
                "tumor_segment": SEGMENT_NAMES[1], "reference_segment": SEGMENT_NAMES[2]})
    if synthetic.segmentation_reader2 is not None:
        row.update({"segmentation_reader2": _save_segmentation(synthetic.segmentation_reader2,
                                                               "segmentation_reader2", save),
                    "tumor_segment_reader2": SEGMENT_NAMES[1]})
    row.update(exam.clinical)
    row.update({name: synthetic.patient.outcome[name] for name in OUTCOME_COLUMNS})
    return row


def _write_dwi(exam, folder: Path, save) -> dict[str, object]:
    dwi = exam.dwi
    if dwi.bvecs is None:
        files = [save(volume, f"dwi_b{int(b):04d}.nrrd") for volume, b in zip(dwi.volumes, dwi.bvals)]
        return {"dwi": ";".join(files), "dwi_bvals": ";".join(f"{b:g}" for b in dwi.bvals)}
    path = save(sitk.JoinSeries(list(dwi.volumes)), "dwi.nii.gz")
    (folder / "dwi.bval").write_text(" ".join(f"{b:g}" for b in dwi.bvals) + "\n")
    fsl = np.asarray(dwi.bvecs, dtype=np.float64).T.copy()
    fsl[0] *= -1.0  # FSL voxel axes: first axis negated for a positive-determinant (identity) direction
    (folder / "dwi.bvec").write_text("\n".join(" ".join(f"{v:.6f}" for v in axis) for axis in fsl) + "\n")
    relative = Path(path).parent.as_posix()
    return {"dwi": path, "dwi_bvals": f"{relative}/dwi.bval", "dwi_bvecs": f"{relative}/dwi.bvec"}


def _save_segmentation(labels: sitk.Image, stem: str, save) -> str:
    save(labels, f"{stem}.nii.gz")  # plain label map (ITK-SNAP); values and names in label_table.txt
    return save(slicer_segmentation(labels), f"{stem}.seg.nrrd")


def slicer_segmentation(labels: sitk.Image) -> sitk.Image:
    """The label map with the NRRD header fields of a 3D Slicer segmentation (one layer, named segments)."""
    image = sitk.Image(labels)
    extent = " ".join(f"0 {n - 1}" for n in labels.GetSize())
    image.SetMetaData("Segmentation_MasterRepresentation", "Binary labelmap")
    image.SetMetaData("Segmentation_ContainedRepresentationNames", "Binary labelmap|")
    image.SetMetaData("Segmentation_ReferenceImageExtentOffset", "0 0 0")
    for i, (value, name) in enumerate(sorted(SEGMENT_NAMES.items())):
        red, green, blue = (c / 255.0 for c in SEGMENT_COLORS[value])
        fields = {"ID": f"Segment_{value}", "Name": name, "LabelValue": str(value), "Layer": "0",
                  "Color": f"{red:.6g} {green:.6g} {blue:.6g}", "ColorAutoGenerated": "0",
                  "NameAutoGenerated": "0", "Extent": extent, "Tags": "|"}
        for key, text in fields.items():
            image.SetMetaData(f"Segment{i}_{key}", text)
    return image


def _write_label_table(path: Path) -> None:
    lines = ["# label value, name, R, G, B, A (3D Slicer colour table format)", "0 background 0 0 0 0"]
    lines += [f"{value} {name} {' '.join(str(c) for c in SEGMENT_COLORS[value])} 255"
              for value, name in sorted(SEGMENT_NAMES.items())]
    path.write_text("\n".join(lines) + "\n")


def _write_truth(rows: list[dict], folder: Path, seed: int, protocol: PhantomProtocol) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows)
    frame.to_csv(folder / "truth.csv", index=False, lineterminator="\n")
    baseline = frame[frame["timepoint"] == "baseline"]
    summary = {
        "seed": seed, "n_patients": int(len(baseline)), "protocol": asdict(protocol),
        "resistance_rate": float(baseline["resistant"].mean()),
        "mean_true_probability": float(baseline["probability"].mean()),
        "bayes_optimal_auc": bayes_auc(baseline["probability"].to_numpy()),
        "auc_of_true_probability_on_drawn_labels": realised_auc(baseline["probability"], baseline["resistant"]),
        "model": {"intercept": biology.INTERCEPT, "coefficients": dict(biology.COEFFICIENTS),
                  "dose_intensity_centre_pct": biology.DOSE_INTENSITY_CENTRE},
        "exams": "truth.csv (one row per exam; columns described in docs/phantom.md)",
    }
    (folder / "truth.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
