"""Hidden details inside a PDF sample's pictures and resources never leave the school,
and never stay in a partner's sample: a phone's "scan to PDF" embeds the photo as a
JPEG with its EXIF (GPS position, camera, artist), and pictures and fonts carry their
own XMP metadata. Each is removed by clean_pdf and by clean_received."""

from __future__ import annotations

import io
import zlib

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

from node.clusters.files import PDF, clean_pdf, clean_received, clean_sample
from protocol.errors import SealedError, UserInputError

NAME = b"Pupil Jane Doe"
CAMERA = b"SecretCam"
XMP_NAME = b"Jane Doe XMP"
PIECE = b"PieceInfo of Jane"
PAGE_KEY = b"Private page note of Jane"


def jpeg_with_exif(size: tuple[int, int] = (200, 100)) -> bytes:
    """A JPEG whose EXIF names the pupil, the camera, and where it was taken."""
    img = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x013B] = NAME.decode()  # Artist
    exif[0x010F] = CAMERA.decode()  # Make
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 12.0), 3: "W", 4: (0.0, 7.0, 39.0)}  # GPS
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes())
    assert NAME in out.getvalue()
    return out.getvalue()


def _stream(writer: PdfWriter, data: bytes, **keys: object) -> StreamObject:
    s = StreamObject()
    s._data = data
    for k, v in keys.items():
        s[NameObject("/" + k)] = v
    return s


def scanned_pdf() -> bytes:
    """A page showing a JPEG with EXIF; the picture has its own XMP and PieceInfo; a
    picture in a form XObject has XMP too; the page has an unknown key."""
    w = PdfWriter()
    page = w.add_blank_page(200, 100)
    meta = _stream(
        w,
        b"<x:xmpmeta><dc:creator>" + XMP_NAME + b"</dc:creator></x:xmpmeta>",
        Type=NameObject("/Metadata"),
        Subtype=NameObject("/XML"),
    )
    meta_ref = w._add_object(meta)
    image = _stream(
        w,
        jpeg_with_exif(),
        Type=NameObject("/XObject"),
        Subtype=NameObject("/Image"),
        Width=NumberObject(200),
        Height=NumberObject(100),
        ColorSpace=NameObject("/DeviceRGB"),
        BitsPerComponent=NumberObject(8),
        Filter=NameObject("/DCTDecode"),
    )
    image[NameObject("/Metadata")] = meta_ref
    image[NameObject("/PieceInfo")] = DictionaryObject(
        {NameObject("/App"): TextStringObject(PIECE.decode())}
    )
    image_ref = w._add_object(image)
    # A grey picture, Flate-encoded, inside a form XObject, with XMP of its own.
    grey = _stream(
        w,
        zlib.compress(bytes(range(100)) * 100),
        Type=NameObject("/XObject"),
        Subtype=NameObject("/Image"),
        Width=NumberObject(100),
        Height=NumberObject(100),
        ColorSpace=NameObject("/DeviceGray"),
        BitsPerComponent=NumberObject(8),
        Filter=NameObject("/FlateDecode"),
    )
    grey[NameObject("/Metadata")] = meta_ref
    form = _stream(
        w,
        b"q 100 0 0 100 0 0 cm /G Do Q",
        Type=NameObject("/XObject"),
        Subtype=NameObject("/Form"),
        BBox=ArrayObject([NumberObject(0), NumberObject(0), NumberObject(100), NumberObject(100)]),
    )
    form[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/XObject"): DictionaryObject({NameObject("/G"): w._add_object(grey)})}
    )
    form[NameObject("/Metadata")] = meta_ref
    page[NameObject("/Resources")] = DictionaryObject(
        {
            NameObject("/XObject"): DictionaryObject(
                {NameObject("/Im0"): image_ref, NameObject("/Fm0"): w._add_object(form)}
            )
        }
    )
    page[NameObject("/JaneNotes")] = TextStringObject(PAGE_KEY.decode())
    contents = DecodedStreamObject()
    contents.set_data(b"q 200 0 0 100 0 0 cm /Im0 Do Q /Fm0 Do")
    page[NameObject("/Contents")] = w._add_object(contents)
    out = io.BytesIO()
    w.write(out)
    data = out.getvalue()
    for secret in (NAME, CAMERA, XMP_NAME, PIECE, PAGE_KEY):
        assert secret in data
    return data


def assert_clean(cleaned: bytes) -> None:
    for secret in (NAME, CAMERA, XMP_NAME, PIECE, PAGE_KEY, b"Exif", b"/Metadata"):
        assert secret not in cleaned, secret
    # Still the page, with both pictures shown, and each picture opens as itself.
    reader = PdfReader(io.BytesIO(cleaned))
    (page,) = reader.pages
    images = {img.name: img.image for img in page.images}
    assert len(images) == 2
    sizes = sorted(i.size for i in images.values() if i is not None)
    assert sizes == [(100, 100), (200, 100)]
    red = next(i for i in images.values() if i is not None and i.size == (200, 100))
    r, g, b = red.convert("RGB").getpixel((100, 50))  # type: ignore[misc]
    assert r > 150
    assert g < 80
    assert b < 80


def test_clean_pdf_removes_exif_and_xmp_of_pictures() -> None:
    assert_clean(clean_pdf(scanned_pdf()))


def test_clean_sample_removes_exif_and_xmp_of_pictures() -> None:
    kind, cleaned, _ = clean_sample(scanned_pdf(), name="scan.pdf")
    assert kind == PDF
    assert_clean(cleaned)


def test_a_partners_sample_is_cleaned_of_exif_and_xmp_on_arrival() -> None:
    assert_clean(clean_received(PDF, scanned_pdf()))


def huge_picture_pdf() -> bytes:
    """A page with a picture that says it is 60,000 pixels square (a bomb)."""
    w = PdfWriter()
    page = w.add_blank_page(200, 100)
    bomb = _stream(
        w,
        zlib.compress(b"\0" * 1_000_000),
        Type=NameObject("/XObject"),
        Subtype=NameObject("/Image"),
        Width=NumberObject(60_000),
        Height=NumberObject(60_000),
        ColorSpace=NameObject("/DeviceGray"),
        BitsPerComponent=NumberObject(8),
        Filter=NameObject("/FlateDecode"),
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/XObject"): DictionaryObject({NameObject("/B"): w._add_object(bomb)})}
    )
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def test_a_picture_too_large_to_check_is_refused_clearly() -> None:
    with pytest.raises(UserInputError, match="picture"):
        clean_pdf(huge_picture_pdf(), name="bomb.pdf")
    with pytest.raises(SealedError):
        clean_received(PDF, huge_picture_pdf())
