"""Work samples made safe to share: photos cleaned, PDFs written again without metadata.

A photo or scan (JPEG, PNG, GIF, WebP) is drawn again into a fresh JPEG as a
project photo is (node/projects/media.py): nothing but its pixels survives. A
PDF is read with pypdf and its pages copied into a new document: the document
information dictionary (author, title, creator, dates) and the XMP metadata are
not copied, and each page loses its own metadata stream, its annotations (which
carry their authors' names), its private application data, thumbnail and
actions (scripts run on opening a page). Document-level scripts, forms and
attached files are not copied either: the new document has only the pages. Any other file
is refused, as is an encrypted PDF or one too large to send. A sample from
another school is cleaned again the same way before it is stored.
"""

from __future__ import annotations

import io
import logging

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError
from pypdf.generic import NameObject

from node.projects.media import clean_image
from protocol.errors import SealedError, UserInputError, said
from protocol.keys import content_hash
from protocol.letters import MAX_SAMPLE_BYTES
from protocol.rules import OUT_OF_BOUNDS

#: Largest file accepted before cleaning (a scanned page or a phone photo).
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: Most pages in a PDF sample: a piece of work, not a book.
MAX_PAGES = 40
_PAGE_KEYS = ("/Metadata", "/Annots", "/PieceInfo", "/Thumb", "/AA")
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


def clean_pdf(data: bytes, *, name: str = "the PDF") -> bytes:
    """The pages of a PDF in a new document with no metadata of its own or its pages'."""
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
        for page in reader.pages:
            # Taken off the page before it is copied, so that nothing they point to
            # (an annotation's author, say) is copied with it.
            for key in _PAGE_KEYS:
                if NameObject(key) in page:
                    del page[NameObject(key)]
            writer.add_page(page)
        writer.metadata = None  # no information dictionary, not even pypdf's Producer
        out = io.BytesIO()
        writer.write(out)
        cleaned = out.getvalue()
    except UserInputError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise UserInputError(
            f"{name} cannot be read as a PDF ({exc}): save it again as a PDF and try again",
            page=said("%(name)s cannot be read as a PDF: save it again and retry.", name=name),
        ) from exc
    if len(cleaned) > MAX_SAMPLE_BYTES:
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
            return clean_pdf(data, name="a partner school's sample")
        return clean_image(data, name="a partner school's sample")[0]
    except Exception as exc:  # pypdf and Pillow raise many kinds of error on hostile bytes
        raise SealedError(
            f"a sample that cannot be read as {kind} ({type(exc).__name__})", code=OUT_OF_BOUNDS
        ) from exc
