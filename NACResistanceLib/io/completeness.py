"""Detect incomplete image files (a copy cut short, an interrupted download) before they are read.

ITK reads a truncated NIfTI file (``.nii`` and ``.nii.gz``) without error and fills the missing
voxels with zeros, which silently changes every value computed from it; its NRRD and MetaImage
readers do fail, but with C++ dumps. This module compares the pixel bytes the header promises
(size × components × bytes per component, read by ITK from the header only) with the bytes the
file holds:

- uncompressed data (``.nii``, raw ``.nrrd``, uncompressed ``.mha``): file size − header size;
- gzip data (``.nii.gz``, gzip ``.nrrd``): the gzip trailer's ISIZE (uncompressed length modulo
  2³²) when it matches, otherwise the length of the decompressed stream (a cut stream ends early);
- compressed MetaImage: the header's ``CompressedDataSize`` against the bytes after the header.

Detached data files (``.nhdr``, ``.mhd``) are checked by ITK itself.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import SimpleITK as sitk

from ..errors import InputFileError

_CHUNK = 1 << 20


def expected_pixel_bytes(path: Path) -> int:
    """Bytes of pixel data the header of ``path`` describes (read by ITK from the header only)."""
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    reader.ReadImageInformation()
    voxels = 1
    for size in reader.GetSize():
        voxels *= int(size)
    probe = sitk.Image([1] * reader.GetDimension(), reader.GetPixelID(), max(1, reader.GetNumberOfComponents()))
    return voxels * probe.GetSizeOfPixelComponent() * max(1, reader.GetNumberOfComponents())


def check_complete(path: str | Path) -> None:
    """Raise :class:`InputFileError` if the image file ``path`` holds fewer pixel bytes than its header says.

    Files whose header cannot be read are left to the reader (which reports them); formats without
    a reliable size check (detached data, ASCII or bzip2 NRRD) pass.
    """
    path = Path(path)
    name = path.name.lower()
    try:
        if name.endswith(".nii.gz"):
            offset = _nifti_data_offset(_gunzip_head(path, 552))
            wanted = expected_pixel_bytes(path)
            held = _gzip_length(path, 0, offset + wanted) - offset
        elif name.endswith(".nii"):
            with open(path, "rb") as stream:
                offset = _nifti_data_offset(stream.read(552))
            held, wanted = path.stat().st_size - offset, expected_pixel_bytes(path)
        elif name.endswith(".nrrd"):
            held, wanted = _nrrd_data_bytes(path)
        elif name.endswith(".mha"):
            held, wanted = _mha_data_bytes(path)
        else:
            return
    except _Unknown:
        return
    except _HeaderCut:
        raise InputFileError(f"image file {path} is incomplete: it ends inside its header (a copy cut short or an "
                             "interrupted download?); copy or export it again") from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise InputFileError(f"image file {path} is incomplete or corrupt: its compressed data end early "
                             f"({error}); copy or export it again") from None
    except RuntimeError:
        return  # header unreadable: the reader says so
    if held < wanted:
        raise InputFileError(f"image file {path} is incomplete: it holds {max(held, 0):,} of the {wanted:,} bytes "
                             "of pixel data its header describes (a copy cut short or an interrupted download?); "
                             "copy or export it again")


class _Unknown(Exception):
    """The file's layout is one this module does not check."""


class _HeaderCut(Exception):
    """The file ends before its header does."""


def _gunzip_head(path: Path, n: int) -> bytes:
    with gzip.open(path, "rb") as stream:
        return stream.read(n)


def _nifti_data_offset(head: bytes) -> int:
    """``vox_offset`` of a NIfTI-1 or NIfTI-2 header (either byte order)."""
    if len(head) < 348:
        raise _HeaderCut
    for order in ("<", ">"):
        if len(head) >= 4 and struct.unpack(order + "i", head[:4])[0] == 348 and len(head) >= 112:
            return int(struct.unpack(order + "f", head[108:112])[0])
        if len(head) >= 4 and struct.unpack(order + "i", head[:4])[0] == 540 and len(head) >= 176:
            return int(struct.unpack(order + "q", head[168:176])[0])
    raise _Unknown


def _gzip_length(path: Path, start: int, wanted_total: int) -> int:
    """Uncompressed length of the gzip stream from byte ``start`` of ``path`` to the end of the file.

    The ISIZE trailer (length modulo 2³²) is trusted when it equals ``wanted_total``; otherwise the
    stream is decompressed and counted, and a stream without its end marker raises ``EOFError``.
    """
    with open(path, "rb") as stream:
        stream.seek(-4, 2)
        if struct.unpack("<I", stream.read(4))[0] == wanted_total % (1 << 32):
            return wanted_total
        stream.seek(start)
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        total = 0
        while not decompressor.eof:
            chunk = decompressor.unconsumed_tail or stream.read(_CHUNK)
            if not chunk:
                raise EOFError("the gzip stream ends before its end-of-stream marker")
            total += len(decompressor.decompress(chunk, _CHUNK))
        return total


def _nrrd_data_bytes(path: Path) -> tuple[int, int]:
    with open(path, "rb") as stream:
        head = stream.read(4 * _CHUNK)
    end = head.find(b"\n\n")
    if not head.startswith(b"NRRD"):
        raise _Unknown
    if end < 0:
        lines = head.decode("latin-1").splitlines()[1:]
        looks_like_fields = any(":" in line for line in lines) and all(
            ":" in line or line.startswith("#") for line in lines[:-1])
        detached = b"data file" in head or b"datafile" in head
        raise _HeaderCut if looks_like_fields and not detached and len(head) < 4 * _CHUNK else _Unknown
    fields = {}
    for line in head[:end].decode("latin-1").splitlines()[1:]:
        if ":" in line and not line.startswith("#"):
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.lstrip("=").strip()
    if "data file" in fields or "datafile" in fields or "line skip" in fields or "byte skip" in fields:
        raise _Unknown
    encoding = fields.get("encoding", "raw").lower()
    start = end + 2
    if encoding == "raw":
        return path.stat().st_size - start, expected_pixel_bytes(path)
    if encoding in ("gzip", "gz"):
        wanted = expected_pixel_bytes(path)
        return _gzip_length(path, start, wanted), wanted
    raise _Unknown


def _mha_data_bytes(path: Path) -> tuple[int, int]:
    with open(path, "rb") as stream:
        head = stream.read(64 * 1024)
    marker = head.find(b"ElementDataFile")
    line_end = head.find(b"\n", marker)
    if marker < 0 or line_end < 0:
        raise _HeaderCut if head.startswith((b"ObjectType", b"NDims")) and len(head) < 64 * 1024 else _Unknown
    fields = {}
    for line in head[:line_end].decode("latin-1").splitlines():
        key, _, value = line.partition("=")
        fields[key.strip()] = value.strip()
    if fields.get("ElementDataFile", "").upper() != "LOCAL" or "HeaderSize" in fields:
        raise _Unknown
    held = path.stat().st_size - (line_end + 1)
    if fields.get("CompressedData", "False").lower() == "true":
        if "CompressedDataSize" not in fields:
            raise _Unknown
        return held, int(fields["CompressedDataSize"])
    return held, expected_pixel_bytes(path)
