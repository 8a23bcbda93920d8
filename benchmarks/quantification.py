"""Benchmark: voxel-wise ADC and kurtosis maps on a 64×64×20 ROI box.

Ours (vectorised over voxels) against a straightforward per-voxel loop doing the same arithmetic,
and against DIPY called directly where DIPY has the model (mean-signal kurtosis ``msdki``; the
kurtosis tensor ``dki``, which we wrap). All runs see the same noisy signal, side by side in one
process; ratios survive machine load better than absolute times. Values are checked to agree.
Prints a table and writes ``benchmarks/results/quantification.json``.

Run: ``nice .venv/bin/python benchmarks/quantification.py`` (about a minute on 2 cores).
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import dipy
import numpy as np
from dipy.core.gradients import gradient_table
from dipy.data import get_sphere
from dipy.reconst import dki, msdki

from NACResistanceLib.diffusion import fit_adc, fit_dki, fit_mean_kurtosis

RESULTS = Path(__file__).resolve().parent / "results" / "quantification.json"
SHAPE = (20, 64, 64)
"""(z, y, x) voxels of the ROI box."""


def noisy_signal(bvals: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Kurtosis-representation signal, MD 0.7–1.8e-3 mm²/s, MK 0.4–1.2, Rician noise SNR 50 at b=0."""
    md = rng.uniform(0.7e-3, 1.8e-3, SHAPE)[..., None]
    mk = rng.uniform(0.4, 1.2, SHAPE)[..., None]
    clean = 1000 * np.exp(-bvals * md + bvals**2 * md**2 * mk / 6)
    return np.hypot(clean + rng.normal(0, 20, clean.shape), rng.normal(0, 20, clean.shape))


def loop_adc(signal: np.ndarray, bvals: np.ndarray) -> np.ndarray:
    """Per-voxel two-pass weighted log-linear ADC (the same estimator as ours), one lstsq per voxel."""
    design = np.stack([np.ones_like(bvals), -bvals], axis=-1)
    out = np.empty(signal.shape[:-1])
    for index in np.ndindex(*signal.shape[:-1]):
        y = np.log(signal[index])
        p = np.linalg.lstsq(design, y, rcond=None)[0]
        w = np.exp(design @ p)
        out[index] = np.linalg.lstsq(design * w[:, None], y * w, rcond=None)[0][1]
    return out


def loop_mean_kurtosis(signal: np.ndarray, bvals: np.ndarray) -> np.ndarray:
    """Per-voxel weighted log-linear mean-signal kurtosis (weights S², one shell per volume), one lstsq per voxel."""
    design = np.stack([np.ones_like(bvals), -bvals, bvals**2 / 6], axis=-1)
    out = np.empty(signal.shape[:-1])
    for index in np.ndindex(*signal.shape[:-1]):
        s = signal[index]
        p = np.linalg.lstsq(design * s[:, None], np.log(s) * s, rcond=None)[0]
        out[index] = p[2] / p[1] ** 2
    return out


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def adc_case(rng) -> dict:
    bvals = np.array([0.0, 50.0, 400.0, 800.0, 1000.0])
    signal = noisy_signal(bvals, rng)
    t_ours, ours = timed(lambda: fit_adc(signal, bvals).adc)
    t_loop, loop = timed(loop_adc, signal, bvals)
    return {"ours_s": t_ours, "loop_s": t_loop, "loop_over_ours": t_loop / t_ours,
            "max_abs_diff_vs_loop_mm2_s": float(np.max(np.abs(ours - loop)))}


def mean_kurtosis_case(rng) -> dict:
    bvals = np.array([0.0, 500.0, 1000.0, 1500.0, 2000.0])
    signal = noisy_signal(bvals, rng)
    gtab = gradient_table(bvals, bvecs=np.vstack([[0, 0, 0], np.tile([1.0, 0, 0], (4, 1))]))
    t_ours, ours = timed(lambda: fit_mean_kurtosis(signal, bvals).mk)
    t_loop, loop = timed(loop_mean_kurtosis, signal, bvals)
    t_dipy, theirs = timed(lambda: msdki.MeanDiffusionKurtosisModel(gtab).fit(signal).msk)
    return {"ours_s": t_ours, "loop_s": t_loop, "dipy_msdki_s": t_dipy, "loop_over_ours": t_loop / t_ours,
            "dipy_over_ours": t_dipy / t_ours, "max_abs_diff_mk_vs_loop": float(np.max(np.abs(ours - loop))),
            "max_abs_diff_mk_vs_dipy": float(np.max(np.abs(ours - theirs)))}


def tensor_case(rng) -> dict:
    """The tensor fit is ~100x slower per voxel: a 64x64x5 slab, each run twice in alternating order (min)."""
    dirs = get_sphere(name="repulsion100").vertices[:30]
    bvals = np.concatenate([[0.0], np.full(30, 1000.0), np.full(30, 2000.0)])
    bvecs = np.vstack([[0.0, 0.0, 0.0], dirs, dirs])
    signal = noisy_signal(bvals, rng)[:5]
    gtab = gradient_table(bvals, bvecs=bvecs)
    ours_runs, dipy_runs = [], []
    for order in ((0, 1), (1, 0)):
        for which in order:
            if which == 0:
                ours_runs.append(timed(lambda: fit_dki(signal, bvals, bvecs).mk))
            else:
                dipy_runs.append(timed(lambda: dki.DiffusionKurtosisModel(gtab, fit_method="WLS").fit(signal).mk()))
    t_ours, t_dipy = min(t for t, _ in ours_runs), min(t for t, _ in dipy_runs)
    return {"voxels": int(signal[..., 0].size), "ours_s": t_ours, "dipy_dki_s": t_dipy, "dipy_over_ours": t_dipy / t_ours,
            "max_abs_diff_mk_vs_dipy": float(np.nanmax(np.abs(ours_runs[0][1] - dipy_runs[0][1])))}


def main() -> int:
    rng = np.random.default_rng(2026)
    results = {"voxels": int(np.prod(SHAPE)), "shape_zyx": list(SHAPE),
               "adc": adc_case(rng), "mean_kurtosis": mean_kurtosis_case(rng), "kurtosis_tensor": tensor_case(rng),
               "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
                           "dipy": dipy.__version__}}
    print(f"voxel-wise maps on a {SHAPE[2]}x{SHAPE[1]}x{SHAPE[0]} box ({results['voxels']} voxels)")
    print(f"{'map':<22}{'ours s':>9}{'loop s':>9}{'DIPY s':>9}{'loop/ours':>11}{'DIPY/ours':>11}")
    for name in ("adc", "mean_kurtosis", "kurtosis_tensor"):
        r = results[name]
        label = name if name != "kurtosis_tensor" else f"tensor ({r['voxels']} vox)"
        dipy_s = r.get("dipy_msdki_s", r.get("dipy_dki_s"))
        cells = [f"{r['ours_s']:9.3f}", _cell(r.get("loop_s"), "9.2f"), _cell(dipy_s, "9.2f"),
                 _cell(r.get("loop_over_ours"), "11.1f"), _cell(r.get("dipy_over_ours"), "11.2f")]
        print(f"{label:<22}" + "".join(cells))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {RESULTS}")
    return 0


def _cell(value, spec: str) -> str:
    width = int(spec.split(".")[0])
    return f"{'-':>{width}}" if value is None else format(value, spec)


if __name__ == "__main__":
    raise SystemExit(main())
