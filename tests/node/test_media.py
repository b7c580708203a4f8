"""Cleaning uploaded photos: metadata gone, bombs and non-photos refused."""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image

from node.projects.media import CLEANING_AT_ONCE, MAX_PIXELS, MAX_SIDE, clean_image
from protocol.errors import UserInputError


def png(width: int, height: int, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height)).save(out, format="PNG")
    return out.getvalue()


def test_a_photo_becomes_a_small_jpeg_without_metadata() -> None:
    original = Image.new("RGB", (3000, 2000), (30, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make: metadata that must not travel
    out = io.BytesIO()
    original.save(out, format="JPEG", exif=exif)
    jpeg, _digest = clean_image(out.getvalue())
    with Image.open(io.BytesIO(jpeg)) as cleaned:
        assert cleaned.format == "JPEG"
        assert max(cleaned.size) == MAX_SIDE
        assert not cleaned.getexif()


def test_a_decompression_bomb_is_refused_from_its_header() -> None:
    """A tiny file that would decode to more pixels than any photo needs."""
    bomb = png(10_000, MAX_PIXELS // 10_000 + 1, mode="1")
    assert len(bomb) < 100_000
    with pytest.raises(UserInputError, match="pixels, more than a photo needs") as refused:
        clean_image(bomb, name="river.png")
    assert refused.value.page is not None


def test_what_is_not_a_photo_is_refused() -> None:
    with pytest.raises(UserInputError, match="cannot be read as a photo"):
        clean_image(b"%PDF-1.4 not a photo", name="notes.pdf")


def test_a_photo_stays_upright_as_the_camera_meant() -> None:
    """The EXIF orientation is applied (to the small copy), then dropped with the rest."""
    original = Image.new("RGB", (300, 200), (30, 120, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # taken with the phone on its side: turn 90 degrees clockwise
    out = io.BytesIO()
    original.save(out, format="JPEG", exif=exif)
    jpeg, _digest = clean_image(out.getvalue())
    with Image.open(io.BytesIO(jpeg)) as cleaned:
        assert cleaned.size == (200, 300)
        assert not cleaned.getexif()


def test_pixels_are_bounded_before_decoding_a_jpeg_at_a_fraction_of_its_size() -> None:
    """Any photo up to MAX_DECODED_PIXELS; a JPEG up to MAX_PIXELS, decoded smaller."""
    clean_image(png(4096, 3072, mode="1"))  # a 12-megapixel photo: fine
    with pytest.raises(UserInputError, match="pixels, more than a photo needs"):
        clean_image(png(4097, 3072, mode="1"))
    out = io.BytesIO()
    Image.new("L", (8000, 6000), 90).save(out, format="JPEG", quality=30)  # 48 MP
    jpeg, _digest = clean_image(out.getvalue())
    with Image.open(io.BytesIO(jpeg)) as cleaned:
        assert cleaned.size == (MAX_SIDE, 1200)


def test_photos_are_cleaned_on_two_threads_however_many_ask() -> None:
    """Memory a thread frees stays with that thread: cleaning on any thread that asked
    left a node holding many times what one photo needs."""
    photo = png(3000, 2000)
    with ThreadPoolExecutor(max_workers=6) as asking:
        cleaned = list(asking.map(lambda _: clean_image(photo), range(12)))
    assert len({digest for _jpeg, digest in cleaned}) == 1
    cleaners = [t for t in threading.enumerate() if t.name.startswith("photos")]
    assert 1 <= len(cleaners) <= CLEANING_AT_ONCE
