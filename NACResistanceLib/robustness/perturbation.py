"""Segmentation perturbations for feature robustness when no second reader exists.

After Zwanenburg et al. (Sci Rep 2019;9:614): the tumour mask is shrunk or grown, its contour randomised
and it is translated; a feature that changes a lot under such small changes is not reproducible. Each
function returns a :class:`PerturbedMask` with the new mask and the exact number of voxels it added and
removed (counted from the masks, not estimated). The image is never touched.

Arrays are in numpy ``(z, y, x)`` order; shifts given by the user are in SimpleITK ``(x, y, z)`` order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from ..errors import ImageError

DISTANCE_UNITS = ("mm", "voxel")
"""Units of an erosion/dilation distance: physical mm (spacing-aware) or voxel steps (spacing ignored)."""


@dataclass(frozen=True)
class PerturbedMask:
    """A perturbed tumour mask and the exact voxel changes relative to the original mask."""

    name: str
    """Short label, e.g. ``"dilate_1voxel"``, ``"radius_+10%"``, ``"contour_noise_1"``, ``"shift_x+1"``."""
    mask: sitk.Image
    """Binary ``sitkUInt8`` mask on the grid of the original mask."""
    voxels_before: int
    """Voxels in the original mask (count)."""
    voxels_added: int
    """Voxels inside the new mask and outside the original (count)."""
    voxels_removed: int
    """Voxels inside the original mask and outside the new one (count)."""

    @property
    def voxels_after(self) -> int:
        """Voxels in the new mask (count)."""
        return self.voxels_before + self.voxels_added - self.voxels_removed


def _mask_array(mask: sitk.Image) -> np.ndarray:
    array = sitk.GetArrayFromImage(mask) > 0
    if not array.any():
        raise ImageError("cannot perturb an empty tumour mask (no voxel > 0)")
    return array


def _result(name: str, old: np.ndarray, new: np.ndarray, reference: sitk.Image) -> PerturbedMask:
    if not new.any():
        raise ImageError(f"perturbation {name!r} removed every voxel of the tumour mask; use a smaller perturbation")
    image = sitk.GetImageFromArray(new.astype(np.uint8))
    image.CopyInformation(reference)
    return PerturbedMask(name=name, mask=image, voxels_before=int(old.sum()),
                         voxels_added=int((new & ~old).sum()), voxels_removed=int((old & ~new).sum()))


def _crop(array: np.ndarray, margin: Sequence[int]) -> tuple[slice, ...]:
    """Slices of the bounding box of ``array`` grown by ``margin`` voxels per axis, clipped to the grid."""
    nonzero = np.nonzero(array)
    return tuple(slice(max(int(i.min()) - m, 0), min(int(i.max()) + m + 1, size))
                 for i, m, size in zip(nonzero, margin, array.shape))


def _sampling(mask: sitk.Image, unit: str) -> np.ndarray:
    if unit not in DISTANCE_UNITS:
        raise ImageError(f"distance unit must be one of {DISTANCE_UNITS}, got {unit!r}")
    return np.asarray(mask.GetSpacing()[::-1], dtype=float) if unit == "mm" else np.ones(3)


def _morphology(mask: sitk.Image, distance: float, unit: str, grow: bool, name: str) -> PerturbedMask:
    if not distance > 0:
        raise ImageError(f"{name}: distance must be > 0 {unit}, got {distance}")
    old = _mask_array(mask)
    sampling = _sampling(mask, unit)
    box = _crop(old, [math.ceil(distance / s) + 1 for s in sampling])
    local = old[box]
    new = old.copy()
    if grow:
        new[box] = local | (ndimage.distance_transform_edt(~local, sampling=sampling) <= distance)
    else:
        new[box] = local & (ndimage.distance_transform_edt(local, sampling=sampling) > distance)
    return _result(name, old, new, mask)


def dilate(mask: sitk.Image, distance: float = 1.0, *, unit: str = "voxel") -> PerturbedMask:
    """Grow the mask by every voxel whose centre lies within ``distance`` of a mask voxel centre.

    Parameters
    ----------
    mask : sitk.Image
        Binary 3D tumour mask.
    distance : float
        Euclidean distance, in ``unit``. With ``unit="voxel"``, 1 adds the 6-connected outer layer,
        sqrt(2) also the edge neighbours, sqrt(3) the full 26-connected layer.
    unit : {"voxel", "mm"}
        ``"mm"`` measures with the image spacing (anisotropic voxels), ``"voxel"`` in index steps.

    Returns
    -------
    PerturbedMask
        For an ``a``-voxel cube and ``distance=1`` voxel: ``voxels_added = 6 a²``.

    Raises
    ------
    ImageError
        If the mask is empty or ``distance <= 0``.
    """
    return _morphology(mask, distance, unit, grow=True, name=f"dilate_{distance:g}{unit}")


def erode(mask: sitk.Image, distance: float = 1.0, *, unit: str = "voxel") -> PerturbedMask:
    """Remove every mask voxel whose centre lies within ``distance`` of a background voxel centre.

    Voxels outside the image grid do not count as background. For an ``a``-voxel cube and
    ``distance=1`` voxel, ``voxels_removed = a³ - (a - 2)³``. Parameters and errors as :func:`dilate`;
    also raises :class:`ImageError` if the erosion removes every voxel.
    """
    return _morphology(mask, distance, unit, grow=False, name=f"erode_{distance:g}{unit}")


def equivalent_radius_mm(mask: sitk.Image) -> float:
    """Radius of the sphere with the mask's volume, mm: ``(3 V / (4 pi))^(1/3)``, V in mm³."""
    volume_mm3 = float(_mask_array(mask).sum()) * float(np.prod(mask.GetSpacing()))
    return (3.0 * volume_mm3 / (4.0 * math.pi)) ** (1.0 / 3.0)


def resize(mask: sitk.Image, fraction: float) -> PerturbedMask:
    """Grow (``fraction > 0``) or shrink (``< 0``) the mask by ``|fraction|`` of its equivalent radius.

    The distance is ``|fraction| * equivalent_radius_mm(mask)`` in mm, applied with :func:`dilate` or
    :func:`erode` in ``"mm"`` units; so a ball of radius R mm becomes (up to voxelisation) a ball of radius
    ``(1 + fraction) R``.

    Raises
    ------
    ImageError
        If ``fraction`` is 0 or <= -1, the mask is empty, or the change is below the voxel size and would
        change no voxel (an unchanged "perturbation" would inflate the ICC).
    """
    if fraction == 0 or fraction <= -1:
        raise ImageError(f"resize fraction must be non-zero and > -1, got {fraction}")
    distance = abs(fraction) * equivalent_radius_mm(mask)
    result = _morphology(mask, distance, "mm", grow=fraction > 0, name=f"radius_{fraction:+.0%}")
    if result.voxels_added == result.voxels_removed == 0:
        raise ImageError(f"resizing by {fraction:+.0%} of the equivalent radius ({distance:.2f} mm) changes no voxel "
                         f"at spacing {tuple(round(s, 3) for s in mask.GetSpacing())} mm (x, y, z); use a larger "
                         "fraction")
    return result


def _layers(old: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inner and outer 6-connected boundary layers of ``old`` (out-of-grid is not background)."""
    cross = ndimage.generate_binary_structure(3, 1)
    interior = ndimage.binary_erosion(old, structure=cross, border_value=1)
    return old & ~interior, ndimage.binary_dilation(old, structure=cross) & ~old


def contour_noise(mask: sitk.Image, probability: float, rng: np.random.Generator, *,
                  name: str = "contour_noise") -> PerturbedMask:
    """Randomise the contour: flip each boundary voxel independently with ``probability``.

    Every voxel of the inner boundary layer (mask voxels with a 6-neighbour outside the mask) is removed,
    and every voxel of the outer layer (background voxels with a 6-neighbour in the mask) added, with
    probability ``probability``. A simple stand-in for the supervoxel contour randomisation of
    Zwanenburg et al. 2019: changes stay within one voxel of the original contour. With ``probability=1``
    an ``a``-voxel cube loses ``a³ - (a - 2)³`` voxels and gains ``6 a²``.

    Parameters
    ----------
    mask : sitk.Image
        Binary 3D tumour mask.
    probability : float
        Flip probability of each boundary voxel, in (0, 1].
    rng : numpy.random.Generator
        Source of randomness (explicit, for reproducible perturbations).
    name : str
        Label of the result.

    Raises
    ------
    ImageError
        If ``probability`` is outside (0, 1] or every voxel is removed.
    """
    if not 0 < probability <= 1:
        raise ImageError(f"contour noise probability must be in (0, 1], got {probability}")
    old = _mask_array(mask)
    box = _crop(old, [2, 2, 2])
    inner, outer = _layers(old[box])
    flip = rng.random(inner.shape) < probability
    new = old.copy()
    new[box] = (old[box] & ~(inner & flip)) | (outer & flip)
    return _result(name, old, new, mask)


def translate(mask: sitk.Image, shift_voxels: Sequence[int]) -> PerturbedMask:
    """Shift the mask by whole voxels relative to the image, ``shift_voxels`` in ``(x, y, z)`` order.

    For an ``a``-voxel cube shifted by ``s <= a`` voxels along one axis, ``voxels_added = voxels_removed
    = s a²``. Whole-voxel shifts keep the voxel count exact (Zwanenburg et al. also use sub-voxel image
    translations, which need interpolation; not done here).

    Raises
    ------
    ImageError
        If the shift is not three integers, is zero, or moves mask voxels off the image grid.
    """
    shift = tuple(int(s) for s in shift_voxels)
    if len(shift) != 3 or any(s != v for s, v in zip(shift, shift_voxels)) or not any(shift):
        raise ImageError(f"shift_voxels must be three integers (x, y, z), not all zero; got {tuple(shift_voxels)}")
    old = _mask_array(mask)
    shift_zyx = shift[::-1]
    for axis, (indices, s) in enumerate(zip(np.nonzero(old), shift_zyx)):
        if indices.min() + s < 0 or indices.max() + s >= old.shape[axis]:
            raise ImageError(f"shifting the mask by {shift} voxels (x, y, z) moves it off the image grid "
                             f"(numpy axis {axis} of size {old.shape[axis]}); use a smaller shift")
    new = np.roll(old, shift_zyx, axis=(0, 1, 2))
    return _result(translate_name(shift), old, new, mask)


def translate_name(shift_voxels: Sequence[int]) -> str:
    """Name of a translation, e.g. ``"shift_x+1"`` or ``"shift_x+1y-2"``."""
    return "shift_" + "".join(f"{a}{int(s):+d}" for a, s in zip("xyz", shift_voxels) if s)


@dataclass(frozen=True)
class PerturbationConfig:
    """Which perturbations :func:`perturbation_plan` applies to each mask (defaults: 9 perturbed masks)."""

    morphology_voxels: float = 1.0
    """Erosion and dilation distance in units of the mask's smallest voxel spacing (applied in mm, so on
    grids with thick slices only the in-plane layer changes); 0 = no erosion/dilation."""
    radius_fractions: tuple[float, ...] = (-0.2, 0.2)
    """Shrink/grow by these fractions of the equivalent radius (Zwanenburg: volume adaptation). A change
    smaller than the voxel spacing changes no voxel and fails for that exam (see :func:`resize`)."""
    contour_noise_probability: float = 0.25
    """Flip probability of each boundary voxel in a contour randomisation."""
    contour_noise_repeats: int = 1
    """How many independent contour randomisations."""
    shifts_voxels: tuple[tuple[int, int, int], ...] = ((1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0))
    """Whole-voxel translations in ``(x, y, z)`` order."""


Perturb = Callable[[sitk.Image, np.random.Generator], PerturbedMask]


def _morphology_step(voxels: float, grow: bool, name: str) -> Perturb:
    def step(mask: sitk.Image, rng: np.random.Generator) -> PerturbedMask:
        distance = voxels * min(mask.GetSpacing())
        return _morphology(mask, distance, "mm", grow=grow, name=name)
    return step


def perturbation_plan(config: PerturbationConfig) -> tuple[tuple[str, Perturb], ...]:
    """The perturbations of ``config`` as ``(name, perturb(mask, rng) -> PerturbedMask)`` pairs.

    Names depend only on ``config`` (never on the mask), so results line up as "raters" across exams;
    each perturbation can fail on its own (e.g. an erosion that removes a thin tumour).
    """
    plan: list[tuple[str, Perturb]] = []
    if config.morphology_voxels > 0:
        size = f"{config.morphology_voxels:g}voxel"
        plan += [(f"erode_{size}", _morphology_step(config.morphology_voxels, False, f"erode_{size}")),
                 (f"dilate_{size}", _morphology_step(config.morphology_voxels, True, f"dilate_{size}"))]
    plan += [(f"radius_{f:+.0%}", lambda mask, rng, f=f: resize(mask, f)) for f in config.radius_fractions]
    plan += [(f"contour_noise_{i + 1}", lambda mask, rng, i=i: contour_noise(
        mask, config.contour_noise_probability, rng, name=f"contour_noise_{i + 1}"))
        for i in range(config.contour_noise_repeats)]
    plan += [(translate_name(shift), lambda mask, rng, shift=shift: translate(mask, shift))
             for shift in config.shifts_voxels]
    return tuple(plan)


def perturb(mask: sitk.Image, config: PerturbationConfig, rng: np.random.Generator) -> tuple[PerturbedMask, ...]:
    """Every perturbation of ``config`` applied to ``mask``, in :func:`perturbation_plan` order.

    Raises
    ------
    ImageError
        From the first perturbation that fails (use :func:`perturbation_plan` to handle them one by one).
    """
    return tuple(step(mask, rng) for _, step in perturbation_plan(config))
