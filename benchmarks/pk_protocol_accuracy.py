"""How well can the seed DCE protocol (7 phases, 51.3 s apart) measure Tofts parameters?  Phantom truth vs fits.

For phantom patients 1..N (small phantom), the tumour's true voxel-mean Ktrans, ve, vp (extended Tofts, Parker
AIF, arrival 30 s) against the ``pk_*`` values of ``analyze_exam``: the seed protocol and a fast protocol (5 s
apart, 300 s), Tofts and extended Tofts, baseline T1 assumed right (1600 ms, the phantom tumour) or the default
(1400 ms). Prints a table and writes it to ``benchmarks/results/pk_protocol_accuracy.txt``.

    PYTHONPATH=. python benchmarks/pk_protocol_accuracy.py [n_patients]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

from NACResistanceLib.phantom import PhantomProtocol, make_exam
from NACResistanceLib.phantom.tissues import TISSUES, TUMOR
from NACResistanceLib.pipeline import analyze_exam

SEED = PhantomProtocol.small()
FAST = PhantomProtocol.small(n_post_phases=60, dce_interval_s=5.0)
CASES = (
    ("seed 51.3 s x 6", SEED, "tofts", TISSUES[TUMOR].t1_ms),
    ("seed 51.3 s x 6", SEED, "tofts", 1400.0),
    ("seed 51.3 s x 6", SEED, "extended_tofts", TISSUES[TUMOR].t1_ms),
    ("fast 5 s x 60", FAST, "tofts", TISSUES[TUMOR].t1_ms),
    ("fast 5 s x 60", FAST, "extended_tofts", TISSUES[TUMOR].t1_ms),
)


def main(n_patients: int = 6) -> str:
    lines = [f"load: {os.getloadavg()[0]:.2f} (1 min); patients 1..{n_patients}, small phantom, noise as shipped",
             "protocol          model           T1 ms  |  Ktrans fit/true (median, IQR)  |  ve fit - true (median)"
             "  |  vp fit - true  |  s/exam"]
    for label, protocol, model, t1 in CASES:
        ratios, ve_diff, vp_diff, seconds, refused = [], [], [], [], ""
        for patient in range(1, n_patients + 1):
            synthetic = make_exam(patient, 11, protocol)
            tic = time.perf_counter()
            analysis = analyze_exam(synthetic.exam, {"radiomics": False, "pharmacokinetics": {
                "mode": "auto", "model": model, "baseline_t1_ms": t1}})
            seconds.append(time.perf_counter() - tic)
            if "pk_roi_ktrans" not in analysis.features:
                refused = next(w for w in analysis.warnings if w.startswith("pk_"))
                break
            truth = synthetic.truth
            ratios.append(analysis.features["pk_roi_ktrans"] / truth["tumor_voxel_mean_ktrans_per_min"])
            ve_diff.append(analysis.features["pk_roi_ve"] - truth["tumor_voxel_mean_ve"])
            if "pk_roi_vp" in analysis.features:
                vp_diff.append(analysis.features["pk_roi_vp"] - truth["tumor_voxel_mean_vp"])
        if refused:
            lines.append(f"{label:17s} {model:15s} {t1:6.0f}  |  refused: {refused}")
            continue
        q1, med, q3 = np.percentile(ratios, [25, 50, 75])
        vp_text = f"{np.median(vp_diff):+.3f}" if vp_diff else "  -   "
        lines.append(f"{label:17s} {model:15s} {t1:6.0f}  |  {med:5.2f} ({q1:4.2f}-{q3:4.2f})"
                     f"                  |  {np.median(ve_diff):+.3f}                 |  {vp_text}        |"
                     f"  {np.median(seconds):.1f}")
    return "\n".join(lines)


if __name__ == "__main__":
    text = main(int(sys.argv[1]) if len(sys.argv) > 1 else 6)
    print(text)
    out = Path(__file__).parent / "results" / "pk_protocol_accuracy.txt"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text + "\n", encoding="utf-8")
