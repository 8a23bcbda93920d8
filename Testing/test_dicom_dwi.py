"""DWI from DICOM with pydicom: the real GE export against dcm2niix, and synthetic vendor layouts."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import SimpleITK as sitk
from dicom_writers import uid, write_enhanced, write_presentation_state, write_secondary_capture, write_slice
from pydicom.dataset import Dataset

from NACResistanceLib.errors import InputFileError
from NACResistanceLib.io import read_dwi
from NACResistanceLib.io.dicom_tags import classic_diffusion, ge_gradient_to_lps
from NACResistanceLib.io.dwi import fsl_bvecs_to_lps

GE_SERIES = "dicom-ge-dwi/In/01_Ax_DWI_TENSOR_R2"
GE_REF = "dicom-ge-dwi/Ref/Ax_DWI_TENSOR_R2_1"
SHAPE = (3, 4, 5)
"""(slices, rows, columns) of the synthetic volumes."""


def test_real_ge_export_matches_dcm2niix(data_dir):
    """b-values equal dcm2niix's; LPS directions equal dcm2niix's FSL bvecs converted to LPS.

    dcm2niix stores this axial series with its rows flipped: its NIfTI voxel axes are the DICOM row
    direction r, the reversed column direction -c and the slice normal n (determinant -1, so FSL's
    convention negates no bvec axis). The reference image for :func:`fsl_bvecs_to_lps` is therefore our
    volume's grid with its second axis reversed.
    """
    dwi = read_dwi(data_dir / GE_SERIES, None)
    np.testing.assert_allclose(dwi.bvals, np.loadtxt(data_dir / f"{GE_REF}.bval"))
    reference = sitk.Image(dwi.volumes[0])
    direction = np.array(reference.GetDirection()).reshape(3, 3) @ np.diag([1.0, -1.0, 1.0])
    reference.SetDirection(tuple(direction.ravel()))
    expected = fsl_bvecs_to_lps(np.loadtxt(data_dir / f"{GE_REF}.bvec"), reference)
    norms = np.linalg.norm(expected, axis=1, keepdims=True)   # GE's vectors are unit to ±0.1 %; we normalise
    np.testing.assert_allclose(dwi.bvecs, np.divide(expected, norms, out=np.zeros_like(expected), where=norms > 0),
                               atol=2e-6)
    # geometry equals GDCM's reading of the same files (SimpleITK), voxel values too
    files = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(data_dir / GE_SERIES))
    gdcm = sitk.ReadImage([f for f in files if f.endswith((".1", ".2"))])
    np.testing.assert_allclose(dwi.volumes[0].GetOrigin(), gdcm.GetOrigin(), atol=1e-4)
    np.testing.assert_allclose(dwi.volumes[0].GetDirection(), gdcm.GetDirection(), atol=1e-6)
    np.testing.assert_allclose(dwi.volumes[0].GetSpacing(), gdcm.GetSpacing(), atol=1e-4)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(dwi.volumes[0]), sitk.GetArrayFromImage(gdcm))


def test_ge_lower_shell_is_a_shorter_vector_under_the_top_b():
    """GE writes b=500 of a b=1000 protocol as b 1000 with |g| = 1/√2: b·|g|² rounded to 5 (dcm2niix's rule)."""
    dataset = Dataset()
    dataset.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    dataset.add_new((0x0043, 0x1039), "IS", [1000, 8, 0, 0])
    for element, value in zip((0x10BB, 0x10BC, 0x10BD), (0.5, 0.5, 0.0)):
        dataset.add_new((0x0019, element), "DS", str(value))
    b, source, gradient = classic_diffusion(dataset, "GE MEDICAL SYSTEMS")
    assert b == 500.0 and source.startswith("GE")
    np.testing.assert_allclose(gradient, np.array([-1.0, -1.0, 0.0]) / np.sqrt(2))


def test_ge_rule_for_row_phase_encoding_swaps_in_plane_components():
    axial = (1, 0, 0, 0, 1, 0)
    np.testing.assert_allclose(ge_gradient_to_lps((0.6, 0.8, 0.0), axial), [-0.6, -0.8, 0.0])
    np.testing.assert_allclose(ge_gradient_to_lps((0.6, 0.8, 0.0), axial, phase_in_rows=True), [-0.8, 0.6, 0.0])


def _volume_value(v: int, z: int) -> np.ndarray:
    return np.full(SHAPE[1:], 100 * (v + 1) + z, np.int16)


def _write_classic(folder, bvals, gradients, tags_of, order=None, **common):
    """One file per (volume, slice); ``tags_of(v, b, g)`` gives the diffusion tags; ``order`` permutes instance numbers."""
    n = len(bvals) * SHAPE[0]
    numbers = list(range(1, n + 1)) if order is None else [int(i) + 1 for i in order]
    k = 0
    for v, (b, g) in enumerate(zip(bvals, gradients)):
        for z in range(SHAPE[0]):
            write_slice(folder / f"f{numbers[k]:03d}.dcm", _volume_value(v, z), instance=numbers[k],
                        position=(0.0, 0.0, 2.0 * z), series_uid=uid(folder.name), **tags_of(v, b, g), **common)
            k += 1


def _check(dwi, bvals, gradients):
    np.testing.assert_allclose(dwi.bvals, bvals)
    if gradients is None:
        assert dwi.bvecs is None
    else:
        np.testing.assert_allclose(dwi.bvecs, gradients, atol=1e-6)
    for v, volume in enumerate(dwi.volumes):
        values = sitk.GetArrayFromImage(volume)
        assert volume.GetSize() == (SHAPE[2], SHAPE[1], SHAPE[0])
        np.testing.assert_array_equal(values[:, 0, 0], [100 * (v + 1) + z for z in range(SHAPE[0])])


BVALS = [0.0, 800.0, 800.0, 800.0]
GRADIENTS = [[0, 0, 0], [1, 0, 0], [0, 0.6, 0.8], [0, 0, -1]]


@pytest.mark.parametrize("implicit", [False, True], ids=["explicit_vr", "implicit_vr"])
def test_siemens_private_tags(tmp_path, implicit):
    """Implicit VR: the private values come back as raw bytes (text for IS, little-endian doubles for FD)."""
    def tags(v, b, g):
        return {"manufacturer": "SIEMENS", "implicit": implicit,
                "private": {(0x0019, 0x100C): ("IS", str(int(b))), (0x0019, 0x100E): ("FD", [float(x) for x in g])}}
    _write_classic(tmp_path, BVALS, GRADIENTS, tags)
    _check(read_dwi(tmp_path), BVALS, GRADIENTS)


def test_standard_tags_tiny_b0_dummy_direction_and_non_image_objects(tmp_path, caplog):
    """b≈0 written as 0.001 with a dummy direction; a presentation state and a text file are skipped."""
    bvals = [0.001, 1000.0, 0.001, 1000.0]
    gradients = [[1, 1, 1], [0, 1, 0], [1, 1, 1], [1, 0, 0]]

    def tags(v, b, g):
        return {"DiffusionBValue": b, "DiffusionGradientOrientation": [float(x) for x in g],
                "AcquisitionTime": f"1000{v:02d}"}
    _write_classic(tmp_path, bvals, gradients, tags)
    write_presentation_state(tmp_path / "pr.dcm", uid("P1", "study"))
    write_secondary_capture(tmp_path / "sc.dcm", uid("P1", "study"))
    (tmp_path / "notes.txt").write_text("not dicom")
    with caplog.at_level(logging.INFO, logger="NACResistanceLib.io.dicom_index"):
        dwi = read_dwi(tmp_path)
    _check(dwi, [0, 1000, 0, 1000], [[0, 0, 0], [0, 1, 0], [0, 0, 0], [1, 0, 0]])
    assert "pr.dcm: not an image (modality PR" in caplog.text and "notes.txt: not a DICOM file" in caplog.text
    assert "sc.dcm: an image without ImagePositionPatient (secondary capture" in caplog.text


def test_ge_tags_with_offset_and_scrambled_instances(tmp_path, rng):
    """Older GE software adds 10⁹ to (0043,1039); instance numbers in random order."""
    def tags(v, b, g):
        return {"manufacturer": "GE MEDICAL SYSTEMS", "AcquisitionTime": f"1000{v:02d}",
                "private": {(0x0043, 0x1039): ("IS", [int(1e9 + b), 8, 0, 0]),
                            **{(0x0019, e): ("DS", str(x)) for e, x in zip((0x10BB, 0x10BC, 0x10BD), g)}}}
    _write_classic(tmp_path, BVALS, GRADIENTS, tags, order=rng.permutation(len(BVALS) * SHAPE[0]))
    # axial identity orientation: GE's first two components point along -x and -y of LPS
    expected = np.array(GRADIENTS, float) * [-1, -1, 1]
    _check(read_dwi(tmp_path), BVALS, expected + 0.0)


@pytest.mark.parametrize("scheme", ["1412_1413", "1596"])
def test_philips_tags_grouped_by_volume_numbers_with_scrambled_instances(tmp_path, rng, scheme):
    """Two b=0 volumes at one position are told apart by (2005,1596), or (2005,1412)/(2005,1413), not by instances."""
    bvals = [0.0, 1000.0, 0.0, 1000.0]
    gradients = [[0, 0, 0], [1, 0, 0], [0, 0, 0], [0, 1, 0]]

    def tags(v, b, g):
        return {"manufacturer": "Philips Medical Systems",
                "private": {(0x2001, 0x1003): ("FL", float(b)),
                            **{(0x2005, e): ("FL", float(x)) for e, x in zip((0x10B0, 0x10B1, 0x10B2), g)},
                            **({(0x2005, 0x1596): ("IS", str(v + 1))} if scheme == "1596" else
                               {(0x2005, 0x1412): ("IS", str(1 if b == 0 else 2)), (0x2005, 0x1413): ("IS", str(v + 1))})}}
    # instance numbers reversed within the series: acquisition order cannot come from them
    order = rng.permutation(len(bvals) * SHAPE[0])
    _write_classic(tmp_path, bvals, gradients, tags, order=order)
    dwi = read_dwi(tmp_path)
    # volumes keep their pixel identity whatever the order; each volume's b/gradient matches its pixels
    for volume, b, g in zip(dwi.volumes, dwi.bvals, dwi.bvecs):
        v = int(sitk.GetArrayFromImage(volume)[0, 0, 0]) // 100 - 1
        assert b == bvals[v]
        np.testing.assert_allclose(g, gradients[v])
        np.testing.assert_array_equal(sitk.GetArrayFromImage(volume)[:, 0, 0], [100 * (v + 1) + z for z in range(3)])
    assert sorted(dwi.bvals) == sorted(bvals)


def test_enhanced_multiframe_with_scrambled_frames(tmp_path, rng):
    volumes = [np.stack([_volume_value(v, z) for z in range(SHAPE[0])]) for v in range(len(BVALS))]
    order = rng.permutation(len(BVALS) * SHAPE[0])
    write_enhanced(tmp_path / "dwi.dcm", volumes, bvals=BVALS, gradients=GRADIENTS, scramble=order,
                   times=[0, 10, 20, 30])
    dwi = read_dwi(tmp_path)
    _check(dwi, BVALS, GRADIENTS)
    np.testing.assert_allclose(dwi.volumes[0].GetSpacing(), (1.0, 1.0, 2.0))


def test_trace_images_have_no_directions_and_unknown_tags_are_refused(tmp_path):
    trace = tmp_path / "trace"
    _write_classic(trace, [0.0, 500.0, 1000.0], [None] * 3, lambda v, b, g: {"DiffusionBValue": b})
    _check(read_dwi(trace), [0, 500, 1000], None)
    plain = tmp_path / "plain"
    _write_classic(plain, [0.0], [None], lambda v, b, g: {})
    with pytest.raises(InputFileError, match=r"no readable diffusion b-value.*\(0043,1039\) GE"):
        read_dwi(plain)


def test_folder_with_two_dwi_series_is_ambiguous_until_chosen(tmp_path):
    """The error lists every series (number, description, files, volumes, b-values); a selector resolves it."""
    for number, bvals in ((4, [0.0, 800.0]), (6, [0.0, 1500.0])):
        for v, b in enumerate(bvals):
            for z in range(SHAPE[0]):
                write_slice(tmp_path / f"s{number}_{v}_{z}.dcm", _volume_value(v, z), instance=1 + 3 * v + z,
                            position=(0.0, 0.0, 2.0 * z), series_uid=uid("dwi", number), number=number,
                            description=f"DWI {number}", DiffusionBValue=b)
    with pytest.raises(InputFileError, match=r"DWI: DICOM folder .* holds 2 candidate series.*"
                                             r"series 4 'DWI 4', 6 files, 2 volume\(s\), b 0/800 s/mm².*"
                                             r"series 6 'DWI 6', 6 files, 2 volume\(s\), b 0/1500 s/mm²"):
        read_dwi(tmp_path)
    assert read_dwi(tmp_path, series="6").bvals == (0.0, 1500.0)
    assert read_dwi(tmp_path, series="dwi 4").bvals == (0.0, 800.0)
    assert read_dwi(tmp_path, series=uid("dwi", 6)).bvals == (0.0, 1500.0)


def test_pixel_data_pydicom_cannot_decode_is_decoded_by_gdcm(tmp_path, monkeypatch):
    """No pydicom decoder (e.g. JPEG Lossless without pylibjpeg): GDCM decodes, the rescale is applied once."""
    import pydicom

    def no_decoder(self):
        raise NotImplementedError("no pixel data handler for this transfer syntax")

    for z in range(SHAPE[0]):
        write_slice(tmp_path / f"{z}.dcm", _volume_value(0, z), instance=z + 1, position=(0.0, 0.0, 2.0 * z),
                    series_uid=uid("gdcm"), BitsStored=12, RescaleSlope=2.0, RescaleIntercept=-5.0,
                    DiffusionBValue=0.0)
    monkeypatch.setattr(pydicom.dataset.Dataset, "pixel_array", property(no_decoder))
    dwi = read_dwi(tmp_path)
    np.testing.assert_allclose(sitk.GetArrayFromImage(dwi.volumes[0])[:, 0, 0], [2.0 * (100 + z) - 5 for z in range(3)])


def test_isotropic_trace_volume_in_a_directional_series_is_dropped(tmp_path, caplog):
    bvals = [0.0, 1000.0, 1000.0, 1000.0]
    gradients = [None, [1, 0, 0], [0, 1, 0], None]   # the last is the scanner's isotropic image

    def tags(v, b, g):
        return {"DiffusionBValue": b, **({"DiffusionGradientOrientation": g} if g else {})}
    _write_classic(tmp_path, bvals, gradients, tags)
    with caplog.at_level(logging.INFO, logger="NACResistanceLib.io.dwi"):
        dwi = read_dwi(tmp_path)
    _check(dwi, bvals[:3], [[0, 0, 0], [1, 0, 0], [0, 1, 0]])
    assert "dropped 1 isotropic (trace) volume(s) at b = 1000" in caplog.text


def test_trace_weighted_series_used_only_without_an_acquired_one(tmp_path):
    """Siemens exports the directional images and a derived TRACEW series: the first is read; alone, the second."""
    trace_type = ("DERIVED", "PRIMARY", "DIFFUSION", "TRACEW")
    _write_classic(tmp_path / "trace", [0.0, 800.0], [None, None], lambda v, b, g: {"DiffusionBValue": b},
                   image_type=trace_type, number=8, description="ep2d_diff_TRACEW")
    _check(read_dwi(tmp_path / "trace"), [0.0, 800.0], None)
    both = tmp_path / "both"
    _write_classic(both, BVALS, GRADIENTS, lambda v, b, g: {"DiffusionBValue": b, "DiffusionGradientOrientation": g},
                   number=7, description="ep2d_diff")
    for path in (tmp_path / "trace").iterdir():
        (both / f"trace_{path.name}").write_bytes(path.read_bytes())
    _check(read_dwi(both), BVALS, GRADIENTS)


def test_folder_holding_only_subfolders_is_read_recursively(tmp_path):
    nested = tmp_path / "export" / "SE0001"
    _write_classic(nested, [0.0, 700.0], [None, None], lambda v, b, g: {"DiffusionBValue": b})
    _check(read_dwi(tmp_path / "export"), [0.0, 700.0], None)
