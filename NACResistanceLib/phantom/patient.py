"""One synthetic patient without images: clinical data, latent biology, label and outcome.

Each patient draws from its own generators, seeded by ``(seed, patient_index, stream)``, so a
patient is identical whether generated alone, in a cohort, or in any worker process.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .biology import Biology, sample_biology
from .clinical import sample_clinical
from .outcome import sample_outcome

STREAMS = {"clinical": 0, "biology": 1, "outcome": 2, "anatomy": 3, "fields": 4, "noise": 5, "reader2": 6, "followup": 7, "t2w": 8}
"""Random stream of each generation step (a literal table: adding a step never changes the others)."""


@dataclass(frozen=True)
class Patient:
    """Everything about one synthetic patient that is not an image."""

    index: int
    patient_id: str
    clinical: dict[str, object]
    """Pre-treatment clinical values by manifest column (exam_date included)."""
    biology: Biology
    resistant: bool
    """The true label (drawn from ``biology.probability``)."""
    outcome: dict[str, float]
    """Outcome columns by manifest name, plus ``true_shrinkage``."""


def patient_id(index: int) -> str:
    """Identifier of the patient with 0-based ``index`` (``SYN0001`` for index 0)."""
    return f"SYN{index + 1:04d}"


def stream(seed: int, index: int, name: str, timepoint: str = "baseline") -> np.random.Generator:
    """The generator of one step for one patient (``name`` from :data:`STREAMS`)."""
    timepoint_key = 0 if timepoint == "baseline" else 1
    return np.random.default_rng([int(seed), int(index), STREAMS[name], timepoint_key])


def make_patient(index: int, seed: int) -> Patient:
    """Draw patient ``index`` (0-based) of the cohort with ``seed``."""
    clinical = sample_clinical(stream(seed, index, "clinical"))
    biology = sample_biology(clinical, stream(seed, index, "biology"))
    outcome_rng = stream(seed, index, "outcome")
    resistant = bool(outcome_rng.random() < biology.probability)
    outcome = sample_outcome(resistant, clinical, outcome_rng)
    return Patient(index, patient_id(index), clinical, biology, resistant, outcome)
