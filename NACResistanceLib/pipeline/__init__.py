"""One exam in, one feature row (plus maps, curves, provenance) out; and scoring with a study model.

Column names (units and descriptions travel with every result, see ``docs/quantification.md``):
pyradiomics names unchanged; ``tumor_volume_mm3``; ``adc_*``; ``dki_*`` (mean-signal kurtosis,
``dki_tensor_*`` for the kurtosis tensor); ``dce_*``; relative values ``adc_rADC``, ``dki_rMK``,
``dki_rMD``, ``dki_rKa``, ``dki_rKr``, ``dce_rPE``.

One module per stage, each returning a frozen :class:`~.results.StageResult` that ``analyze_exam`` joins once:
``dce_stage``, ``diffusion_stage``, ``radiomics_stage``; ``geometry`` puts the masks on a stage's grid;
``exam`` holds the entry points.
"""

from __future__ import annotations

from ..config import AnalysisConfig, DceOptions, DiffusionOptions, load_analysis_config
from .exam import ExamAnalysis, ExamScore, Progress, analyze_exam, score_exam
from .results import FeatureValue, StageResult

__all__ = [
    "AnalysisConfig", "DceOptions", "DiffusionOptions", "ExamAnalysis",
    "ExamScore", "FeatureValue", "Progress", "StageResult", "analyze_exam", "load_analysis_config", "score_exam",
]
