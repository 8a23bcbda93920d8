"""Build one synthetic exam in memory: images, outlines, clinical data and its truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from ..errors import ConfigError
from ..io.exam import DceSeries, DwiSeries, Exam
from ..preprocessing.peritumoral import distance_outside_mm
from .anatomy import Anatomy, grid_points, sample_anatomy
from .biology import Biology
from .dwi import gradient_table, scanner_adc_um2_s
from .followup import TIMEPOINTS, cycle2_state
from .images import dce_signal, dwi_signal, noisy, to_image
from .patient import Patient, make_patient, stream
from .protocol import Grid, PhantomProtocol
from .segmentation import REFERENCE_LABEL, TUMOR_LABEL, reader_one, reader_two
from .tissues import AIR, DWI_SIGNAL_SCALE, FIBROGLANDULAR, NECROSIS, T2_MS, T2W_SIGNAL_SCALE, TISSUES, TUMOR
from .truth import GridSample, exam_truth
from .tumor import TumorFields, sample_tumor_fields

CLINICAL_COLUMNS = ("age_years", "menopause", "bmi_kg_m2", "side", "tumor_size_mm", "t_stage", "n_stage", "grade",
                    "er", "pr", "her2", "ki67_pct", "subtype", "dose_intensity_pct")
"""Pre-treatment clinical columns of the manifest (the values ``Exam.clinical`` carries)."""


@dataclass(frozen=True)
class SyntheticExam:
    """One synthetic exam with everything needed to write it and to check an analysis against it."""

    exam: Exam
    """The exam as the analysis sees it (masks of reader 1, scanner ADC in mm²/s)."""
    truth: dict[str, object]
    """True latent variables and tissue parameters (JSON-ready scalars; see docs/phantom.md)."""
    patient: Patient
    segmentation: sitk.Image
    """Reader 1 label map on the DCE grid: 1 tumour, 2 reference (uint8)."""
    segmentation_reader2: sitk.Image | None
    """Reader 2 label map, or None when the protocol has no second reader."""
    tissues_dce: sitk.Image
    """True tissue codes (:mod:`.tissues`) on the DCE grid (uint8)."""
    tissues_dwi: sitk.Image
    """True tissue codes on the DWI grid (uint8)."""
    adc_um2_s: sitk.Image | None
    """Scanner-style ADC map in 10⁻⁶ mm²/s (uint16), or None."""


@dataclass(frozen=True)
class _State:
    patient: Patient
    anatomy: Anatomy
    biology: Biology
    fields: TumorFields
    exam_date: str
    timepoint: str
    principal: np.ndarray
    """Unit principal diffusion direction of this patient's tissues (tensor protocol)."""


def make_exam(
    patient_index: int, seed: int, protocol: PhantomProtocol | None = None, timepoint: str = "baseline"
) -> SyntheticExam:
    """Generate exam ``timepoint`` (``"baseline"`` or ``"cycle2"``) of patient ``patient_index`` (0-based).

    The same ``(patient_index, seed)`` always gives the same patient, whatever the cohort size or
    worker process; ``protocol`` defaults to the seed study's protocol (:class:`PhantomProtocol`).
    """
    protocol = protocol or PhantomProtocol()
    state = _state(patient_index, seed, timepoint)
    noise_rng = stream(seed, patient_index, "noise", timepoint)
    dce_sample = _sample(state, protocol.dce_grid)
    dce, tumor_curve = _dce_series(state, protocol, dce_sample, noise_rng)
    dwi_sample = _sample(state, protocol.dwi_grid)
    dwi, clean_tumor, adc = _dwi_series(state, protocol, dwi_sample, noise_rng)
    outline = reader_one(state.anatomy, dce_sample.points, dce_sample.tissues)
    outline2 = None
    if protocol.second_reader:
        outline2 = reader_two(state.anatomy, dce_sample.points, dce_sample.tissues,
                              stream(seed, patient_index, "reader2", timepoint))
    grid = protocol.dce_grid
    segmentation = to_image(outline, grid, sitk.sitkUInt8)
    segmentation2 = None if outline2 is None else to_image(outline2, grid, sitk.sitkUInt8)
    extra_series, t2w_truth = {}, {}
    if protocol.t2w:
        extra_series["t2w"], t2w_truth = _t2w_series(state, protocol, stream(seed, patient_index, "t2w", timepoint))
    exam = _exam(state, dce, dwi, adc, segmentation, segmentation2, extra_series)
    truth = exam_truth(state, protocol, dce_sample, dwi_sample, (outline, outline2), clean_tumor, dwi.bvals)
    truth.update({f"tumor_tic_{k}": float(v) for k, v in enumerate(tumor_curve)})
    truth.update(t2w_truth)
    return SyntheticExam(exam, truth, state.patient, segmentation, segmentation2,
                         to_image(dce_sample.tissues, grid, sitk.sitkUInt8),
                         to_image(dwi_sample.tissues, protocol.dwi_grid, sitk.sitkUInt8), adc)


def _exam(state: _State, dce, dwi, adc, segmentation: sitk.Image, segmentation2: sitk.Image | None,
          extra_series: dict | None = None) -> Exam:
    return Exam(
        patient_id=state.patient.patient_id, tumor_mask=_binary(segmentation, TUMOR_LABEL),
        dce=dce, dwi=dwi, adc=None if adc is None else sitk.Cast(adc, sitk.sitkFloat64) * 1e-6,
        reference_mask=_binary(segmentation, REFERENCE_LABEL),
        tumor_mask_reader2=None if segmentation2 is None else _binary(segmentation2, TUMOR_LABEL),
        timepoint=state.timepoint, exam_date=state.exam_date,
        clinical={name: state.patient.clinical[name] for name in CLINICAL_COLUMNS},
        extra_series=extra_series or {},
    )


def _state(patient_index: int, seed: int, timepoint: str) -> _State:
    if timepoint not in TIMEPOINTS:
        raise ConfigError(f"timepoint {timepoint!r} is not one of {', '.join(TIMEPOINTS)}")
    patient = make_patient(patient_index, seed)
    clinical = patient.clinical
    anatomy_rng = stream(seed, patient_index, "anatomy")
    anatomy = sample_anatomy(float(clinical["tumor_size_mm"]), str(clinical["side"]),
                             patient.biology.heterogeneity, anatomy_rng)
    principal = anatomy_rng.normal(size=3)
    biology, exam_date = patient.biology, str(clinical["exam_date"])
    if timepoint == "cycle2":
        anatomy, biology, exam_date = cycle2_state(anatomy, biology, patient.outcome["true_shrinkage"], exam_date,
                                                   stream(seed, patient_index, "followup"))
    fields = sample_tumor_fields(stream(seed, patient_index, "fields"))
    return _State(patient, anatomy, biology, fields, exam_date, timepoint, principal / np.linalg.norm(principal))


def _sample(state: _State, grid: Grid) -> GridSample:
    points = grid_points(grid)
    tissues = state.anatomy.labels(points)
    index = np.flatnonzero(tissues == TUMOR)
    return GridSample(points, tissues, index, state.fields.parameters(state.biology, points[index]))


def _binary(labels: sitk.Image, value: int) -> sitk.Image:
    return sitk.Cast(labels == value, sitk.sitkUInt8)


def peritumoral_rim_index(sample: GridSample, protocol: PhantomProtocol) -> np.ndarray:
    """Voxels (indices into the DCE grid) of the planted rim: not air, tumour or necrosis, and at most
    ``protocol.peritumoral_rim_mm`` from a tumour or necrosis voxel centre (physical distance)."""
    if protocol.peritumoral_rim_mm <= 0:
        return np.zeros(0, dtype=np.int64)
    lesion = np.isin(sample.tissues, (TUMOR, NECROSIS))
    distance = sitk.GetArrayFromImage(distance_outside_mm(to_image(lesion, protocol.dce_grid, sitk.sitkUInt8)))
    rim = ~lesion & (sample.tissues != AIR) & (distance.reshape(-1) <= protocol.peritumoral_rim_mm)
    return np.flatnonzero(rim)


def _dce_series(state: _State, protocol: PhantomProtocol, sample: GridSample, rng) -> tuple[DceSeries, np.ndarray]:
    rim_index = peritumoral_rim_index(sample, protocol) if protocol.peritumoral_rim_mm > 0 else None
    clean = dce_signal(sample.tissues, sample.tumor_index, sample.tumor_params, state.biology, protocol, rim_index)
    signal = noisy(clean, protocol.dce_noise_sd, rng)
    phases = tuple(to_image(signal[:, k], protocol.dce_grid, sitk.sitkInt16) for k in range(signal.shape[1]))
    return DceSeries(phases, protocol.dce_times_s, roi_phase=1, tr_ms=protocol.tr_ms,
                     flip_angle_deg=protocol.flip_angle_deg), clean[sample.tumor_index].mean(axis=0)


def _t2w_series(state: _State, protocol: PhantomProtocol, rng) -> tuple[sitk.Image, dict[str, float]]:
    """T2-weighted series on its own grid, S = T2W_SIGNAL_SCALE·M0·exp(−TE/T2), and its truth (noise-free
    mean signal of the lesion (tumour and necrosis) and of the fibroglandular voxels of that grid)."""
    sample = _sample(state, protocol.t2w_grid)
    m0 = np.array([TISSUES[code].m0 for code in sorted(TISSUES)])
    t2 = np.array([T2_MS[code] for code in sorted(TISSUES)])
    t2[TUMOR] = protocol.t2w_tumor_t2_ms
    clean = T2W_SIGNAL_SCALE * m0[sample.tissues] * np.exp(-protocol.t2w_te_ms / t2[sample.tissues])
    image = to_image(noisy(clean[:, None], protocol.t2w_noise_sd, rng)[:, 0], protocol.t2w_grid, sitk.sitkInt16)
    lesion = np.isin(sample.tissues, (TUMOR, NECROSIS))
    truth = {"tumor_t2w_signal": float(clean[lesion].mean()),
             "fibroglandular_t2w_signal": float(clean[sample.tissues == FIBROGLANDULAR].mean())}
    return image, truth


def _dwi_series(state: _State, protocol: PhantomProtocol, sample: GridSample, rng):
    tissues, index, params = sample.tissues, sample.tumor_index, sample.tumor_params
    if protocol.tensor_shells:
        bvals, bvecs = gradient_table(protocol.tensor_shells, protocol.tensor_directions)
        clean = dwi_signal(tissues, index, params, state.biology, bvals, bvecs, state.principal)
    else:
        bvals, bvecs = np.asarray(protocol.bvalues, dtype=np.float64), None
        clean = dwi_signal(tissues, index, params, state.biology, bvals)
    sigma = DWI_SIGNAL_SCALE / protocol.dwi_snr
    signal = noisy(clean, sigma, rng)
    grid = protocol.dwi_grid
    volumes = tuple(to_image(signal[:, k], grid, sitk.sitkInt16) for k in range(signal.shape[1]))
    adc = None
    if protocol.scanner_adc and bvecs is None:
        adc = to_image(scanner_adc_um2_s(np.round(signal), bvals, 5.0 * sigma), grid, sitk.sitkUInt16)
    return DwiSeries(volumes, tuple(float(b) for b in bvals), bvecs), clean[index], adc
