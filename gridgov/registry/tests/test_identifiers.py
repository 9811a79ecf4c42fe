"""GB 11643 resident ID numbers, mainland mobile numbers and their masks."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from gridgov.registry.identifiers import (
    id_check_character,
    id_number_mask,
    id_number_parse,
    phone_mask,
    phone_normalise,
)


def with_check(first17: str) -> str:
    """A complete ID number whose only possible fault is what `first17` holds."""
    return first17 + id_check_character(first17)


def test_standard_example_is_valid_female_born_1949_12_31() -> None:
    # Given the example printed in GB 11643
    # When it is parsed
    parsed = id_number_parse("11010519491231002X")
    # Then every fact it encodes comes out
    assert parsed.value == "11010519491231002X"
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.gender == "female"
    assert parsed.area_code == "110105"


def test_odd_sequence_digit_means_male() -> None:
    assert id_number_parse(with_check("37028119800101001")).gender == "male"


def test_lowercase_x_and_surrounding_spaces_are_accepted() -> None:
    assert id_number_parse("  11010519491231002x ").value == "11010519491231002X"


def test_full_width_digits_typed_by_an_input_method_become_ascii() -> None:
    # Given the example typed with a Chinese input method in full-width mode
    # When it is parsed
    parsed = id_number_parse("１１０１０５１９４９１２３１００２Ｘ")
    # Then it is stored in the one canonical ASCII form (one blind index per person)
    assert parsed.value == "11010519491231002X"


@pytest.mark.parametrize(
    "raw",
    [
        "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X",  # Arabic-Indic digits: str.isdigit() is True for them
        "1101051949123100٢X",
        "11010519491231002Y",
        "1101051949123100-X",
    ],
)
def test_non_ascii_or_non_digit_characters_are_refused(raw: str) -> None:
    with pytest.raises(ValidationError) as caught:
        id_number_parse(raw)
    assert "身份证号" in caught.value.messages[0]


def test_wrong_check_digit_is_refused_with_the_expected_one() -> None:
    with pytest.raises(ValidationError, match="校验位错误：最后一位应为“X”"):
        id_number_parse("110105194912310021")


@pytest.mark.parametrize("birth", ["19490230", "19491301", "19490000", "20230229"])
def test_impossible_birth_date_is_refused(birth: str) -> None:
    with pytest.raises(ValidationError, match=f"出生日期“{birth}”不存在"):
        id_number_parse(with_check(f"110105{birth}002"))


def test_future_birth_date_is_refused() -> None:
    tomorrow = (date.today() + timedelta(days=1)).strftime("%Y%m%d")  # noqa: DTZ011 (as the parser does)
    with pytest.raises(ValidationError, match=f"出生日期“{tomorrow}”不合理"):
        id_number_parse(with_check(f"110105{tomorrow}002"))


def test_birth_before_1900_is_refused() -> None:
    with pytest.raises(ValidationError, match="不合理"):
        id_number_parse(with_check("11010518991231002"))


@pytest.mark.parametrize("area", ["990105", "000000", "190105"])
def test_unknown_province_is_refused(area: str) -> None:
    with pytest.raises(ValidationError, match=f"地址码“{area}”不是有效的省级代码"):
        id_number_parse(with_check(f"{area}19491231002"))


def test_legacy_15_digit_number_is_upgraded_with_its_check_digit() -> None:
    # Given the pre-1999 form of the standard example (2-digit year, no check digit)
    # When it is parsed
    parsed = id_number_parse("110105491231002")
    # Then it becomes the 18-digit number with "19" inserted and the MOD 11-2 check digit
    assert parsed.value == "11010519491231002X"
    assert parsed.birth_date == date(1949, 12, 31)


def test_legacy_15_digit_number_with_a_letter_is_refused() -> None:
    with pytest.raises(ValidationError, match="15位身份证号必须全部为数字"):
        id_number_parse("11010549123100X")


@pytest.mark.parametrize("raw", ["", "1101051949123100", "11010519491231002X1"])
def test_wrong_length_is_refused_with_the_length(raw: str) -> None:
    with pytest.raises(ValidationError, match=f"收到{len(raw)}位"):
        id_number_parse(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        "+86 138 1234 5678",
        "+86-138-1234-5678",
        "8613812345678",
        "008613812345678",
        "(+86) 13812345678",
        "１３８１２３４５６７８",  # full-width, from an input method
    ],
)
def test_mobile_number_forms_normalise_to_11_digits(raw: str) -> None:
    assert phone_normalise(raw) == "13812345678"


@pytest.mark.parametrize(
    "raw",
    [
        "138123456789",  # 12 digits
        "1381234567",  # 10 digits
        "010-12345678",  # Beijing landline
        "0532-88886666",  # Qingdao landline
        "12812345678",  # no such mobile prefix
        "13８１２３４５６７٨",  # ends in an Arabic-Indic digit
        "138 1234 567a",
    ],
)
def test_other_numbers_are_refused_in_chinese(raw: str) -> None:
    with pytest.raises(ValidationError, match="格式不正确，应为1开头的11位数字"):
        phone_normalise(raw)


def test_masks_keep_only_what_a_screen_may_show() -> None:
    assert id_number_mask("370281199001011234") == "3702**********1234"
    assert phone_mask("13812345678") == "138****5678"


def test_masks_of_short_values_hide_everything() -> None:
    assert id_number_mask("1234567") == "*******"
    assert phone_mask("123456") == "******"
