"""Job-array shards, merge and dry-run planning.

References: the uninterrupted single ``extract`` run (tables byte for byte), the definition of a
partition (every exam in exactly one shard), hard-coded shard numbers (stability across runs and
machines), and the cache-key function :func:`cache.exam_key` (the planner's memoised keys).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from light_cohort import LIGHT_COHORT_PATIENTS, light_config, light_yaml

from NACResistanceLib import io
from NACResistanceLib.cli import main as cli_main
from NACResistanceLib.cohort import cache, run_extraction
from NACResistanceLib.cohort.merge import merge_shards
from NACResistanceLib.cohort.plan import CACHED, COMPUTE, INVALID, Shard, plan_extraction, shard_of
from NACResistanceLib.cohort.shards import run_shard
from NACResistanceLib.config import load_analysis_config
from NACResistanceLib.errors import ConfigError, InputFileError

TABLES = ("features.csv", "failures.csv", "warnings.csv", "feature_dictionary.csv", "analysis_parameters.json")


def _assert_same_tables(out: Path, reference_out: Path) -> None:
    for name in TABLES:
        assert (out / name).read_bytes() == (reference_out / name).read_bytes(), name


# --- partition ------------------------------------------------------------------------------------

def test_shards_partition_the_exams_and_are_stable():
    exams = [(f"P{i:05d}", timepoint) for i in range(1000) for timepoint in ("baseline", "post")]
    for count in (1, 2, 3, 7):
        parts = [[e for e in exams if Shard(k, count).holds(*e)] for k in range(1, count + 1)]
        assert sorted(e for part in parts for e in part) == sorted(exams)  # every exam exactly once
        assert sum(len(part) for part in parts) == len(exams)
        assert min(len(p) for p in parts) > 0.75 * len(exams) / count  # a hash spreads them evenly
    # stable across runs, machines and Python versions (no hash() randomisation): fixed values
    assert [shard_of(f"P{i:05d}", "baseline", 4) for i in range(8)] == [
        shard_of(f"P{i:05d}", "baseline", 4) for i in range(8)]
    assert subprocess.run([sys.executable, "-c", "from NACResistanceLib.cohort.plan import shard_of;"
                           "print([shard_of(f'P{i:05d}', 'baseline', 4) for i in range(8)])"],
                          capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONHASHSEED": "123"}).stdout.strip() == str(
        [shard_of(f"P{i:05d}", "baseline", 4) for i in range(8)])


def test_known_shard_numbers():
    # BLAKE2b-64 of "SYN0001\tbaseline" etc., big-endian, modulo N, plus one (fixed forever)
    import hashlib

    digest = int.from_bytes(hashlib.blake2b(b"SYN0001\tbaseline", digest_size=8).digest(), "big")
    assert shard_of("SYN0001", "baseline", 5) == digest % 5 + 1
    assert [shard_of("SYN0001", "baseline", n) for n in (1, 2, 3)] == [1, digest % 2 + 1, digest % 3 + 1]


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0", ""])
def test_bad_shard_names_the_option(text):
    with pytest.raises(ConfigError, match="--shard"):
        Shard.parse(text)


# --- shards and merge ------------------------------------------------------------------------------

def test_two_shards_at_once_into_one_cache_merge_to_the_single_run(light_cohort, light_reference, tmp_path):
    out, errors = tmp_path / "shared", []

    def shard(k: int) -> None:
        try:
            run_shard(light_cohort, out, light_config(), shard=f"{k}/2", jobs=1)
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    workers = [threading.Thread(target=shard, args=(k,)) for k in (1, 2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors
    assert not (out / "features.csv").exists()  # shards write no table
    assert sorted(p.name for p in (out / "cache" / "shards").iterdir()) == ["1-of-2.json", "2-of-2.json"]
    result = merge_shards(out / "cache", tmp_path / "merged")
    assert result.ok and result.n_shards == 2
    _assert_same_tables(tmp_path / "merged", light_reference.features_path.parent)
    assert not list((out / "cache").glob(".tmp-*"))


def test_merge_names_the_shards_that_have_not_finished(light_cohort, tmp_path):
    out = tmp_path / "out"
    run_shard(light_cohort, out, light_config(), shard="1/3", jobs=1)
    with pytest.raises(ConfigError, match=r"shards 2/3, 3/3 have not finished"):
        merge_shards(out / "cache", tmp_path / "merged")
    with pytest.raises(ConfigError, match="no shard records"):
        merge_shards(tmp_path, tmp_path / "merged")


@pytest.mark.slow
def test_killed_shard_resumes_and_merge_equals_the_single_run(light_cohort, light_reference, tmp_path):
    out, config = tmp_path / "out", light_yaml(tmp_path)
    plan = plan_extraction(light_cohort.resolve(), io.read_manifest(light_cohort).frame, out / "cache",
                           load_analysis_config(light_config()).to_dict(), Shard(1, 1))
    assert len(plan.exams) == LIGHT_COHORT_PATIENTS
    command = [sys.executable, "-m", "NACResistanceLib.cli", "extract", str(light_cohort), "--out", str(out),
               "--config", str(config), "--jobs", "2", "--shard", "1/1", "--progress", "none"]
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        if any(not p.name.startswith(".tmp-") for p in (out / "cache").glob("*.json")):
            break
        time.sleep(0.02)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, "the shard must be killed part-way"
    finished = {p.name for p in (out / "cache").glob("*.json")}
    assert 1 <= len(finished) < LIGHT_COHORT_PATIENTS
    assert not (out / "cache" / "shards").exists()  # a killed shard leaves no record
    assert cli_main(["extract", str(light_cohort), "--out", str(out), "--config", str(config), "--jobs", "1",
                     "--shard", "1/1", "--progress", "none"]) == 0
    assert cli_main(["merge", str(out / "cache"), "--out", str(tmp_path / "merged")]) == 0
    _assert_same_tables(tmp_path / "merged", light_reference.features_path.parent)


def test_leftovers_of_live_writers_are_kept_and_dead_ones_removed(tmp_path):
    live = tmp_path / f".tmp-{os.getpid()}-{cache._HOST}~abc.json"
    other_host_new = tmp_path / ".tmp-1-some-other-node~abc.json"
    other_host_old = tmp_path / ".tmp-2-some-other-node~def.json"
    dead = tmp_path / f".tmp-{_dead_pid()}-{cache._HOST}~ghi.json"
    for path in (live, other_host_new, other_host_old, dead):
        path.write_text("{")
    old = time.time() - cache.STALE_TEMPORARY_S - 60
    os.utime(other_host_old, (old, old))
    assert cache.remove_leftovers(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other_host_new.name])


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


# --- plan / dry-run ------------------------------------------------------------------------------

def test_plan_keys_equal_the_cache_keys_and_statuses_follow_the_cache(light_cohort, light_reference):
    manifest = io.read_manifest(light_cohort)
    parameters = load_analysis_config(light_config()).to_dict()
    cache_dir = light_reference.features_path.parent / "cache"
    plan = plan_extraction(manifest.path, manifest.frame, cache_dir, parameters)
    for exam, record in zip(plan.exams, manifest.frame.to_dict("records")):
        assert exam.key == cache.exam_key(record, manifest.directory, parameters)
    assert [e.status for e in plan.exams] == [CACHED] * LIGHT_COHORT_PATIENTS
    empty = plan_extraction(manifest.path, manifest.frame, cache_dir.parent / "nothing", parameters)
    assert [e.status for e in empty.exams] == [COMPUTE] * LIGHT_COHORT_PATIENTS


def test_dry_run_lists_cached_compute_and_invalid_and_writes_nothing(light_cohort, light_reference, tmp_path, capsys,
                                                                   monkeypatch):
    out = tmp_path / "out"
    shutil.copytree(light_reference.features_path.parent / "cache", out / "cache")
    manifest = io.read_manifest(light_cohort)
    next(out.joinpath("cache").glob(f"{manifest.frame.loc[0, 'patient_id']}__*.json")).unlink()  # exam 1: to compute
    unreadable = manifest.resolve(manifest.frame.loc[2, "segmentation"])
    real_digest = cache.file_digest

    def digest(path):  # exam 3: a file that cannot be read (a permission, a failing disk)
        if path == unreadable:
            raise InputFileError(f"cannot read {path} to compute its cache key: [Errno 13] Permission denied")
        return real_digest(path)

    monkeypatch.setattr(cache, "file_digest", digest)
    before = sorted((str(p), p.stat().st_mtime_ns) for p in out.rglob("*"))
    code = cli_main(["extract", str(light_cohort), "--out", str(out), "--config", str(light_yaml(tmp_path)), "--dry-run"])
    captured = capsys.readouterr()
    table = pd.read_csv(io_text(captured.out), dtype=str, keep_default_na=False)
    assert sorted((str(p), p.stat().st_mtime_ns) for p in out.rglob("*")) == before  # nothing written
    assert table["status"].tolist() == [COMPUTE, CACHED, INVALID, CACHED]
    assert table["row"].tolist() == ["2", "3", "4", "5"]
    assert table["patient_id"].tolist() == manifest.frame["patient_id"].tolist()
    assert unreadable.name in table.loc[2, "reason"] and table.loc[2, "cache_file"] == ""
    assert table.loc[1, "cache_file"] == next(out.joinpath("cache").glob(f"{table.loc[1, 'patient_id']}__*")).name
    assert "2 cached, 1 to compute, 1 invalid" in captured.err
    assert code == 1


def test_an_unreadable_exam_is_a_failure_and_the_rest_completes(light_cohort, light_reference, tmp_path, monkeypatch):
    manifest = io.read_manifest(light_cohort)
    unreadable = manifest.resolve(manifest.frame.loc[1, "segmentation"])
    real_digest = cache.file_digest
    monkeypatch.setattr(cache, "file_digest", lambda path: _raise(path) if path == unreadable else real_digest(path))
    result = run_extraction(light_cohort, tmp_path, light_config(), jobs=1)
    assert result.failures[["patient_id", "error_type"]].values.tolist() == [[manifest.frame.loc[1, "patient_id"],
                                                                             "InputFileError"]]
    pd.testing.assert_frame_equal(result.features, light_reference.features.drop(index=light_reference.features.index[1]),
                                  check_exact=True)


def _raise(path):
    raise InputFileError(f"cannot read {path} to compute its cache key: [Errno 5] Input/output error")


def io_text(text: str):
    from io import StringIO

    return StringIO(text)


def test_dry_run_of_10000_rows_pointing_at_shared_files_takes_seconds(light_cohort, tmp_path, capsys):
    frame = pd.read_csv(light_cohort, dtype=str, keep_default_na=False)
    rows = pd.concat([frame] * 2500, ignore_index=True)
    rows["patient_id"] = [f"P{i:05d}" for i in range(len(rows))]
    big = light_cohort.parent / "manifest_10000.csv"
    rows.to_csv(big, index=False)
    start, cpu_start = time.perf_counter(), time.process_time()
    code = cli_main(["extract", str(big), "--out", str(tmp_path / "out"), "--config", str(light_yaml(tmp_path)),
                     "--dry-run", "--shard", "3/8"])
    # CPU time of this process (planning is CPU-bound), so that other jobs on the machine do not count
    seconds, wall = time.process_time() - cpu_start, time.perf_counter() - start
    captured = capsys.readouterr()
    table = pd.read_csv(io_text(captured.out), dtype=str, keep_default_na=False)
    expected = [f"P{i:05d}" for i in range(10000) if shard_of(f"P{i:05d}", "baseline", 8) == 3]
    assert code == 0 and table["patient_id"].tolist() == expected
    assert set(table["status"]) == {COMPUTE} and set(table["shard"]) == {"3"}
    assert f"shard 3/8 holds {len(expected)} of 10000 exams" in captured.err
    assert seconds < 10, f"planning 10,000 rows took {seconds:.1f} s of CPU ({wall:.1f} s wall)"
