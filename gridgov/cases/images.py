"""Photos and documents attached to cases: checked by content, cleaned, made small.

A photo is opened with Pillow (never trusted by its name or the browser's type),
its pixel count is checked before it is decoded (decompression bombs), it is
turned upright from its EXIF orientation and then re-encoded from the pixels
alone — no EXIF, GPS, XMP or comments survive — with its long side capped. A
thumbnail is made at the same time. PDFs are kept as they are, recognised by
their signature. The size limit is checked before anything is read.
"""

from __future__ import annotations

import io
import uuid
import warnings
import weakref
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

# Long side of a stored photo and of its thumbnail, in pixels.
PHOTO_MAX_SIDE = 2560
THUMB_MAX_SIDE = 480
# More pixels than any phone camera takes by default (a 50 MP sensor is 8160 × 6144).
PHOTO_MAX_PIXELS = 64_000_000
JPEG_QUALITY = 85
THUMB_QUALITY = 78

PDF = "application/pdf"
_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"WEBP", 8, "image/webp"),
    (b"%PDF-", 0, PDF),
)
_PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", PDF: "pdf"}


@dataclass(frozen=True)
class PreparedAttachment:
    """What is stored for one upload: the cleaned file, its type, and a thumbnail for photos."""

    original_name: str
    content_type: str
    content: ContentFile[bytes]
    thumbnail: ContentFile[bytes] | None
    width: int | None = None
    height: int | None = None

    @property
    def size(self) -> int:
        return int(self.content.size)


def _display_name(upload: UploadedFile) -> str:
    return (upload.name or _("附件"))[:200]


def _upload_size(upload: UploadedFile) -> int:
    """The size Django measured while receiving the file; measured by seeking when unknown."""
    if upload.size is not None:
        return int(upload.size)
    handle: IO[Any] | None = upload.file
    if handle is None:
        return 0
    position = handle.tell()
    handle.seek(0, io.SEEK_END)
    size = handle.tell()
    handle.seek(position)
    return size


def max_bytes() -> int:
    return int(settings.CASE_ATTACHMENT_MAX_BYTES)


def _too_large(name: str) -> ValidationError:
    return ValidationError(
        _("附件“%(name)s”超过%(mb)d MB，未上传。请压缩或换一张照片。")
        % {"name": name, "mb": max_bytes() // (1024 * 1024)},
        code="too_large",
    )


def _not_a_photo(name: str) -> ValidationError:
    return ValidationError(
        _("附件“%(name)s”不是照片（JPEG/PNG/WebP）或PDF文件，未上传。") % {"name": name},
        code="bad_type",
    )


def _damaged(name: str) -> ValidationError:
    return ValidationError(_("照片“%(name)s”已损坏或无法识别，未上传。") % {"name": name}, code="damaged")


def _too_many_pixels(name: str) -> ValidationError:
    return ValidationError(
        _("照片“%(name)s”的像素过多（超过%(mp)d百万像素），未上传。")
        % {"name": name, "mp": PHOTO_MAX_PIXELS // 1_000_000},
        code="too_many_pixels",
    )


def _sniff(upload: UploadedFile) -> str | None:
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    return next(
        (kind for signature, offset, kind in _SIGNATURES if head[offset : offset + len(signature)] == signature),
        None,
    )


def _open_checked(upload: UploadedFile, expected_format: str, name: str) -> Image.Image:
    """The photo, opened (header only) and verified, with its pixel count checked; not yet decoded."""
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(upload, formats=[expected_format])
            width, height = probe.size
            if width * height > PHOTO_MAX_PIXELS:
                raise _too_many_pixels(name)
            probe.verify()
            upload.seek(0)
            image = Image.open(upload, formats=[expected_format])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _too_many_pixels(name) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        raise _damaged(name) from error
    return image


def _encode(image: Image.Image, pillow_format: str, *, quality: int) -> bytes:
    """Only the pixels (and the colour profile): `image.info` is never passed on."""
    buffer = io.BytesIO()
    options: dict[str, Any] = {"quality": quality}
    icc_profile = image.info.get("icc_profile")
    if icc_profile:
        options["icc_profile"] = icc_profile
    if pillow_format == "JPEG":
        options.update(optimize=True, progressive=True)
    elif pillow_format == "PNG":
        options.pop("quality")
    elif pillow_format == "WEBP":
        options["method"] = 4
    image.save(buffer, format=pillow_format, **options)
    return buffer.getvalue()


def _flatten(image: Image.Image) -> Image.Image:
    """RGB for JPEG: transparency on white, CMYK/palette/16-bit converted."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _pixels(image: Image.Image, pillow_format: str) -> tuple[Image.Image, bytes | None]:
    """The decoded photo turned upright, and its colour profile if it still fits the pixels."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        if pillow_format == "JPEG":
            # Decode at a reduced DCT scale when the photo is far larger than what is kept.
            image.draft("RGB", (PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
        image.load()
    # A CMYK profile would be wrong for the RGB pixels the photo is converted to.
    icc_profile = image.info.get("icc_profile") if image.mode != "CMYK" else None
    return ImageOps.exif_transpose(image) or image, icc_profile


def _clean_photo(upload: UploadedFile, content_type: str, name: str) -> PreparedAttachment:
    pillow_format = _PILLOW_FORMATS[content_type]
    image = _open_checked(upload, pillow_format, name)
    try:
        upright, icc_profile = _pixels(image, pillow_format)
        # Keep the first frame only, and nothing from the file but its pixels and colour profile.
        if pillow_format == "JPEG":
            photo = upright if upright.mode == "L" else _flatten(upright)
        elif upright.mode in ("RGB", "RGBA", "L", "LA"):
            photo = upright
        else:
            photo = _flatten(upright) if "transparency" not in upright.info else upright.convert("RGBA")
        photo = photo.copy()
        photo.info = {"icc_profile": icc_profile} if icc_profile else {}
        photo.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE), Image.Resampling.LANCZOS)
        stored = _encode(photo, pillow_format, quality=JPEG_QUALITY)
        thumb = _flatten(photo.copy())
        thumb.thumbnail((THUMB_MAX_SIDE, THUMB_MAX_SIDE), Image.Resampling.LANCZOS)
        thumb.info = {}
        thumb_bytes = _encode(thumb, "JPEG", quality=THUMB_QUALITY)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _too_many_pixels(name) from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise _damaged(name) from error
    stem = uuid.uuid4().hex
    return PreparedAttachment(
        original_name=name,
        content_type=content_type,
        content=ContentFile(stored, name=f"{stem}.{_EXTENSIONS[content_type]}"),
        thumbnail=ContentFile(thumb_bytes, name=f"{stem}.thumb.jpg"),
        width=photo.width,
        height=photo.height,
    )


# Uploads already checked in this request: `attachments_validate` runs before the
# transaction, `_attach` inside it; the work is done once.
_prepared: weakref.WeakKeyDictionary[UploadedFile, PreparedAttachment] = weakref.WeakKeyDictionary()


def attachment_prepare(upload: UploadedFile) -> PreparedAttachment:
    """Check one upload and return what to store; `ValidationError` (in Chinese) when refused."""
    cached = _prepared.get(upload)
    if cached is not None:
        return cached
    name = _display_name(upload)
    if _upload_size(upload) > max_bytes() or getattr(upload, "oversize", False):
        raise _too_large(name)
    content_type = _sniff(upload)
    if content_type is None:
        raise _not_a_photo(name)
    if content_type == PDF:
        upload.seek(0)
        prepared = PreparedAttachment(
            original_name=name,
            content_type=PDF,
            content=ContentFile(upload.read(), name=f"{uuid.uuid4().hex}.pdf"),
            thumbnail=None,
        )
    else:
        prepared = _clean_photo(upload, content_type, name)
    _prepared[upload] = prepared
    return prepared


# --- Refusing a too large upload while it arrives ------------------------------------


class _OversizeUpload(UploadedFile):
    """Stands for a file that was larger than the limit: only its name and size were kept."""

    oversize = True

    def __init__(self, *, name: str, size: int, content_type: str | None, field_name: str) -> None:
        super().__init__(io.BytesIO(), name=name, content_type=content_type, size=size)
        self.field_name = field_name


class AttachmentSizeLimitHandler(FileUploadHandler):
    """First upload handler of a form with photos: once a file passes the limit, its bytes are no
    longer stored (neither in memory nor in a temporary file); the form then gets a stand-in that
    only knows the name and the size, which `attachment_prepare` refuses with a clear message."""

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.received = 0
        self.over = False

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0
        self.over = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > max_bytes():
            self.over = True
            return None
        return raw_data

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if not self.over:
            return None
        return _OversizeUpload(
            name=self.file_name or "",
            size=self.received,
            content_type=self.content_type,
            field_name=self.field_name or "",
        )
