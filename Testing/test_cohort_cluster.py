"""Cluster files -> dask-jobqueue job scripts (Slurm, PBS, SGE, LSF, HTCondor), errors, and a LocalCluster end to end.

References: the directives each scheduler documents for queue, account, cores, memory and wall
time (sbatch, qsub, bsub, condor_submit manuals), as dask-jobqueue writes them; one single-threaded
worker process per core; and the in-process extraction's feature table (byte for byte).
"""

from __future__ import annotations

import re

import pytest
from light_cohort import LIGHT_PARAMS

from NACResistanceLib.cli import main as cli_main
from NACResistanceLib.cohort import run_extraction
from NACResistanceLib.cohort.cluster import cluster_spec, load_cluster_spec, make_cluster
from NACResistanceLib.errors import ConfigError
from NACResistanceLib.phantom import PhantomProtocol, make_cohort

COMMON = {"cores": 8, "memory": "32GB", "walltime": "04:00:00", "workers": 16,
          "prologue": ["module load python/3.11", "source ~/nac/bin/activate"], "local_directory": "/scratch"}
EXPECTED = {
    "slurm": ({"queue": "normal", "account": "rad", "job_extra": ["--constraint=skylake"]},
              ["#SBATCH -p normal", "#SBATCH -A rad", "#SBATCH --cpus-per-task=8", "#SBATCH -t 04:00:00",
               "#SBATCH --constraint=skylake"]),
    "pbs": ({"queue": "normal", "account": "rad", "job_extra": ["-l place=scatter"]},
            ["#PBS -q normal", "#PBS -A rad", "#PBS -l select=1:ncpus=8:mem=30GB", "#PBS -l walltime=04:00:00",
             "#PBS -l place=scatter"]),
    "sge": ({"queue": "all.q", "account": "rad", "job_extra": ["-pe smp 8"]},
            ["#$ -q all.q", "#$ -P rad", "#$ -l h_rt=04:00:00", "#$ -pe smp 8"]),
    "lsf": ({"queue": "normal", "account": "rad", "job_extra": ["-R span[hosts=1]"]},
            ["#BSUB -q normal", '#BSUB -P "rad"', "#BSUB -n 8", "#BSUB -W 04:00", "#BSUB -M 32000000"]),
    "htcondor": ({"disk": "10GB", "job_extra": {"+ProjectName": '"rad"'}},
                 ["RequestCpus = MY.DaskWorkerCores", "MY.DaskWorkerCores = 8", "MY.DaskWorkerMemory = 32000000000",
                  "MY.DaskWorkerDisk = 10000000000", '+ProjectName = "rad"']),
}


@pytest.mark.parametrize("scheduler", sorted(EXPECTED))
def test_job_script_of_each_scheduler(scheduler, tmp_path):
    extra, directives = EXPECTED[scheduler]
    path = tmp_path / "cluster.yaml"
    import yaml

    path.write_text(yaml.safe_dump({"scheduler": scheduler, **COMMON, **extra}))
    cluster = make_cluster(load_cluster_spec(path))
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    lines = script.splitlines()
    for directive in directives:
        assert directive in lines or directive in script, f"{directive!r} missing from\n{script}"
    command = re.search(r"-m distributed.cli.dask_worker (\S+) .*", script).group(0)
    # 8 worker processes per job, one thread each, the job's memory shared: 32 GB / 8 = 3.73 GiB
    assert "--nthreads 1" in command and "--nworkers 8" in command and "--memory-limit 3.73GiB" in command
    assert "--nanny" in command and "--local-directory /scratch" in command
    for line in ("export DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False",  # quiet workers (cluster.WORKER_CONFIG)
                 "export DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL=1s",
                 "export DASK_DISTRIBUTED__ADMIN__SYSTEM_MONITOR__INTERVAL=5s",
                 "export DASK_DISTRIBUTED__WORKER__MEMORY__MONITOR_INTERVAL=1s"):
        assert line in lines or line in script, line
    prologue = script.index("module load python/3.11")
    assert prologue < script.index("source ~/nac/bin/activate") < script.index("distributed.cli.dask_worker")


@pytest.mark.parametrize(("values", "message"), [
    ({"scheduler": "slurm", "core": 4}, r"key 'core' is not known; did you mean 'cores'\?"),
    ({"scheduler": "torque"}, r"key 'scheduler' is 'torque'; use one of slurm, pbs, sge, lsf, htcondor, local"),
    ({"cores": 4}, r"key 'scheduler' is None"),
    ({"scheduler": "slurm", "memory": "lots"}, r"key 'memory' is 'lots'; write an amount with its unit"),
    ({"scheduler": "slurm", "walltime": 240}, r"key 'walltime' is 240; write HH:MM:SS in quotes"),
    ({"scheduler": "slurm", "workers": 0}, r"key 'workers' is 0; it must be a whole number >= 1"),
    ({"scheduler": "slurm", "cores": 2.5}, r"key 'cores' is 2.5"),
    ({"scheduler": "htcondor"}, r"HTCondor needs key 'disk'"),
    ({"scheduler": "htcondor", "disk": "1GB", "job_extra": ["x"]}, r"key 'job_extra' must be a mapping"),
    ({"scheduler": "slurm", "job_extra": {"a": 1}}, r"key 'job_extra' must be a list of lines"),
    ({"scheduler": "local", "queue": "normal"}, r"key 'queue' has no meaning with scheduler 'local'"),
])
def test_cluster_file_errors_name_the_file_and_key(values, message):
    with pytest.raises(ConfigError, match=r"cluster file my\.yaml: " + message):
        cluster_spec(values, "my.yaml")


def test_unreadable_cluster_file(tmp_path):
    path = tmp_path / "cluster.yaml"
    path.write_text("- a list\n- not keys\n")
    with pytest.raises(ConfigError, match=f"cluster file {re.escape(str(path))}: expected 'key: value' lines"):
        load_cluster_spec(path)


def test_extract_on_a_local_cluster_from_a_file_equals_the_in_process_run(tmp_path):
    cohort = make_cohort(3, 5, tmp_path / "cohort", PhantomProtocol.small())
    config = tmp_path / "light.yaml"
    config.write_text(f"radiomics_params: {LIGHT_PARAMS}\n")
    reference = run_extraction(cohort, tmp_path / "reference", {"radiomics_params": str(LIGHT_PARAMS)}, jobs=1)
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text("scheduler: local\nworkers: 2\nmemory: 4GB\n")
    code = cli_main(["extract", str(cohort), "--out", str(tmp_path / "out"), "--config", str(config),
                     "--cluster", str(cluster), "--progress", "none"])
    assert code == 0
    assert (tmp_path / "out" / "features.csv").read_bytes() == reference.features_path.read_bytes()


def test_dask_reads_the_job_scripts_settings_as_the_cluster_configuration(monkeypatch):
    import dask.config

    from NACResistanceLib.cohort.cluster import WORKER_CONFIG, WORKER_ENVIRONMENT

    for line in WORKER_ENVIRONMENT:
        name, value = line.removeprefix("export ").split("=")
        monkeypatch.setenv(name, value)
    worker_config = dask.config.merge(dask.config.config, dask.config.collect_env())  # the global config untouched
    for key, value in WORKER_CONFIG.items():
        assert dask.config.get(key, config=worker_config) == value, key


def test_opening_a_cluster_keeps_distributeds_configuration(tmp_path):
    """In a fresh process (distributed not yet imported), a cluster opened and closed leaves dask's
    'distributed' settings in place, so a second cluster starts (it failed with KeyError: 'distributed')."""
    import subprocess
    import sys

    spec = tmp_path / "cluster.yaml"
    spec.write_text("scheduler: local\nworkers: 1\nmemory: 2GB\n")
    script = ("import dask\n"
              "from NACResistanceLib.cohort.cluster import open_cluster\n"
              f"with open_cluster({str(spec)!r}):\n    pass\n"
              "print(dask.config.get('distributed.comm.require-encryption'))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] in ("False", "None")
