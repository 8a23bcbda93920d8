"""DICOM SEG as the segmentation: segments by number, label or description; grid from the frames."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from dicom_writers import write_seg, write_volume

from NACResistanceLib.errors import InputFileError
from NACResistanceLib.io import read_mask

SHAPE = (4, 6, 5)


@pytest.fixture
def masks() -> dict[int, tuple[str, np.ndarray]]:
    tumor = np.zeros(SHAPE, np.uint8)
    tumor[1:3, 2:4, 1:4] = 1
    reference = np.zeros(SHAPE, np.uint8)
    reference[0:4, 0, 0] = 1
    return {1: ("Tumor", tumor), 2: ("Reference", reference)}


def test_segments_by_number_and_label_on_the_image_grid(tmp_path, masks):
    origin = (-10.0, 20.0, 30.0)
    write_seg(tmp_path / "seg.dcm", masks, origin=origin)
    tumor = read_mask(tmp_path / "seg.dcm", "tumor")
    # every slice of the grid is covered by a reference frame, so the mask grid is the image grid
    np.testing.assert_array_equal(sitk.GetArrayFromImage(tumor), masks[1][1])
    assert tumor.GetPixelID() == sitk.sitkUInt8
    np.testing.assert_allclose(tumor.GetOrigin(), origin)
    np.testing.assert_allclose(tumor.GetSpacing(), (1.0, 1.0, 2.0))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(read_mask(tmp_path / "seg.dcm", 2)), masks[2][1])
    with pytest.raises(InputFileError, match=r"segment 'fat' is not in DICOM SEG .*seg\.dcm; its segments "
                                             r"\(number 'label'\): 1 'Tumor', 2 'Reference'"):
        read_mask(tmp_path / "seg.dcm", "fat")


def test_seg_with_only_its_nonempty_slices_in_a_folder_with_the_image(tmp_path, masks):
    """Only slices 1-2 carry frames: the mask spans them, at the right place in space."""
    write_volume(tmp_path, np.zeros(SHAPE, np.int16), series_uid="1.2.3.4", description="dce", spacing=(1, 1, 2))
    write_seg(tmp_path / "seg.dcm", {1: masks[1]}, number=300, description="tumour seg")
    mask = read_mask(tmp_path, 1)
    np.testing.assert_allclose(mask.GetOrigin(), (0.0, 0.0, 2.0))
    assert mask.GetSize() == (5, 6, 2) and int(sitk.GetArrayFromImage(mask).sum()) == int(masks[1][1].sum())
    write_seg(tmp_path / "seg2.dcm", {1: masks[1]}, number=301, description="second reader")
    with pytest.raises(InputFileError, match="leaves 2 DICOM SEG objects; choose one with segmentation_series"):
        read_mask(tmp_path, 1)
    assert int(sitk.GetArrayFromImage(read_mask(tmp_path, 1, series="second*")).sum()) == int(masks[1][1].sum())
