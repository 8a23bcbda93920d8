"""Signal images of one exam: DCE phases and DWI volumes on their own grids, from tissue labels."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from .biology import Biology
from .dce import spgr_signal, tofts_concentration
from .dwi import add_rician_noise, kurtosis_signal, tensor_signal
from .protocol import Grid, PhantomProtocol
from .tissues import DWI_SIGNAL_SCALE, FIBROGLANDULAR, TISSUES, TUMOR

NUMPY_TYPES = {sitk.sitkUInt8: np.uint8, sitk.sitkInt16: np.int16, sitk.sitkUInt16: np.uint16,
               sitk.sitkFloat32: np.float32}
"""SimpleITK pixel type -> numpy type of the arrays the phantom writes."""


RIM_VE = 0.4
"""ve of the planted peritumoral rim."""
RIM_VP = 0.02
"""vp of the planted peritumoral rim."""


def to_image(values: np.ndarray, grid: Grid, pixel_type: int) -> sitk.Image:
    """A SimpleITK image on ``grid`` from ``(n,)`` or ``(z, y, x)`` values, cast to ``pixel_type``."""
    array = np.asarray(values).reshape(grid.shape)
    numpy_type = NUMPY_TYPES[pixel_type]
    if np.issubdtype(numpy_type, np.integer):
        info = np.iinfo(numpy_type)
        array = np.clip(np.round(array), info.min, info.max)
    image = sitk.GetImageFromArray(array.astype(numpy_type))
    image.SetSpacing(grid.spacing)
    image.SetOrigin(grid.origin)
    return image


def tissue_table(biology: Biology) -> dict[str, np.ndarray]:
    """Per-tissue-code parameter arrays (index = tissue code) with this patient's FGT values."""
    table = {name: np.array([getattr(TISSUES[code], name) for code in sorted(TISSUES)], dtype=np.float64)
             for name in ("t1_ms", "m0", "ktrans_per_min", "ve", "vp", "d_mm2_s", "kurtosis", "s0_dwi", "anisotropy")}
    table["ktrans_per_min"][FIBROGLANDULAR] = biology.bpe_ktrans_per_min
    table["d_mm2_s"][FIBROGLANDULAR] = biology.reference_d_mm2_s
    table["kurtosis"][FIBROGLANDULAR] = biology.reference_kurtosis
    return table


def dce_signal(tissues, tumor_index, tumor_params, biology, protocol: PhantomProtocol,
               rim_index: np.ndarray | None = None) -> np.ndarray:
    """Noise-free DCE signal, ``(n_voxels, n_phases)`` float32, from tissue codes and tumour parameters.

    ``rim_index``: voxels of a planted peritumoral rim (extended Tofts with the protocol's rim Ktrans).
    """
    table = tissue_table(biology)
    times = protocol.dce_times_s
    concentration = tofts_concentration(table["ktrans_per_min"], np.maximum(table["ve"], 1e-6), table["vp"],
                                        times, protocol.bolus_arrival_s)
    curves = spgr_signal(concentration, table["t1_ms"][:, None], table["m0"][:, None],
                         protocol.tr_ms, protocol.flip_angle_deg)
    signal = curves.astype(np.float32)[tissues]
    tumor_concentration = tofts_concentration(tumor_params["ktrans_per_min"], tumor_params["ve"],
                                              tumor_params["vp"], times, protocol.bolus_arrival_s)
    signal[tumor_index] = spgr_signal(tumor_concentration, TISSUES[TUMOR].t1_ms, TISSUES[TUMOR].m0,
                                      protocol.tr_ms, protocol.flip_angle_deg)
    if rim_index is not None and rim_index.size:
        rim_concentration = tofts_concentration(protocol.peritumoral_rim_ktrans_per_min, RIM_VE, RIM_VP, times,
                                                protocol.bolus_arrival_s)
        rim_tissues = tissues[rim_index]
        signal[rim_index] = spgr_signal(rim_concentration, table["t1_ms"][rim_tissues][:, None],
                                        table["m0"][rim_tissues][:, None], protocol.tr_ms, protocol.flip_angle_deg)
    return signal


def dwi_signal(tissues, tumor_index, tumor_params, biology, bvals, bvecs=None, principal=None) -> np.ndarray:
    """Noise-free DWI signal, ``(n_voxels, n_volumes)``: trace kurtosis model, or tensor model with ``bvecs``.

    ``principal`` is the ``(3,)`` principal diffusion direction of this patient's tissues (tensor only).
    """
    table = tissue_table(biology)
    s0 = DWI_SIGNAL_SCALE * table["s0_dwi"][tissues]
    d = table["d_mm2_s"][tissues]
    k = table["kurtosis"][tissues]
    d[tumor_index] = tumor_params["d_mm2_s"]
    k[tumor_index] = tumor_params["kurtosis"]
    if bvecs is None:
        return kurtosis_signal(s0, d, k, bvals).astype(np.float32)
    anisotropy = table["anisotropy"][tissues]
    directions = np.broadcast_to(principal, (len(tissues), 3))
    return tensor_signal(s0, d, k, anisotropy, directions, bvals, bvecs).astype(np.float32)


def noisy(signal: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Rician magnitude of a noise-free signal array (float32 arithmetic)."""
    return add_rician_noise(signal, np.float32(sigma), rng).astype(np.float32)
