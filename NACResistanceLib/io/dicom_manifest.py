"""A manifest from a folder tree of DICOM exports: one row per study, its DCE, DWI, ADC and SEG series assigned.

Every file under the root is read once (headers only). Each StudyInstanceUID becomes one exam
(PatientID, StudyDate); its series are assigned by DICOM attributes first (diffusion b-values, ImageType
DERIVED/ADC, the number of volumes per series, SEG modality) and by SeriesDescription patterns second
(:data:`DEFAULT_RULES`, overridable with a YAML rules file). Every series seen is listed in a second table
with the reason it was or was not assigned.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import ConfigError
from .dicom_index import SeriesInfo, index_folder
from .dicom_seg import seg_segments

DEFAULT_RULES: dict[str, tuple[str, ...]] = {
    "dce": ("*dyn*", "*dce*", "*vibrant*", "*thrive*", "*twist*", "*dynamic*", "*perfusion*", "*ph[0-9]*"),
    "dwi": ("*dwi*", "*diff*", "*ep2d*", "*resolve*"),
    "adc": ("*adc*", "*apparent diffusion*"),
    "segmentation": ("*seg*", "*tumo*", "*lesion*"),
    "exclude": ("*sub*", "*mip*", "*localizer*", "*scout*", "*survey*", "*calibration*", "*3-plane*"),
    "tumor_segment": ("*tumo*", "*lesion*", "*cancer*", "*mass*"),
    "reference_segment": ("*reference*", "*normal*", "*fgt*", "*parenchyma*", "*contralateral*"),
}
"""SeriesDescription (and segment label) patterns, shell wildcards, case ignored."""

SERIES_TABLE_COLUMNS = ("patient_id", "timepoint", "exam_date", "study_uid", "series_uid", "series_number",
                        "description", "modality", "image_type", "files", "volumes", "b_values", "folder",
                        "assigned", "reason")


@dataclass(frozen=True)
class ExportManifest:
    """What :func:`manifest_from_exports` found."""

    manifest: pd.DataFrame
    """One row per study, manifest columns (docs/manifest.md), clinical columns empty."""
    series: pd.DataFrame
    """One row per series seen (:data:`SERIES_TABLE_COLUMNS`)."""


def read_rules(path: str | Path | None) -> dict[str, tuple[str, ...]]:
    """Default rules updated by a YAML file mapping ``dce``/``dwi``/``adc``/``segmentation``/``exclude``/
    ``tumor_segment``/``reference_segment`` to lists of SeriesDescription patterns."""
    rules = dict(DEFAULT_RULES)
    if path is None:
        return rules
    import yaml

    try:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"rules file {path} cannot be read: {error}") from error
    if not isinstance(loaded, dict):
        raise ConfigError(f"rules file {path} must map keys to lists of patterns")
    for key, patterns in loaded.items():
        if key not in DEFAULT_RULES:
            raise ConfigError(f"rules file {path}: key {key!r} is not one of {', '.join(DEFAULT_RULES)}")
        if isinstance(patterns, str):
            patterns = [patterns]
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise ConfigError(f"rules file {path}: {key} must be a list of SeriesDescription patterns")
        rules[key] = tuple(patterns)
    return rules


def manifest_from_exports(root: str | Path, manifest_dir: str | Path, rules: dict | None = None) -> ExportManifest:
    """Walk ``root``, assign each study's series and return the manifest rows and the series table.

    Paths in the manifest are relative to ``manifest_dir`` (where the CSV will be written).
    """
    rules = rules or DEFAULT_RULES
    index = index_folder(root, recursive=True)
    manifest_dir = Path(manifest_dir)
    by_study: dict[str, list[SeriesInfo]] = defaultdict(list)
    for series in index.series():
        by_study[series.first.study_uid].append(series)
    segs_by_study: dict[str, list[tuple[str, object]]] = defaultdict(list)
    for path, dataset in index.segmentations:
        segs_by_study[str(dataset.get("StudyInstanceUID", ""))].append((path, dataset))
    others: dict[str, dict[str, dict]] = defaultdict(dict)
    for item in index.non_images:
        entry = others[item["study_uid"]].setdefault(item["series_uid"], {
            "series_uid": item["series_uid"], "series_number": item["series_number"], "description": item["description"],
            "modality": item["modality"], "image_type": "", "files": 0, "volumes": 0, "b_values": "",
            "folder": _folder([item["path"]], manifest_dir), "assigned": "", "reason": item["reason"]})
        entry["files"] += 1
    studies = sorted(set(by_study) | set(segs_by_study), key=lambda uid: _study_key(by_study, segs_by_study, uid))
    timepoints = _timepoints(studies, by_study, segs_by_study)
    rows, table = [], []
    for study_uid in studies:
        identity = _identity(by_study.get(study_uid, []), segs_by_study.get(study_uid, []), timepoints[study_uid])
        row, listed = _assign(by_study.get(study_uid, []), segs_by_study.get(study_uid, []), rules, manifest_dir)
        rows.append({**identity, **row})
        table.extend({**identity, "study_uid": study_uid, **entry} for entry in listed)
        table.extend({**identity, "study_uid": study_uid, **entry} for entry in others.get(study_uid, {}).values())
    manifest = pd.DataFrame(rows)
    series_table = pd.DataFrame(table, columns=[c for c in SERIES_TABLE_COLUMNS])
    return ExportManifest(manifest, series_table)


def _study_key(by_study, segs_by_study, uid):
    identity = _identity(by_study.get(uid, []), segs_by_study.get(uid, []), "")
    return (identity["patient_id"], identity["exam_date"], uid)


def _timepoints(studies, by_study, segs_by_study) -> dict[str, str]:
    """``baseline`` for each patient's earliest study, then ``exam2``, ``exam3``... by StudyDate."""
    counts: dict[str, int] = defaultdict(int)
    names = {}
    for uid in studies:   # already sorted by (patient, date)
        patient = _identity(by_study.get(uid, []), segs_by_study.get(uid, []), "")["patient_id"]
        counts[patient] += 1
        names[uid] = "baseline" if counts[patient] == 1 else f"exam{counts[patient]}"
    return names


def _identity(series: list[SeriesInfo], segs, timepoint: str) -> dict[str, str]:
    if series:
        patient, date = series[0].first.patient_id, series[0].first.study_date
    else:
        dataset = segs[0][1]
        patient, text = str(dataset.get("PatientID", "")), str(dataset.get("StudyDate", ""))
        date = f"{text[:4]}-{text[4:6]}-{text[6:8]}" if len(text) >= 8 else ""
    return {"patient_id": re.sub(r"[^A-Za-z0-9_.\-]", "_", patient) or "unknown", "timepoint": timepoint,
            "exam_date": date}


def _matches_any(text: str, patterns) -> bool:
    return any(fnmatch.fnmatchcase(text.lower(), p.lower()) for p in patterns)


def _folder(files, manifest_dir: Path) -> str:
    common = os.path.commonpath([os.path.dirname(os.path.abspath(f)) for f in files])
    try:
        return os.path.relpath(common, os.path.abspath(manifest_dir))
    except ValueError:   # another drive (Windows)
        return common


def _entry(series: SeriesInfo, manifest_dir: Path, assigned: str, reason: str) -> dict:
    return {"series_uid": series.series_uid, "series_number": series.number, "description": series.description,
            "modality": series.first.modality, "image_type": "\\".join(series.first.image_type),
            "files": len(series.files), "volumes": series.n_volumes,
            "b_values": ";".join(f"{b:g}" for b in series.b_values), "folder": _folder(series.files, manifest_dir),
            "assigned": assigned, "reason": reason}


def _assign(series: list[SeriesInfo], segs, rules, manifest_dir: Path) -> tuple[dict, list[dict]]:
    """The manifest cells of one study and the series-table entries of its series."""
    row: dict[str, str] = {}
    listed: dict[str, dict] = {}
    remaining = []
    adc, dwi = [], []
    use_trace = not any(s.is_dwi for s in series)   # the scanner's trace images only when no acquired DWI
    for s in series:
        text = s.description
        is_adc = "ADC" in s.first.image_type or _matches_any(text, rules["adc"])
        if is_adc and s.n_volumes == 1:
            adc.append(s)
        elif s.is_dwi or (use_trace and s.is_trace_dwi):
            dwi.append(s)
        elif s.is_derived:
            listed[s.series_uid] = _entry(s, manifest_dir, "", "derived (ImageType " + "\\".join(s.first.image_type)
                                          + "): never a DCE phase or DWI")
        elif _matches_any(text, rules["exclude"]):
            listed[s.series_uid] = _entry(s, manifest_dir, "", "SeriesDescription matches an exclude rule")
        else:
            remaining.append(s)
    _pick(row, listed, "adc", adc, manifest_dir, rules, "ImageType ADC or SeriesDescription matches an adc rule")
    if "adc" in row:
        row["adc_unit"] = "um2/s"
    _pick(row, listed, "dwi", dwi, manifest_dir, rules, "b-values in the headers")
    _assign_dce(row, listed, remaining, rules, manifest_dir)
    _assign_seg(row, listed, segs, rules, manifest_dir)
    for s in series:
        listed.setdefault(s.series_uid, _entry(s, manifest_dir, "", "no rule assigns it (not DCE, DWI, ADC or SEG)"))
    return row, list(listed.values())


def _pick(row, listed, column: str, candidates: list[SeriesInfo], manifest_dir, rules, why: str) -> None:
    if len(candidates) > 1:
        preferred = [s for s in candidates if _matches_any(s.description, rules[column])]
        candidates_left = preferred if len(preferred) == 1 else candidates
    else:
        candidates_left = candidates
    if len(candidates_left) == 1:
        chosen = candidates_left[0]
        row[column] = _folder(chosen.files, manifest_dir)
        row[f"{column}_series"] = chosen.series_uid
        listed[chosen.series_uid] = _entry(chosen, manifest_dir, column, why)
        others = [s for s in candidates if s is not chosen]
        reason = f"another {column} candidate was chosen (SeriesDescription rule)"
    else:
        others = candidates
        reason = f"{len(candidates)} {column} candidates and no SeriesDescription rule tells them apart; " \
                 f"set {column} and {column}_series by hand"
    for s in others:
        listed[s.series_uid] = _entry(s, manifest_dir, "", reason)


def _assign_dce(row, listed, remaining: list[SeriesInfo], rules, manifest_dir) -> None:
    multi = [s for s in remaining if s.n_volumes > 1]
    named = [s for s in remaining if _matches_any(s.description, rules["dce"])]
    chosen: list[SeriesInfo] = []
    why = ""
    if multi:
        preferred = [s for s in multi if s in named] if len(multi) > 1 else multi
        if len(preferred) == 1:
            chosen, why = preferred, f"{preferred[0].n_volumes} volumes at each slice position (all phases in one series)"
    elif len(named) >= 2:
        chosen, why = named, "one phase per series, SeriesDescription matches a dce rule"
    if chosen:
        row["dce_phases"] = ";".join(dict.fromkeys(_folder(s.files, manifest_dir) for s in chosen))
        row["dce_series"] = ";".join(s.series_uid for s in chosen)
        for s in chosen:
            listed[s.series_uid] = _entry(s, manifest_dir, "dce", why)
        return
    reason = (f"{len(multi)} multi-volume series and no dce rule picks one; set dce_phases and dce_series by hand"
              if multi else "single volume, SeriesDescription matches no dce rule")
    for s in remaining:
        listed[s.series_uid] = _entry(s, manifest_dir, "", reason)


def _assign_seg(row, listed, segs, rules, manifest_dir) -> None:
    entries = []
    for path, dataset in segs:
        entries.append((path, dataset, {
            "series_uid": str(dataset.get("SeriesInstanceUID", "")), "series_number": dataset.get("SeriesNumber"),
            "description": str(dataset.get("SeriesDescription", "") or ""), "modality": "SEG",
            "image_type": "\\".join(str(v) for v in dataset.get("ImageType", [])), "files": 1, "volumes": 1,
            "b_values": "", "folder": _folder([path], manifest_dir)}))
    candidates = entries
    if len(entries) > 1:
        preferred = [e for e in entries if _matches_any(e[2]["description"], rules["segmentation"])]
        candidates = preferred if len(preferred) == 1 else entries
    if len(candidates) == 1:
        path, dataset, entry = candidates[0]
        row["segmentation"] = os.path.relpath(os.path.abspath(path), os.path.abspath(manifest_dir))
        segments = seg_segments(dataset)
        row["tumor_segment"] = _segment_choice(segments, rules["tumor_segment"], default=segments[0][0] if segments else 1)
        reference = _segment_choice(segments, rules["reference_segment"], default=None)
        row["reference_segment"] = "" if reference is None else reference
        listed[entry["series_uid"]] = {**entry, "assigned": "segmentation", "reason": "DICOM SEG object of the study"}
    for _path, _dataset, entry in entries:
        if entry["series_uid"] not in listed:
            listed[entry["series_uid"]] = {**entry, "assigned": "", "reason": f"{len(entries)} DICOM SEG objects and "
                                           "no segmentation rule picks one; set segmentation by hand"}


def _segment_choice(segments, patterns, default):
    for number, label, description in segments:
        if _matches_any(label, patterns) or _matches_any(description, patterns):
            return str(number)
    return None if default is None else str(default)
