"""The residents' plain-word problem picker, mapped to the seeded case categories."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from gridgov.cases.choices import CaseKind


@dataclass(frozen=True)
class PlainCategory:
    """One button of the picker: what a resident would say, and the category code staff work with."""

    key: str
    label: Promise
    category_code: str
    kind: str


PLAIN_CATEGORIES: tuple[PlainCategory, ...] = (
    PlainCategory("corridor", _("楼道堆物/消防通道被堵"), "0607", CaseKind.COMPLAINT),
    PlainCategory("noise", _("噪音扰民"), "0602", CaseKind.COMPLAINT),
    PlainCategory("gas", _("燃气隐患"), "0608", CaseKind.HELP),
    PlainCategory("dogs", _("养犬问题"), "0603", CaseKind.COMPLAINT),
    PlainCategory("parking", _("停车问题"), "0605", CaseKind.COMPLAINT),
    PlainCategory("garbage", _("垃圾没人清"), "0101", CaseKind.COMPLAINT),
    PlainCategory("facility", _("路灯/设施坏了"), "0604", CaseKind.HELP),
    PlainCategory("other", _("其他"), "9901", CaseKind.HELP),
)
PLAIN_CATEGORY_BY_KEY: dict[str, PlainCategory] = {item.key: item for item in PLAIN_CATEGORIES}


class LocationMode:
    """Where the problem is: the resident's compound, or a point on the map."""

    COMPOUND = "compound"
    PIN = "pin"
