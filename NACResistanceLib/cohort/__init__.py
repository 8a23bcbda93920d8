"""Many exams at once: local processes or a Dask cluster, a content-keyed cache, resume, failures.

``run_extraction(manifest, out_dir, config, jobs=..., scheduler=..., progress=...)`` analyses every
exam of a manifest with :func:`NACResistanceLib.pipeline.analyze_exam` and writes the feature table,
the failures and the feature dictionary. See docs/cli.md for the cache and resume semantics.
"""

from __future__ import annotations

from .runner import ExtractionResult, read_feature_table, run_extraction

__all__ = ["ExtractionResult", "read_feature_table", "run_extraction"]
