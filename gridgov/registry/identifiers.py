"""Resident ID numbers (GB 11643) and mainland mobile phone numbers: checks,
derived facts and masking. Every failure raises ValidationError in Chinese."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# ISO 7064 MOD 11-2 weights and check characters for positions 1–17.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARACTERS = "10X98765432"
# First two digits of GB/T 2260 province-level codes.
_PROVINCES = frozenset(
    {
        "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
        "65", "71", "81", "82", "83", "91",
    }
)  # fmt: skip
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
# ASCII only: str.isdigit() and `\d` also accept fullwidth and other scripts' digits, which would
# give the same number a second blind index (and slip past the duplicate check).
_ID_BODY = re.compile(r"[0-9]{17}[0-9X]")
_LEGACY_ID = re.compile(r"[0-9]{15}")


def _ascii_form(raw: str) -> str:
    """NFKC folds what Chinese input methods type in full width (１２３Ｘ) to ASCII."""
    return unicodedata.normalize("NFKC", raw).strip()


@dataclass(frozen=True)
class IdNumber:
    """A checked 18-character resident ID with the facts it encodes."""

    value: str
    birth_date: date
    gender: str  # "male" / "female", from the parity of the sequence digit
    area_code: str


def id_check_character(first17: str) -> str:
    """The MOD 11-2 check character for the first 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARACTERS[total % 11]


def _birth_date(text: str) -> date:
    try:
        born = date(int(text[0:4]), int(text[4:6]), int(text[6:8]))
    except ValueError as error:
        raise ValidationError(_("身份证号中的出生日期“%(date)s”不存在。") % {"date": text}) from error
    if born.year < 1900 or born > date.today():  # noqa: DTZ011 (a calendar date, no time zone involved)
        raise ValidationError(_("身份证号中的出生日期“%(date)s”不合理。") % {"date": text})
    return born


def id_number_parse(raw: str) -> IdNumber:
    """Check an ID number (18 digits, or a legacy 15-digit one, upgraded) and return its facts."""
    value = _ascii_form(raw).upper().replace(" ", "")
    if len(value) == 15:
        if not _LEGACY_ID.fullmatch(value):
            raise ValidationError(_("15位身份证号必须全部为数字。"))
        # Legacy IDs (before 1999) have a 2-digit year of the 1900s and no check digit.
        value = value[:6] + "19" + value[6:]
        value += id_check_character(value)
    if len(value) != 18:
        raise ValidationError(_("身份证号应为18位（或15位旧号码），收到%(n)d位。") % {"n": len(value)})
    if not _ID_BODY.fullmatch(value):
        raise ValidationError(_("身份证号前17位必须为数字，最后一位为数字或X。"))
    if value[:2] not in _PROVINCES:
        raise ValidationError(_("身份证号的地址码“%(code)s”不是有效的省级代码。") % {"code": value[:6]})
    born = _birth_date(value[6:14])
    expected = id_check_character(value[:17])
    if value[17] != expected:
        raise ValidationError(_("身份证号校验位错误：最后一位应为“%(expected)s”。") % {"expected": expected})
    gender = "male" if int(value[16]) % 2 == 1 else "female"
    return IdNumber(value=value, birth_date=born, gender=gender, area_code=value[:6])


def phone_normalise(raw: str) -> str:
    """A mainland mobile number as 11 digits (a +86/86 prefix, spaces and dashes are dropped)."""
    value = re.sub(r"[\s\-()]", "", _ascii_form(raw))
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("0086"):
        value = value[4:]
    elif value.startswith("86") and len(value) == 13:
        value = value[2:]
    if not _MOBILE.fullmatch(value):
        raise ValidationError(_("手机号“%(phone)s”格式不正确，应为1开头的11位数字。") % {"phone": raw.strip()})
    return value


def id_number_mask(value: str) -> str:
    """`3702**********1234`: province and city kept for context, birth date and sequence hidden."""
    if len(value) < 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def phone_mask(value: str) -> str:
    """`138****5678`."""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]
