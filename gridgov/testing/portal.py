"""Test helpers for the residents' portal: read a login code from the SMS outbox, make a resident."""

from __future__ import annotations

import re
from typing import Any

from gridgov.accounts.models import User
from gridgov.areas.models import Compound
from gridgov.notices.choices import Channel, NoticeKind
from gridgov.notices.models import Notice
from gridgov.portal.models import ResidentPhone
from gridgov.portal.services import (
    login_code_check,
    login_code_request,
    phone_index_of,
)
from gridgov.registry.identifiers import phone_normalise

_CODE = re.compile(r"(?<![0-9])([0-9]{6})(?![0-9])")


def identity_of(phone: str) -> ResidentPhone:
    return ResidentPhone.objects.select_related("user").get(phone_index=phone_index_of(phone_normalise(phone)))


def last_sms_code(phone: str) -> str:
    """The code in the newest login SMS queued for `phone` (what the log backend would print)."""
    identity = identity_of(phone)
    notice = (
        Notice.objects.filter(recipient_id=identity.user_id, channel=Channel.SMS, kind=NoticeKind.LOGIN_CODE)
        .order_by("-id")
        .first()
    )
    if notice is None:
        raise AssertionError("no login SMS queued for this phone")
    match = _CODE.search(notice.title)
    if match is None:
        raise AssertionError("the login SMS carries no 6-digit code")
    return match.group(1)


def make_resident(phone: str, *, compound: Compound | None = None, client_ip: str = "10.0.0.1", **kwargs: Any) -> User:
    """A signed-up resident (code requested and entered through the services)."""
    sent = login_code_request(phone=phone, client_ip=client_ip, **kwargs)
    return login_code_check(identity=sent.identity, code=last_sms_code(phone), compound=compound, **kwargs)
