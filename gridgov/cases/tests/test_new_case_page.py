"""The new-case page on a phone: camera photos with previews, the map pin from the current position."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from gridgov.cases.choices import CaseSource
from gridgov.cases.models import Case, CaseAttachment, Category

pytestmark = pytest.mark.django_db

GPS_IFD = 0x8825
PHONE = "13912345678"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def camera_photo(name: str = "IMG_0001.jpg") -> SimpleUploadedFile:
    """What a phone camera sends: a JPEG with the place it was taken in its EXIF."""
    exif = Image.Exif()
    exif[GPS_IFD] = {1: "N", 2: (36.0, 11.0, 58.0), 3: "E", 4: (119.0, 54.0, 3.0)}
    buffer = io.BytesIO()
    Image.new("RGB", (1600, 1200), (90, 140, 60)).save(buffer, "JPEG", exif=exif)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def form(grid_area, **overrides) -> dict:
    values = {
        "source": CaseSource.GRID_WORKER,
        "kind": "patrol_finding",
        "category": Category.objects.get(code="0101").pk,
        "urgency": "normal",
        "title": "垃圾桶满溢",
        "description": "3号楼垃圾桶满溢，周边有散落垃圾",
        "grid": grid_area.pk,
        "address": "3号楼东侧",
        "idempotency_key": "phone-key-1",
    }
    values.update(overrides)
    return values


def test_the_page_offers_the_camera_previews_and_the_current_position(client, personas):
    client.force_login(personas["grid_worker"])
    page = client.get("/cases/new/").content.decode()
    # The photo input opens the back camera, takes several photos, and is previewed by a static script
    photo_input = re.search(r'<input type="file" name="photos"[^>]*>', page)
    assert photo_input is not None
    attributes = ('accept="image/*"', 'capture="environment"', "multiple", "data-photo-input", "data-max-bytes")
    assert all(attribute in photo_input.group(0) for attribute in attributes)
    assert 'data-max-bytes="10485760"' in photo_input.group(0)
    assert "js/photo-preview.js" in page and "<script>" not in page
    # The map pins the current position by itself, and says so in Chinese
    assert 'data-autolocate="1"' in page and "vendor/leaflet/leaflet.js" in page and "js/case-map.js" in page
    assert "正在获取当前位置" in page and "每张不超过 10 MB" in page
    # One big submit button at the thumb
    assert 'class="submit-bar"' in page


def test_a_camera_photo_sent_from_the_page_is_stored_without_its_position(client, tree, personas):
    # Given a grid worker on the new case page with a pin from the phone's position and two photos
    client.force_login(personas["grid_worker"])
    response = client.post(
        "/cases/new/",
        {
            **form(tree.grids[0], grid="", longitude="119.905", latitude="36.195"),
            "photos": [camera_photo(), camera_photo("IMG_0002.jpg")],
        },
    )
    # Then the case is registered in the grid under the pin, with both photos
    case = Case.objects.get()
    assert response.status_code == 302 and response.url == f"/cases/{case.pk}/"
    assert case.grid == tree.grids[0] and (case.longitude, case.latitude) == (119.905, 36.195)
    attachments = list(CaseAttachment.objects.filter(case=case))
    assert [a.original_name for a in attachments] == ["IMG_0001.jpg", "IMG_0002.jpg"]
    # And no stored file carries EXIF or the GPS position
    for attachment in attachments:
        stored = Image.open(attachment.file.path)
        assert not stored.getexif() and not stored.getexif().get_ifd(GPS_IFD) and "exif" not in stored.info


def test_a_refused_photo_keeps_the_words_asks_for_the_photos_again_and_never_echoes_the_phone(
    client, tree, personas, _media
):
    client.force_login(personas["grid_worker"])
    fake = SimpleUploadedFile("现场.jpg", b"GIF89a not a photo we take", content_type="image/jpeg")
    response = client.post("/cases/new/", {**form(tree.grids[0]), "reporter_phone": PHONE, "photos": [fake]})
    page = response.content.decode()
    assert response.status_code == 422 and "不是照片" in page and "请修改上面的内容后重新选择照片" in page
    assert "3号楼垃圾桶满溢" in page and PHONE not in page
    assert not Case.objects.exists() and not _media.exists()


def test_a_link_from_a_patrol_finding_prefills_the_place_and_the_words(client, tree, personas):
    client.force_login(personas["grid_worker"])
    category = Category.objects.get(code="0607")
    page = client.get(
        "/cases/new/",
        {"title": "消防通道被占", "category": category.pk, "longitude": "119.905", "latitude": "36.195"},
    ).content.decode()
    assert 'value="消防通道被占"' in page and f'<option value="{category.pk}" selected>' in page
    assert 'name="longitude" value="119.905"' in page and 'name="latitude" value="36.195"' in page


def test_the_phone_shell_links_the_app_manifest_and_keeps_every_menu_entry(client, personas):
    # Given the web app manifest served with the static files
    manifest_path = finders.find("pwa/manifest.webmanifest")
    assert manifest_path is not None
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    # Then it opens today's page full screen, under the name 网融, with 192 and 512 px icons
    assert (manifest["name"], manifest["start_url"], manifest["display"]) == ("网融", "/today/", "standalone")
    sizes = set()
    for icon in manifest["icons"]:
        found = finders.find(f"pwa/{icon['src']}")
        assert found is not None
        with Image.open(found) as image:
            assert image.format == "PNG" and f"{image.width}x{image.height}" == icon["sizes"]
            sizes.add(image.width)
    assert sizes == {192, 512}
    # And every page links it, with the theme colour, a folding menu and all the old menu entries
    client.force_login(personas["grid_worker"])
    page = client.get("/cases/").content.decode()
    assert 'rel="manifest"' in page and "pwa/manifest.webmanifest" in page
    assert f'<meta name="theme-color" content="{manifest["theme_color"]}">' in page
    assert 'id="nav-toggle"' in page and 'for="nav-toggle"' in page
    for link in ("/today/", "/areas/", "/registry/", "/cases/", "/inbox/", "/accounts/logout/"):
        assert f'"{link}' in page
