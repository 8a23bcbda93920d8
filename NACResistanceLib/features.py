"""Radiomics feature extraction with pyradiomics, from a parameter file, with provenance.

This module applies only what the pyradiomics parameters say; preprocessing (resampling,
normalisation, denoising) is the job of :mod:`NACResistanceLib.preprocessing`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import SimpleITK as sitk

from . import __version__
from .config import SEED_PARAMS, RadiomicsParameters, load_radiomics_parameters, parameter_hash
from .errors import ConfigError, ImageError
from .io.images import read_image
from .io.segmentation import read_mask

__all__ = ["SEED_PARAMS", "RadiomicsFeatures", "extract", "params_hash", "pyradiomics_context"]

logger = logging.getLogger(__name__)


class RadiomicsFeatures(Mapping):
    """Feature values by pyradiomics name (``original_firstorder_Mean``, ...), in extraction order."""

    def __init__(self, values: Mapping[str, float], provenance: Mapping[str, Any]) -> None:
        self._values = dict(values)
        self.provenance: dict[str, Any] = dict(provenance)
        """Library and pyradiomics versions, parameter hash, image and mask hashes, preprocessing steps."""

    def __getitem__(self, name: str) -> float:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"RadiomicsFeatures({len(self)} features, pyradiomics {self.provenance.get('pyradiomics_version')})"


def extract(image: sitk.Image | str | Path, mask: sitk.Image | str | Path, params: str | Path | Mapping | RadiomicsParameters = SEED_PARAMS,
            label: int | str = 1, *, preprocessing_steps: Sequence[Mapping[str, Any]] = (),
            workers: int = 1) -> RadiomicsFeatures:
    """Extract pyradiomics features of the ROI ``label`` of ``mask`` from ``image``.

    pyradiomics computes every feature; its GLCM class gets the exact, faster MCC and marginals of
    :mod:`NACResistanceLib.fast_glcm` (same values). The extractor is built once per parameter content.

    Parameters
    ----------
    image : SimpleITK.Image, str or Path
        3D scalar image, or a file / DICOM folder read with :func:`~NACResistanceLib.io.read_image`.
    mask : SimpleITK.Image, str or Path
        Label image on the image grid (within pyradiomics' geometry tolerance), or a label map / Slicer
        ``.seg.nrrd`` file read with :func:`~NACResistanceLib.io.read_mask` (``label`` then selects the segment).
    params : str, Path or mapping
        A pyradiomics parameter file (YAML) or the same structure as a dict; validated against
        pyradiomics' schema. Default: :data:`SEED_PARAMS`.
    label : int or str
        Label value of the ROI in ``mask``; a segment name is accepted when ``mask`` is a file.
    preprocessing_steps : sequence of mapping
        Steps already applied to ``image`` (``Preprocessed.steps``), copied into the provenance.
    workers : int
        Image types (original, each wavelet sub-band) computed side by side on this many threads; 1
        computes them in turn. pyradiomics runs with one BLAS and one SimpleITK thread per image type
        either way, so the features are identical. Pass :func:`NACResistanceLib.threads.budget` to use
        the cores the calling context may use.

    Returns
    -------
    RadiomicsFeatures
        Features (pyradiomics ``diagnostics_*`` entries left out) and ``.provenance``.

    Raises
    ------
    ConfigError
        If the parameters are not a valid pyradiomics configuration (the message names the file).
    InputFileError
        If an image or mask file cannot be read, or the segment is not in the mask file.
    ImageError
        If pyradiomics rejects the image/mask pair (for example an empty label or a geometry mismatch).
    """
    parameters, params_source = _load_params(params)
    image = read_image(image) if isinstance(image, (str, Path)) else image
    roi_label = label
    if isinstance(mask, (str, Path)):
        mask, roi_label = read_mask(mask, label), 1
    elif not isinstance(label, int):
        raise ConfigError(f"label must be an integer label value for an in-memory mask, got {label!r}")
    with pyradiomics_context() as radiomics:
        extractor = _extractor(parameters, params_source)
        try:
            result = extractor.run(image, mask, roi_label, workers)
        except (ValueError, RuntimeError) as error:
            raise ImageError(f"pyradiomics could not extract label {label}: {error}") from error
        version = radiomics.__version__
        glcm = "pyradiomics, fast exact MCC and marginals (fast_glcm)" if extractor.fast_glcm else "pyradiomics"
    values = {k: float(v) for k, v in result.items() if not k.startswith("diagnostics_")}
    provenance = {
        "library": "NACResistanceLib", "library_version": __version__, "pyradiomics_version": version,
        "glcm_class": glcm,
        "params_source": params_source, "params_sha256": params_hash(parameters),
        "image_hash_sha1": pixel_sha1(image), "mask_hash_sha1": pixel_sha1(mask), "label": label,
        "preprocessing_steps": [dict(step) for step in preprocessing_steps],
    }
    return RadiomicsFeatures(values, provenance)


def pixel_sha1(image: sitk.Image) -> str:
    """SHA-1 of the pixel buffer: the digest ``SimpleITK.Hash`` returns, computed by hashlib (about 8x faster)."""
    return hashlib.sha1(sitk.GetArrayViewFromImage(image)).hexdigest()


params_hash = parameter_hash
"""SHA-256 of the parameters as canonical JSON (sorted keys), so a file and an equal dict hash alike."""


class _ProcessStateGuard:
    """Mutes pyradiomics on the first entry and restores the process state on the last exit.

    Entries are counted under a lock, so threads extracting at the same time neither save each other's
    muted state as "original" nor restore it while another thread is still inside.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._restore: Callable[[], None] | None = None

    def enter(self) -> None:
        with self._lock:
            if self._depth == 0:
                self._restore = _mute_pyradiomics()
            self._depth += 1

    def exit(self) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0 and self._restore is not None:
                self._restore()
                self._restore = None


_GUARD = _ProcessStateGuard()
"""The one guard of pyradiomics' process-wide state (it guards global state, so it is global itself)."""


@contextlib.contextmanager
def pyradiomics_context() -> Iterator[Any]:
    """Import pyradiomics and undo its process-wide settings on exit.

    pyradiomics adds a stderr handler to its ``radiomics`` logger at import, attaches that handler to the
    ``pykwalify.core`` logger each time an extractor is built, and sets SimpleITK's global coordinate and
    direction tolerances when the setting ``geometryTolerance`` is given. Inside the context its handlers
    are muted and the ``radiomics`` logger level is WARNING, so messages reach only the application's
    handlers; when the last context (over all threads) exits, handler levels, logger levels, the
    ``pykwalify.core`` handlers and both SimpleITK tolerances are restored.
    """
    import radiomics

    _GUARD.enter()
    try:
        yield radiomics
    finally:
        _GUARD.exit()


def _mute_pyradiomics() -> Callable[[], None]:
    loggers = [logging.getLogger("radiomics"), logging.getLogger("pykwalify.core")]
    saved_loggers = [(lg, lg.level, list(lg.handlers)) for lg in loggers]
    saved_handlers = [(h, h.level) for h in loggers[0].handlers]
    coordinate = sitk.ProcessObject.GetGlobalDefaultCoordinateTolerance()
    direction = sitk.ProcessObject.GetGlobalDefaultDirectionTolerance()
    for handler, _ in saved_handlers:
        handler.setLevel(logging.CRITICAL + 1)
    loggers[0].setLevel(logging.WARNING)

    def restore() -> None:
        for handler, level in saved_handlers:
            handler.setLevel(level)
        for lg, level, handlers in saved_loggers:
            lg.setLevel(level)
            lg.handlers[:] = handlers
        sitk.ProcessObject.SetGlobalDefaultCoordinateTolerance(coordinate)
        sitk.ProcessObject.SetGlobalDefaultDirectionTolerance(direction)

    return restore


def _load_params(params: str | Path | Mapping | RadiomicsParameters) -> tuple[dict[str, Any], str]:
    loaded = load_radiomics_parameters(params, key="pyradiomics parameters")
    return loaded.parameters, loaded.source


_EXTRACTORS: OrderedDict[str, Any] = OrderedDict()
"""Extractors by parameter hash, most recently used last: pyradiomics validates a parameter set against its
schema once per process (while it stays among the :data:`_MAX_EXTRACTORS` most recently used)."""
_MAX_EXTRACTORS = 32
_EXTRACTORS_LOCK = threading.Lock()


def _extractor(parameters: dict[str, Any], source: str) -> Any:
    key = params_hash(parameters)
    with _EXTRACTORS_LOCK:
        if key not in _EXTRACTORS:
            _EXTRACTORS[key] = _make_extractor(parameters, source)
            while len(_EXTRACTORS) > _MAX_EXTRACTORS:
                _EXTRACTORS.popitem(last=False)
        _EXTRACTORS.move_to_end(key)
        return _EXTRACTORS[key]


def _make_extractor(parameters: dict[str, Any], source: str) -> Any:
    from .radiomics_extractor import Extractor

    try:
        with warnings.catch_warnings():  # pykwalify's load_module() DeprecationWarning, once per extractor
            warnings.filterwarnings("ignore", message="the load_module", category=DeprecationWarning)
            return Extractor(parameters)
    except Exception as error:  # pykwalify raises its own SchemaError; any failure here is a bad file
        raise ConfigError(f"invalid pyradiomics parameters {source}: {error}") from error
