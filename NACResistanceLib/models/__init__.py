"""The study models: logistic results tables, SPSS Forward-LR stepwise, Rad-score, JSON model files.

``load(path)`` / ``save(model, path)`` read and write model files (JSON validated against
``model.schema.json``; never pickle). A :class:`StudyModel` predicts from a row of features plus
the manifest's clinical columns. Research use only.
"""

from __future__ import annotations

from .building import MODEL_NAMES, FittedModels, ModelSettings, fit_models
from .files import from_document, load, save, to_document
from .logistic import LogisticResult, fit_logistic
from .stepwise import StepwiseResult, forward_lr
from .study_model import Prediction, RadScore, StudyModel, Term, library_versions, make_model

__all__ = [
    "MODEL_NAMES", "FittedModels", "LogisticResult", "ModelSettings", "Prediction", "RadScore", "StepwiseResult",
    "StudyModel", "Term", "fit_logistic", "fit_models", "forward_lr", "from_document", "library_versions", "load",
    "make_model", "save", "to_document",
]
