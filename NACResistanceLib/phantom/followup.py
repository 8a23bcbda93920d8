"""The exam after two cycles of chemotherapy (timepoint ``cycle2``), consistent with the true response.

Let ``s`` be the patient's final MRI shrinkage (``true_shrinkage``, negative = growth) and
``r = clip(s, 0, 1)`` the response. After two of the eight cycles:

* every tumour radius is multiplied by ``1 − s/2`` (half of the final shrinkage, growth likewise);
* Ktrans × ``(1 − 0.45·r)`` (loss of perfusion), D × ``(1 + 0.25·r)`` (cell death frees water),
  K × ``(1 − 0.20·r)`` and the field strength × ``(1 − 0.30·r)`` (less heterogeneous tissue);
* background parenchymal enhancement Ktrans × 0.8 in every patient (chemotherapy suppresses it);
* the exam takes place 42-49 days after baseline; the rest of the anatomy is unchanged.

Sensitive tumours therefore shrink and lose enhancement and kurtosis, resistant ones barely change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np

from .anatomy import Anatomy
from .biology import Biology

TIMEPOINTS = ("baseline", "cycle2")
"""Time points the phantom can acquire."""


def cycle2_state(
    anatomy: Anatomy, biology: Biology, shrinkage: float, exam_date: str, rng: np.random.Generator
) -> tuple[Anatomy, Biology, str]:
    """Anatomy, biology and exam date after two cycles, from the baseline ones."""
    response = float(np.clip(shrinkage, 0.0, 1.0))
    tumor = anatomy.tumor.scaled(1.0 - 0.5 * float(np.clip(shrinkage, -0.5, 1.0)))
    biology = replace(
        biology,
        ktrans_per_min=biology.ktrans_per_min * (1.0 - 0.45 * response),
        d_mm2_s=biology.d_mm2_s * (1.0 + 0.25 * response),
        kurtosis=biology.kurtosis * (1.0 - 0.20 * response),
        field_sd=biology.field_sd * (1.0 - 0.30 * response),
        bpe_ktrans_per_min=biology.bpe_ktrans_per_min * 0.8,
    )
    date = dt.date.fromisoformat(exam_date) + dt.timedelta(days=42 + int(rng.integers(0, 8)))
    return replace(anatomy, tumor=tumor), biology, date.isoformat()
