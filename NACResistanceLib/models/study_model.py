"""A trained study model (clinical, radiomics or combined), its prediction, and its JSON file.

A model is a logistic regression on *terms*: clinical model variables (encoded from the manifest's
clinical columns by :mod:`NACResistanceLib.clinical`), the Rad-score (a fixed linear combination of
radiomics features from LASSO), or single features. Model files are JSON validated against
``model.schema.json`` on load; nothing in them can run code (no pickle).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..clinical import MODEL_VARIABLES, VARIABLE_SOURCES, encode_clinical
from ..errors import ModelFileError
from ..stats.logit import sigmoid

SCHEMA_FILE = Path(__file__).with_name("model.schema.json")
OUTCOME = "resistant (1) = RCB-II/III or MRI shrinkage < 30% (NACResistanceLib.labels); sensitive (0) otherwise"
RAD_SCORE = "rad_score"
VERSION_PACKAGES = ("numpy", "scipy", "pandas", "scikit-learn", "statsmodels", "pyradiomics-bhklab", "SimpleITK")


@dataclass(frozen=True)
class Term:
    """One term of the linear predictor."""

    name: str
    """A clinical model variable (``er_positive``), ``rad_score``, or a feature name."""
    coefficient: float
    """Log-odds per unit of the term."""
    kind: str
    """"clinical", "rad_score" or "feature"."""


@dataclass(frozen=True)
class RadScore:
    """Rad-score = intercept + Σ coefficient × feature, in log-odds units (from LASSO)."""

    intercept: float
    features: tuple[tuple[str, float], ...]
    lam: float | None = None
    """The LASSO penalty it was chosen at (for the record)."""

    def compute(self, frame: pd.DataFrame) -> np.ndarray:
        """(n,) Rad-score of each row of ``frame`` (features in their extraction units)."""
        names = [name for name, _ in self.features]
        weights = np.array([w for _, w in self.features])
        return self.intercept + frame[names].to_numpy(dtype=float) @ weights


@dataclass(frozen=True)
class Prediction:
    """The prediction for one exam."""

    probability: float
    """Predicted probability of resistance."""
    threshold: float
    predicted_class: str
    """"resistant" when probability >= threshold, else "sensitive"."""
    contributions: pd.DataFrame
    """Columns ``term``, ``value``, ``coefficient``, ``contribution`` (= value × coefficient, log-odds);
    the first row is the intercept (value 1). Their sum is the linear predictor."""
    linear_predictor: float
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class StudyModel:
    """A logistic model ready to predict; build it with :func:`make_model` or :func:`load`."""

    name: str
    intercept: float
    terms: tuple[Term, ...]
    radscore: RadScore | None
    threshold: float
    """Decision threshold on the probability (fixed on training data)."""
    threshold_method: str = "youden_training"
    analysis_config: dict = field(default_factory=dict)
    """The ``config.AnalysisConfig.to_dict()`` (full content) the features must be extracted with."""
    training: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)

    @property
    def required_inputs(self) -> tuple[str, ...]:
        """Manifest clinical columns and feature names a prediction row must hold."""
        names: list[str] = []
        for term in self.terms:
            if term.kind == "clinical":
                names.append(VARIABLE_SOURCES[term.name])
            elif term.kind == "feature":
                names.append(term.name)
            elif self.radscore is not None:
                names.extend(name for name, _ in self.radscore.features)
        return tuple(dict.fromkeys(names))

    def term_values(self, design: pd.DataFrame) -> pd.DataFrame:
        """(n, terms) values of each term from ``design`` holding encoded clinical variables and features."""
        values = {}
        for term in self.terms:
            if term.kind == "rad_score":
                values[term.name] = self.radscore.compute(design) if self.radscore else np.zeros(len(design))
            else:
                values[term.name] = design[term.name].to_numpy(dtype=float)
        return pd.DataFrame(values, index=design.index, columns=[t.name for t in self.terms])

    def linear_predictor(self, design: pd.DataFrame) -> np.ndarray:
        """(n,) log-odds from an encoded ``design`` (see :meth:`term_values`)."""
        coef = np.array([t.coefficient for t in self.terms])
        return self.intercept + self.term_values(design).to_numpy() @ coef

    def encode(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Check the required inputs of raw rows (manifest columns + features) and encode them."""
        who = (lambda rows: "patient(s) " + ", ".join(str(v) for v in frame.loc[rows, "patient_id"].tolist()[:5])) \
            if "patient_id" in frame else (lambda rows: f"row(s) {list(frame.index[rows])[:5]}")
        for name in self.required_inputs:
            if name not in frame:
                raise ModelFileError(
                    f"model {self.name!r}: input {name!r} is missing for {who(frame.index == frame.index)}: the feature "
                    "was not extracted (warnings.csv of the extraction says why, e.g. the acquisition cannot give it) "
                    "or the manifest lacks the clinical column; this model cannot be applied to these exams")
            missing = frame[name].isna()
            if missing.any():
                raise ModelFileError(f"model {self.name!r}: input {name!r} is empty for {who(missing.to_numpy())} "
                                     "(a value the analysis left empty, see warnings.csv, or an empty manifest cell)")
        clinical_columns = list(dict.fromkeys(VARIABLE_SOURCES[t.name] for t in self.terms if t.kind == "clinical"))
        named = ["patient_id"] if "patient_id" in frame else []  # so errors name the patient
        encoded = encode_clinical(frame[named + clinical_columns])  # only the columns this model needs
        features = [n for n in self.required_inputs if n not in encoded and n not in VARIABLE_SOURCES.values()]
        numeric = frame[features].apply(pd.to_numeric, errors="coerce")
        bad = [n for n in features if numeric[n].isna().any()]
        if bad:
            raise ModelFileError(f"model {self.name!r}: input {bad[0]!r} is not a number")
        return pd.concat([encoded, numeric], axis=1)

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Predict every row of ``frame``: columns ``linear_predictor``, ``probability``, ``predicted_class``."""
        eta = self.linear_predictor(self.encode(frame))
        prob = sigmoid(eta)
        return pd.DataFrame({"linear_predictor": eta, "probability": prob,
                             "predicted_class": np.where(prob >= self.threshold, "resistant", "sensitive")},
                            index=frame.index)

    def predict(self, row: Mapping[str, object], *, strict: bool = False) -> Prediction:
        """Predict one exam from ``row`` (``analysis.features`` plus ``exam.clinical``).

        Extra keys are ignored (a row from ``pipeline.analyze_exam`` holds every feature); with
        ``strict=True`` keys that are neither required inputs nor manifest clinical columns are errors.
        """
        if strict:
            allowed = set(self.required_inputs) | set(VARIABLE_SOURCES.values())
            unknown = sorted(k for k in row if k not in allowed)
            if unknown:
                raise ModelFileError(f"model {self.name!r}: unknown input {unknown[0]!r} (strict mode)")
        frame = pd.DataFrame([dict(row)])
        values = self.term_values(self.encode(frame)).iloc[0]
        coef = np.array([t.coefficient for t in self.terms])
        contributions = pd.DataFrame({
            "term": ["(intercept)", *values.index], "value": [1.0, *values.to_numpy()],
            "coefficient": [self.intercept, *coef],
        })
        contributions["contribution"] = contributions["value"] * contributions["coefficient"]
        eta = float(contributions["contribution"].sum())
        prob = float(sigmoid(np.array(eta)))
        return Prediction(prob, self.threshold, "resistant" if prob >= self.threshold else "sensitive",
                          contributions, eta)


def library_versions() -> dict[str, str]:
    """Versions of NACResistanceLib and the libraries that shape a model's numbers."""
    return {"NACResistanceLib": __version__, **dict(_installed_versions())}


@lru_cache(maxsize=1)
def _installed_versions() -> tuple[tuple[str, str], ...]:
    """(package, version) of the installed ``VERSION_PACKAGES``, read once per process.

    The metadata lookups take about 1 ms each, and a bootstrap builds three models per replicate.
    """
    versions = []
    for package in VERSION_PACKAGES:
        try:
            versions.append((package, metadata.version(package)))
        except metadata.PackageNotFoundError:
            continue
    return tuple(versions)


def make_model(name: str, intercept: float, terms: Sequence[tuple[str, float]], *, radscore: RadScore | None,
               threshold: float, training: dict, analysis_config: dict | None = None) -> StudyModel:
    """Build a :class:`StudyModel`; a term's kind follows from its name (clinical variable, rad_score, feature)."""
    typed = tuple(
        Term(t, float(c), "clinical" if t in MODEL_VARIABLES else RAD_SCORE if t == RAD_SCORE else "feature")
        for t, c in terms
    )
    return StudyModel(name, float(intercept), typed, radscore, float(threshold),
                      analysis_config=dict(analysis_config or {}), training=dict(training),
                      versions=library_versions())
