"""Identifier normalisation: what registries and duplicate checks match on."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from crm.identifiers import (
    normalise_civil_id,
    normalise_nif,
    normalise_phone,
    normalise_social_security_number,
)


@pytest.mark.parametrize("raw", ["123456789", "123 456 789", "123.456.789", " 123-456-789 "])
def test_nif_separators_are_removed(raw):
    assert normalise_nif(raw) == "123456789"


@pytest.mark.parametrize("raw", ["12345678", "1234567890", "12AB", "12345678X"])
def test_a_nif_that_is_not_nine_digits_is_refused(raw):
    with pytest.raises(ValidationError) as error:
        normalise_nif(raw)
    assert error.value.messages == ["A NIF has exactly 9 digits."]


def test_an_empty_identifier_means_unknown():
    assert (
        normalise_nif(""),
        normalise_social_security_number(""),
        normalise_civil_id(""),
        normalise_phone(""),
    ) == ("", "", "", "")


def test_social_security_number_keeps_digits_only():
    assert normalise_social_security_number("70-1234") == "701234"


def test_civil_id_is_upper_case_without_separators():
    assert normalise_civil_id("cv 123.456") == "CV123456"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("991 23 45", "+2389912345"),
        ("+238 991 23 45", "+2389912345"),
        ("00238 9912345", "+2389912345"),
        ("+351 912 345 678", "+351912345678"),
    ],
)
def test_phones_are_stored_in_international_form(raw, expected):
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize("raw", ["12345", "call me", "991-23-45 ext 2"])
def test_a_malformed_phone_is_refused(raw):
    with pytest.raises(ValidationError):
        normalise_phone(raw)


@given(
    st.text(alphabet="0123456789", min_size=9, max_size=9),
    st.lists(st.sampled_from([" ", ".", "-"]), max_size=4),
)
def test_nif_normalisation_is_idempotent_and_ignores_separators(digits, separators):
    # given: the same digits with separators sprinkled in
    raw = digits
    for position, separator in enumerate(separators, start=1):
        cut = min(position * 2, len(raw))
        raw = raw[:cut] + separator + raw[cut:]
    # when
    once = normalise_nif(raw)
    # then
    assert once == digits
    assert normalise_nif(once) == once
