"""Benchmark: voxel-wise Tofts / extended Tofts maps, vectorised (``dce.PkModel``) against a per-voxel loop.

The loop is what a straightforward implementation does: ``scipy.optimize.least_squares`` (bounded trust region,
Ktrans in [0, 5] /min, ve in [1e-3, 1], vp in [0, 1]) on each voxel, with the same exact forward model. Both
fit the same noisy curves (Parker AIF, seed protocol and a 5 s protocol); the loop runs on a subset and its time
is scaled to the whole box. Ratios are measured in one run (machine load reported). Parameters are checked to
agree where the loop converged. Prints a table and writes ``benchmarks/results/pk.json``.

Run: ``PYTHONPATH=. nice python benchmarks/pk.py``
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from NACResistanceLib.dce import tofts
from NACResistanceLib.dce.pk import Aif, PkModel

RESULTS = Path(__file__).resolve().parent / "results" / "pk.json"
N_VOXELS = 20_000
LOOP_VOXELS = 200
PROTOCOLS = {"seed 7 x 51.3 s, Tofts": (np.arange(7) * 51.3, "tofts"),
             "5 s x 61, extended Tofts": (np.arange(61) * 5.0, "extended_tofts")}


def curves(times, model, aif, rng):
    """Noisy curves (mM) of N_VOXELS voxels with random Ktrans, ve, vp; and the truth."""
    ktrans = rng.uniform(0.05, 1.0, N_VOXELS)
    ve = rng.uniform(0.1, 0.6, N_VOXELS)
    vp = rng.uniform(0.0, 0.08, N_VOXELS) if model != "tofts" else np.zeros(N_VOXELS)
    grid, keep = aif.grid(times)
    clean = tofts.model_concentration(model, grid, aif.plasma(grid), ktrans_per_min=ktrans, ve=ve, vp=vp, keep=keep)
    return clean + rng.normal(0, 0.01, clean.shape), ktrans


def loop_fit(times, model, aif, data):
    """Per-voxel bounded least squares with the same forward model; Ktrans (1/min) per voxel."""
    grid, keep = aif.grid(times)
    cp = aif.plasma(grid)

    def residual(params, y):
        ve = params[1]
        vp = params[2] if model == "extended_tofts" else 0.0
        return tofts.model_concentration(model, grid, cp, ktrans_per_min=params[0], ve=ve, vp=vp, keep=keep)[0] - y

    start, low, high = ([0.3, 0.3, 0.02], [0, 1e-3, 0], [5, 1, 1]) if model == "extended_tofts" \
        else ([0.3, 0.3], [0, 1e-3], [5, 1])
    return np.array([least_squares(residual, start, bounds=(low, high), args=(y,)).x[0] for y in data])


def main() -> dict:
    rng = np.random.default_rng(0)
    aif = Aif("parker", delay_s=20.0)
    rows = {"load_1min": os.getloadavg()[0], "n_voxels": N_VOXELS, "loop_voxels": LOOP_VOXELS}
    for label, (times, model) in PROTOCOLS.items():
        data, truth = curves(times, model, aif, rng)
        pk = PkModel(model, times, aif, max_vp_interval_s=60.0)
        tic = time.perf_counter()
        fit = pk.fit(data)
        vectorised = time.perf_counter() - tic
        tic = time.perf_counter()
        looped = loop_fit(times, model, aif, data[:LOOP_VOXELS])
        loop_whole = (time.perf_counter() - tic) * N_VOXELS / LOOP_VOXELS
        agree = np.median(np.abs(fit.ktrans[:LOOP_VOXELS] - looped))
        rows[label] = {"vectorised_s": round(vectorised, 2), "loop_s_scaled": round(loop_whole, 1),
                       "speed_ratio": round(loop_whole / vectorised, 1),
                       "median_abs_ktrans_difference_per_min": float(agree),
                       "median_abs_ktrans_error_per_min": float(np.median(np.abs(fit.ktrans - truth)))}
    return rows


if __name__ == "__main__":
    results = main()
    print(json.dumps(results, indent=2))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
