"""Is a JPEG whole? libjpeg decodes a cut file anyway, greys out the rest and only prints
a warning; this finds the cut before decoding, from the file's structure."""

from __future__ import annotations

_SOI = b"\xff\xd8"
_EOI = b"\xff\xd9"
_SOS = 0xDA
# Markers without a length field: TEM and RSTn.
_STANDALONE = {0x01, *range(0xD0, 0xD8)}


def is_jpeg(data: bytes) -> bool:
    return data.startswith(_SOI)


def jpeg_is_complete(data: bytes) -> bool:
    """True when the header segments are whole and an end-of-image marker follows the
    first scan. Segments are walked by their lengths, so the EXIF thumbnail's own end
    marker (inside APP1) does not count; inside scan data 0xFF is always followed by 0x00
    or a marker, so the next FF D9 after the scan is the image's real end (data appended
    after it, as in motion photos, is allowed)."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return False
        marker = data[pos + 1]
        if marker == 0xFF:  # fill bytes before a marker
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        end = pos + 2 + length
        if length < 2 or end > len(data):
            return False
        if marker == _SOS:
            return data.find(_EOI, end) != -1
        pos = end
    return False
