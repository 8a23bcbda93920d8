"""Reproducibility of a cohort's features: ICC between readers and over segmentation perturbations.

:func:`run_reproducibility` writes the segmentation variants (:mod:`.variants`), analyses each with
:func:`cohort.run_extraction` (same parameters, cache, workers), computes the ICC of every feature per
source and the filter decision that the selection funnel applies first.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import ImageError
from .filter import IccFilterDecision, combine_decisions, icc_filter
from .icc import ICC_ABSOLUTE, IccResult, icc_between
from .perturbation import PerturbationConfig
from .variants import READER1, READER2, VariantSet, write_variants

logger = logging.getLogger(__name__)

READERS = "readers"
PERTURBATIONS = "perturbations"
SUMMARY_FILE = "reproducibility.json"
"""Sources, confidence level, notes and counts written beside the tables (read back by the report)."""


@dataclass(frozen=True)
class ReproducibilityResult:
    """ICCs per source, the filter decision, the voxel changes of every variant and the failures."""

    icc: dict[str, IccResult]
    """``"readers"`` and/or ``"perturbations"`` -> per-feature ICCs."""
    decision: IccFilterDecision
    """Combined filter decision (a feature is kept only if every source keeps it)."""
    variants: VariantSet
    """Variant manifests, voxel changes and failures while making variants."""
    extraction_failures: pd.DataFrame
    """Exams whose analysis failed, per variant: ``variant, patient_id, timepoint, error_type, message``."""
    excluded_variants: dict[str, float] = field(default_factory=dict)
    """Perturbations left out of the ICC -> the fraction of exams they had features for."""

    @property
    def notes(self) -> tuple[str, ...]:
        """Caveats for the report: perturbations left out, failed variants."""
        notes = [f"perturbation {name} left out of the ICC: features for only {fraction:.0%} of the exams"
                 for name, fraction in self.excluded_variants.items()]
        failed = len(self.variants.failures) + len(self.extraction_failures)
        if failed:
            notes.append(f"{failed} exam variant(s) failed (failures.csv)")
        return tuple(notes)

    def perturbation_summary(self) -> pd.DataFrame:
        """Mean voxel changes per variant over exams: ``variant, exams, voxels_before, voxels_added,
        voxels_removed, volume_change_pct`` (100 (after - before) / before)."""
        changes = self.variants.changes.copy()
        changes["volume_change_pct"] = 100.0 * (changes["voxels_added"] - changes["voxels_removed"]) / \
            changes["voxels_before"]
        grouped = changes.groupby("variant", sort=False)
        summary = grouped[["voxels_before", "voxels_added", "voxels_removed", "volume_change_pct"]].mean()
        return summary.assign(exams=grouped.size()).reset_index()[
            ["variant", "exams", "voxels_before", "voxels_added", "voxels_removed", "volume_change_pct"]]

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write every table as CSV into ``out_dir`` (``icc_filter.csv`` is readable by
        :func:`robustness.read_decision`) and ``features_removed.txt``; returns name -> path."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        tables = {f"icc_{source}": r.to_frame() for source, r in self.icc.items()}
        tables.update(icc_filter=self.decision.to_frame(), perturbations=self.perturbation_summary(),
                      variant_changes=self.variants.changes,
                      failures=pd.concat([self.variants.failures, self.extraction_failures], ignore_index=True))
        paths = {}
        for name, frame in tables.items():
            paths[name] = out / f"{name}.csv"
            frame.to_csv(paths[name], index=False, lineterminator="\n")
        removed = out / "features_removed.txt"
        removed.write_text("".join(f"{f}\n" for f in self.decision.removed), encoding="utf-8")
        paths["features_removed"] = removed
        perturbed = ~self.variants.changes["variant"].isin([READER1, READER2])
        summary = {"sources": list(self.icc), "confidence": next(iter(self.icc.values())).confidence,
                   "notes": list(self.notes), "kept": len(self.decision.kept), "removed": len(self.decision.removed),
                   "perturbations": bool(perturbed.any())}
        paths["summary"] = out / SUMMARY_FILE
        paths["summary"].write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        return paths


def _extract(variants: VariantSet, out_dir: Path, config, jobs: int, scheduler: str | None,
             progress) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Analyse every variant manifest; returns variant -> feature frame, and the failures."""
    from ..cohort import run_extraction

    frames, failures = {}, []
    for name, manifest_path in variants.manifests.items():
        logger.info("analysing segmentation variant %s", name)
        result = run_extraction(manifest_path, out_dir / name / "extraction", config, jobs=jobs,
                                scheduler=scheduler, progress=progress)
        frames[name] = result.features
        failures.append(result.failures.assign(variant=name))
    failure_frame = pd.concat(failures, ignore_index=True) if failures else pd.DataFrame()
    return frames, failure_frame


def _coverage(frames: Mapping[str, pd.DataFrame]) -> dict[str, float]:
    """Per perturbation variant: the fraction of the reader-1 exams it has features for."""
    exams = frames[READER1].index
    return {name: float(frame.index.isin(exams).sum()) / max(len(exams), 1)
            for name, frame in frames.items() if name not in (READER1, READER2)}


def _icc_per_source(frames: Mapping[str, pd.DataFrame], confidence: float,
                    used: list[str]) -> dict[str, IccResult]:
    """ICC per source; perturbation variants must be in ``used`` (those with enough coverage)."""
    results = {}
    if READER2 in frames:
        results[READERS] = icc_between({READER1: frames[READER1], READER2: frames[READER2]}, confidence=confidence)
    if used:
        raters = {READER1: frames[READER1], **{name: frames[name] for name in used}}
        results[PERTURBATIONS] = icc_between(raters, confidence=confidence)
    if not results:
        raise ImageError("no ICC can be computed: no exam has a second reader (manifest column segmentation_reader2) "
                         "and no perturbation was requested or usable; add a second reader or use --perturb")
    return results


def run_reproducibility(manifest, out_dir: str | Path, config=None, *, readers: bool = True,
                        perturbations: PerturbationConfig | None = None, timepoints=("baseline",),
                        threshold: float = 0.75, icc_type: str = ICC_ABSOLUTE, statistic: str = "icc",
                        confidence: float = 0.95, min_variant_coverage: float = 0.9, seed: int = 0,
                        jobs: int = 1, scheduler: str | None = None,
                        progress: Callable[[str, float], bool] | None = None) -> ReproducibilityResult:
    """ICC of every feature between readers and/or over perturbations, and the ICC filter decision.

    Parameters
    ----------
    manifest : str, Path or io.Manifest
        The cohort; exams with ``segmentation_reader2`` give the reader ICC.
    out_dir : str or Path
        Work folder: ``variants/<variant>/`` (label maps, manifest, extraction cache).
    config : pipeline.AnalysisConfig, dict, str, Path or None
        Analysis parameters, as for ``cohort.run_extraction`` (the same for every variant).
    readers, perturbations, timepoints, seed
        As :func:`robustness.variants.write_variants`.
    threshold, icc_type, statistic
        The filter (:func:`robustness.filter.icc_filter`), applied to every source.
    confidence : float
        Confidence level of the ICC intervals.
    min_variant_coverage : float
        A perturbation enters the ICC only if it has features for at least this fraction of the reader-1
        exams (a perturbation can fail on small tumours: an erosion removing it, a resize below the voxel
        size); the ICC then uses the exams that have every included perturbation.
    jobs, scheduler, progress
        As ``cohort.run_extraction``.

    Raises
    ------
    ImageError
        If neither a second reader nor perturbations give two outlines of any exam.
    """
    from .. import io

    if isinstance(manifest, (str, Path)):
        manifest = io.read_manifest(manifest)
    work = Path(out_dir) / "variants"
    variants = write_variants(manifest, work, readers=readers, perturbations=perturbations,
                              timepoints=timepoints, seed=seed, progress=progress)
    frames, failures = _extract(variants, work, config, jobs, scheduler, progress)
    coverage = _coverage(frames)
    used = [name for name, fraction in coverage.items() if fraction >= min_variant_coverage]
    excluded = {name: fraction for name, fraction in coverage.items() if name not in used}
    if excluded:
        logger.warning("perturbations left out of the ICC (features for too few exams): %s", excluded)
    results = _icc_per_source(frames, confidence, used)
    decision = combine_decisions([icc_filter(r, threshold, icc_type=icc_type, statistic=statistic, source=s)
                                  for s, r in results.items()])
    return ReproducibilityResult(icc=results, decision=decision, variants=variants, extraction_failures=failures,
                                 excluded_variants=excluded)
