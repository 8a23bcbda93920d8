"""Per-tissue MR parameters of the phantom (literature values at 3 T) and the tissue label codes.

Each tissue is one row of :data:`TISSUES`; the tumour's DCE and diffusion parameters are drawn per
patient and per voxel (:mod:`.biology`, :mod:`.fields`), the others are fixed per patient.
"""

from __future__ import annotations

from dataclasses import dataclass

AIR, FAT, FIBROGLANDULAR, SKIN, CHEST_WALL, TUMOR, NECROSIS, OEDEMA, BENIGN = range(9)
"""Tissue label codes of the anatomy (the truth label map)."""

TISSUE_NAMES = ("air", "fat", "fibroglandular", "skin", "chest_wall", "tumor", "necrosis", "oedema", "benign_focus")
"""Tissue name of each label code."""


@dataclass(frozen=True)
class Tissue:
    """MR parameters of one tissue."""

    t1_ms: float
    """Native longitudinal relaxation time at 3 T, ms."""
    m0: float
    """Equilibrium magnetisation of the fat-suppressed T1-weighted DCE sequence, relative units."""
    ktrans_per_min: float
    """Extended-Tofts transfer constant, min⁻¹."""
    ve: float
    """Extravascular extracellular volume fraction (0-1)."""
    vp: float
    """Plasma volume fraction (0-1)."""
    d_mm2_s: float
    """Kurtosis-model diffusivity D, mm²/s."""
    kurtosis: float
    """Kurtosis-model excess kurtosis K (dimensionless)."""
    s0_dwi: float
    """Fat-suppressed b = 0 DWI signal, relative to fibroglandular tissue (T2 weighting included)."""
    anisotropy: float
    """Tensor protocol: axial/radial split a, eigenvalues D·(1 + 2a, 1 − a, 1 − a)."""


TISSUES: dict[int, Tissue] = {
    AIR: Tissue(1.0e9, 0.0, 0.0, 0.0, 0.0, 3.0e-3, 0.0, 0.0, 0.0),
    FAT: Tissue(367.0, 0.10, 0.005, 0.05, 0.002, 0.10e-3, 0.0, 0.06, 0.0),
    FIBROGLANDULAR: Tissue(1445.0, 1.0, 0.03, 0.30, 0.01, 1.90e-3, 0.55, 1.0, 0.15),
    SKIN: Tissue(1100.0, 0.75, 0.04, 0.20, 0.02, 1.30e-3, 0.60, 0.50, 0.0),
    CHEST_WALL: Tissue(1412.0, 0.80, 0.03, 0.15, 0.01, 1.50e-3, 0.50, 0.45, 0.30),
    TUMOR: Tissue(1600.0, 1.0, 0.30, 0.32, 0.04, 1.15e-3, 0.88, 1.05, 0.10),
    NECROSIS: Tissue(2000.0, 1.0, 0.004, 0.30, 0.002, 2.50e-3, 0.30, 1.20, 0.0),
    OEDEMA: Tissue(1800.0, 1.1, 0.02, 0.50, 0.01, 2.30e-3, 0.35, 1.40, 0.05),
    BENIGN: Tissue(1500.0, 1.0, 0.12, 0.50, 0.02, 1.97e-3, 0.47, 1.10, 0.05),
}
"""Nominal parameters per tissue code. Sources (see docs/phantom.md): T1 of fat and fibroglandular
tissue at 3 T, Rakow-Penner et al. JMRI 2006; skeletal muscle (chest wall), Stanisz et al. MRM 2005;
tumour, necrosis and oedema T1 assumed longer than fibroglandular tissue. D and K of malignant and
benign lesions, Wu et al. PLoS One 2014 (MD 1.20 vs 1.97 ×10⁻³ mm²/s, MK 0.88 vs 0.47); normal
fibroglandular tissue taken close to benign tissue. Tofts parameters chosen inside ranges usually
reported for breast cancer and background parenchymal enhancement (assumptions, not measurements)."""

GADOBUTROL_R1_PER_MM_S = 5.0
"""Longitudinal relaxivity of gadobutrol in plasma at 3 T, s⁻¹·mM⁻¹ (Rohrer et al., Invest Radiol 2005)."""

HEMATOCRIT = 0.42
"""Large-vessel haematocrit converting the Parker blood curve to plasma concentration."""

DCE_SIGNAL_SCALE = 2000.0
"""Scanner gain: DCE signal = DCE_SIGNAL_SCALE × normalised spoiled gradient-echo signal."""

DWI_SIGNAL_SCALE = 250.0
"""Scanner gain: b = 0 DWI signal of fibroglandular tissue."""

T2_MS = {AIR: 1.0, FAT: 130.0, FIBROGLANDULAR: 55.0, SKIN: 40.0, CHEST_WALL: 45.0, TUMOR: 85.0, NECROSIS: 200.0,
         OEDEMA: 180.0, BENIGN: 110.0}
"""T2 of each tissue at 3 T, ms (assumed, within ranges reported for breast tissue and tumours; air has no signal).
The planted T2-weighted contrast: tumour brighter than fibroglandular tissue, necrosis and oedema brightest."""

T2W_SIGNAL_SCALE = 1000.0
"""Scanner gain: T2-weighted signal = T2W_SIGNAL_SCALE × M0 × exp(−TE/T2) (M0 = 0 in air)."""
