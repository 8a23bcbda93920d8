"""Synthetic breast-MRI cohort with known ground truth (the embedded default data).

``make_exam(patient_index, seed, protocol)`` builds one exam in memory; ``make_cohort(n_patients,
seed, out_dir, protocol)`` writes a cohort (images, segmentations, manifest, truth) and returns the
manifest path. The generative model, its parameters and sources are in docs/phantom.md.
"""

from __future__ import annotations

from ..io.exam import Exam
from .patient import Patient, make_patient
from .protocol import PhantomProtocol
from .synthesis import SyntheticExam, make_exam
from .writer import make_cohort


def synthetic_exam(seed: int = 0, patient_index: int = 0, protocol: PhantomProtocol | None = None) -> Exam:
    """One synthetic exam in memory with the small test protocol (:meth:`PhantomProtocol.small`) by default."""
    return make_exam(patient_index, seed, protocol or PhantomProtocol.small()).exam


__all__ = ["PhantomProtocol", "Patient", "SyntheticExam", "make_cohort", "make_exam", "make_patient", "synthetic_exam"]
