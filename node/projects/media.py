"""Pupil content made safe to store and show: cleaned photos and sanitised Markdown.

Photos are decoded and drawn again into a fresh JPEG (Pillow), so nothing of the
original file survives but its pixels: no EXIF, no GPS position, no camera
serial, no thumbnail, no hidden trailing data. Markdown is rendered by
markdown-it-py with raw HTML switched off, then cleaned again by nh3 (the Rust
ammonia sanitiser), which keeps only an allow-list of tags and safe link schemes.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import nh3
from markdown_it import MarkdownIt
from PIL import ExifTags, Image, UnidentifiedImageError

from protocol.errors import UserInputError, said
from protocol.keys import content_hash
from protocol.letters import MAX_IMAGE_BYTES

#: Largest upload accepted before cleaning (a phone photo is 2 to 8 MB).
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: Longest side after cleaning: plenty for a blog, small enough to send.
MAX_SIDE = 1600
#: Most pixels a JPEG may have: a 50-megapixel phone photo. A JPEG is decoded at a
#: half, a quarter or an eighth of its size (``draft``), so it costs far fewer.
MAX_PIXELS = 50_000_000
#: Most pixels decoded for any photo: a 12-megapixel phone photo (4032 x 3024) fits.
#: A file's size says nothing of its pixels (a 7000 x 7000 PNG of one colour is 6 KB,
#: and decoding it took 300 MB): the size is read from the header and checked first.
MAX_DECODED_PIXELS = 4096 * 3072
#: Pillow's WebP decoder holds three copies of the pixels at once (libwebp's, the
#: raw bytes, the image): half as many keep a WebP photo within the same memory.
_MOST_DECODED = {"WEBP": MAX_DECODED_PIXELS // 2}
#: Photos cleaned at once, across every upload and every partner's post: with the
#: limits above one costs at most about 110 MB. They are cleaned on threads of their
#: own, not on whichever thread asked: the C library keeps memory a thread freed for
#: that thread's next use, so six uploads cleaned on six threads held six times the
#: memory long after (the issue saw a node stay at 1.2 GB).
CLEANING_AT_ONCE = 2
_CLEANERS = ThreadPoolExecutor(max_workers=CLEANING_AT_ONCE, thread_name_prefix="photos")

# Pillow's own bomb check only warns below twice its limit, and catching that warning
# means changing the process-wide warning filters, which is not safe on the worker
# thread photos are cleaned on. So clean_image checks the size from the header itself,
# before any pixel is decoded.
Image.MAX_IMAGE_PIXELS = None

#: How to turn a photo upright from its EXIF orientation (as ImageOps.exif_transpose),
#: applied after making it small rather than to the full-size pixels.
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "a", "hr",
}  # fmt: skip


def render_markdown(text: str) -> str:
    """Markdown to HTML that is safe to put in a page: no scripts, handlers or odd links."""
    html = _markdown.render(text)
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def clean_image(data: bytes, *, name: str = "the photo") -> tuple[bytes, bytes]:
    """Re-encode a photo as a metadata-free JPEG; return (jpeg bytes, BLAKE2b-256 hash).

    Blocking, so call it on a worker thread (``asyncio.to_thread``): it waits for
    one of the :data:`CLEANING_AT_ONCE` photo threads, which does the work.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise UserInputError(
            f"{name} is larger than {MAX_UPLOAD_BYTES // 2**20} MB: make it smaller and try again",
            page=said(
                "%(name)s is larger than %(size)s MB: choose a smaller photo.",
                name=name,
                size=MAX_UPLOAD_BYTES // 2**20,
            ),
        )
    return _CLEANERS.submit(_clean, data, name).result()


def _clean(data: bytes, name: str) -> tuple[bytes, bytes]:
    small = _decoded_small(data, name)
    fresh = Image.new("RGB", small.size)
    fresh.paste(small)  # a new image: none of the original's info travels with it
    for quality in (85, 75, 65, 50, 35):
        out = io.BytesIO()
        fresh.save(out, format="JPEG", quality=quality, optimize=True)
        jpeg = out.getvalue()
        if len(jpeg) <= MAX_IMAGE_BYTES:
            return jpeg, content_hash(jpeg)  # BLAKE2b-256, as everywhere else
        fresh.thumbnail((fresh.width * 3 // 4, fresh.height * 3 // 4))
    raise UserInputError(
        f"{name} is too detailed to send even when made smaller",
        page=said(
            "%(name)s is too detailed to send, even made smaller: choose another photo.",
            name=name,
        ),
    )


def _decoded_small(data: bytes, name: str) -> Image.Image:
    """The photo's pixels, upright, in RGB, at most :data:`MAX_SIDE` on a side.

    Its size is checked from the file's header before any pixel is decoded; a JPEG
    is decoded straight at a fraction of its size.
    """
    try:
        with Image.open(io.BytesIO(data)) as original:
            if original.format not in ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF"):
                raise UserInputError(
                    f"{name} is not a photo: save it as a JPEG, PNG, GIF or WebP file",
                    page=said(
                        "%(name)s is not a photo: choose a JPEG, PNG, GIF or WebP file.",
                        name=name,
                    ),
                )
            width, height = original.size
            if original.format == "JPEG" and width * height <= MAX_PIXELS:
                scale = max(width, height) / MAX_SIDE
                original.draft(None, (max(1, int(width / scale)), max(1, int(height / scale))))
            most = _MOST_DECODED.get(original.format, MAX_DECODED_PIXELS)
            if original.width * original.height > most:
                raise UserInputError(
                    f"{name} is {width} by {height} pixels, more than a photo needs "
                    f"({most:,} at most, or {MAX_PIXELS:,} for a JPEG): "
                    "make it smaller and try again",
                    page=said(
                        "%(name)s has too many pixels for a photo (%(most)s million at "
                        "most): make it smaller, or choose another photo.",
                        name=name,
                        most=most // 1_000_000,
                    ),
                )
            turn = _UPRIGHT.get(original.getexif().get(ExifTags.Base.Orientation, 1))
            small = _shrunk(original)
    except (UnidentifiedImageError, OSError, ValueError, EOFError) as exc:
        raise UserInputError(
            f"{name} cannot be read as a photo ({exc}): save it as a JPEG or PNG and try again",
            page=said("%(name)s cannot be read as a photo: choose a JPEG or PNG file.", name=name),
        ) from exc
    return small.transpose(turn) if turn is not None else small


def _shrunk(image: Image.Image) -> Image.Image:
    """``image`` in RGB within :data:`MAX_SIDE`, making no other copy at full size
    where its mode allows.

    ``reduce`` averages whole blocks of pixels straight into an image at least
    :data:`MAX_SIDE` on its longer side; only then is it converted to RGB and made
    exactly small enough. (Converting first, as before, made a second full-size
    copy of 4 bytes a pixel, and resizing RGBA makes one too.)
    """
    if image.mode not in _REDUCIBLE:  # a palette or 1-bit image: a copy it must be
        image = image.convert("L" if image.mode == "1" else "RGB")
    factor = max(image.size) // MAX_SIDE
    if factor >= 2:
        image = image.reduce(factor)
    if image.mode in ("L", "RGB"):  # resized as they are: only the small one is new
        image.thumbnail((MAX_SIDE, MAX_SIDE))
        return image.convert("RGB")
    small = image.convert("RGB")
    small.thumbnail((MAX_SIDE, MAX_SIDE))
    return small


#: Modes ``Image.reduce`` takes as they are.
_REDUCIBLE = frozenset({"L", "LA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "I", "F"})
