"""pyradiomics' GLCM class with an exact, fast Maximal Correlation Coefficient and sum/difference marginals.

pyradiomics 3.x (``radiomics/glcm.py: getMCCFeatureValue``) builds

    Q(i, j) = sum_k p(i, k) p(j, k) / (p_x(i) p_y(k) + eps)

with a Python loop over the grey levels and takes its eigenvalues with the general, non-symmetric
``numpy.linalg.eigvals``, once per angle: about 90 % of an exam's extraction time. Without ``eps``,

    Q = Dx^-1 P Dy^-1 P^T,  Dx = diag(p_x), Dy = diag(p_y),

and Q = Dx^(-1/2) S Dx^(1/2) with

    S = Dx^(-1/2) P Dy^-1 P^T Dx^(-1/2) = B B^T,  B = Dx^(-1/2) P Dy^(-1/2),

so Q is *similar* to S and has the same eigenvalues. S is a Gram matrix, symmetric positive
semi-definite: its eigenvalues are real, >= 0, and come from one matrix product and the symmetric
eigensolver ``numpy.linalg.eigvalsh`` (batched over all angles in one call). A grey level with
p_x(i) = 0 along an angle gives a zero row of Q in pyradiomics (its p(i, k) are all 0); here
Dx^(-1/2) and Dy^-1 are taken as 0 for such levels, which gives the same zero row and the same
zero eigenvalues. pyradiomics has already removed the grey levels absent from the ROI.

Agreement with pyradiomics: its ``eps`` (2.2e-16) changes a term of Q by the relative amount
eps / (p_x(i) p_y(k)), below 1e-7 for the ROI sizes of this project (about 3e4 voxel pairs per angle);
``Testing/test_fast_glcm.py`` measures the difference on random and structured matrices of 1 to 400 grey
levels. Where the second eigenvalue is 0 (a rank-one GLCM), rounding can make pyradiomics' value
NaN or a tiny complex number; the exact value is 0.

Once the MCC is fast, the next costs are pyradiomics' loop building the sum and difference marginals
p_{x+y} and p_{x-y} (:func:`sum_and_difference_marginals` computes the same sums in one pass) and the
cluster features, which raise an Ng x Ng x 13 array to a power. Their summand depends on (i, j) only
through i + j, so grouping the entries by k = i + j gives

    sum_ij (i + j - mu_x - mu_y)^n p(i, j) = sum_k (k - mu_x - mu_y)^n p_{x+y}(k),   n = 2, 3, 4

(Cluster Tendency, Shade and Prominence): the same sum in another order, over 2 Ng - 1 terms.

The fast class is used only after :func:`agrees_with_pyradiomics` has checked, once per process, that
the installed pyradiomics computes the same MCC on reference matrices and the same 24 GLCM features on
a reference image; otherwise pyradiomics' own class runs and a warning says why. Voxel-based extraction
always uses pyradiomics' own methods. Every GLCM feature method other than MCC and the three cluster
features is pyradiomics' own code.
"""

from __future__ import annotations

import functools
import logging
import warnings
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

AGREEMENT_TOLERANCE = 1e-9
"""Largest absolute MCC difference from pyradiomics' method on the reference matrices of the start-up check."""


def maximal_correlation_coefficient(p_glcm: np.ndarray) -> np.ndarray:
    """MCC of normalised GLCMs ``p_glcm`` of shape (Nv, Ng, Ng, Na), averaged over the angles: shape (Nv,).

    Same conventions as pyradiomics: 1 when Ng < 2 (a flat region); angles whose matrix holds NaN
    (pyradiomics marks empty angles so) are left out of the mean, NaN if no angle is left.
    """
    n_grey = p_glcm.shape[1]
    if n_grey < 2:
        return np.ones(p_glcm.shape[0])
    matrices = np.moveaxis(p_glcm, 3, 1)  # (Nv, Na, Ng, Ng)
    empty = np.isnan(matrices).any(axis=(2, 3))
    matrices = np.where(empty[..., None, None], 0.0, matrices)
    px, py = matrices.sum(axis=3), matrices.sum(axis=2)  # row and column marginals, (Nv, Na, Ng)
    inv_sqrt_px = np.divide(1.0, np.sqrt(px), out=np.zeros_like(px), where=px > 0)
    inv_sqrt_py = np.divide(1.0, np.sqrt(py), out=np.zeros_like(py), where=py > 0)
    b = matrices * inv_sqrt_px[..., :, None] * inv_sqrt_py[..., None, :]
    eigenvalues = np.linalg.eigvalsh(b @ np.swapaxes(b, -1, -2))  # ascending
    mcc = np.sqrt(np.clip(eigenvalues[..., -2], 0.0, None))
    mcc[empty] = np.nan
    with warnings.catch_warnings():  # "Mean of empty slice" where every angle is empty: NaN, as pyradiomics
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(mcc, axis=1)


def sum_and_difference_marginals(p_glcm: np.ndarray, grey_levels: np.ndarray,
                                 n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """p_{x+y}(k), k = 2..2 n_bins, and p_{x-y}(k), k = 0..n_bins-1, of ``p_glcm`` (Nv, Ng, Ng, Na).

    pyradiomics' ``_calculateCoefficients`` sums P over the masks ``i + j == k`` and ``|i - j| == k`` in a
    Python loop over 3 n_bins values of k, each pass reading the whole matrix; here each sum is one
    grouped reduction (``numpy.add.reduceat``) over the entries sorted by k. ``grey_levels`` are the grey
    values of the rows (pyradiomics' ``coefficients['grayLevels']``). Same sums, in another order
    (differences of a few ulp). Returns arrays of shape (Nv, 2 n_bins - 1, Na) and (Nv, n_bins, Na).
    """
    n_voxels, n_grey, _, n_angles = p_glcm.shape
    entries = np.transpose(p_glcm, (1, 2, 0, 3)).reshape(n_grey * n_grey, n_voxels * n_angles)
    levels = np.asarray(grey_levels).astype(int)
    out = []
    for k, n_k in (((levels[:, None] + levels[None, :]).ravel() - 2, 2 * n_bins - 1),
                   (np.abs(levels[:, None] - levels[None, :]).ravel(), n_bins)):
        order = np.argsort(k, kind="stable")
        sorted_k = k[order]
        starts = np.flatnonzero(np.r_[True, sorted_k[1:] != sorted_k[:-1]])
        sums = np.zeros((n_k, n_voxels * n_angles))
        sums[sorted_k[starts]] = np.add.reduceat(entries[order], starts, axis=0)
        out.append(np.moveaxis(sums.reshape(n_k, n_voxels, n_angles), 0, 1))
    return out[0], out[1]


def pyradiomics_mcc(p_glcm: np.ndarray) -> np.ndarray:
    """pyradiomics' own MCC of ``p_glcm`` (shape (Nv, Ng, Ng, Na)): its method on a bare GLCM object."""
    from radiomics.glcm import RadiomicsGLCM

    glcm = RadiomicsGLCM.__new__(RadiomicsGLCM)  # the method needs P_glcm and px, py, eps only
    glcm.P_glcm = p_glcm
    glcm.coefficients = {"px": p_glcm.sum(2, keepdims=True), "py": p_glcm.sum(1, keepdims=True),
                         "eps": np.spacing(1)}
    return np.atleast_1d(np.asarray(RadiomicsGLCM.getMCCFeatureValue(glcm), dtype=float))


def reference_matrices() -> list[np.ndarray]:
    """Symmetric normalised GLCMs (1, Ng, Ng, 13) with 2, 5 and 40 grey levels, one with an empty angle row."""
    rng = np.random.default_rng(15)
    matrices = []
    for n_grey in (2, 5, 40):
        counts = rng.integers(0, 30, size=(1, n_grey, n_grey, 13)).astype(float)
        counts[:, 0, :, 0] = 0.0  # grey level 1 has no neighbour along the first angle
        counts += np.transpose(counts, (0, 2, 1, 3))
        matrices.append(counts / counts.sum(axis=(1, 2), keepdims=True))
    return matrices


def glcm_features(feature_class: type) -> dict[str, float]:
    """All GLCM features of ``feature_class`` on a 12 x 12 x 8 reference image (about 25 grey levels, with gaps)."""
    import SimpleITK as sitk

    rng = np.random.default_rng(16)
    values = rng.integers(0, 30, size=(8, 12, 12)).astype(float)
    values[values == 7] = 8.0  # an empty grey level inside the range
    mask = np.ones(values.shape, np.uint8)
    mask[:2, :3, :] = 0
    radiomics_logger = logging.getLogger("radiomics.glcm")
    level = radiomics_logger.level
    radiomics_logger.setLevel(logging.ERROR)  # SumAverage warns that the GLCM is symmetrical
    try:
        glcm = feature_class(sitk.GetImageFromArray(values), sitk.GetImageFromArray(mask), binWidth=1, label=1)
        return {name: float(value) for name, value in glcm.execute().items()}
    finally:
        radiomics_logger.setLevel(level)


@functools.lru_cache(maxsize=1)
def agrees_with_pyradiomics() -> bool:
    """Whether the installed pyradiomics computes what we replace the same way (checked once per process).

    Compares the MCC on :func:`reference_matrices` and all GLCM features of :func:`glcm_features` between
    pyradiomics' ``RadiomicsGLCM`` and ours.
    """
    import radiomics
    from radiomics.glcm import RadiomicsGLCM

    try:
        worst = max(float(np.max(np.abs(maximal_correlation_coefficient(p) - pyradiomics_mcc(p))))
                    for p in reference_matrices())
        theirs, ours = glcm_features(RadiomicsGLCM), glcm_features(_fast_class(RadiomicsGLCM))
        worst = max([worst] + [abs(ours[name] - value) / max(abs(value), 1e-12) for name, value in theirs.items()])
        if set(ours) != set(theirs):
            raise ValueError(f"feature names differ: {sorted(set(ours) ^ set(theirs))}")
    except Exception as error:  # a pyradiomics whose GLCM class changed shape: use its own class
        logger.warning("pyradiomics %s: cannot compare its GLCM features with the fast ones (%s); using "
                       "pyradiomics' own GLCM class", radiomics.__version__, error)
        return False
    if not worst <= AGREEMENT_TOLERANCE:
        logger.warning("pyradiomics %s computes the GLCM MCC or marginals differently from the fast exact method "
                       "(difference %.1e on reference data); using pyradiomics' own GLCM class",
                       radiomics.__version__, worst)
        return False
    return True


def fast_glcm_class() -> type:
    """pyradiomics' GLCM feature class with the fast MCC and marginals (:class:`FastGLCM` docstring).

    Returns pyradiomics' own class when :func:`agrees_with_pyradiomics` is False.
    """
    from radiomics.glcm import RadiomicsGLCM

    if not agrees_with_pyradiomics():
        return RadiomicsGLCM
    return _fast_class(RadiomicsGLCM)


@functools.lru_cache(maxsize=1)
def _fast_class(base: type) -> type:
    class FastGLCM(base):  # type: ignore[misc, valid-type]
        """pyradiomics' ``RadiomicsGLCM`` with methods replaced by exact, faster ones (same values):

        - ``getMCCFeatureValue``: :func:`maximal_correlation_coefficient` (segment-based extraction);
        - Cluster Tendency, Shade and Prominence: sums over the sum marginal p_{x+y} (module docstring);
        - ``_calculateCoefficients``: pyradiomics' own code, except that ``pxAddy`` and ``pxSuby`` come
          from :func:`sum_and_difference_marginals` instead of a Python loop over grey levels.

        Every other feature method is pyradiomics' own.
        """

        __module__ = base.__module__  # pyradiomics names a feature class's logger after its module

        def getMCCFeatureValue(self) -> Any:  # noqa: N802 (pyradiomics' name)
            if self.voxelBased:
                return super().getMCCFeatureValue()
            return maximal_correlation_coefficient(self.P_glcm)

        def getClusterTendencyFeatureValue(self) -> Any:  # noqa: N802
            return self._cluster_moment(2) if not self.voxelBased else super().getClusterTendencyFeatureValue()

        def getClusterShadeFeatureValue(self) -> Any:  # noqa: N802
            return self._cluster_moment(3) if not self.voxelBased else super().getClusterShadeFeatureValue()

        def getClusterProminenceFeatureValue(self) -> Any:  # noqa: N802
            return self._cluster_moment(4) if not self.voxelBased else super().getClusterProminenceFeatureValue()

        def _cluster_moment(self, power: int) -> np.ndarray:
            """sum_k (k - mu_x - mu_y)^power p_{x+y}(k) per angle, averaged over the non-empty angles."""
            c = self.coefficients
            centre = (c["ux"] + c["uy"])[:, 0]  # (Nv, 1, Na)
            moments = np.sum(c["pxAddy"] * (c["kValuesSum"][None, :, None] - centre) ** power, 1)
            return np.nanmean(moments, 1)

        def _calculateCoefficients(self) -> None:  # noqa: N802
            # pyradiomics 3.1 glcm.py _calculateCoefficients, with pxAddy and pxSuby from one grouped sum
            n_bins = self.coefficients["Ng"]
            grey_levels = self.coefficients["grayLevels"].astype("float")
            i, j = np.meshgrid(grey_levels, grey_levels, indexing="ij", sparse=True)
            p_glcm = self.P_glcm
            px_add_y, px_sub_y = sum_and_difference_marginals(p_glcm, grey_levels, n_bins)
            eps = np.spacing(1)
            self.coefficients.update({
                "eps": eps, "i": i, "j": j,
                "kValuesSum": np.arange(2, (n_bins * 2) + 1, dtype="float"),
                "kValuesDiff": np.arange(0, n_bins, dtype="float"),
                "px": p_glcm.sum(2, keepdims=True), "py": p_glcm.sum(1, keepdims=True),
                "ux": np.sum(i[None, :, :, None] * p_glcm, (1, 2), keepdims=True),
                "uy": np.sum(j[None, :, :, None] * p_glcm, (1, 2), keepdims=True),
                "pxAddy": px_add_y, "pxSuby": px_sub_y,
                "HXY": (-1) * np.sum((p_glcm * np.log2(p_glcm + eps)), (1, 2)),
            })

    for name in ("getMCCFeatureValue", "getClusterTendencyFeatureValue", "getClusterShadeFeatureValue",
                 "getClusterProminenceFeatureValue"):
        getattr(FastGLCM, name).__doc__ = getattr(base, name).__doc__
    return FastGLCM
