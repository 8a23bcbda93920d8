"""Benchmark: reading a classic DWI DICOM series (one file per slice) against pydicom reading every file once.

Writes a synthetic diffusion series (``--volumes`` volumes × ``--slices`` slices of ``--matrix``² int16
voxels, standard b-value and gradient tags, instance numbers shuffled) to a temporary folder, then times in
one run, alternating, ``--repeats`` times each:

- ``pydicom_once``: ``pydicom.dcmread`` of every file plus its ``pixel_array`` (the floor for any reader
  that decodes the pixels with pydicom);
- ``read_dwi``: ``NACResistanceLib.io.read_dwi(folder)`` (index every header once, group into volumes,
  read pixel data, build the SimpleITK images).

Prints medians, their ratio (target <= 2) and the load average; writes ``benchmarks/results/dicom.json``.
Usage: ``python benchmarks/dicom.py [--volumes 20 --slices 26 --matrix 128 --repeats 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "dicom.json"


def write_series(folder: Path, volumes: int, slices: int, matrix: int, seed: int = 0) -> int:
    """A classic MR DWI series, b=0 then b=1000 along ``volumes - 1`` directions; returns the file count."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    rng = np.random.default_rng(seed)
    directions = rng.normal(size=(volumes, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    numbers = rng.permutation(volumes * slices) + 1
    series_uid, study_uid = generate_uid(), generate_uid()
    pixels = rng.integers(0, 2000, size=(matrix, matrix), dtype=np.int16)
    k = 0
    for v in range(volumes):
        for z in range(slices):
            ds = Dataset()
            ds.file_meta = FileMetaDataset()
            ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
            ds.Modality, ds.PatientID, ds.StudyInstanceUID, ds.SeriesInstanceUID = "MR", "BENCH", study_uid, series_uid
            ds.SeriesNumber, ds.SeriesDescription, ds.InstanceNumber = 7, "DWI bench", int(numbers[k])
            ds.ImageType = ["ORIGINAL", "PRIMARY", "DIFFUSION"]
            ds.ImagePositionPatient = [0.0, 0.0, 3.0 * z]
            ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
            ds.PixelSpacing = [1.5, 1.5]
            ds.DiffusionBValue = 0.0 if v == 0 else 1000.0
            ds.DiffusionGradientOrientation = [0.0, 0.0, 0.0] if v == 0 else [float(x) for x in directions[v]]
            ds.Rows = ds.Columns = matrix
            ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
            ds.PixelData = (pixels + v).tobytes()
            try:
                ds.save_as(str(folder / f"IM{numbers[k]:05d}.dcm"), enforce_file_format=True)   # pydicom >= 3
            except TypeError:
                ds.save_as(str(folder / f"IM{numbers[k]:05d}.dcm"), write_like_original=False)   # pydicom 2.4
            k += 1
    return k


def pydicom_once(folder: Path) -> int:
    import pydicom

    total = 0
    for path in sorted(folder.iterdir()):
        total += int(pydicom.dcmread(str(path)).pixel_array[0, 0])
    return total


def ours(folder: Path) -> int:
    from NACResistanceLib.io import read_dwi

    return len(read_dwi(folder).volumes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volumes", type=int, default=20)
    parser.add_argument("--slices", type=int, default=26)
    parser.add_argument("--matrix", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        n_files = write_series(folder, args.volumes, args.slices, args.matrix)
        ours(folder)   # warm imports and the file cache once, for both
        pydicom_once(folder)
        times: dict[str, list[float]] = {"pydicom_once": [], "read_dwi": []}
        for _ in range(args.repeats):
            for name, function in (("pydicom_once", pydicom_once), ("read_dwi", ours)):
                start = time.perf_counter()
                function(folder)
                times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratio = medians["read_dwi"] / medians["pydicom_once"]
    load = os.getloadavg()
    print(f"{n_files} files ({args.volumes} volumes x {args.slices} slices, {args.matrix}^2 int16), "
          f"median of {args.repeats}:")
    print(f"  pydicom_once  {medians['pydicom_once']:.3f} s")
    print(f"  read_dwi      {medians['read_dwi']:.3f} s")
    print(f"  ratio read_dwi / pydicom_once = {ratio:.2f} (target <= 2)")
    print(f"  load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({
        "files": n_files, "volumes": args.volumes, "slices": args.slices, "matrix": args.matrix,
        "repeats": args.repeats, "times_s": times, "median_s": medians, "ratio": ratio,
        "load_average": load, "cpus": os.cpu_count(), "python": platform.python_version(),
    }, indent=2) + "\n")


if __name__ == "__main__":
    main()
