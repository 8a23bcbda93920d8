"""The acquisition protocol of the synthetic cohort (geometry, timing, sequence parameters)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import ConfigError

SEED_DCE_INTERVAL_S = 51.3
"""Time between DCE phases in the seed study's protocol, s."""


@dataclass(frozen=True)
class Grid:
    """A regular axial image grid in LPS space (identity direction)."""

    size: tuple[int, int, int]
    """Number of voxels along (x, y, z) (SimpleITK order)."""
    spacing: tuple[float, float, float]
    """Voxel spacing along (x, y, z), mm (z = slice thickness + gap)."""
    origin: tuple[float, float, float]
    """Physical position of the first voxel centre (x, y, z), mm."""

    @property
    def shape(self) -> tuple[int, int, int]:
        """Numpy array shape, (z, y, x)."""
        return (self.size[2], self.size[1], self.size[0])


@dataclass(frozen=True)
class PhantomProtocol:
    """How every synthetic exam is acquired; the default is the seed study's protocol.

    The field of view covers both breasts (prone, axial): x runs right to left (patient), y
    anterior to posterior, z inferior to superior, all in mm.
    """

    fov_mm: tuple[float, float, float] = (320.0, 140.0, 140.0)
    """Field of view along (x, y, z), mm; the DCE and DWI grids are centred on the same point."""
    dce_spacing_mm: tuple[float, float, float] = (1.25, 1.25, 4.4)
    """DCE voxel spacing, mm: 1.25 mm in-plane, 4 mm slices + 0.4 mm gap."""
    dwi_spacing_mm: tuple[float, float, float] = (2.0, 2.0, 4.0)
    """DWI voxel spacing, mm (its own, coarser grid)."""
    dwi_origin_shift_mm: tuple[float, float, float] = (0.5, -0.7, 1.3)
    """Offset of the DWI grid origin against the DCE grid origin, mm (the grids do not align)."""
    n_post_phases: int = 6
    """Post-contrast DCE phases after the one pre-contrast phase."""
    dce_interval_s: float = SEED_DCE_INTERVAL_S
    """Time between DCE phases, s."""
    bolus_arrival_s: float = 30.0
    """Arrival of contrast in the breast after the centre of the pre-contrast phase, s."""
    tr_ms: float = 4.5
    """Repetition time of the spoiled gradient-echo DCE sequence, ms."""
    flip_angle_deg: float = 12.0
    """Flip angle of the DCE sequence, degrees."""
    t2w: bool = False
    """Also acquire a T2-weighted series (own grid, ``t2w_spacing_mm``, shifted by ``t2w_origin_shift_mm``)."""
    t2w_spacing_mm: tuple[float, float, float] = (1.0, 1.0, 4.0)
    """T2-weighted voxel spacing, mm."""
    t2w_origin_shift_mm: tuple[float, float, float] = (0.3, 0.45, -0.9)
    """Offset of the T2-weighted grid origin against the DCE grid origin, mm."""
    t2w_te_ms: float = 100.0
    """Echo time of the T2-weighted turbo spin echo, ms."""
    t2w_tumor_t2_ms: float = 85.0
    """T2 of the tumour, ms: the planted T2-weighted contrast (fibroglandular tissue 55 ms, fat 130 ms)."""
    t2w_noise_sd: float = 4.0
    """Rician noise SD per channel of the T2-weighted series, signal units (fibroglandular tissue ~ 300)."""
    peritumoral_rim_mm: float = 0.0
    """Plant an enhancing rim this many mm outside the tumour (0: none, the seed phantom)."""
    peritumoral_rim_ktrans_per_min: float = 0.6
    """Ktrans of the planted rim, 1/min (ve 0.4, vp 0.02; T1 and M0 of the tissue it replaces)."""
    dce_noise_sd: float = 4.0
    """Standard deviation of the Rician noise (per channel) of each DCE phase, signal units (FGT pre-contrast ~ 48)."""
    bvalues: tuple[float, ...] = (0.0, 800.0, 1000.0)
    """Trace-weighted b-values, s/mm² (seed: 0, 800, 1000; add 1500 and 2000 with ``extra_bvalues``)."""
    dwi_snr: float = 40.0
    """SNR of the b = 0 image in fibroglandular tissue: S0 / sigma of the Rician noise."""
    tensor_shells: tuple[float, ...] = ()
    """Non-zero shells of the research tensor protocol, s/mm² (empty = trace-weighted protocol)."""
    tensor_directions: int = 20
    """Gradient directions per tensor shell (at least 15)."""
    scanner_adc: bool = True
    """Also write a scanner-style ADC map in 10⁻⁶ mm²/s (trace protocol only)."""
    second_reader: bool = False
    """Also outline the tumour as a second reader would (reproducibility analysis)."""
    followup: bool = False
    """Also acquire the exam after two cycles of chemotherapy (timepoint ``cycle2``)."""

    def __post_init__(self) -> None:
        if self.n_post_phases < 1:
            raise ConfigError(f"n_post_phases must be >= 1, got {self.n_post_phases}")
        if self.tensor_shells and (len(self.tensor_shells) < 2 or self.tensor_directions < 15):
            raise ConfigError(
                "the tensor protocol needs >= 2 non-zero shells and >= 15 directions, got shells "
                f"{self.tensor_shells} and {self.tensor_directions} directions"
            )
        if min(self.dce_spacing_mm + self.dwi_spacing_mm) <= 0 or self.dwi_snr <= 0 or self.dce_noise_sd < 0:
            raise ConfigError(
                f"voxel spacings ({self.dce_spacing_mm}, {self.dwi_spacing_mm} mm) and dwi_snr ({self.dwi_snr}) "
                f"must be positive and dce_noise_sd ({self.dce_noise_sd}) non-negative"
            )

    @classmethod
    def small(cls, **changes: object) -> PhantomProtocol:
        """A coarse protocol for tests: same anatomy and timing, ~5x fewer voxels, tiny files."""
        base = cls(dce_spacing_mm=(2.5, 2.5, 6.0), dwi_spacing_mm=(4.0, 4.0, 6.0), tensor_directions=15,
                   t2w_spacing_mm=(2.0, 2.0, 5.0))
        return replace(base, **changes)

    def with_extra_bvalues(self) -> PhantomProtocol:
        """The same protocol with b = 1500 and 2000 s/mm² added to the trace acquisition."""
        return replace(self, bvalues=tuple(sorted(set(self.bvalues) | {1500.0, 2000.0})))

    def with_tensor(self, shells: tuple[float, ...] = (1000.0, 2000.0)) -> PhantomProtocol:
        """The research protocol: b = 0 plus ``tensor_directions`` directions on each shell."""
        return replace(self, tensor_shells=tuple(shells), scanner_adc=False)

    @property
    def dce_times_s(self) -> tuple[float, ...]:
        """Acquisition time of each DCE phase relative to the pre-contrast phase, s."""
        return tuple(round(k * self.dce_interval_s, 6) for k in range(self.n_post_phases + 1))

    @property
    def dce_grid(self) -> Grid:
        """The DCE grid (the segmentation is drawn on it)."""
        return _centred_grid(self.fov_mm, self.dce_spacing_mm, (0.0, 0.0, 0.0))

    @property
    def t2w_grid(self) -> Grid:
        """The T2-weighted grid: its own spacing, shifted against the DCE grid."""
        return _centred_grid(self.fov_mm, self.t2w_spacing_mm, self.t2w_origin_shift_mm)

    @property
    def dwi_grid(self) -> Grid:
        """The DWI grid: coarser and shifted against the DCE grid."""
        return _centred_grid(self.fov_mm, self.dwi_spacing_mm, self.dwi_origin_shift_mm)


FOV_CENTRE_MM = (0.0, -55.0, 0.0)
"""Physical centre of the field of view (x, y, z), mm: y < 0 is anterior of the chest wall at y = 0."""


def _centred_grid(fov, spacing, shift) -> Grid:
    size = tuple(max(1, int(round(f / s))) for f, s in zip(fov, spacing))
    origin = tuple(
        c - (n - 1) * s / 2.0 + d for c, n, s, d in zip(FOV_CENTRE_MM, size, spacing, shift)
    )
    return Grid(size=size, spacing=tuple(spacing), origin=origin)
