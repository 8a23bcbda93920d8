"""DWI reader: 4D + FSL files, per-volume files, DICOM b-value tags, validation."""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.dataset import Dataset

from NACResistanceLib.errors import AcquisitionError, InputFileError
from NACResistanceLib.io import read_dwi
from NACResistanceLib.io.dicom_index import index_folder
from NACResistanceLib.io.dicom_tags import classic_diffusion
from NACResistanceLib.io.dwi import fsl_bvecs_to_lps

BVALS = [0.0, 800.0, 800.0, 1000.0]


def volume(value: float, spacing=(2.0, 2.0, 4.0)) -> sitk.Image:
    image = sitk.GetImageFromArray(np.full((3, 4, 5), value, np.float32))
    image.SetSpacing(spacing)
    return image


def test_4d_nifti_with_fsl_files(tmp_path):
    series = sitk.JoinSeries([volume(v) for v in (100, 60, 55, 50)])
    sitk.WriteImage(series, str(tmp_path / "dwi.nii.gz"))
    (tmp_path / "dwi.bval").write_text("0 800 800 1000\n")
    (tmp_path / "dwi.bvec").write_text("0 1 0 0\n0 0 1 0\n0 0 0 1\n")
    dwi = read_dwi(tmp_path / "dwi.nii.gz", tmp_path / "dwi.bval", tmp_path / "dwi.bvec")
    assert dwi.bvals == tuple(BVALS) and len(dwi.volumes) == 4
    np.testing.assert_allclose(dwi.signal_array()[1, 2, 3], [100, 60, 55, 50])
    # the NIfTI written from an identity LPS image has a positive determinant: FSL's x flip applies
    np.testing.assert_allclose(dwi.bvecs, [[0, 0, 0], [-1, 0, 0], [0, 1, 0], [0, 0, 1]], atol=1e-6)


def test_fsl_flip_follows_determinant():
    flipped = volume(1)
    flipped.SetDirection((-1, 0, 0, 0, 1, 0, 0, 0, 1))  # det < 0: no flip, then world = D @ g
    np.testing.assert_allclose(fsl_bvecs_to_lps(np.array([[1.0], [0.0], [0.0]]), flipped), [[-1, 0, 0]])
    np.testing.assert_allclose(fsl_bvecs_to_lps(np.array([[0.0, 1.0, 0.0]]), volume(1)), [[0, 1, 0]])


def test_per_volume_files_trace(tmp_path):
    paths = []
    for value, b in ((100, 0), (40, 800)):
        paths.append(tmp_path / f"b{b}.nrrd")
        sitk.WriteImage(volume(value), str(paths[-1]))
    dwi = read_dwi(paths, [0, 800])
    assert dwi.is_trace and dwi.bvals == (0.0, 800.0)


def test_validation_errors(tmp_path):
    paths = [tmp_path / "a.nrrd", tmp_path / "b.nrrd"]
    sitk.WriteImage(volume(100), str(paths[0]))
    sitk.WriteImage(volume(50, spacing=(1.0, 1.0, 4.0)), str(paths[1]))
    with pytest.raises(AcquisitionError, match=r"b\.nrrd \(DWI volume 2 of 2\) is not on the grid of .*a\.nrrd: "
                                               r"spacing \(1, 1, 4\) vs \(2, 2, 4\) mm"):
        read_dwi(paths, [0, 800])
    sitk.WriteImage(volume(50), str(paths[1]))
    with pytest.raises(AcquisitionError, match="2 volumes but 3 b-values"):
        read_dwi(paths, [0, 800, 1000])
    with pytest.raises(AcquisitionError, match="non-negative"):
        read_dwi(paths, [0, -800])
    with pytest.raises(AcquisitionError, match=r"volumes \[1\].*norms \[0.5\]"):
        read_dwi(paths, [0, 800], np.array([[0, 0, 0], [0.5, 0, 0]]))
    with pytest.raises(InputFileError, match="b-values are required"):
        read_dwi(paths, None)


def write_dicom_slice(path: Path, value: float, z: int, b: float, number: int) -> None:
    image = sitk.GetImageFromArray(np.full((1, 4, 5), value, np.int16))
    image.SetSpacing((1.5, 1.5, 3.0))
    image.SetOrigin((0.0, 0.0, 3.0 * z))
    tags = {"0008|0060": "MR", "0020|000d": "1.2.826.0.1.3680043.9.7433.1",
            "0020|000e": "1.2.826.0.1.3680043.9.7433.2", "0020|0013": str(number),
            "0020|0032": f"0\\0\\{3.0 * z}", "0020|0037": "1\\0\\0\\0\\1\\0", "0018|9087": str(b)}
    for key, text in tags.items():
        image.SetMetaData(key, text)
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    writer.SetFileName(str(path))
    writer.Execute(image)


def test_dicom_series_grouped_by_standard_bvalue_tag(tmp_path):
    number = 0
    for b, value in ((1000, 30), (0, 100), (800, 45)):
        for z in range(3):
            number += 1
            write_dicom_slice(tmp_path / f"{number:03d}.dcm", value, z, b, number)
    dwi = read_dwi(tmp_path)
    assert dwi.bvals == (1000.0, 0.0, 800.0) and dwi.is_trace   # acquisition (instance) order
    np.testing.assert_allclose(dwi.signal_array()[2, 1, 1], [30, 100, 45])
    assert dwi.volumes[0].GetSize() == (5, 4, 3)


def test_vendor_bvalue_tags_as_text_and_raw_bytes():
    """Private tags read without a dictionary arrive as raw bytes (VR UN): text or little-endian floats."""
    siemens = Dataset()
    siemens.add_new((0x0019, 0x100C), "UN", b"800 ")
    assert classic_diffusion(siemens, "SIEMENS")[:2] == (800.0, "Siemens B_value (0019,100c)")
    ge = Dataset()
    ge.add_new((0x0043, 0x1039), "UN", b"1000000800\\8\\0\\0 ")
    assert classic_diffusion(ge, "GE MEDICAL SYSTEMS")[0] == 800.0
    philips = Dataset()
    philips.add_new((0x2001, 0x1003), "UN", np.float32(1000.0).tobytes())
    assert classic_diffusion(philips, "Philips")[0] == 1000.0


def test_real_siemens_mosaic_without_bvalue_tags_is_refused(tmp_path):
    """nibabel's real Siemens DWI file: b and gradient from (0019,100c/100e), and the same from the CSA header
    when those are removed (both in patient LPS); the MOSAIC itself is refused."""
    source = Path(nibabel.__file__).parent / "nicom" / "tests" / "data" / "siemens_dwi_1000.dcm.gz"
    (tmp_path / "dwi.dcm").write_bytes(gzip.decompress(source.read_bytes()))
    frames = index_folder(tmp_path).frames
    assert frames[0].b_value == 1000.0 and frames[0].b_source == "Siemens B_value (0019,100c)"
    dataset = pydicom.dcmread(tmp_path / "dwi.dcm", stop_before_pixels=True)
    private = classic_diffusion(dataset, "SIEMENS")
    for element in (0x100C, 0x100E):
        del dataset[(0x0019, element)]
    csa = classic_diffusion(dataset, "SIEMENS")
    assert csa[0] == 1000.0 and csa[1].startswith("Siemens CSA header")
    np.testing.assert_allclose(csa[2], private[2], atol=1e-6)
    with pytest.raises(InputFileError, match=r"is a Siemens MOSAIC; convert it with dcm2niix"):
        read_dwi(tmp_path)


def test_slicer_dwi_nrrd_header(tmp_path):
    """3D Slicer DWI NRRD: b_i = b·|g_i|², directions through the measurement frame and RAS -> LPS."""
    header = "\n".join([
        "NRRD0005", "type: float", "dimension: 4", "space: right-anterior-superior", "sizes: 3 2 2 3",
        "space directions: (-2,0,0) (0,-2,0) (0,0,3) none", "kinds: space space space list", "endian: little",
        "encoding: raw", "space origin: (0,0,0)", "measurement frame: (0,1,0) (-1,0,0) (0,0,1)",
        "modality:=DWMRI", "DWMRI_b-value:=1000", "DWMRI_gradient_0000:=0 0 0", "DWMRI_gradient_0001:=1 0 0",
        "DWMRI_gradient_0002:=0 0 0.8", "data file: dwi.raw", "",
    ])
    (tmp_path / "dwi.nhdr").write_text(header)
    (tmp_path / "dwi.raw").write_bytes(np.arange(36, dtype="<f4").tobytes())
    dwi = read_dwi(tmp_path / "dwi.nhdr")
    np.testing.assert_allclose(dwi.bvals, [0.0, 1000.0, 640.0])
    # measurement-frame column 1 is (0, 1, 0) in RAS: gradient (1, 0, 0) points anterior, i.e. (0, -1, 0) in LPS
    np.testing.assert_allclose(dwi.bvecs, [[0, 0, 0], [0, -1, 0], [0, 0, 1]], atol=1e-12)
    assert len(dwi.volumes) == 3 and dwi.volumes[0].GetSize() == (3, 2, 2)
