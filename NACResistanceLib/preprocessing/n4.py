"""N4 bias-field correction (SimpleITK), fitted on a shrunk image and applied at full resolution."""

from __future__ import annotations

from collections.abc import Sequence

import SimpleITK as sitk


def n4_correct(image: sitk.Image, *, shrink_factor: int, iterations: Sequence[int]) -> sitk.Image:
    """Divide ``image`` by the N4 estimate of its smooth multiplicative bias field.

    Parameters
    ----------
    image : SimpleITK.Image
        3D scalar image with positive tissue intensities.
    shrink_factor : int
        The bias field is fitted on the image (and its Otsu foreground mask) shrunk by this factor per axis.
    iterations : sequence of int
        Maximum iterations per B-spline fitting level (one entry per level).

    Returns
    -------
    SimpleITK.Image
        float32 corrected image ``image / exp(log_bias)``, on the input grid.

    Notes
    -----
    Tustison et al., "N4ITK: improved N3 bias correction", IEEE TMI 29(6):1310, 2010. The foreground mask is
    Otsu's threshold of the input (``sitk.OtsuThreshold``, inside value 1), as in the SimpleITK N4 example.
    """
    float_image = sitk.Cast(image, sitk.sitkFloat32)
    foreground = sitk.OtsuThreshold(float_image, 0, 1, 200)
    small = sitk.Shrink(float_image, [shrink_factor] * 3)
    small_mask = sitk.Shrink(foreground, [shrink_factor] * 3)
    corrector = sitk.N4BiasFieldCorrectionImageFilter()
    corrector.SetMaximumNumberOfIterations([int(i) for i in iterations])
    corrector.Execute(small, small_mask)
    log_bias = corrector.GetLogBiasFieldAsImage(float_image)
    return float_image / sitk.Exp(log_bias)
