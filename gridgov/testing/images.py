"""Real photos for tests: the case services open every photo with Pillow and re-encode it,
so a few magic bytes no longer pass for a JPEG."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def jpeg_bytes(width: int = 64, height: int = 48) -> bytes:
    """A small, real JPEG without metadata."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (180, 90, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


def jpeg_upload(name: str = "现场.jpg", *, width: int = 64, height: int = 48) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg_bytes(width, height), content_type="image/jpeg")
