"""Feature reproducibility: intraclass correlation between readers or segmentation perturbations.

- :mod:`.icc`: ICC(2,1) and ICC(3,1) with confidence intervals, vectorised over features.
- :mod:`.perturbation`: erosion/dilation, radius resizing, contour noise and translations of a mask,
  each with its exact voxel changes (Zwanenburg et al., Sci Rep 2019).
- :mod:`.filter`: the ICC threshold decision and its selection-funnel step.
- :mod:`.variants` and :mod:`.cohort` (imported on demand): segmentation variants of a cohort as
  manifests, and :func:`.cohort.run_reproducibility` over them.
"""

from __future__ import annotations

from .filter import (
    IccFilterDecision,
    combine_decisions,
    feature_class,
    funnel_step,
    icc_filter,
    read_decision,
    write_decision,
)
from .icc import ICC_ABSOLUTE, ICC_CONSISTENCY, ICC_TYPES, IccResult, icc, icc_between
from .perturbation import (
    PerturbationConfig,
    PerturbedMask,
    contour_noise,
    dilate,
    equivalent_radius_mm,
    erode,
    perturb,
    perturbation_plan,
    resize,
    translate,
)

__all__ = [
    "IccFilterDecision", "combine_decisions", "feature_class", "funnel_step", "icc_filter", "read_decision",
    "write_decision",
    "ICC_ABSOLUTE", "ICC_CONSISTENCY", "ICC_TYPES", "IccResult", "PerturbationConfig", "PerturbedMask",
    "contour_noise", "dilate", "equivalent_radius_mm", "erode", "icc", "icc_between", "perturb", "perturbation_plan", "resize",
    "translate",
]
