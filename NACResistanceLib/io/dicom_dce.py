"""DCE phases and their acquisition times from a DICOM folder.

Three layouts: one series per phase (phases ordered by acquisition time, else SeriesNumber); one series
holding every phase (split by TemporalPositionIdentifier when present, else by acquisition order at
each slice position: TriggerTime, then acquisition time, then InstanceNumber); an enhanced MR file
(per-frame TemporalPositionIndex and FrameAcquisitionDateTime). Derived series (ImageType DERIVED,
subtraction, MIP...) and diffusion series are recognised and left out, and listed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from ..errors import InputFileError
from .dicom_index import (
    DicomIndex,
    PixelCache,
    SeriesInfo,
    build_volume,
    index_folder,
    listing,
    matches,
    split_volumes,
    volume_time_s,
)

logger = logging.getLogger(__name__)

TIME_SOURCES = ("acquisition", "trigger")
"""Header times tried in order; the first that every phase has and that increases strictly is used.
ContentTime is not used: it is when the image was created, which need not follow the acquisition."""


@dataclass(frozen=True)
class DicomDce:
    """What a DICOM folder gives for DCE."""

    phases: tuple[sitk.Image, ...]
    times_s: tuple[float, ...] | None
    """Start of each phase relative to the first, s; ``None`` when the headers give no usable times."""
    times_source: str
    """The tag the times came from (``""`` when none)."""
    series: tuple[SeriesInfo, ...]
    """The series the phases came from."""
    left_out: tuple[SeriesInfo, ...]
    """Derived and diffusion series of the folder, recognised and not used."""

    def left_out_text(self) -> str:
        return listing(list(self.left_out)) if self.left_out else "none"


def read_dicom_dce(folder: str | Path, series: str | None = None, index: DicomIndex | None = None) -> DicomDce:
    """Read the DCE phases of a DICOM folder with their header times.

    Parameters
    ----------
    folder : str or Path
    series : str, optional
        SeriesInstanceUID, SeriesNumber or SeriesDescription pattern (``*`` wildcards, any case) choosing the
        DCE series, or several of them separated by ``;``; a pattern may match several single-phase series
        (one series per phase). Derived series matched by a pattern are left out unless nothing else matches.

    Raises
    ------
    InputFileError
        No image series, a choice matching nothing, or an ambiguous folder (several multi-phase series, or
        single- and multi-phase series mixed); the message lists every series.
    """
    index = index or index_folder(folder, keep_datasets=True)
    found = index.series()
    if not found:
        raise InputFileError(f"DICOM folder {folder} holds no DICOM series")
    left_out = [s for s in found if s.is_derived or s.is_dwi]
    usable = [s for s in found if s not in left_out]
    chosen = _selected(found, series) if series else usable
    if series and not chosen:
        raise InputFileError(f"DCE: selector {series!r} matches no series in DICOM folder {folder}; it holds: "
                             f"{listing(found)}")
    if series:
        left_out = [s for s in left_out if s not in chosen]
    if not chosen:
        raise InputFileError(f"DCE: DICOM folder {folder} holds no series usable as DCE (derived and diffusion "
                             f"series are left out unless chosen with dce_series); it holds: {listing(found)}")
    if left_out:
        logger.info("DCE %s: left out %s", folder, listing(left_out))
    multi = [s for s in chosen if s.n_volumes > 1]
    if len(chosen) == 1:
        volumes = _split_series(chosen[0])
    elif not multi:
        volumes = [list(s.frames) for s in _phase_order(chosen)]
    else:
        raise InputFileError(
            f"DCE: DICOM folder {folder} holds {len(chosen)} candidate series, {len(multi)} of them with several "
            "volumes; choose the DCE series with a SeriesInstanceUID, SeriesNumber or SeriesDescription pattern "
            f"(manifest column dce_series): {listing(found)}"
        )
    if len(volumes) < 2:
        raise InputFileError(f"DCE: DICOM folder {folder} gives one volume only ({listing(chosen)}); DCE needs a "
                             f"pre-contrast and at least one post-contrast phase. It holds: {listing(found)}")
    times, source = _header_times(volumes)
    cache = PixelCache(index)
    phases = tuple(build_volume(v, cache) for v in volumes)
    return DicomDce(phases, times, source, tuple(chosen), tuple(left_out))


def _selected(found: list[SeriesInfo], selector: str) -> list[SeriesInfo]:
    """Series matching any ``;``-separated selector; derived/diffusion ones only when nothing else matches."""
    parts = [part.strip() for part in selector.split(";") if part.strip()]
    chosen = [s for s in found if any(matches(s, part) for part in parts)]
    plain = [s for s in chosen if not (s.is_derived or s.is_dwi)]
    return plain or chosen


def _split_series(series: SeriesInfo) -> list[list]:
    frames = list(series.frames)
    if all(f.temporal_position is not None for f in frames) and len({f.temporal_position for f in frames}) > 1:
        return split_volumes(frames, lambda f: f.temporal_position)
    return split_volumes(frames)


def _phase_order(series: list[SeriesInfo]) -> list[SeriesInfo]:
    def start(s: SeriesInfo):
        times = [f.acquisition_time_s for f in s.frames]
        return min(times) if all(t is not None for t in times) else None

    starts = [start(s) for s in series]
    if all(t is not None for t in starts) and len(set(starts)) == len(starts):
        return [s for _, s in sorted(zip(starts, series), key=lambda pair: pair[0])]
    return sorted(series, key=lambda s: (s.number if s.number is not None else 0, s.series_uid))


def _header_times(volumes: list[list]) -> tuple[tuple[float, ...] | None, str]:
    per_volume = [volume_time_s(v) for v in volumes]
    for key in TIME_SOURCES:
        if all(key in values for values, _ in per_volume):
            times = np.array([values[key] for values, _ in per_volume])
            times = times - times[0]
            if np.all(np.diff(times) > 0):
                return tuple(float(t) for t in times), per_volume[0][1][key]
    return None, ""
