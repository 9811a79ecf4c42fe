from __future__ import annotations

import pytest
from django.http import HttpResponse, JsonResponse
from django.test import Client

from gridgov.testing.plaintext_guard import PlaintextLeak, assert_no_plaintext

VALID_ID = "11010519491231002X"


def test_a_page_with_a_plaintext_id_number_fails() -> None:
    with pytest.raises(PlaintextLeak, match="1101…"):
        assert_no_plaintext("/registry/", HttpResponse(f"<td>{VALID_ID}</td>"))


def test_an_api_answer_with_a_plaintext_phone_fails() -> None:
    with pytest.raises(PlaintextLeak, match="138…"):
        assert_no_plaintext("/api/v1/residents", JsonResponse({"phone": "13812345678"}))


def test_masked_values_codes_and_the_audited_reveal_pass() -> None:
    # masked values, an 18-digit micro-grid code and a 15-digit grid code are not personal data
    assert_no_plaintext("/registry/", HttpResponse("1101**********002X 138****5678 370281002003001001 370281002003001"))
    # the reveal endpoint is the one place plaintext is shown (and logged)
    assert_no_plaintext("/registry/residents/7/reveal/", HttpResponse(VALID_ID))
    # binary downloads are not scanned (xlsx is compressed anyway)
    assert_no_plaintext("/registry/excel/export/", HttpResponse(VALID_ID, content_type="application/octet-stream"))


def test_the_guard_wraps_every_test_client_request() -> None:
    assert Client.request.__name__ == "guarded"
