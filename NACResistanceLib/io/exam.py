"""The exam object: everything one MRI examination of one patient contributes to the analysis.

Images are SimpleITK images in LPS physical space. Each series keeps its own grid (DWI is usually
coarser than DCE); masks are binary ``sitk.sitkUInt8`` images on the grid of the series they were
drawn on, normally the first post-contrast DCE phase. Readers in :mod:`NACResistanceLib.io` build
these objects from files; the phantom builds them in memory; the Slicer module builds them from
MRML nodes. Nothing here reads files or computes science.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk

from ..errors import AcquisitionError


@dataclass(frozen=True)
class DceSeries:
    """Dynamic contrast-enhanced series: one pre-contrast phase followed by post-contrast phases."""

    phases: tuple[sitk.Image, ...]
    """3D images on one grid, in acquisition order; ``phases[0]`` is pre-contrast."""
    times_s: tuple[float, ...]
    """Acquisition time of each phase relative to ``phases[0]``, s (so ``times_s[0] == 0``)."""
    roi_phase: int = 1
    """Index of the phase the tumour ROI was drawn on (the seed: first post-contrast, 1)."""
    times_source: str = ""
    """Where ``times_s`` came from: a DICOM tag (e.g. ``AcquisitionTime (0008,0032)``), ``dce_times_s``, or ``""``."""
    tr_ms: float | None = None
    """Repetition time of the spoiled gradient echo, ms (``None``: unknown; pharmacokinetics then omitted)."""
    flip_angle_deg: float | None = None
    """Flip angle, degrees (``None``: unknown)."""

    def __post_init__(self) -> None:
        if len(self.phases) < 2:
            raise AcquisitionError(f"DCE needs a pre-contrast and at least one post-contrast phase, got {len(self.phases)}")
        if len(self.times_s) != len(self.phases):
            raise AcquisitionError(
                f"DCE has {len(self.phases)} phases but {len(self.times_s)} acquisition times (field dce_times_s)"
            )
        if any(b <= a for a, b in zip(self.times_s, self.times_s[1:])):
            raise AcquisitionError(f"DCE acquisition times must increase strictly, got {list(self.times_s)} s")
        if not 0 <= self.roi_phase < len(self.phases):
            raise AcquisitionError(f"roi_phase {self.roi_phase} is not a phase index (0..{len(self.phases) - 1})")

    @property
    def roi_image(self) -> sitk.Image:
        """The phase the ROI was drawn on (the radiomics input of the seed study)."""
        return self.phases[self.roi_phase]


@dataclass(frozen=True)
class DwiSeries:
    """Diffusion-weighted series: one 3D volume per acquisition, all on one grid."""

    volumes: tuple[sitk.Image, ...]
    """3D images, one per (b-value, direction) acquisition, or one per b-value for trace-weighted data."""
    bvals: tuple[float, ...]
    """b-value of each volume, s/mm²."""
    bvecs: np.ndarray | None = None
    """``(n_volumes, 3)`` unit gradient directions (LPS), or ``None`` for trace-weighted (direction-averaged) volumes."""

    def __post_init__(self) -> None:
        if len(self.volumes) != len(self.bvals):
            raise AcquisitionError(f"DWI has {len(self.volumes)} volumes but {len(self.bvals)} b-values (field dwi_bvals)")
        if any(b < 0 for b in self.bvals):
            raise AcquisitionError(f"b-values must be non-negative, got {list(self.bvals)} s/mm²")
        if self.bvecs is not None and np.shape(self.bvecs) != (len(self.volumes), 3):
            raise AcquisitionError(
                f"bvecs must have shape ({len(self.volumes)}, 3), got {np.shape(self.bvecs)} (field dwi_bvecs)"
            )

    @property
    def is_trace(self) -> bool:
        """True when the volumes are trace-weighted (no gradient directions)."""
        return self.bvecs is None

    def signal_array(self) -> np.ndarray:
        """The volumes stacked as a ``(z, y, x, n_volumes)`` float64 array (numpy axis order)."""
        return np.stack([sitk.GetArrayFromImage(v).astype(np.float64) for v in self.volumes], axis=-1)


@dataclass(frozen=True)
class Exam:
    """One MRI examination of one patient at one time point."""

    patient_id: str
    tumor_mask: sitk.Image
    """Binary tumour mask (1 inside), on the grid of the series it was drawn on."""
    dce: DceSeries | None = None
    dwi: DwiSeries | None = None
    adc: sitk.Image | None = None
    """Scanner-computed ADC map, mm²/s (readers convert 10⁻⁶ mm²/s scanner units)."""
    reference_mask: sitk.Image | None = None
    """Binary mask of normal fibroglandular tissue (usually contralateral) for relative values."""
    tumor_mask_reader2: sitk.Image | None = None
    """A second reader's tumour outline, for reproducibility analysis."""
    breast_mask: sitk.Image | None = None
    """Binary mask of the breast (excluding air and chest wall) on the tumour mask's grid; clips peritumoral shells."""
    other_lesion_mask: sitk.Image | None = None
    """Binary mask of another lesion on the tumour mask's grid, excluded from peritumoral shells."""
    aif_mask: sitk.Image | None = None
    """Binary mask of an artery on the tumour mask's grid; its mean DCE signal is the measured AIF."""
    t1_map: sitk.Image | None = None
    """Native (pre-contrast) T1 map, ms, on its own grid (e.g. variable flip angle), for pharmacokinetics."""
    extra_series: Mapping[str, sitk.Image] = field(default_factory=dict)
    """Further named 3D series on their own grids (``"t2w"``: T2-weighted), for multiparametric radiomics."""
    timepoint: str = "baseline"
    """Time point label, e.g. ``"baseline"`` or ``"cycle2"`` (delta radiomics)."""
    exam_date: str | None = None
    """ISO date of the exam (``YYYY-MM-DD``), used for temporal validation splits."""
    clinical: Mapping[str, object] = field(default_factory=dict)
    """Clinical and pathology values by manifest column name (see docs/manifest.md)."""
    sources: Mapping[str, str] = field(default_factory=dict)
    """Where each field came from (field name -> file path), so errors can name the file."""

    def source(self, name: str) -> str:
        """The file a field was read from, or ``"<in memory>"``."""
        return self.sources.get(name, "<in memory>")

    def part_source(self, name: str, index: int) -> str:
        """The one file of a ``;``-separated list (DCE phases, DWI volumes) that item ``index`` (0-based) came from."""
        parts = self.source(name).split(";")
        return parts[index] if len(parts) > index >= 0 and len(parts) > 1 else self.source(name)
