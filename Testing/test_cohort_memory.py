"""The coordinating process keeps the feature table, not the exams it has finished.

References: Python's own accounting (``tracemalloc`` peaks, ``weakref`` liveness), against the size
of the data involved (200 cache entries of 100 kB of provenance each; the finished outcomes).
"""

from __future__ import annotations

import gc
import json
import tracemalloc
import weakref

from light_cohort import LIGHT_PARAMS

from NACResistanceLib import io
from NACResistanceLib.cohort import cache
from NACResistanceLib.cohort.plan import plan_extraction
from NACResistanceLib.cohort.runner import _process_outcomes, _task, write_cohort_tables
from NACResistanceLib.config import load_analysis_config
from NACResistanceLib.phantom import PhantomProtocol, make_cohort


def test_assembling_the_table_keeps_only_the_table(tmp_path):
    names = [f"feature_{i}" for i in range(20)]
    paths = []
    for exam in range(200):
        entry = {"patient_id": f"P{exam:03d}", "timepoint": "baseline", "key": "0" * 64,
                 "features": {name: exam + i / 7 for i, name in enumerate(names)},
                 "units": dict.fromkeys(names, "mm"), "descriptions": dict.fromkeys(names, "d"),
                 "warnings": [], "provenance": {"log": "x" * 100_000}}
        path = tmp_path / f"P{exam:03d}.json"
        cache.write_entry(path, entry)
        paths.append(path)
    total_bytes = sum(p.stat().st_size for p in paths)
    tracemalloc.start()
    try:
        features, _, dictionary, _ = write_cohort_tables(tmp_path / "out", paths, [], None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert features.shape == (200, 20) and features.loc[("P007", "baseline"), "feature_3"] == 7 + 3 / 7
    assert dictionary["unit"].tolist() == ["mm"] * 20
    assert total_bytes > 20_000_000
    assert peak < 3_000_000, f"peak {peak} B while assembling {total_bytes} B of entries"


def test_finished_outcomes_are_not_kept_by_the_process_pool(tmp_path):
    manifest_path = make_cohort(3, 11, tmp_path / "cohort", PhantomProtocol.small())
    manifest = io.read_manifest(manifest_path)
    parameters = load_analysis_config({"radiomics_params": str(LIGHT_PARAMS)}).to_dict()
    plan = plan_extraction(manifest.path, manifest.frame, tmp_path / "cache", parameters)
    tasks = [_task(plan, exam, parameters) for exam in plan.exams]
    references = []
    outcomes = _process_outcomes(tasks, 2)
    for outcome in outcomes:
        assert outcome.payload is not None, outcome.message
        json.dumps(outcome.payload)
        references.append(weakref.ref(outcome))
        del outcome
        gc.collect()
        # the generator may hold the exam it has just handed over until it is asked for the next
        assert [r() for r in references[:-1]] == [None] * (len(references) - 1), "finished outcomes are kept"
    del outcomes
    gc.collect()
    assert len(references) == 3 and [r() for r in references] == [None] * 3
