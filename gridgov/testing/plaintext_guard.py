"""A suite-wide check: no page or API answer carries a plaintext resident ID
number or mobile phone, except the audited reveal.

Every response of Django's test client passes through `assert_no_plaintext`
(wired as an autouse fixture in conftest.py), so a new page that forgets to
mask fails whichever test happens to render it.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.http import HttpResponseBase

# 18 characters, a digit-only start and an optional X check character, not
# part of a longer run (grid and micro-grid codes are 15 and 18 digits, but
# their "birth date" digits never parse, so id_number_parse rejects them).
_ID_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])[1-9][0-9]{16}[0-9Xx](?![0-9A-Za-z])")
_PHONE_CANDIDATE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
_TEXT_TYPES = ("text/", "application/json", "application/geo+json", "application/javascript")
# The one place plaintext may be shown, after a purpose was given and logged.
_ALLOWED_PATHS = re.compile(r"^/registry/residents/\d+/reveal/$")


class PlaintextLeak(AssertionError):
    pass


def assert_no_plaintext(path: str, response: HttpResponseBase) -> None:
    from gridgov.registry.identifiers import id_number_parse

    if _ALLOWED_PATHS.match(path) or getattr(response, "streaming", False):
        return
    content_type = response.get("Content-Type", "")
    if not content_type.startswith(_TEXT_TYPES):
        return
    body = response.content.decode("utf-8", errors="replace")  # type: ignore[attr-defined]
    for candidate in _ID_CANDIDATE.findall(body):
        try:
            id_number_parse(candidate)
        except ValidationError:
            continue
        raise PlaintextLeak(f"plaintext ID number {candidate[:4]}… in the response to {path}")
    phone = _PHONE_CANDIDATE.search(body)
    if phone:
        raise PlaintextLeak(f"plaintext mobile number {phone.group()[:3]}… in the response to {path}")
