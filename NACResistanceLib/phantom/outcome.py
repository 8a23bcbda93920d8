"""Post-treatment pathology (the Residual Cancer Burden inputs) and MRI diameter, given the label.

The resistance label is drawn first (Bernoulli with the true probability); the outcome columns are
then drawn so that the rule of :mod:`NACResistanceLib.labels` (RCB class >= II, or MRI shrinkage
below 30%) gives that label. RCB (Symmans et al., J Clin Oncol 2007) is
``1.4·(f_inv·d_prim)^0.17 + (4·(1 − 0.75^LN)·d_met)^0.17`` with ``d_prim = sqrt(d1·d2)`` (mm) and
``f_inv = (1 − %CIS/100)·%CA/100``; RCB-I needs an index <= 1.36. The class is guaranteed by
construction, without computing the index here:

* pCR: no residual tumour, no positive nodes (index 0, RCB-0);
* RCB-I: no positive nodes and ``f_inv·d_prim <= 0.8 mm``, so the index <= 1.4·0.8^0.17 = 1.348;
* RCB-II/III: ``f_inv·d_prim >= 1.2 mm``, so the index >= 1.4·1.2^0.17 = 1.444 whatever the nodes.

Sensitive patients have pCR (45%) or RCB-I and shrink by 35-100%. Resistant patients have RCB-II/III
(85%; shrinkage −30..80%, centred on 20%) or RCB-0/I with shrinkage below 28% (15%).
"""

from __future__ import annotations

import numpy as np

NODE_MEAN = {"N0": 0.4, "N1": 2.0, "N2": 5.0, "N3": 11.0}
"""Mean positive nodes after treatment (Poisson) by clinical N stage, for RCB-II/III patients."""


def sample_outcome(resistant: bool, clinical: dict[str, object], rng: np.random.Generator) -> dict[str, float]:
    """Outcome columns of the manifest plus ``true_shrinkage`` (the fraction the tumour shrank on MRI)."""
    size = float(clinical["tumor_size_mm"])
    if not resistant:
        pathology = _pcr() if rng.random() < 0.45 else _rcb_one(rng)
        shrinkage = 1.0 if pathology["rcb_d1_mm"] == 0 and rng.random() < 0.5 else rng.uniform(0.35, 0.97)
    elif rng.random() < 0.85:
        shrinkage = float(np.clip(rng.normal(0.20, 0.22), -0.30, 0.80))
        pathology = _rcb_two_or_three(size * (1.0 - shrinkage), str(clinical["n_stage"]), rng)
    else:
        pathology = _pcr() if rng.random() < 0.3 else _rcb_one(rng)
        shrinkage = rng.uniform(-0.10, 0.28)
    post = round(size * (1.0 - shrinkage), 1)
    return {**pathology, "mri_longest_diameter_post_mm": post, "true_shrinkage": 1.0 - post / size}


def _pcr() -> dict[str, float]:
    return {"rcb_d1_mm": 0.0, "rcb_d2_mm": 0.0, "rcb_cellularity_pct": 0.0, "rcb_in_situ_pct": 0.0,
            "rcb_positive_nodes": 0, "rcb_largest_metastasis_mm": 0.0}


def _rcb_one(rng: np.random.Generator) -> dict[str, float]:
    d1 = round(rng.uniform(3.0, 15.0), 1)
    d2 = round(d1 * rng.uniform(0.4, 1.0), 1)
    in_situ = round(rng.uniform(0.0, 30.0))
    cap = 80.0 / np.sqrt(d1 * d2) / (1.0 - in_situ / 100.0)
    cellularity = np.floor(10.0 * min(cap, 60.0) * rng.uniform(0.2, 1.0)) / 10.0
    return {"rcb_d1_mm": d1, "rcb_d2_mm": d2, "rcb_cellularity_pct": float(max(cellularity, 0.1)),
            "rcb_in_situ_pct": float(in_situ), "rcb_positive_nodes": 0, "rcb_largest_metastasis_mm": 0.0}


def _rcb_two_or_three(residual_mm: float, n_stage: str, rng: np.random.Generator) -> dict[str, float]:
    d1 = round(max(5.0, residual_mm * rng.uniform(0.8, 1.2)), 1)
    d2 = round(d1 * rng.uniform(0.5, 1.0), 1)
    in_situ = round(rng.uniform(0.0, 20.0))
    floor = 120.0 / np.sqrt(d1 * d2) / (1.0 - in_situ / 100.0)
    cellularity = np.ceil(rng.uniform(max(floor, 10.0), 90.0))
    nodes = int(rng.poisson(NODE_MEAN[n_stage]))
    return {"rcb_d1_mm": d1, "rcb_d2_mm": d2, "rcb_cellularity_pct": float(cellularity),
            "rcb_in_situ_pct": float(in_situ), "rcb_positive_nodes": nodes,
            "rcb_largest_metastasis_mm": round(rng.uniform(2.0, 15.0), 1) if nodes else 0.0}
