"""Photos attached to cases: checked by content, size-limited, stripped of EXIF/GPS, thumbnailed."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
from django.http.multipartparser import MultiPartParser
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from PIL import Image

from gridgov.cases.choices import CaseSource
from gridgov.cases.images import AttachmentSizeLimitHandler
from gridgov.cases.models import Case, CaseAttachment, Category
from gridgov.cases.services import attachments_validate, case_accept, case_report_back, case_submit
from gridgov.cases.services.lifecycle import ATTACHMENTS_PER_STEP
from gridgov.testing.cases import case_input, submit_case

pytestmark = pytest.mark.django_db

GPS_IFD = 0x8825
ORIENTATION = 0x0112
# A Windows program starts with "MZ"; renamed to .jpg it must still be refused.
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


@pytest.fixture(autouse=True)
def _media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def jpeg_with_gps(size: tuple[int, int] = (800, 600), *, orientation: int = 6) -> bytes:
    """A phone photo: GPS position, camera make and an orientation tag (6 = turn 90° to be upright)."""
    image = Image.new("RGB", size, (180, 60, 40))
    image.paste((20, 120, 200), (0, 0, size[0] // 2, size[1] // 4))
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "PhoneMaker"
    exif[GPS_IFD] = {1: "N", 2: (36.0, 12.0, 30.5), 3: "E", 4: (119.0, 54.0, 10.0)}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=90)
    data = buffer.getvalue()
    # The test photo really carries the position, or the test proves nothing.
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)[2] == (36.0, 12.0, 30.5)
    return data


def png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, "PNG")
    return buffer.getvalue()


def upload(name: str, content: bytes, content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def refusal(files: list[SimpleUploadedFile]) -> str:
    with pytest.raises(ValidationError) as caught:
        attachments_validate(files)
    return " ".join(caught.value.messages)


# --- Through the service -----------------------------------------------------------


def test_a_gps_tagged_jpeg_is_stored_upright_without_any_metadata(tree, personas, _media):
    # Given a phone photo with its GPS position and camera in EXIF, taken sideways
    photo = upload("现场.jpg", jpeg_with_gps((800, 600)))
    # When a grid worker registers a case with it
    case, _created = case_submit(actor=personas["grid_worker"], data=case_input(tree.grids[0]), attachments=[photo])
    # Then the stored file is a JPEG without EXIF, GPS or XMP, turned upright
    attachment = CaseAttachment.objects.get(case=case)
    data = Path(attachment.file.path).read_bytes()
    stored = Image.open(io.BytesIO(data))
    assert stored.format == "JPEG" and stored.size == (600, 800)
    assert len(stored.getexif()) == 0 and not stored.getexif().get_ifd(GPS_IFD)
    assert "exif" not in stored.info and "xmp" not in stored.info
    assert b"Exif" not in data and b"PhoneMaker" not in data
    assert (attachment.content_type, attachment.size, attachment.original_name) == ("image/jpeg", len(data), "现场.jpg")
    # And its thumbnail is a small JPEG without metadata either
    thumb_data = Path(attachment.thumbnail.path).read_bytes()
    thumb = Image.open(io.BytesIO(thumb_data))
    assert thumb.format == "JPEG" and max(thumb.size) == 480 and b"Exif" not in thumb_data


def test_the_long_side_is_capped_and_png_and_webp_keep_their_format(tree, personas):
    # Given a very wide PNG and a WebP photo
    wide = upload("全景.png", png((3000, 1000)), "image/png")
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (1, 2, 3)).save(buffer, "WEBP")
    webp = upload("b.webp", buffer.getvalue(), "image/webp")
    # When they are attached
    case, _created = case_submit(
        actor=personas["grid_worker"], data=case_input(tree.grids[0]), attachments=[wide, webp]
    )
    # Then the PNG is scaled down to 2560 px wide, the WebP kept as it is
    first, second = CaseAttachment.objects.filter(case=case)
    assert Image.open(first.file.path).size == (2560, 853) and first.content_type == "image/png"
    assert Image.open(second.file.path).format == "WEBP" and second.content_type == "image/webp"
    assert first.thumbnail and second.thumbnail


def test_a_renamed_program_a_damaged_photo_and_a_pixel_bomb_are_refused_in_chinese(tree, personas, _media):
    # A program renamed .jpg
    assert "不是照片" in refusal([upload("现场.jpg", EXE)])
    # The first bytes of a JPEG followed by nothing a decoder can read
    assert "已损坏" in refusal([upload("坏.jpg", b"\xff\xd8\xff\xe0" + b"\x13" * 300)])
    # A tiny PNG that claims 9000 × 8000 pixels (72 million) — a decompression bomb
    bomb = png((9000, 8000), mode="1")
    assert len(bomb) < 200_000
    assert "像素过多" in refusal([upload("炸弹.png", bomb, "image/png")])
    # And nothing is written when a case comes with one of them
    with pytest.raises(ValidationError):
        case_submit(
            actor=personas["grid_worker"],
            data=case_input(tree.grids[0]),
            attachments=[upload("ok.jpg", jpeg_with_gps()), upload("virus.jpg", EXE)],
        )
    assert not Case.objects.exists() and not CaseAttachment.objects.exists() and not stored_files(_media)


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(settings):
    # Given a limit of 1 MB and a "photo" of 2 MB whose content could not be read anyway
    settings.CASE_ATTACHMENT_MAX_BYTES = 1024 * 1024
    big = upload("大.jpg", b"\xff\xd8\xff" + b"\x00" * (2 * 1024 * 1024))
    # Then it is refused for its size (not for its content)
    assert "超过1 MB" in refusal([big])
    assert big.file.tell() == 0


def test_pdfs_are_kept_as_documents_and_too_many_files_are_refused(tree, personas):
    document = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
    pdf = upload("通知.pdf", document, "application/pdf")
    case = submit_case(personas["grid_worker"], tree.grids[0])
    case_accept(actor=personas["grid_worker"], case=case)
    case_report_back(actor=personas["grid_worker"], case=case, result="已处理", attachments=[pdf])
    attachment = CaseAttachment.objects.get(case=case)
    assert attachment.content_type == "application/pdf" and not attachment.thumbnail
    assert Path(attachment.file.path).read_bytes().startswith(b"%PDF-")
    photos = [upload(f"{n}.jpg", jpeg_with_gps((40, 30))) for n in range(ATTACHMENTS_PER_STEP + 1)]
    assert "最多上传9个附件" in refusal(photos)


# --- Through the pages ------------------------------------------------------------


def new_case_form(grid, **overrides) -> dict:
    values = {
        "source": CaseSource.GRID_WORKER,
        "kind": "patrol_finding",
        "category": Category.objects.get(code="0101").pk,
        "urgency": "normal",
        "title": "围挡螺丝松动",
        "description": "工地围挡螺丝松动，有倒塌风险",
        "grid": grid.pk,
        "address": "幸福路12号",
        "idempotency_key": "photo-key-1",
    }
    values.update(overrides)
    return values


def test_a_30_mb_upload_and_a_renamed_exe_are_refused_on_the_new_case_page(client, tree, personas, _media):
    client.force_login(personas["grid_worker"])
    # When a 30 MB "photo" is sent with the form
    huge = upload("大照片.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * (30 * 1024 * 1024))
    response = client.post("/cases/new/", {**new_case_form(tree.grids[0]), "photos": [huge]})
    # Then the form comes back with a clear Chinese message and nothing is stored
    page = response.content.decode()
    assert response.status_code == 422 and "附件“大照片.jpg”超过10 MB，未上传" in page
    # When a program renamed .jpg is sent
    response = client.post("/cases/new/", {**new_case_form(tree.grids[0]), "photos": [upload("现场.jpg", EXE)]})
    page = response.content.decode()
    assert response.status_code == 422 and "附件“现场.jpg”不是照片（JPEG/PNG/WebP）或PDF文件，未上传" in page
    assert not Case.objects.exists() and not CaseAttachment.objects.exists() and not stored_files(_media)


def test_the_page_stores_a_clean_photo_and_serves_its_thumbnail_to_those_in_scope(client, tree, personas):
    # Given a grid worker registering a case with a GPS-tagged photo on the new case page
    client.force_login(personas["grid_worker"])
    photo = upload("现场.jpg", jpeg_with_gps((1200, 900), orientation=1))
    client.post("/cases/new/", {**new_case_form(tree.grids[0]), "photos": [photo]})
    case = Case.objects.get()
    attachment = CaseAttachment.objects.get(case=case)
    base = f"/cases/{case.pk}/attachments/{attachment.pk}/"
    # When the full photo and its thumbnail are fetched
    full = client.get(base)
    thumb = client.get(base + "?size=thumb")
    # Then both are JPEGs without EXIF, the thumbnail 480 px wide
    full_data, thumb_data = b"".join(full.streaming_content), b"".join(thumb.streaming_content)
    assert full["Content-Type"] == thumb["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(full_data)).size == (1200, 900) and b"Exif" not in full_data
    assert Image.open(io.BytesIO(thumb_data)).size == (480, 360)
    # And the outsider from another town gets 404 for both
    client.force_login(personas["outsider"])
    assert client.get(base).status_code == 404 and client.get(base + "?size=thumb").status_code == 404


def test_a_document_has_no_thumbnail(client, tree, personas):
    case = submit_case(personas["grid_worker"], tree.grids[0])
    case_accept(actor=personas["grid_worker"], case=case)
    pdf = upload("通知.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")
    case_report_back(actor=personas["grid_worker"], case=case, result="已处理", attachments=[pdf])
    attachment = CaseAttachment.objects.get(case=case)
    client.force_login(personas["grid_worker"])
    url = f"/cases/{case.pk}/attachments/{attachment.pk}/"
    assert client.get(url)["Content-Type"] == "application/octet-stream"
    assert client.get(url + "?size=thumb").status_code == 404


def test_the_upload_handler_stops_keeping_a_file_once_it_passes_the_limit(settings):
    # Given a limit of 1 MB and a form carrying a 3 MB file and a small photo
    settings.CASE_ATTACHMENT_MAX_BYTES = 1024 * 1024
    too_big = upload("大.jpg", b"\xff\xd8\xff" + b"\x01" * (3 * 1024 * 1024))
    body = encode_multipart(BOUNDARY, {"photos": [too_big, upload("小.jpg", jpeg_with_gps())]})
    meta = {"CONTENT_TYPE": MULTIPART_CONTENT, "CONTENT_LENGTH": str(len(body))}
    handlers = [AttachmentSizeLimitHandler(), MemoryFileUploadHandler(), TemporaryFileUploadHandler()]
    # When it is parsed with the size handler first
    _post, files = MultiPartParser(meta, io.BytesIO(body), handlers).parse()
    big, small = files.getlist("photos")
    # Then the big file is a stand-in that kept its name and size but none of its bytes
    assert big.oversize and big.size > 3 * 1024 * 1024 and big.read() == b""
    assert "超过1 MB" in refusal([big])
    # And the small photo arrives whole
    assert small.read() == jpeg_with_gps() and not getattr(small, "oversize", False)


def test_the_new_case_page_still_checks_the_csrf_token(tree, personas):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas["grid_worker"])
    response = client.post("/cases/new/", new_case_form(tree.grids[0]))
    assert response.status_code == 403 and not Case.objects.exists()
