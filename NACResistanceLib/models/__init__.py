"""The study models: logistic results tables, SPSS Forward-LR stepwise, Rad-score, JSON model files.

``load(path)`` / ``save(model, path)`` read and write model files (JSON validated against
``model.schema.json``; never pickle). A :class:`StudyModel` predicts from a row of features plus
the manifest's clinical columns. Research use only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports
from .files import from_document, load, save, to_document
from .study_model import Prediction, RadScore, StudyModel, Term, library_versions, make_model

if TYPE_CHECKING:
    from .building import MODEL_NAMES, FittedModels, ModelSettings, fit_models
    from .logistic import LogisticResult, fit_logistic
    from .stepwise import StepwiseResult, forward_lr

__getattr__ = lazy_exports(__name__, {
    "MODEL_NAMES": "building", "FittedModels": "building", "ModelSettings": "building", "fit_models": "building",
    "LogisticResult": "logistic", "fit_logistic": "logistic", "StepwiseResult": "stepwise", "forward_lr": "stepwise",
})
"""The model-fitting modules are imported on first use: predicting (Slicer's Apply, ``predict``) needs only the
model file and :class:`StudyModel`, not statsmodels and the selection package."""

__all__ = [
    "MODEL_NAMES", "FittedModels", "LogisticResult", "ModelSettings", "Prediction", "RadScore", "StepwiseResult",
    "StudyModel", "Term", "fit_logistic", "fit_models", "forward_lr", "from_document", "library_versions", "load",
    "make_model", "save", "to_document",
]
