"""Segmentation variants of a cohort as manifests: reader 1, reader 2 and perturbations of reader 1.

Every variant is a folder with one label map per exam (tumour = 1, the original reference region = 2)
and a ``manifest.csv`` that differs from the cohort manifest only in its segmentation columns (and
holds absolute paths). Each variant is then analysed by :func:`cohort.run_extraction` like any
cohort, with the same parameters, cache, parallelism and failure list, so the features of every
variant come from exactly the same pipeline.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk

from ..cohort import cache
from ..errors import CancelledError, NACResistanceError, add_context, describe
from .perturbation import PerturbationConfig, PerturbedMask, perturbation_plan

logger = logging.getLogger(__name__)

READER1 = "reader1"
READER2 = "reader2"
TUMOR_LABEL = 1
REFERENCE_LABEL = 2
SEGMENTATION_COLUMNS = ("segmentation", "tumor_segment", "reference_segment", "segmentation_reader2",
                        "tumor_segment_reader2")
PATH_COLUMNS = tuple(c for c in cache.PATH_COLUMNS if c not in SEGMENTATION_COLUMNS)
"""Columns that may hold (``;``-separated) paths relative to the manifest folder (with ``series_<name>``)."""


@dataclass(frozen=True)
class VariantSet:
    """The variant manifests written for a cohort, and what happened on the way."""

    manifests: dict[str, Path]
    """Variant name (``reader1``, ``reader2``, ``original``, ``dilate_1voxel``, ...) -> its manifest.csv."""
    changes: pd.DataFrame
    """One row per (variant, patient_id, timepoint): ``voxels_before, voxels_added, voxels_removed,
    reference_voxels_overwritten`` (counts)."""
    failures: pd.DataFrame
    """Exams for which a variant could not be made: ``variant, patient_id, timepoint, message``."""


def _is_empty(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == ""


def _absolute(cell: object, directory: Path) -> object:
    """``cell`` with every ``;``-separated part that names an existing relative path made absolute."""
    if _is_empty(cell):
        return cell
    parts = []
    for part in str(cell).split(";"):
        candidate = directory / part.strip()
        relative = not Path(part.strip()).is_absolute()
        parts.append(str(candidate.resolve()) if relative and candidate.exists() else part)
    return ";".join(parts)


def _label_map(tumor: sitk.Image, reference: sitk.Image | None) -> tuple[sitk.Image, int]:
    """Tumour = 1 over reference = 2 on the tumour grid; also the reference voxels the tumour overwrote."""
    labels = sitk.GetArrayFromImage(tumor).astype(np.uint8) * TUMOR_LABEL
    overwritten = 0
    if reference is not None:
        ref = sitk.GetArrayFromImage(reference) > 0
        overwritten = int((ref & (labels > 0)).sum())
        labels[ref & (labels == 0)] = REFERENCE_LABEL
    image = sitk.GetImageFromArray(labels)
    image.CopyInformation(tumor)
    return image, overwritten


def _variant_row(row: Mapping[str, object], directory: Path, label_path: Path, has_reference: bool) -> dict:
    paths = (*PATH_COLUMNS, *cache.series_columns(row))
    record = {k: _absolute(v, directory) if k in paths else v for k, v in row.items() if k not in SEGMENTATION_COLUMNS}
    record.update(segmentation=str(label_path.resolve()), tumor_segment=TUMOR_LABEL,
                  reference_segment=REFERENCE_LABEL if has_reference else "")
    return record


def _unchanged(mask: sitk.Image, name: str) -> PerturbedMask:
    count = int((sitk.GetArrayViewFromImage(mask) > 0).sum())
    return PerturbedMask(name=name, mask=mask, voxels_before=count, voxels_added=0, voxels_removed=0)


def _reader_masks(exam, readers: bool) -> list[PerturbedMask]:
    """Reader 1 (always: it is the unperturbed original), and reader 2 when asked for and present."""
    masks = [_unchanged(exam.tumor_mask, READER1)]
    if readers and exam.tumor_mask_reader2 is not None:
        masks.append(_unchanged(exam.tumor_mask_reader2, READER2))
    return masks


def _perturbed_masks(exam, config: PerturbationConfig | None, rng: np.random.Generator,
                     failure: Callable[[str, NACResistanceError], None]) -> list[PerturbedMask]:
    """Perturbations of the reader-1 outline; each one that fails is reported to ``failure`` and skipped."""
    masks = []
    for name, step in perturbation_plan(config) if config is not None else ():
        try:
            masks.append(step(exam.tumor_mask, rng))
        except NACResistanceError as error:
            failure(name, error)
    return masks


def _exam_variants(manifest, i: int, row: Mapping[str, object], readers: bool,
                   perturbations: PerturbationConfig | None, rng: np.random.Generator,
                   failures: list[list]) -> list[tuple[PerturbedMask, object]]:
    """(mask, exam) pairs of one exam; a failure to load the exam or to perturb it is appended to ``failures``."""
    from .. import io

    pid, tp = str(row["patient_id"]), str(row.get("timepoint", "baseline"))

    def failure(variant: str, error: NACResistanceError) -> None:
        failures.append([variant, pid, tp, describe(add_context(error, f"patient {pid}, timepoint {tp}"))])

    try:
        exam = io.load_exam(manifest, i)
    except NACResistanceError as error:
        failure("all", error)
        return []
    masks = _reader_masks(exam, readers) + _perturbed_masks(exam, perturbations, rng, failure)
    return [(m, exam) for m in masks]


def write_variants(manifest, out_dir: str | Path, *, readers: bool = True,
                   perturbations: PerturbationConfig | None = None, timepoints: Sequence[str] | None = ("baseline",),
                   seed: int = 0, progress: Callable[[str, float], bool] | None = None) -> VariantSet:
    """Write one label map per exam and variant, and one manifest per variant, under ``out_dir``.

    Parameters
    ----------
    manifest : io.Manifest
        The cohort (``io.read_manifest``).
    out_dir : str or Path
        Output folder; variant ``v`` goes to ``out_dir/v/`` (``manifest.csv`` + ``masks/``).
    readers : bool
        Also make the ``reader2`` variant (exams without ``segmentation_reader2`` are left out of it).
        The ``reader1`` variant (the unchanged outline) is always made.
    perturbations : PerturbationConfig or None
        Perturbations of the reader-1 outline (:func:`robustness.perturbation_plan`); None = none.
    timepoints : sequence of str or None
        Only exams at these time points (None = all).
    seed : int
        Seed of the contour randomisation; exam ``i`` uses child ``i`` of ``SeedSequence(seed)``.
    progress : callable, optional
        ``progress(message, fraction) -> bool``; True cancels (:class:`errors.CancelledError`).

    Returns
    -------
    VariantSet
        Failures (e.g. a translation moving the mask off the grid) are listed, not raised.
    """
    frame = manifest.frame.reset_index(drop=True)
    rows = [i for i in range(len(frame)) if timepoints is None or str(frame.loc[i, "timepoint"]) in timepoints]
    generators = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(frame))]
    records: dict[str, list[dict]] = {}
    changes, failures = [], []
    for done, i in enumerate(rows):
        row = frame.loc[i].to_dict()
        for variant, exam in _exam_variants(manifest, i, row, readers, perturbations, generators[i], failures):
            _write_variant(variant, exam, row, manifest, Path(out_dir), records, changes)
        if progress is not None and progress(f"segmentation variants of exam {i + 1}", (done + 1) / len(rows)):
            raise CancelledError("writing segmentation variants cancelled")
    manifests = {name: _write_manifest(rows_, Path(out_dir) / name / "manifest.csv")
                 for name, rows_ in records.items()}
    return VariantSet(manifests, _changes_frame(changes), pd.DataFrame(
        failures, columns=["variant", "patient_id", "timepoint", "message"]))


def _write_variant(variant: PerturbedMask, exam, row: Mapping[str, object], manifest, out_dir: Path,
                   records: dict[str, list[dict]], changes: list[list]) -> None:
    pid, tp = str(row["patient_id"]), str(row.get("timepoint", "baseline"))
    label_path = out_dir / variant.name / "masks" / f"{pid}__{tp}.nrrd"
    label_path.parent.mkdir(parents=True, exist_ok=True)
    image, overwritten = _label_map(variant.mask, exam.reference_mask)
    sitk.WriteImage(image, str(label_path), True)
    has_reference = exam.reference_mask is not None
    records.setdefault(variant.name, []).append(_variant_row(row, Path(manifest.directory), label_path, has_reference))
    changes.append([variant.name, pid, tp, variant.voxels_before, variant.voxels_added, variant.voxels_removed,
                    overwritten])


def _write_manifest(records: list[dict], path: Path) -> Path:
    from .. import io

    io.write_manifest(pd.DataFrame(records), path)
    return path


def _changes_frame(changes: list[list]) -> pd.DataFrame:
    return pd.DataFrame(changes, columns=["variant", "patient_id", "timepoint", "voxels_before", "voxels_added",
                                          "voxels_removed", "reference_voxels_overwritten"])
