"""Pupil content made safe to store and show: cleaned photos and sanitised Markdown.

Photos are decoded and drawn again into a fresh JPEG (Pillow), so nothing of the
original file survives but its pixels: no EXIF, no GPS position, no camera
serial, no thumbnail, no hidden trailing data. Markdown is rendered by
markdown-it-py with raw HTML switched off, then cleaned again by nh3 (the Rust
ammonia sanitiser), which keeps only an allow-list of tags and safe link schemes.
"""

from __future__ import annotations

import io

import nh3
from markdown_it import MarkdownIt
from PIL import Image, ImageOps, UnidentifiedImageError

from protocol.errors import UserInputError, said
from protocol.keys import content_hash
from protocol.letters import MAX_IMAGE_BYTES

#: Largest upload accepted before cleaning (a phone photo is 2 to 8 MB).
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: Longest side after cleaning: plenty for a blog, small enough to send.
MAX_SIDE = 1600
MAX_PIXELS = 50_000_000  # refuse "decompression bombs" outright

# Pillow's own bomb check only warns below twice its limit, and catching that warning
# means changing the process-wide warning filters, which is not safe on the worker
# thread photos are cleaned on. So clean_image checks the size from the header itself,
# before any pixel is decoded.
Image.MAX_IMAGE_PIXELS = None

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
    """Re-encode a photo as a metadata-free JPEG; return (jpeg bytes, BLAKE2b-256 hash)."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise UserInputError(
            f"{name} is larger than {MAX_UPLOAD_BYTES // 2**20} MB: make it smaller and try again",
            page=said(
                "%(name)s is larger than %(size)s MB: choose a smaller photo.",
                name=name,
                size=MAX_UPLOAD_BYTES // 2**20,
            ),
        )
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
            if original.width * original.height > MAX_PIXELS:
                raise UserInputError(
                    f"{name} is {original.width} by {original.height} pixels, more than a "
                    f"photo needs ({MAX_PIXELS:,} at most): make it smaller and try again",
                    page=said(
                        "%(name)s is too large in pixels: choose a smaller photo.", name=name
                    ),
                )
            upright = ImageOps.exif_transpose(original)  # keep what the camera meant
            pixels = upright.convert("RGB")
    except (UnidentifiedImageError, OSError) as exc:
        raise UserInputError(
            f"{name} cannot be read as a photo ({exc}): save it as a JPEG or PNG and try again",
            page=said("%(name)s cannot be read as a photo: choose a JPEG or PNG file.", name=name),
        ) from exc
    pixels.thumbnail((MAX_SIDE, MAX_SIDE))
    fresh = Image.new("RGB", pixels.size)
    fresh.paste(pixels)  # a new image: none of the original's info travels with it
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
