"""Work samples made safe to share: photos cleaned, PDFs written again without metadata.

A photo or scan (JPEG, PNG, GIF, WebP) is drawn again into a fresh JPEG as a
project photo is (node/projects/media.py): nothing but its pixels survives. A
PDF is read with pypdf and its pages copied into a new document: the document
information dictionary (author, title, creator, dates) and the XMP metadata are
not copied. Each page keeps only the keys that draw it (:data:`_PAGE_KEYS`: its
boxes, rotation, contents and resources), so its annotations (which carry their
authors' names), private application data, thumbnail, actions and any unknown
key are left behind. Everything the page still reaches (resources, fonts, forms)
loses its XMP metadata and private application data (:data:`_STRIP`) at any
depth, and every picture is decoded and drawn again by Pillow into a fresh
stream (a JPEG, or lossless for black-and-white scans): a phone's "scan to PDF"
embeds the photo with its EXIF (GPS position, camera, artist), which does not
survive. A picture that cannot be decoded, or is too large to check, makes the
whole file refused. Document-level scripts, forms and attached files are not
copied either: the new document has only the pages. What a page draws (its
content stream, including any picture written inside it) is kept as it is: it
is what the reader sees. Any other file is refused, as is an encrypted PDF or
one too large to send. A sample from another school is cleaned again the same
way before it is stored (docs/safeguarding.md).
"""

from __future__ import annotations

import io
import logging
import zlib
from typing import Any

from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NumberObject,
    StreamObject,
)
from pypdf.generic._image_xobject import _xobj_to_image

from node.projects.media import MAX_DECODED_PIXELS, clean_image
from protocol.errors import SealedError, UserInputError, said
from protocol.keys import content_hash
from protocol.letters import MAX_SAMPLE_BYTES
from protocol.rules import OUT_OF_BOUNDS

#: Largest file accepted before cleaning (a scanned page or a phone photo).
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: Most pages in a PDF sample: a piece of work, not a book.
MAX_PAGES = 40
#: The only keys a page keeps: what draws it (anything else, known or not, is dropped).
_PAGE_KEYS = frozenset(
    (
        "/Type",
        "/MediaBox",
        "/CropBox",
        "/BleedBox",
        "/TrimBox",
        "/ArtBox",
        "/Rotate",
        "/UserUnit",
        "/Contents",
        "/Resources",
        "/Group",
    )
)
#: Keys removed from every dictionary a page reaches, however deep: metadata streams,
#: private application data, thumbnails, actions and scripts.
_STRIP = ("/Metadata", "/PieceInfo", "/Thumb", "/AA", "/JS", "/JavaScript", "/OpenAction")
#: Most pixels of one picture in a PDF, and of all of them together (as for photos).
MAX_PICTURE_PIXELS = MAX_DECODED_PIXELS
MAX_PDF_PIXELS = 4 * MAX_DECODED_PIXELS
#: Most objects a page may reach (a page of work reaches a few dozen).
MAX_OBJECTS = 20_000
PDF = "application/pdf"
JPEG = "image/jpeg"

# pypdf logs every oddity of a damaged file as a warning: they say nothing to a teacher.
logging.getLogger("pypdf").setLevel(logging.ERROR)


def _refuse_type(name: str) -> UserInputError:
    return UserInputError(
        f"{name} is neither a PDF nor a photo: save the work as a PDF, JPEG or PNG file",
        page=said(
            "%(name)s is neither a PDF nor a photo: choose a PDF, JPEG or PNG file.", name=name
        ),
    )


def clean_sample(data: bytes, *, name: str = "the file") -> tuple[str, bytes, bytes]:
    """A sample ready to share: (type, bytes, BLAKE2b-256 hash). Blocking: run it on
    a worker thread (``asyncio.to_thread``)."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise UserInputError(
            f"{name} is larger than {MAX_UPLOAD_BYTES // 2**20} MB: make it smaller and try again",
            page=said(
                "%(name)s is larger than %(size)s MB: choose a smaller file.",
                name=name,
                size=MAX_UPLOAD_BYTES // 2**20,
            ),
        )
    if not data:
        raise UserInputError(
            f"{name} is empty: choose the file of the work",
            page=said("%(name)s is empty: choose another file.", name=name),
        )
    if data.lstrip()[:5] == b"%PDF-":
        cleaned = clean_pdf(data, name=name)
        return PDF, cleaned, content_hash(cleaned)
    if (
        data[:3] == b"\xff\xd8\xff"
        or data[:8] == b"\x89PNG\r\n\x1a\n"
        or data[:4]
        in (
            b"GIF8",
            b"RIFF",
        )
    ):
        jpeg, digest = clean_image(data, name=name)
        return JPEG, jpeg, digest
    raise _refuse_type(name)


def clean_pdf(data: bytes, *, name: str = "the PDF", most: int = MAX_SAMPLE_BYTES) -> bytes:
    """The pages of a PDF in a new document with no metadata of its own or its pages',
    every picture drawn again; at most ``most`` bytes once cleaned."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise UserInputError(
                f"{name} is protected by a password: save a copy without one and try again",
                page=said(
                    "%(name)s is protected by a password: save a copy without one.", name=name
                ),
            )
        if len(reader.pages) > MAX_PAGES:
            raise UserInputError(
                f"{name} has {len(reader.pages)} pages: a sample has at most {MAX_PAGES}",
                page=said(
                    "%(name)s has too many pages: a sample has at most %(most)s.",
                    name=name,
                    most=MAX_PAGES,
                ),
            )
        writer = PdfWriter()
        cleaner = _Cleaner(name)
        for page in reader.pages:
            # Taken off the page before it is copied, so that nothing they point to
            # (an annotation's author, say) is copied with it.
            for key in [k for k in page if k not in _PAGE_KEYS]:
                del page[key]
            cleaner.walk(page)
            writer.add_page(page)
        writer.metadata = None  # no information dictionary, not even pypdf's Producer
        out = io.BytesIO()
        writer.write(out)
        cleaned = out.getvalue()
    except UserInputError:
        raise
    except (
        PdfReadError,
        ValueError,
        KeyError,
        TypeError,
        OSError,
        RecursionError,
        AttributeError,
        IndexError,
        NotImplementedError,
        zlib.error,
    ) as exc:
        raise UserInputError(
            f"{name} cannot be read as a PDF ({exc}): save it again as a PDF and try again",
            page=said("%(name)s cannot be read as a PDF: save it again and retry.", name=name),
        ) from exc
    if len(cleaned) > most:
        raise UserInputError(
            f"{name} is {len(cleaned) // 1024} KB once cleaned, more than a sample can be "
            f"({MAX_SAMPLE_BYTES // 1024} KB): scan it at a lower resolution or split it",
            page=said(
                "%(name)s is too large to share (%(most)s KB at most): scan it at a lower "
                "resolution, or share fewer pages.",
                name=name,
                most=MAX_SAMPLE_BYTES // 1024,
            ),
        )
    return cleaned


def clean_received(kind: str, data: bytes) -> bytes:
    """A partner's sample cleaned again before it is stored, as photos are on arrival:
    what another school left in a file (by mistake or on purpose) is never kept or
    shown here. Blocking (run it on a worker thread); raises SealedError
    (``bad-field``) for a file that cannot be read as its type."""
    try:
        if kind == PDF:
            # Its pictures drawn again may come out a little larger than they went in:
            # what arrived fitted in a letter, and the cluster's bytes are capped.
            return clean_pdf(data, name="a partner school's sample", most=2 * MAX_SAMPLE_BYTES)
        return clean_image(data, name="a partner school's sample")[0]
    except Exception as exc:  # pypdf and Pillow raise many kinds of error on hostile bytes
        raise SealedError(
            f"a sample that cannot be read as {kind} ({type(exc).__name__})", code=OUT_OF_BOUNDS
        ) from exc


def _unreadable_picture(name: str, why: str) -> UserInputError:
    return UserInputError(
        f"{name} has a picture that cannot be checked for hidden details ({why}): "
        "print it to a new PDF, or scan it as a JPEG, and try again",
        page=said(
            "%(name)s has a picture that cannot be checked for hidden details: print it "
            "to a new PDF, or scan it as a JPEG, and try again.",
            name=name,
        ),
    )


class _Cleaner:
    """Walks everything a page reaches, once each: strips :data:`_STRIP` keys and draws
    every picture again (changing the reader's objects in place, before the page is
    copied, so that nothing left behind is copied)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: set[tuple[int, int]] = set()
        self.pixels = 0
        self.objects = 0

    def walk(self, start: Any) -> None:
        todo: list[Any] = [start]
        while todo:
            obj = todo.pop()
            if isinstance(obj, IndirectObject):
                ref = (obj.idnum, obj.generation)
                if ref in self.seen:
                    continue
                self.seen.add(ref)
                obj = obj.get_object()
            self.objects += 1
            if self.objects > MAX_OBJECTS:
                raise UserInputError(
                    f"{self.name} is too complex to check ({MAX_OBJECTS:,} parts at most): "
                    "print it to a new PDF and try again",
                    page=said(
                        "%(name)s is too complex to check: print it to a new PDF and try again.",
                        name=self.name,
                    ),
                )
            if isinstance(obj, DictionaryObject):  # streams are dictionaries too
                for key in _STRIP:
                    if key in obj:
                        del obj[NameObject(key)]
                if isinstance(obj, StreamObject) and obj.get("/Subtype") == "/Image":
                    self._redraw(obj)
                todo.extend(v for k, v in obj.items() if k != "/Parent")
            elif isinstance(obj, ArrayObject):
                todo.extend(obj)

    def _redraw(self, image: StreamObject) -> None:
        """Replace the picture's stream with its pixels drawn again: nothing of the
        original file (EXIF, comments, colour profiles' names) survives."""
        try:
            width, height = int(image["/Width"]), int(image["/Height"])  # type: ignore[call-overload]
        except (KeyError, TypeError, ValueError) as exc:
            raise _unreadable_picture(self.name, "no size") from exc
        if width <= 0 or height <= 0 or width * height > MAX_PICTURE_PIXELS:
            raise _unreadable_picture(self.name, f"{width} x {height} pixels")
        self.pixels += width * height
        if self.pixels > MAX_PDF_PIXELS:
            raise _unreadable_picture(self.name, "too many pixels in all")
        # Its masks are pictures of their own, cleaned as the walk reaches them: they
        # are set aside so that decoding draws this picture alone.
        masks = {k: image[k] for k in ("/SMask", "/Mask") if k in image}
        for k in masks:
            del image[NameObject(k)]
        stencil = bool(image.get("/ImageMask", False))
        try:
            pixels = _xobj_to_image(image)[2]
        except Exception as exc:  # pypdf and Pillow raise many kinds of error on odd pictures
            raise _unreadable_picture(self.name, type(exc).__name__) from exc
        if not isinstance(pixels, Image.Image) or pixels.size != (width, height):
            raise _unreadable_picture(self.name, "its pixels do not match its size")
        fresh: dict[str, Any] = {
            "/Type": NameObject("/XObject"),
            "/Subtype": NameObject("/Image"),
            "/Width": NumberObject(width),
            "/Height": NumberObject(height),
        }
        if stencil or pixels.mode == "1":
            bits = pixels.convert("1")
            data = zlib.compress(bits.tobytes())  # 1 bit a pixel, rows padded to bytes
            fresh["/BitsPerComponent"] = NumberObject(1)
            fresh["/Filter"] = NameObject("/FlateDecode")
            if stencil:
                fresh["/ImageMask"] = image["/ImageMask"]
                if "/Decode" in image:
                    fresh["/Decode"] = image["/Decode"]
            else:
                fresh["/ColorSpace"] = NameObject("/DeviceGray")
        else:
            mode = "L" if pixels.mode in ("L", "LA", "I", "I;16", "F") else "RGB"
            drawn = Image.new(mode, pixels.size)
            drawn.paste(pixels.convert(mode))  # a new image: none of the original's info
            out = io.BytesIO()
            drawn.save(out, format="JPEG", quality=90)
            data = out.getvalue()
            fresh["/BitsPerComponent"] = NumberObject(8)
            fresh["/ColorSpace"] = NameObject("/DeviceGray" if mode == "L" else "/DeviceRGB")
            fresh["/Filter"] = NameObject("/DCTDecode")
        image.clear()
        image.update({NameObject(k): v for k, v in fresh.items()})
        image.update({NameObject(k): v for k, v in masks.items()})
        image._data = data
        if hasattr(image, "decoded_self"):
            image.decoded_self = None
