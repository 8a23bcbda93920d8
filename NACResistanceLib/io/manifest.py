"""The cohort manifest: one CSV row per exam (docs/manifest.md), validated before any image is read.

``read_manifest`` checks every row and column (codes, ranges, dates, list lengths, that files
exist) and raises one :class:`~NACResistanceLib.errors.ManifestError` listing every problem, each
naming the row (1-based, the header is row 1), the column and the value. ``load_exam`` then reads
one row's images into an :class:`~NACResistanceLib.io.exam.Exam`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..clinical import CLINICAL_CODES, NUMERIC_RANGES
from ..errors import ManifestError, NACResistanceError, add_context
from .exam import Exam

_IDENTIFIER = re.compile(r"^[A-Za-z0-9_.\-]+$")
MIN_DCE_SPAN_S = 20.0
"""Three or more DCE phases spanning less than this many seconds were almost surely given in minutes."""
MAX_LISTED_PROBLEMS = 25
"""At most this many problems are spelled out in one ManifestError (the count is always given)."""


@dataclass(frozen=True)
class Column:
    """How one manifest column is read and checked."""

    kind: str
    """``text``, ``identifier``, ``date``, ``paths``, ``path``, ``numbers``, ``bvals``, ``integer``,
    ``number``, ``code`` or ``segment``."""
    required: bool = False
    default: str = ""
    """Value used when the column is absent (cells left empty stay empty)."""
    low: float = -math.inf
    high: float = math.inf
    codes: tuple[str, ...] = ()


IDENTITY_COLUMNS = {
    "patient_id": Column("identifier", required=True),
    "timepoint": Column("identifier", default="baseline"),
    "exam_date": Column("date", required=True),
}
IMAGING_COLUMNS = {
    "dce_phases": Column("paths", required=True),
    "dce_times_s": Column("numbers", low=0.0),
    "dce_roi_phase": Column("integer", default="1", low=0),
    "dce_tr_ms": Column("number", low=0.0, high=1000.0),
    "dce_flip_angle_deg": Column("number", low=0.0, high=180.0),
    "dwi": Column("paths"),
    "dwi_bvals": Column("bvals", low=0.0),
    "dwi_bvecs": Column("path"),
    "adc": Column("path"),
    "adc_unit": Column("code", default="mm2/s", codes=("mm2/s", "um2/s")),
    "segmentation": Column("path", required=True),
    "tumor_segment": Column("segment", default="1"),
    "reference_segment": Column("segment", default="2"),
    "segmentation_reader2": Column("path"),
    "tumor_segment_reader2": Column("segment"),
    "t2w": Column("path"),
    "breast_segment": Column("segment"),
    "other_lesion_segment": Column("segment"),
    "aif_segment": Column("segment"),
    "t1_map": Column("path"),
}
SERIES_COLUMNS = {
    "dce_series": Column("series"),
    "dwi_series": Column("series"),
    "adc_series": Column("series"),
    "segmentation_series": Column("series"),
}
"""Which series of a DICOM folder to read: a SeriesInstanceUID, a SeriesNumber or a SeriesDescription pattern."""
IMAGING_COLUMNS.update(SERIES_COLUMNS)
CLINICAL_COLUMNS = {
    **{name: Column("number", low=low, high=high) for name, (low, high) in NUMERIC_RANGES.items()},
    **{name: Column("code", codes=codes) for name, codes in CLINICAL_CODES.items()},
}
OUTCOME_COLUMNS = {
    "rcb_d1_mm": Column("number", low=0.0, high=500.0),
    "rcb_d2_mm": Column("number", low=0.0, high=500.0),
    "rcb_cellularity_pct": Column("number", low=0.0, high=100.0),
    "rcb_in_situ_pct": Column("number", low=0.0, high=100.0),
    "rcb_positive_nodes": Column("integer", low=0, high=200),
    "rcb_largest_metastasis_mm": Column("number", low=0.0, high=200.0),
    "mri_longest_diameter_post_mm": Column("number", low=0.0, high=500.0),
}
COLUMNS: dict[str, Column] = {**IDENTITY_COLUMNS, **IMAGING_COLUMNS, **CLINICAL_COLUMNS, **OUTCOME_COLUMNS}
"""Every documented column (docs/manifest.md) in document order; other columns are kept unchecked."""


@dataclass(frozen=True)
class SkippedRow:
    """A manifest row left out because it is invalid."""

    row: int
    """0-based data row of the file (the file's line is ``row + 2``)."""
    patient_id: str
    timepoint: str
    problems: tuple[str, ...]
    """What is wrong, each naming the row, column and value."""


@dataclass(frozen=True)
class Manifest:
    """A validated cohort manifest."""

    frame: pd.DataFrame
    """One row per exam (RangeIndex); numeric columns are float (NaN = empty), the others str (``""`` = empty).
    Every documented column is present, in document order (absent ones hold their defaults), then
    any other columns of the file."""
    path: Path
    """The CSV file (absolute)."""
    skipped: tuple[SkippedRow, ...] = ()
    """Invalid rows left out by ``read_manifest(..., skip_invalid=True)`` (empty otherwise)."""
    source_rows: tuple[int, ...] = ()
    """0-based row of the file (data rows, header excluded) of each row of :attr:`frame`; empty when all rows are kept."""

    def file_row(self, position: int) -> int:
        """0-based data row of the file that row ``position`` of :attr:`frame` comes from."""
        return self.source_rows[position] if self.source_rows else position

    @property
    def directory(self) -> Path:
        """Folder that relative paths are resolved against."""
        return self.path.parent

    def resolve(self, value: str) -> Path:
        """A path cell resolved against :attr:`directory` (absolute paths stay as they are)."""
        path = Path(value)
        return path if path.is_absolute() else self.directory / path

    def row_position(self, row: int | tuple[str, str]) -> int:
        """0-based position of ``row`` (a position, or ``(patient_id, timepoint)``) in :attr:`frame`."""
        if isinstance(row, tuple):
            match = np.flatnonzero((self.frame["patient_id"] == row[0]) & (self.frame["timepoint"] == row[1]))
            if len(match) != 1:
                raise ManifestError(f"manifest {self.path} has no exam for patient {row[0]!r}, timepoint {row[1]!r}")
            return int(match[0])
        if not 0 <= int(row) < len(self.frame):
            raise ManifestError(f"manifest {self.path} has {len(self.frame)} exams; row position {row} does not exist")
        return int(row)


def read_manifest(path: str | Path, *, skip_invalid: bool = False) -> Manifest:
    """Read and validate a cohort manifest CSV (docs/manifest.md).

    Parameters
    ----------
    path : str or Path
        The ``manifest.csv`` file; relative paths inside it are relative to its folder.
    skip_invalid : bool
        Leave out rows with invalid cells (listed in ``Manifest.skipped``) instead of raising; problems
        of the columns or repeated exams still raise, and so does a manifest without any valid row.

    Returns
    -------
    Manifest

    Raises
    ------
    ManifestError
        If the file cannot be read, a required column is missing, a column name looks like a
        misspelt documented one, or any cell is invalid (every problem is listed with its row,
        column and value), or ``(patient_id, timepoint)`` repeats.
    """
    path = Path(path).resolve()
    raw = _read_csv(path)
    problems = _column_problems(raw.columns) + ([] if len(raw) else ["it lists no exams"])
    if problems:
        raise ManifestError(f"manifest {path}: " + "; ".join(problems))
    frame = raw.copy()
    for name, column in COLUMNS.items():
        if name not in frame.columns:
            frame[name] = column.default
    by_row = [_row_problems(row, position, path.parent) for position, row in enumerate(frame.to_dict("records"))]
    problems += _duplicate_problems(frame)
    if skip_invalid and not problems and any(by_row) and not all(by_row):
        keep = [i for i, found in enumerate(by_row) if not found]
        skipped = tuple(SkippedRow(i, str(frame["patient_id"].iloc[i]), str(frame["timepoint"].iloc[i] or "baseline"),
                                   tuple(found)) for i, found in enumerate(by_row) if found)
        kept = frame.iloc[keep].reset_index(drop=True)
        return Manifest(_typed(kept), path, skipped, tuple(keep))
    problems = [problem for found in by_row for problem in found] + problems
    if problems:
        listed = "\n  ".join(problems[:MAX_LISTED_PROBLEMS])
        more = f"\n  ... and {len(problems) - MAX_LISTED_PROBLEMS} more" if len(problems) > MAX_LISTED_PROBLEMS else ""
        raise ManifestError(f"manifest {path} has {len(problems)} invalid cell(s):\n  {listed}{more}")
    return Manifest(_typed(frame), path)


def write_manifest(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as a manifest CSV (UTF-8, ``\\n`` line ends, empty cells for NaN); returns the path.

    Columns are written in document order (docs/manifest.md), then any others; floats use the
    shortest representation that reads back to the same value, so the file is deterministic.
    """
    path = Path(path)
    known = [name for name in COLUMNS if name in frame.columns]
    ordered = frame[known + [name for name in frame.columns if name not in COLUMNS]]
    path.parent.mkdir(parents=True, exist_ok=True)
    ordered.to_csv(path, index=False, lineterminator="\n", float_format=None, na_rep="")
    return path


def _read_csv(path: Path) -> pd.DataFrame:
    if path.is_dir():
        raise ManifestError(f"manifest {path} is a folder; give the manifest CSV file itself (e.g. {path / 'manifest.csv'})")
    if not path.is_file():
        raise ManifestError(f"manifest {path} does not exist")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True, encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise ManifestError(_encoding_problem(path, error)) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise ManifestError(f"manifest {path} is not a readable CSV file: {error}") from error
    frame.columns = [str(c).strip() for c in frame.columns]
    if len(frame.columns) == 1 and ";" in frame.columns[0]:
        raise ManifestError(f"manifest {path} has one column {frame.columns[0]!r}: it looks ';'-separated; "
                            "save it comma-separated (';' only separates list items inside a cell)")
    return frame.apply(lambda column: column.str.strip())


def _encoding_problem(path: Path, error: UnicodeDecodeError) -> str:
    """Name the row (1-based, header = row 1) and the text holding the first byte that is not UTF-8."""
    data = path.read_bytes()
    start = data.rfind(b"\n", 0, error.start) + 1
    end = data.find(b"\n", error.start)
    end = len(data) if end < 0 else end
    near = data[max(start, error.start - 30):min(end, error.start + 30)].decode("latin-1").strip()
    row = data.count(b"\n", 0, error.start) + 1
    return (f"manifest {path}, row {row}: the text near {near!r} is not UTF-8 (a Latin-1 / Windows export?); "
            "save the file as UTF-8 (CSV UTF-8 in Excel)")


def _column_problems(columns) -> list[str]:
    problems = [f"required column '{name}' is missing" for name, c in COLUMNS.items()
                if c.required and name not in columns]
    for name in columns:
        if name not in COLUMNS:
            close = difflib.get_close_matches(name, list(COLUMNS), n=1, cutoff=0.85)
            if close and close[0] not in columns:
                problems.append(f"column '{name}' is not documented; did you mean '{close[0]}'?")
    return problems


def _row_problems(row: Mapping[str, str], position: int, directory: Path) -> list[str]:
    where = f"row {position + 2}"
    problems = []
    for name, column in COLUMNS.items():
        value = str(row[name])
        if value == "":
            if column.required:
                problems.append(f"{where}, column '{name}': empty, but required")
            continue
        message = CHECKS[column.kind](value, column, directory)
        if message:
            problems.append(f"{where}, column '{name}': value {value!r} {message}")
    return problems + _cross_problems(row, where)


def _check_identifier(value: str, column: Column, directory: Path) -> str:
    if _IDENTIFIER.match(value):
        return ""
    other = sorted({c for c in value if not re.match(r"[A-Za-z0-9_.\-]", c)})
    return (f"holds {', '.join(repr(c) for c in other)}; identifiers name cache files, so only letters, digits, '_', "
            "'-' and '.' of ASCII (A-Z, a-z, 0-9) are allowed (e.g. 'Mueller-Li' for 'Müller-李')")


def _check_date(value: str, column: Column, directory: Path) -> str:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return "is not a date YYYY-MM-DD"
    return "" if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else "is not a date YYYY-MM-DD"


def _check_number(value: str, column: Column, directory: Path) -> str:
    number = _float(value)
    if number is None:
        return "is not a number"
    return "" if column.low <= number <= column.high else f"is outside [{column.low:g}, {column.high:g}]"


def _check_integer(value: str, column: Column, directory: Path) -> str:
    number = _float(value)
    if number is None or number != round(number):
        return "is not a whole number"
    return _check_number(value, column, directory)


def _check_code(value: str, column: Column, directory: Path) -> str:
    allowed = {code.lower(): code for code in column.codes}
    return "" if value.lower() in allowed else f"is not one of {', '.join(column.codes)}"


def _check_numbers(value: str, column: Column, directory: Path) -> str:
    numbers = [_float(token) for token in value.split(";")]
    if any(n is None for n in numbers):
        return "is not a ';'-separated list of numbers"
    return "" if all(column.low <= n <= column.high for n in numbers) else f"has a number below {column.low:g}"


def _check_bvals(value: str, column: Column, directory: Path) -> str:
    if all(_float(token) is not None for token in value.split(";")):
        return _check_numbers(value, column, directory)
    return _check_path(value, column, directory)


def _check_path(value: str, column: Column, directory: Path) -> str:
    path = Path(value) if Path(value).is_absolute() else directory / value
    return "" if path.exists() else f"does not exist (looked for {path})"


def _check_paths(value: str, column: Column, directory: Path) -> str:
    missing = [token for token in value.split(";") if _check_path(token.strip(), column, directory)]
    return f"lists files that do not exist: {', '.join(missing)}" if missing else ""


def _check_segment(value: str, column: Column, directory: Path) -> str:
    number = _float(value)
    if number is None or (number >= 1 and number == round(number)):
        return ""  # a segment name, or a label value; either is looked up when the file is read
    return "is neither a label value (a whole number >= 1) nor a segment name"


def _check_series(value: str, column: Column, directory: Path) -> str:
    return "" if value.strip() and "\n" not in value else "is not a SeriesInstanceUID, SeriesNumber or description pattern"


CHECKS: dict[str, Callable[[str, Column, Path], str]] = {
    "identifier": _check_identifier, "date": _check_date, "number": _check_number, "integer": _check_integer,
    "code": _check_code, "numbers": _check_numbers, "bvals": _check_bvals, "path": _check_path,
    "paths": _check_paths, "segment": _check_segment, "series": _check_series,
}
"""Column kind -> check returning "" or what is wrong with the value."""


def _cross_problems(row: Mapping[str, str], where: str) -> list[str]:
    """Checks between columns: list lengths, increasing times, b-values with DWI, ROI phase index."""
    problems = []
    times = [_float(t) for t in str(row["dce_times_s"]).split(";")] if row["dce_times_s"] else []
    files = [f for f in str(row["dce_phases"]).split(";") if f.strip()]
    if times and None not in times:
        if len(files) > 1 and len(files) != len(times):
            problems.append(f"{where}, column 'dce_times_s': {len(times)} times for {len(files)} files in 'dce_phases'")
        if any(b <= a for a, b in zip(times, times[1:])):
            problems.append(f"{where}, column 'dce_times_s': value {row['dce_times_s']!r} does not increase strictly")
        elif len(times) >= 3 and times[-1] - times[0] < MIN_DCE_SPAN_S:
            problems.append(f"{where}, column 'dce_times_s': value {row['dce_times_s']!r} spans only "
                            f"{times[-1] - times[0]:g} s over {len(times)} phases: are these minutes? give seconds "
                            f"(e.g. {';'.join(f'{t * 60:g}' for t in times[:3])};...)")
        roi = _float(str(row["dce_roi_phase"]))
        if roi is not None and roi >= len(times):
            problems.append(f"{where}, column 'dce_roi_phase': value {row['dce_roi_phase']!r} is not a phase index "
                            f"(0..{len(times) - 1})")
    problems += _dwi_problems(row, where)
    return problems


def _dwi_problems(row: Mapping[str, str], where: str) -> list[str]:
    if not row["dwi"]:
        return [f"{where}, column '{name}': set, but column 'dwi' is empty" for name in ("dwi_bvals", "dwi_bvecs")
                if row[name]]
    if not row["dwi_bvals"]:
        if _is_dicom_folder_value(str(row["dwi"])):
            return []   # a DICOM folder: b-values come from its headers
        return [f"{where}, column 'dwi_bvals': empty, but required with 'dwi' (unless 'dwi' is a DICOM folder)"]
    files = [f for f in str(row["dwi"]).split(";") if f.strip()]
    bvals = str(row["dwi_bvals"]).split(";")
    if len(files) > 1 and all(_float(b) is not None for b in bvals) and len(bvals) != len(files):
        return [f"{where}, column 'dwi_bvals': {len(bvals)} b-values for {len(files)} files in 'dwi'"]
    return []


def _is_dicom_folder_value(value: str) -> bool:
    """True for one path without an image-file ending (read as a DICOM folder)."""
    from .images import IMAGE_SUFFIXES

    tokens = [t.strip() for t in value.split(";") if t.strip()]
    return len(tokens) == 1 and not tokens[0].lower().endswith(IMAGE_SUFFIXES)


def _duplicate_problems(frame: pd.DataFrame) -> list[str]:
    keys = frame["patient_id"].astype(str) + "\t" + frame["timepoint"].replace("", "baseline").astype(str)
    duplicated = np.flatnonzero(keys.duplicated().to_numpy())
    return [f"row {i + 2}, columns 'patient_id'/'timepoint': {frame['patient_id'].iloc[i]!r} / "
            f"{frame['timepoint'].iloc[i]!r} repeats an earlier row" for i in duplicated]


def _float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    typed = frame.copy()
    typed["timepoint"] = typed["timepoint"].replace("", "baseline")
    for name, column in COLUMNS.items():
        if column.kind in ("number", "integer") and name not in ("dce_roi_phase",):
            typed[name] = pd.to_numeric(typed[name].where(typed[name] != ""), errors="raise").astype(float)
        elif column.kind == "code" and column.codes:
            lookup = {code.lower(): code for code in column.codes}
            typed[name] = typed[name].map(lambda v, lookup=lookup: lookup.get(v.lower(), v))
    typed["dce_roi_phase"] = typed["dce_roi_phase"].replace("", "1").astype(float).astype(int)
    ordered = list(COLUMNS) + [name for name in typed.columns if name not in COLUMNS]
    return typed[ordered].reset_index(drop=True)


def load_exam(manifest: Manifest, row: int | tuple[str, str]) -> Exam:
    """Read the images of one manifest row into an :class:`Exam`.

    Parameters
    ----------
    manifest : Manifest
        From :func:`read_manifest`.
    row : int or (str, str)
        0-based row position in ``manifest.frame``, or ``(patient_id, timepoint)``.

    Returns
    -------
    Exam
        DCE phases, DWI volumes, the scanner ADC map in mm²/s (converted from 10⁻⁶ mm²/s when
        ``adc_unit`` is ``um2/s``), tumour / reference / reader-2 masks, the optional breast, other-lesion and
        arterial masks and T1 map (ms), and ``clinical`` holding the clinical columns of the row (NaN or ``""``
        when empty).

    Raises
    ------
    InputFileError, AcquisitionError, ImageError, ManifestError
        From the readers; each carries a note naming the manifest row and patient.
    """
    position = manifest.row_position(row)
    return _exam_naming_the_row(manifest, manifest.frame.iloc[position], position)


def _exam_naming_the_row(manifest: Manifest, record: pd.Series, position: int) -> Exam:
    """:func:`_exam_from_record`, its errors naming the manifest, row (1-based line) and patient."""
    try:
        return _exam_from_record(manifest, record)
    except NACResistanceError as error:
        add_context(error, f"manifest {manifest.path} row {position + 2}, patient {record['patient_id']}, "
                           f"timepoint {record['timepoint']}")
        raise


def _exam_from_record(manifest: Manifest, record: pd.Series) -> Exam:
    from . import read_dce, read_dwi, read_image, read_mask

    sources = {}

    def paths(name: str) -> list[Path]:
        resolved = [manifest.resolve(token.strip()) for token in str(record[name]).split(";") if token.strip()]
        sources[name] = ";".join(str(p) for p in resolved)
        return resolved

    dce_files = paths("dce_phases")
    dce = read_dce(dce_files if len(dce_files) > 1 else dce_files[0],
                   _numbers(record["dce_times_s"]) if record["dce_times_s"] else None,
                   int(record["dce_roi_phase"]), series=_series(record, "dce_series"))
    sources["dce_times_s"] = dce.times_source
    dce = _with_acquisition(dce, record)
    dwi = None
    if record["dwi"]:
        dwi_files = paths("dwi")
        bvals = str(record["dwi_bvals"])
        bvals_arg = None if not bvals else (
            _numbers(bvals) if _float(bvals.split(";")[0]) is not None else manifest.resolve(bvals))
        bvecs = paths("dwi_bvecs")[0] if record["dwi_bvecs"] else None
        dwi = read_dwi(dwi_files if len(dwi_files) > 1 else dwi_files[0], bvals_arg, bvecs,
                       series=_series(record, "dwi_series"))
    adc = None
    if record["adc"]:
        adc = _adc_mm2_s(read_image(paths("adc")[0], series=_series(record, "adc_series")), str(record["adc_unit"]))
    segmentation = paths("segmentation")[0]
    segmentation_series = _series(record, "segmentation_series")
    reference = _segment(record["reference_segment"])
    reader2 = paths("segmentation_reader2")[0] if record["segmentation_reader2"] else None
    tumor2 = _segment(record["tumor_segment_reader2"] or record["tumor_segment"])
    return Exam(
        patient_id=str(record["patient_id"]),
        tumor_mask=read_mask(segmentation, _segment(record["tumor_segment"]), series=segmentation_series),
        dce=dce, dwi=dwi, adc=adc,
        reference_mask=None if reference == "" else read_mask(segmentation, reference, series=segmentation_series),
        tumor_mask_reader2=None if reader2 is None else read_mask(reader2, tumor2),
        **_extra_segments(segmentation, record, segmentation_series),
        t1_map=read_image(paths("t1_map")[0]) if _filled(record, "t1_map") else None,
        extra_series=_extra_series(record, paths),
        timepoint=str(record["timepoint"]), exam_date=str(record["exam_date"]),
        clinical={name: record[name] for name in CLINICAL_COLUMNS},
        sources={**sources, **{field: sources[column] for field, column in EXAM_FIELD_COLUMNS.items()
                               if column in sources}},
    )


EXAM_FIELD_COLUMNS = {"dce": "dce_phases", "dwi": "dwi", "adc": "adc", "tumor_mask": "segmentation",
                      "reference_mask": "segmentation", "tumor_mask_reader2": "segmentation_reader2",
                      "breast_mask": "segmentation", "other_lesion_mask": "segmentation", "aif_mask": "segmentation",
                      "t1_map": "t1_map"}
"""``Exam`` field -> the manifest column its file came from (``Exam.source(field)`` names the file in errors)."""


SERIES_PREFIX = "series_"
"""Manifest columns ``series_<name>`` hold further named series (like ``t2w``) for multiparametric radiomics."""


def _extra_series(record: pd.Series, paths: Callable[[str], list[Path]]) -> dict:
    """``{"t2w": image, "<name>": image}`` from the ``t2w`` and ``series_<name>`` columns that are filled."""
    from . import read_image

    columns = [c for c in record.index if c == "t2w" or (str(c).startswith(SERIES_PREFIX) and len(str(c)) > 7)]
    return {("t2w" if c == "t2w" else str(c)[len(SERIES_PREFIX):]): read_image(paths(c)[0])
            for c in columns if str(record[c]).strip() not in ("", "nan")}


def _extra_segments(segmentation: Path, record: pd.Series, series: str | None = None) -> dict:
    """``breast_mask`` / ``other_lesion_mask`` / ``aif_mask`` from the segmentation file when their segment columns
    are given.

    A breast segment may cover most of the field of view, so it has no size limit (the others do).
    """
    from . import read_mask
    from .segmentation import MAX_REGION_FRACTION

    return {field: read_mask(segmentation, _segment(record[column]), series=series, max_fraction=limit)
            for field, column, limit in (("breast_mask", "breast_segment", None),
                                         ("other_lesion_mask", "other_lesion_segment", MAX_REGION_FRACTION),
                                         ("aif_mask", "aif_segment", MAX_REGION_FRACTION))
            if _filled(record, column)}


def _filled(record: pd.Series, column: str) -> bool:
    """True when the optional ``column`` is in the row and not empty."""
    return column in record and str(record[column]).strip() not in ("", "nan")


def _with_acquisition(dce, record: pd.Series):
    """The DCE series with the manifest's ``dce_tr_ms`` / ``dce_flip_angle_deg`` when given (NaN = keep)."""
    given = {field: float(record[column]) for field, column in (("tr_ms", "dce_tr_ms"), ("flip_angle_deg",
             "dce_flip_angle_deg")) if column in record and pd.notna(record[column]) and record[column] != ""}
    return dataclasses.replace(dce, **given) if given else dce


def _numbers(text: str) -> list[float]:
    return [float(token) for token in str(text).split(";")]


def _series(record: pd.Series, column: str) -> str | None:
    value = str(record.get(column, "") or "").strip()
    return value or None


def _segment(value: str) -> int | str:
    text = str(value).strip()
    return int(text) if re.fullmatch(r"\d+", text) else text


def _adc_mm2_s(image, unit: str):
    import SimpleITK as sitk

    image = sitk.Cast(image, sitk.sitkFloat64)
    return image * 1e-6 if unit == "um2/s" else image


def load_exam_row(manifest_path: str | Path, record: Mapping[str, object], position: int) -> Exam:
    """Read one exam from a row of a manifest that :func:`read_manifest` has validated, without re-reading it.

    What a cohort worker does with its task: ``record`` is ``Manifest.frame.iloc[position]`` as a dict
    (the typed row), so a task carries one row rather than re-reading and re-validating the whole
    manifest (which would grow as N² with the cohort). Errors name the manifest row as :func:`load_exam`.
    """
    manifest = Manifest(pd.DataFrame([dict(record)]), Path(manifest_path))
    return _exam_naming_the_row(manifest, pd.Series(dict(record), dtype=object), position)
