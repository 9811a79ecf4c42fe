from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_missing_page_is_explained_in_chinese(client: Client) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "页面不存在或无权查看" in response.content.decode()


def test_csrf_failure_is_explained_in_chinese() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert "页面已过期" in response.content.decode()


def test_api_docs_use_local_assets_only(client: Client) -> None:
    body = client.get("/api/v1/docs").content.decode()
    assert "cdn.jsdelivr.net" not in body
    assert "/static/ninja/" in body
