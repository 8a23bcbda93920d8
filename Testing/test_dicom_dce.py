"""DCE from DICOM: phases and acquisition times from the headers, for each export layout."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from dicom_writers import uid, write_enhanced, write_volume

from NACResistanceLib.errors import AcquisitionError, InputFileError
from NACResistanceLib.io import read_dce

SHAPE = (3, 4, 5)
TIMES = [0.0, 75.5, 151.0, 226.5]
"""Phase start times, s (what every layout below encodes in its headers)."""


def _phase(t: int) -> np.ndarray:
    return np.full(SHAPE, 100 * (t + 1), np.int16) + np.arange(SHAPE[0], dtype=np.int16)[:, None, None]


def _clock(seconds: float) -> str:
    """DICOM TM of 10:00:00 + ``seconds``."""
    hours, rest = divmod(10 * 3600 + seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours):02d}{int(minutes):02d}{secs:09.6f}"


def _check(dce, times, source):
    np.testing.assert_allclose(dce.times_s, times, atol=1e-3)
    assert dce.times_source == source
    for t, phase in enumerate(dce.phases):
        np.testing.assert_array_equal(sitk.GetArrayFromImage(phase), _phase(t))


def test_one_series_per_phase_ordered_by_acquisition_time(tmp_path):
    """Series numbers do not follow acquisition order; a subtraction series and a MIP are left out."""
    for t, number in zip(range(4), [7, 5, 6, 4]):
        write_volume(tmp_path, _phase(t), prefix=f"s{number}_", series_uid=uid("phase", t), number=number,
                     description=f"dyn {t}", AcquisitionTime=_clock(TIMES[t]), AcquisitionDate="20240115")
    write_volume(tmp_path, _phase(1) - _phase(0), prefix="sub_", series_uid=uid("sub"), number=8,
                 description="SUB 1-0", image_type=("DERIVED", "SECONDARY", "SUBTRACTION"),
                 AcquisitionTime=_clock(80))
    write_volume(tmp_path, _phase(3), prefix="mip_", series_uid=uid("mip"), number=9, description="MIP",
                 image_type=("DERIVED", "SECONDARY", "MIP"), AcquisitionTime=_clock(90))
    dce = read_dce(tmp_path)
    _check(dce, TIMES, "AcquisitionTime (0008,0032)")
    with pytest.raises(AcquisitionError, match=r"holds 4 phases but 5 acquisition times were given; derived/diffusion "
                                               r"series left out: series 8 'SUB 1-0'.*series 9 'MIP'.*its headers give "
                                               r"0\.0; 75\.5; 151\.0; 226\.5 s"):
        read_dce(tmp_path, [0, 60, 120, 180, 240])


def test_one_series_with_temporal_positions_and_trigger_times(tmp_path, rng):
    """Every phase in one series, instance numbers scrambled; TriggerTime (ms) gives the times."""
    numbers = rng.permutation(4 * SHAPE[0]) + 1
    for t in range(4):
        write_volume(tmp_path, _phase(t), prefix=f"p{t}_", series_uid=uid("dyn"), description="dyn",
                     per_slice=lambda z, t=t: {"instance": int(numbers[t * SHAPE[0] + z])},
                     TemporalPositionIdentifier=t + 1, TriggerTime=TIMES[t] * 1000.0)
    _check(read_dce(tmp_path), TIMES, "TriggerTime (0018,1060)")


def test_one_series_split_by_acquisition_time_alone(tmp_path):
    """No temporal position, no trigger time: slices of each position ordered by acquisition time."""
    for t in range(4):
        write_volume(tmp_path, _phase(t), prefix=f"p{t}_", first_instance=100 - 10 * t, series_uid=uid("dyn"),
                     description="dyn", per_slice=lambda z, t=t: {"AcquisitionTime": _clock(TIMES[t] + 0.5 * z)})
    _check(read_dce(tmp_path), TIMES, "AcquisitionTime (0008,0032)")


def test_enhanced_mr_frame_times(tmp_path, rng):
    order = rng.permutation(4 * SHAPE[0])
    write_enhanced(tmp_path / "dce.dcm", [_phase(t) for t in range(4)], times=TIMES, scramble=order)
    _check(read_dce(tmp_path), TIMES, "FrameAcquisitionDateTime (0018,9074)")


def test_given_times_checked_against_headers(tmp_path):
    for t in range(4):
        write_volume(tmp_path, _phase(t), prefix=f"p{t}_", series_uid=uid("dyn"), description="dyn",
                     TemporalPositionIdentifier=t + 1, TriggerTime=TIMES[t] * 1000.0)
    dce = read_dce(tmp_path, [0, 76, 150, 227])
    assert dce.times_s == (0, 76, 150, 227) and dce.times_source.startswith("dce_times_s (agrees with TriggerTime")
    with pytest.raises(AcquisitionError, match=r"phase 2: dce_times_s gives 120 s but the DICOM header gives 151\.0 s "
                                               r"\(TriggerTime \(0018,1060\)\)"):
        read_dce(tmp_path, [0, 76, 120, 227])


def test_no_header_times_needs_given_times_and_series_choice(tmp_path):
    for t in range(2):
        write_volume(tmp_path, _phase(t), prefix=f"a{t}_", series_uid=uid("a", t), number=t + 1, description="dyn")
    write_volume(tmp_path, _phase(0), prefix="t2_", series_uid=uid("t2"), number=3, description="T2 TSE")
    with pytest.raises(InputFileError, match="headers give no acquisition times"):
        read_dce(tmp_path, series="dyn")
    dce = read_dce(tmp_path, [0, 90], series="DYN")
    assert dce.times_source == "dce_times_s"
    np.testing.assert_array_equal(sitk.GetArrayFromImage(dce.phases[1]), _phase(1))
    with pytest.raises(InputFileError, match=r"selector 'flair' matches no series.*series 3 'T2 TSE', 3 files"):
        read_dce(tmp_path, [0, 90], series="flair")


def test_two_multiphase_series_are_ambiguous_and_listed(tmp_path):
    for number in (5, 6):
        for t in range(3):
            write_volume(tmp_path, _phase(t), prefix=f"s{number}p{t}_", first_instance=1 + 3 * t,
                         series_uid=uid("dyn", number), number=number, description=f"dyn {number}",
                         TemporalPositionIdentifier=t + 1, TriggerTime=TIMES[t] * 1000.0)
    with pytest.raises(InputFileError, match=r"holds 2 candidate series, 2 of them with several volumes; choose.*"
                                             r"\(manifest column dce_series\): series 5 'dyn 5', 9 files, 3 volume\(s\).*"
                                             r"series 6 'dyn 6', 9 files, 3 volume\(s\)"):
        read_dce(tmp_path)
    _check(read_dce(tmp_path, series="6"), TIMES[:3], "TriggerTime (0018,1060)")
