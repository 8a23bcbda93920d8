"""The LASSO solver's faster inner steps do the same arithmetic as before: bit-identical results.

Reference: the former code (``lasso_solver_former.py``, a verbatim copy at commit 36497e3). Every
comparison is exact (``np.array_equal`` / ``==``), since the study folder written by ``train`` must not
change by a single bit: on inputs taken from a real LASSO cross-validation (the IRLS steps of
``lasso_cv`` on a bootstrap sample), on synthetic quadratic problems with warm starts, padding and
sign changes, and on whole bootstrap replicates of the modelling pipeline.
"""

from __future__ import annotations

from dataclasses import replace

import lasso_solver_former as former
import numpy as np
import pandas as pd
import pytest
from lasso_problems import bootstrap_problem

from NACResistanceLib.config import default_study_config
from NACResistanceLib.models.validation import PipelineTask
from NACResistanceLib.selection import lasso_cv, lasso_solver


@pytest.fixture(scope="module")
def irls_inputs():
    """The arguments of every IRLS step of one ``lasso_cv`` (11 problems in lockstep, about 100 λ)."""
    calls = []
    step = lasso_solver._irls_step

    def recording(*args):
        calls.append([np.copy(a) if isinstance(a, np.ndarray) else a for a in args])
        return step(*args)

    X, y = bootstrap_problem()
    lasso_solver._irls_step = recording
    try:
        lasso_cv(X, y, random_state=3)
    finally:
        lasso_solver._irls_step = step
    return calls


def test_irls_steps_equal_the_former_code_bit_for_bit(irls_inputs):
    assert len(irls_inputs) > 200 and {a[0].shape[0] for a in irls_inputs} > {11}  # subsets of the 11 problems
    for args in irls_inputs:
        for new, old in zip(lasso_solver._irls_step(*args), former._irls_step(*args)):
            assert np.array_equal(new, old)


def test_lasso_quadratic_equals_the_former_code_on_problems_with_sign_changes(rng):
    changed_sign = 0
    for trial in range(40):
        F, c, lam = 7, int(rng.integers(3, 30)), float(rng.uniform(0.005, 0.2))
        M = rng.normal(size=(F, c, 25 + trial))
        H = M @ np.swapaxes(M, 1, 2) / M.shape[2]
        q = rng.normal(size=(F, c)) * 0.3
        allowed = rng.uniform(size=(F, c)) < 0.85
        start = np.where(allowed & (rng.uniform(size=(F, c)) < 0.4), rng.normal(size=(F, c)), 0.0)
        new = lasso_solver.lasso_quadratic(H, q, lam, start, allowed)
        assert np.array_equal(new, former.lasso_quadratic(H, q, lam, start, allowed))
        changed_sign += int(np.any(np.sign(new) * np.sign(start) < 0))
    assert changed_sign > 5  # the line search over sign changes was exercised


@pytest.mark.slow
def test_pipeline_replicates_equal_the_former_solver(rng, monkeypatch):
    n, p = 120, 40
    latent = rng.normal(size=n)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-1.5 * latent))).astype(float)
    X = rng.normal(size=(n, p)) + latent[:, None] * rng.uniform(0, 1, p)
    design = pd.DataFrame(X, columns=[f"f{j}" for j in range(p)]).assign(er_positive=rng.integers(0, 2, n) * 1.0)
    defaults = default_study_config()
    task = PipelineTask(design, y, tuple(f"f{j}" for j in range(p)),
                        replace(defaults.models, clinical_candidates=("er_positive",), clinical_screen_alpha=None),
                        replace(defaults.selection, screen_alpha=None))
    seeds = np.random.SeedSequence(7).spawn(3)
    new = [task(b, np.random.default_rng(s)) for b, s in enumerate(seeds)]
    monkeypatch.setattr(lasso_solver, "_irls_step", former._irls_step)
    old = [task(b, np.random.default_rng(s)) for b, s in enumerate(seeds)]
    assert new == old
    assert {r["radiomics"]["training"]["auc"] for r in new} != {0.5}  # the LASSO kept features
