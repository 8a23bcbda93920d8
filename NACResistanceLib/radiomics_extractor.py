"""pyradiomics' feature extractor with the fast exact GLCM class, one discretisation per image type, and image
types computed side by side.

Imports pyradiomics: :mod:`NACResistanceLib.features` imports this module only when it extracts.
"""

from __future__ import annotations

import collections
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import SimpleITK as sitk
from radiomics import getFeatureClasses, imageoperations
from radiomics.featureextractor import RadiomicsFeatureExtractor
from radiomics.glcm import RadiomicsGLCM

from . import threads
from .fast_glcm import fast_glcm_class

_PENDING = "\0pending "
"""Key prefix of an image type whose features are still being computed on a worker thread."""


class Discretised:
    """The grey levels of one image type's ROI, binned once for all its feature classes.

    pyradiomics' first-order and texture classes each call ``_applyBinning`` on the same image array,
    mask and settings, that is ``imageoperations.binImage`` and ``numpy.unique`` of the ROI (six times per
    image type with the seed's classes). This is that computation, done once with pyradiomics' own
    ``binImage``; the binned array is read-only, so a class that tried to change it would fail loudly.
    """

    def __init__(self, image: sitk.Image, mask: sitk.Image, settings: dict[str, Any]) -> None:
        roi = sitk.GetArrayFromImage(mask) == settings.get("label", 1)
        binned, _ = imageoperations.binImage(sitk.GetArrayFromImage(image), roi, **settings)
        binned.flags.writeable = False
        self.binned: np.ndarray = binned
        self.grey_levels: np.ndarray = np.unique(binned[roi])
        self.n_bins = int(np.max(self.grey_levels))


class _SharedBinning:
    """Mixin for a pyradiomics feature class: ``_applyBinning`` returns a :class:`Discretised` when given one."""

    def __init__(self, inputImage: sitk.Image, inputMask: sitk.Image,  # noqa: N803 (pyradiomics' names)
                 discretised: Discretised | None = None, **kwargs: Any) -> None:
        self._discretised = discretised
        super().__init__(inputImage, inputMask, **kwargs)

    def _applyBinning(self, matrix: np.ndarray) -> np.ndarray:  # noqa: N802
        shared = self._discretised
        if shared is None or self.voxelBased:
            return super()._applyBinning(matrix)
        self.coefficients["grayLevels"] = shared.grey_levels
        self.coefficients["Ng"] = shared.n_bins
        return shared.binned


def _with_shared_binning(feature_class: type) -> type:
    """``feature_class`` (pyradiomics' or the fast GLCM) with :class:`_SharedBinning`, same module and name."""
    return type(feature_class.__name__, (_SharedBinning, feature_class),
                {"__module__": feature_class.__module__, "__doc__": feature_class.__doc__})


class Extractor(RadiomicsFeatureExtractor):
    """``RadiomicsFeatureExtractor`` whose GLCM class is :func:`~NACResistanceLib.fast_glcm.fast_glcm_class`.

    pyradiomics' ``execute`` runs unchanged (loading, mask checks, shape, filters, cropping, result
    order), without its ``diagnostics_*`` entries (image hashes and statistics that
    :func:`NACResistanceLib.features.extract` drops). Only ``computeFeatures``, which computes the feature
    classes of one image type, is ours: it takes the GLCM class from this extractor instead of
    pyradiomics' registry (which stays untouched), discretises the image once for all classes
    (:class:`Discretised`), and in :meth:`run` with ``workers > 1`` hands each image type to a thread pool.
    """

    def __init__(self, parameters: dict[str, Any]) -> None:
        super().__init__(parameters)
        self.settings["additionalInfo"] = False
        classes = {**getFeatureClasses(), "glcm": fast_glcm_class()}
        self.feature_classes = {name: cls if name.startswith("shape") else _with_shared_binning(cls)
                                for name, cls in classes.items()}
        self.fast_glcm = classes["glcm"] is not RadiomicsGLCM
        """False when the installed pyradiomics' GLCM differs and its own class is used."""
        self._pool = threading.local()

    def run(self, image: sitk.Image, mask: sitk.Image, label: int, workers: int = 1) -> dict[str, Any]:
        """``execute(image, mask, label)``; with ``workers > 1`` the image types run on that many threads.

        BLAS/LAPACK and SimpleITK run on one thread inside (:func:`NACResistanceLib.threads.limit`), so
        the features do not depend on ``workers`` or on the caller's thread settings, and image types
        side by side do not oversubscribe the cores. SimpleITK's global tolerances are set from this
        extractor's settings first (a reused extractor does not rebuild them). Both paths return the same
        features in the same order.
        """
        self._setTolerance()
        with threads.limit(1):
            if int(workers) <= 1:
                return self.execute(image, mask, label=label)
            with ThreadPoolExecutor(int(workers), thread_name_prefix="radiomics") as pool:
                self._pool.executor = pool
                try:
                    result = self.execute(image, mask, label=label)
                finally:
                    self._pool.executor = None
                values: dict[str, Any] = collections.OrderedDict()
                for key, value in result.items():
                    if key.startswith(_PENDING):
                        values.update(value.result())
                    else:
                        values[key] = value
                return values

    def computeFeatures(self, image: sitk.Image, mask: sitk.Image, imageTypeName: str,  # noqa: N802, N803
                        **kwargs: Any) -> dict[str, Any]:
        """The enabled texture and first-order classes of one image type (pyradiomics' method, our GLCM)."""
        executor = getattr(self._pool, "executor", None)
        if executor is None:
            return self._compute_classes(image, mask, imageTypeName, kwargs)
        future: Future = executor.submit(self._compute_classes, image, mask, imageTypeName, kwargs)
        return {_PENDING + imageTypeName: future}

    def _compute_classes(self, image: sitk.Image, mask: sitk.Image, image_type: str,
                         settings: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = collections.OrderedDict()
        discretised = None
        for class_name, feature_names in self.enabledFeatures.items():
            if class_name.startswith("shape") or class_name not in self.feature_classes:
                continue
            discretised = discretised or Discretised(image, mask, settings)
            feature_class = self.feature_classes[class_name](image, mask, discretised=discretised, **settings)
            for feature in feature_names or ():
                feature_class.enableFeatureByName(feature)
            for name, value in feature_class.execute().items():
                values[f"{image_type}_{class_name}_{name}"] = value
        return values
