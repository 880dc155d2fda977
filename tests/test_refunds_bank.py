"""Norwegian account numbers: normalising input and the MOD11 check digit."""

from __future__ import annotations

import pytest

from refunds.bank import (
    check_digit,
    format_account,
    is_valid_account,
    normalise_account,
    validate_account,
)
from refunds.errors import InvalidAccountNumber

# 8601111794 → 8·5 + 6·4 + 0·3 + 1·2 + 1·7 + 1·6 + 1·5 + 7·4 + 9·3 + 4·2 = 147;
# 147 mod 11 = 4; 11 − 4 = 7.
VALID = "86011117947"
# 1234567890 → 5 + 8 + 9 + 8 + 35 + 36 + 35 + 32 + 27 + 0 = 195; 195 mod 11 = 8; 11 − 8 = 3.
VALID_2 = "12345678903"
# 0000000000 → sum 0; 11 − 0 = 11, which becomes 0.
VALID_CHECK_11 = "00000000000"
# 8601111798 → 147 − 4·2 + 8·2 = 155; 155 mod 11 = 1; 11 − 1 = 10: no valid check digit.
CHECK_10_PREFIX = "8601111798"


@pytest.mark.parametrize("text", [
    "86011117947", "8601 11 17947", "8601.11.17947", "  8601 11 17947 ", "8601\u00a011\u00a017947",
    "8 6 0 1 1 1 1 7 9 4 7", "8601.11 17947",
])
def test_valid_numbers_with_spaces_and_dots_are_accepted_and_normalised(text):
    assert validate_account(text) == VALID
    assert is_valid_account(text)


@pytest.mark.parametrize("number", [VALID_2, VALID_CHECK_11, "1234 56 78903"])
def test_other_hand_computed_numbers_are_valid(number):
    assert is_valid_account(number)


def test_check_digit_of_the_example():
    assert check_digit(VALID[:10]) == 7
    assert check_digit(VALID_2[:10]) == 3
    assert check_digit("0000000000") == 0


@pytest.mark.parametrize("position", range(11))
def test_every_single_digit_change_is_refused(position):
    for digit in "0123456789":
        if digit == VALID[position]:
            continue
        changed = VALID[:position] + digit + VALID[position + 1:]
        with pytest.raises(InvalidAccountNumber) as exc:
            validate_account(changed)
        assert exc.value.code == "checksum", changed


def test_a_number_whose_check_value_is_10_is_refused_whatever_its_last_digit():
    assert check_digit(CHECK_10_PREFIX) is None
    for last in "0123456789":
        assert not is_valid_account(CHECK_10_PREFIX + last)


@pytest.mark.parametrize("text", [
    "", "8601 11 1794", "860111179471", "8601-11-17947", "8601/11/17947", "86O1 11 17947",
    "٨٦٠١١١١٧٩٤٧", "8601\n11 17947", "8601\t11 17947", "+8601111794", "8601111794 7x",
])
def test_anything_but_eleven_digits_is_refused_as_format(text):
    with pytest.raises(InvalidAccountNumber) as exc:
        normalise_account(text)
    assert exc.value.code == "format"
    assert not is_valid_account(text)


def test_format_groups_the_digits():
    assert format_account(VALID) == "8601 11 17947"
