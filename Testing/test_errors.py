from __future__ import annotations

import pytest

from NACResistanceLib.errors import AcquisitionError, ImageError, add_context, describe


def test_describe_includes_added_context():
    error = add_context(ImageError("mask is empty (file tumor.nrrd)"), "patient P017")
    assert describe(error) == "ImageError: mask is empty (file tumor.nrrd) [patient P017]"


@pytest.mark.parametrize("cls", [ImageError, AcquisitionError])
def test_library_errors_are_value_errors(cls):
    assert issubclass(cls, ValueError)
