"""Image, DICOM, mask and DCE readers on small files written to tmp_path with known voxel values."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from NACResistanceLib.errors import AcquisitionError, InputFileError
from NACResistanceLib.io import list_dicom_series, read_dce, read_image, read_mask

SPACING = (0.7, 0.8, 2.0)
ORIGIN = (-10.0, 5.0, 30.0)


def make_image(array: np.ndarray) -> sitk.Image:
    """``array`` in (z, y, x) order -> image with SPACING (x, y, z) mm and ORIGIN."""
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(SPACING)
    image.SetOrigin(ORIGIN)
    return image


def write_dicom_series(image: sitk.Image, folder, uid: str, description: str, extra=None, prefix="") -> None:
    """Write ``image`` as one DICOM file per slice with the geometry tags SimpleITK needs to read it back."""
    folder.mkdir(exist_ok=True)
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    for z in range(image.GetDepth()):
        slice_ = image[:, :, z]
        position = image.TransformIndexToPhysicalPoint((0, 0, z))
        tags = {
            "0008|0060": "MR", "0008|103e": description, "0020|000e": uid,
            "0020|000d": "1.2.826.0.1.3680043.2.1125.1", "0008|0018": f"{uid}.{prefix}{z + 1}",
            "0020|0013": str(z + 1), "0020|0032": "\\".join(f"{p:.6f}" for p in position),
            "0020|0037": "1\\0\\0\\0\\1\\0", "0018|0050": str(image.GetSpacing()[2]),
        }
        tags.update(extra or {})
        for key, value in tags.items():
            slice_.SetMetaData(key, value)
        writer.SetFileName(str(folder / f"{uid[-3:]}_{prefix}{z:03d}.dcm"))
        writer.Execute(slice_)


@pytest.fixture
def ramp() -> np.ndarray:
    """(z=3, y=4, x=5) int16 ramp 0..59."""
    return np.arange(60, dtype=np.int16).reshape(3, 4, 5)


@pytest.mark.parametrize("suffix", [".nii.gz", ".nrrd", ".mha"])
def test_read_image_files_keep_values_and_geometry(tmp_path, ramp, suffix):
    path = tmp_path / f"image{suffix}"
    sitk.WriteImage(make_image(ramp), str(path))
    image = read_image(path)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), ramp)
    np.testing.assert_allclose(image.GetSpacing(), SPACING, atol=1e-6)
    np.testing.assert_allclose(image.GetOrigin(), ORIGIN, atol=1e-5)


def test_read_image_missing_and_unknown_ending(tmp_path):
    with pytest.raises(InputFileError, match=r"missing\.nrrd does not exist"):
        read_image(tmp_path / "missing.nrrd")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputFileError, match=r"notes\.txt has an unknown ending"):
        read_image(tmp_path / "notes.txt")


def test_dicom_folder_with_two_series(tmp_path, ramp):
    folder = tmp_path / "dicom"
    write_dicom_series(make_image(ramp), folder, "1.2.3.100", "t1 pre")
    write_dicom_series(make_image(ramp * 2), folder, "1.2.3.200", "t1 post")
    series = list_dicom_series(folder)
    assert [(s.series_uid, s.description, s.n_files) for s in series] == [
        ("1.2.3.100", "t1 pre", 3), ("1.2.3.200", "t1 post", 3)]
    image = read_image(folder, series_uid="1.2.3.200")
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), ramp * 2)
    np.testing.assert_allclose(image.GetSpacing(), SPACING, atol=1e-5)
    np.testing.assert_allclose(image.GetOrigin(), ORIGIN, atol=1e-4)
    with pytest.raises(InputFileError, match=r"holds 2 series; choose one with series_uid.*: 1\.2\.3\.100 \(t1 pre, 3 files\)"):
        read_image(folder)
    with pytest.raises(InputFileError, match=r"no series with UID 9\.9; it holds: .*1\.2\.3\.200 \(t1 post, 3 files\)"):
        read_image(folder, series_uid="9.9")


def test_dicom_folder_without_series(tmp_path):
    with pytest.raises(InputFileError, match="holds no DICOM series"):
        read_image(tmp_path)


def test_read_mask_from_label_map(tmp_path):
    labels = np.zeros((3, 4, 5), np.uint8)
    labels[1, 1:3, 1:4] = 1
    labels[2, 0, 0] = 2
    path = tmp_path / "labels.nii.gz"
    sitk.WriteImage(make_image(labels), str(path))
    mask = read_mask(path, 2)
    assert mask.GetPixelID() == sitk.sitkUInt8
    np.testing.assert_array_equal(sitk.GetArrayFromImage(mask), (labels == 2).astype(np.uint8))
    assert int(sitk.GetArrayFromImage(read_mask(path)).sum()) == 6
    with pytest.raises(InputFileError, match=r"label 3 is not in label map .*labels\.nii\.gz; available label values: 1, 2"):
        read_mask(path, 3)
    with pytest.raises(InputFileError, match=r"label 'tumor' is not in label map .*available label values: 1, 2"):
        read_mask(path, "tumor")


def slicer_segmentation(tmp_path, layers: np.ndarray, segments) -> str:
    """Write a .seg.nrrd: ``layers`` (n_layers, z, y, x); ``segments`` [(name, label, layer)]."""
    if layers.shape[0] == 1:
        image = make_image(layers[0])
    else:
        image = sitk.GetImageFromArray(np.moveaxis(layers, 0, -1), isVector=True)
        image.SetSpacing(SPACING)
        image.SetOrigin(ORIGIN)
    for index, (name, label, layer) in enumerate(segments):
        image.SetMetaData(f"Segment{index}_Name", name)
        image.SetMetaData(f"Segment{index}_LabelValue", str(label))
        image.SetMetaData(f"Segment{index}_Layer", str(layer))
    path = str(tmp_path / "Segmentation.seg.nrrd")
    sitk.WriteImage(image, path)
    return path


def test_read_mask_from_single_layer_segmentation(tmp_path):
    labels = np.zeros((1, 3, 4, 5), np.uint8)
    labels[0, 0, 0, :2] = 1
    labels[0, 2, 3, :] = 4
    path = slicer_segmentation(tmp_path, labels, [("Tumor", 1, 0), ("Normal FGT", 4, 0)])
    assert int(sitk.GetArrayFromImage(read_mask(path, "tumor")).sum()) == 2
    normal = sitk.GetArrayFromImage(read_mask(path, "Normal FGT"))
    np.testing.assert_array_equal(normal, (labels[0] == 4).astype(np.uint8))
    assert int(sitk.GetArrayFromImage(read_mask(path, 4)).sum()) == 5
    with pytest.raises(InputFileError, match=r"segment 'edema' is not in segmentation .*Segmentation\.seg\.nrrd; "
                                             r"available segments: 'Tumor' \(label 1, layer 0\), 'Normal FGT'"):
        read_mask(path, "edema")


def test_read_mask_from_multi_layer_segmentation(tmp_path):
    layers = np.zeros((2, 3, 4, 5), np.uint8)
    layers[0, 1, 1, 1:4] = 1           # tumour, layer 0
    layers[1, 1, 1, 2:5] = 1           # overlapping reference region, layer 1, same label value
    path = slicer_segmentation(tmp_path, layers, [("tumor", 1, 0), ("reference", 1, 1)])
    np.testing.assert_array_equal(sitk.GetArrayFromImage(read_mask(path, "reference")), layers[1])
    np.testing.assert_array_equal(sitk.GetArrayFromImage(read_mask(path, "tumor")), layers[0])
    with pytest.raises(InputFileError, match=r"segment 1 matches several segments"):
        read_mask(path, 1)


def test_read_dce_from_3d_files_and_4d_file(tmp_path, ramp):
    paths = []
    for t in range(3):
        paths.append(tmp_path / f"phase{t}.nrrd")
        sitk.WriteImage(make_image(ramp + 100 * t), str(paths[-1]))
    dce = read_dce(paths, [0, 60, 120])
    assert dce.times_s == (0.0, 60.0, 120.0)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(dce.roi_image), ramp + 100)
    four_d = sitk.JoinSeries([make_image(ramp + 100 * t) for t in range(3)])
    sitk.WriteImage(four_d, str(tmp_path / "dce.nii.gz"))
    dce4 = read_dce(str(tmp_path / "dce.nii.gz"), [0, 60, 120], roi_phase=2)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(dce4.roi_image), ramp + 200)
    with pytest.raises(AcquisitionError, match=r"dce\.nii\.gz holds 3 phases but 2 acquisition times"):
        read_dce(str(tmp_path / "dce.nii.gz"), [0, 60])


def test_read_dce_rejects_phases_on_different_grids(tmp_path, ramp):
    sitk.WriteImage(make_image(ramp), str(tmp_path / "a.nrrd"))
    sitk.WriteImage(make_image(ramp[:, :, :4].copy()), str(tmp_path / "b.nrrd"))
    with pytest.raises(AcquisitionError, match=r"b\.nrrd \(DCE phase 2 of 2\) is not on the grid of .*a\.nrrd: size"):
        read_dce([tmp_path / "a.nrrd", tmp_path / "b.nrrd"], [0, 60])
    shifted = make_image(ramp)
    shifted.SetOrigin(tuple(np.add(shifted.GetOrigin(), (0.6, 0.0, 0.0))))
    sitk.WriteImage(shifted, str(tmp_path / "b.nrrd"))
    with pytest.raises(AcquisitionError, match=r"origin shifted by \(0\.6, 0, 0\) mm \(0\.6 mm\)") as caught:
        read_dce([tmp_path / "a.nrrd", tmp_path / "b.nrrd"], [0, 60])
    assert "size" not in str(caught.value) and "spacing" not in str(caught.value)


def test_read_dce_from_dicom_series_per_phase_and_temporal_positions(tmp_path, ramp):
    per_phase = tmp_path / "per_phase"
    for t, uid in enumerate(["1.2.3.900", "1.2.3.100"]):   # UID order differs from SeriesNumber order
        write_dicom_series(make_image(ramp + 10 * t), per_phase, uid, f"phase {t}", {"0020|0011": str(t + 1)})
    dce = read_dce(per_phase, [0, 90])
    np.testing.assert_array_equal(sitk.GetArrayFromImage(dce.phases[1]), ramp + 10)
    one_series = tmp_path / "one_series"
    for t in range(2):
        write_dicom_series(make_image(ramp + 10 * t), one_series, "1.2.3.555", "dce", {"0020|0100": str(t + 1)},
                           prefix=f"{t + 1}0")
    dce_one = read_dce(one_series, [0, 90])
    np.testing.assert_array_equal(sitk.GetArrayFromImage(dce_one.phases[0]), ramp)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(dce_one.phases[1]), ramp + 10)
    np.testing.assert_allclose(dce_one.phases[1].GetSpacing(), SPACING, atol=1e-5)
    with pytest.raises(InputFileError, match=r"has only 3 distinct slice positions: it holds several volumes"):
        read_image(one_series)


def test_read_mask_rejects_fractional_labels_and_lists_no_labels(tmp_path):
    fractional = np.zeros((3, 4, 5), np.float32)
    fractional[0, 0, 0] = 0.5
    sitk.WriteImage(make_image(fractional), str(tmp_path / "prob.nii.gz"))
    with pytest.raises(InputFileError, match=r"label map .*prob\.nii\.gz has non-integer voxel values"):
        read_mask(tmp_path / "prob.nii.gz")
    sitk.WriteImage(make_image(np.zeros((3, 4, 5), np.uint8)), str(tmp_path / "empty.nrrd"))
    with pytest.raises(InputFileError, match=r"empty\.nrrd; available label values: none \(all voxels are 0\)"):
        read_mask(tmp_path / "empty.nrrd")


def test_read_mask_from_old_multi_layer_segmentation_without_label_fields(tmp_path):
    """Before Slicer 4.11 each segment had its own layer, value 1, and no _LabelValue/_Layer fields."""
    layers = np.zeros((2, 3, 4, 5), np.uint8)
    layers[0, 0, 0, 0] = 1
    layers[1, 2, 2, 2:4] = 1
    image = sitk.GetImageFromArray(np.moveaxis(layers, 0, -1), isVector=True)
    image.SetMetaData("Segment0_Name", "tumor")
    image.SetMetaData("Segment1_Name", "fgt")
    path = str(tmp_path / "old.seg.nrrd")
    sitk.WriteImage(image, path)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(read_mask(path, "fgt")), layers[1])


def test_unreadable_image_and_single_volume_dce(tmp_path, ramp):
    (tmp_path / "broken.nrrd").write_bytes(b"NRRD0004\nthis is not a header\n")
    with pytest.raises(InputFileError, match=r"cannot read image file .*broken\.nrrd"):
        read_image(tmp_path / "broken.nrrd")
    sitk.WriteImage(make_image(ramp), str(tmp_path / "one.nrrd"))
    with pytest.raises(InputFileError, match=r"one\.nrrd is a single 3D volume; a time series needs a 4D file"):
        read_dce(str(tmp_path / "one.nrrd"), [0, 60])
