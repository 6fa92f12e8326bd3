"""Recognisers: each validates its identifier; an invalid checksum is not a match."""

from __future__ import annotations

import re
import string
import sys
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st
from schwifty import IBAN
from stdnum import luhn

from compliance_sse.analyzers import recognizers
from compliance_sse.analyzers.recognizers import (
    MASK_CHAR,
    find_identifiers,
    fold_case,
    is_valid_card,
    is_valid_nric,
    mask,
    quote_on_page,
)
from eval.generate import DEFAULT_SEED, generate


def kinds(text: str) -> list[str]:
    return [m.kind for m in find_identifiers(text)]


def values(text: str, kind: str) -> list[str]:
    return [m.value for m in find_identifiers(text) if m.kind == kind]


# --- IBAN ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "iban",
    [
        "DE89 3704 0044 0532 0130 00",
        "GB29NWBK60161331926819",
        "NL91 ABNA 0417 1643 00",
        "FR14 2004 1010 0505 0001 3M02 606",
    ],
)
def test_valid_iban_is_found(iban: str) -> None:
    assert values(f"Please pay to IBAN {iban} by Friday.", "iban") == [iban.replace(" ", "")]


@pytest.mark.parametrize(
    "iban", ["DE88 3704 0044 0532 0130 00", "GB28NWBK60161331926819", "XX89 3704 0044 0532 0130 00"]
)
def test_iban_with_wrong_check_digits_is_not_found(iban: str) -> None:
    assert "iban" not in kinds(f"Reference {iban} on the statement.")


def test_iban_followed_by_capitalised_word_is_trimmed() -> None:
    [m] = [m for m in find_identifiers("IBAN DE89 3704 0044 0532 0130 00 BANK XYZ") if m.kind == "iban"]
    assert m.value == "DE89370400440532013000"
    assert m.sensitive


# --- payment cards ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "card",
    ["4111 1111 1111 1111", "4111111111111111", "5500-0000-0000-0004", "3782 822463 10005", "6011 0009 9013 9424"],
)
def test_valid_card_is_found(card: str) -> None:
    assert kinds(f"Card {card} exp 08/29") == ["card"]


@pytest.mark.parametrize(
    "text",
    [
        "Card 4111 1111 1111 1112 exp 08/29",  # Luhn fails
        "Order 1234 5678 9012 3452 shipped",  # Luhn passes but no issuer starts with 1
        "Tracking 4111-111-111-111-11 issued",  # card-like digits in a grouping no card uses
        "Account 12345678901234567890 closed",  # longer than any card
    ],
)
def test_card_lookalikes_are_not_found(text: str) -> None:
    assert "card" not in kinds(text)


@settings(deadline=None)  # under load an example may take long: speed is not what this tests
@given(st.text(alphabet="0123456789", min_size=15, max_size=15).map(lambda s: "4" + s[1:]))
def test_any_luhn_valid_visa_is_a_card(body: str) -> None:
    number = body + luhn.calc_check_digit(body)
    note(number)
    assert is_valid_card(number)
    assert kinds(f"card {number} today") == ["card"]


@settings(deadline=None)  # under load an example may take long: speed is not what this tests
@given(st.text(alphabet="0123456789", min_size=16, max_size=16))
@example("4111111111111112")
def test_luhn_invalid_numbers_are_never_cards(number: str) -> None:
    if luhn.is_valid(number):
        return
    assert not is_valid_card(number)
    assert "card" not in kinds(f"card {number} today")


# --- SWIFT / BIC -----------------------------------------------------------------------------------------------


def test_bic_needs_its_label_and_a_real_country() -> None:
    assert values("SWIFT/BIC: DEUTDEFF500", "bic") == ["DEUTDEFF500"]
    assert values("SWIFT code DEUTDEFF", "bic") == ["DEUTDEFF"]
    assert "bic" not in kinds("ABSOLUTE CERTAINTY IS REQUIRED")  # BIC-shaped word, no label
    assert "bic" not in kinds("SWIFT: DEUTQQFF")  # QQ is no country


# --- Singapore NRIC / FIN --------------------------------------------------------------------------------------


@pytest.mark.parametrize("nric", ["S1234567D", "T0123456G", "F1234567N", "G1234567X", "M1234567K"])
def test_valid_nric_and_fin(nric: str) -> None:
    assert is_valid_nric(nric)
    assert kinds(f"NRIC {nric} verified") == ["nric"]


@pytest.mark.parametrize("nric", ["S1234567A", "T0123456D", "F1234567X", "G1234567N", "M1234567X", "A1234567D"])
def test_nric_with_wrong_check_letter(nric: str) -> None:
    assert not is_valid_nric(nric)
    assert "nric" not in kinds(f"ref {nric} closed")


# --- passports, SSN, e-mail, phone, wallet, date of birth ------------------------------------------------------


def test_passport_needs_its_label() -> None:
    assert values("Passport No. E1234567K was presented.", "passport") == ["E1234567K"]
    assert values("passport number: 123456789", "passport") == ["123456789"]
    assert "passport" not in kinds("Order E1234567K was shipped.")
    assert "passport" not in kinds("Passport photo ABCDEFGH attached.")


def test_ssn_is_validated() -> None:
    assert values("SSN: 536-90-4399", "ssn") == ["536904399"]
    assert "ssn" not in kinds("SSN: 000-12-3456")  # area 000 is never issued
    assert "ssn" not in kinds("Part no. 536-90-4399")  # no label


def test_email_skips_role_mailboxes_and_accepts_unicode() -> None:
    assert values("Write to john.tan@example.com today.", "email") == ["john.tan@example.com"]
    assert values("Write to peter.müller@example.de today.", "email") == ["peter.müller@example.de"]
    assert "email" not in kinds("Write to compliance@example.com today.")


def test_phone_numbers_are_validated_by_libphonenumber() -> None:
    assert values("Call +65 6123 4567 now", "phone") == ["+6561234567"]
    assert values("Tel: 020 7946 0958", "phone") == ["+442079460958"]
    assert "phone" not in kinds("Call +65 9934 7277 now")  # unallocated Singapore range
    assert "phone" not in kinds("Reference code DE37 3704 0044 1242 6591 30")  # '0044 ...' inside another number


def test_bitcoin_address_is_checksummed() -> None:
    assert kinds("Send to 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2 today") == ["wallet"]
    assert kinds("Send to bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq today") == ["wallet"]
    assert "wallet" not in kinds("Send to 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3 today")


def test_date_of_birth_only_next_to_a_name() -> None:
    assert values("Name: Mary Lim. Date of birth: 5 March 1980.", "dob") == ["1980-03-05"]
    assert values("Mr Tan, born on 12/07/1975, is the director.", "dob") == ["1975-07-12"]
    assert "dob" not in kinds("Date of birth: 5 March 1980.")  # no name nearby
    assert "dob" not in kinds("Name: Mary Lim. Date of birth: 31 February 1980.")  # no such date


# --- masking ---------------------------------------------------------------------------------------------------


def test_mask_keeps_the_last_four_and_the_layout() -> None:
    assert mask("4111 1111 1111 1111") == "**** **** **** 1111"
    assert mask("DE89 3704 0044 0532 0130 00") == "**** **** **** **** **30 00"
    assert mask("S1234567D") == "*****567D"


@settings(deadline=None)  # under load an example may take long: speed is not what this tests
@given(st.text(alphabet="0123456789ABCDEF -", max_size=40))
def test_mask_properties(text: str) -> None:
    masked = mask(text)
    assert len(masked) == len(text)
    alnum = [c for c in text if c.isalnum()]
    assert [c for c in masked if c.isalnum()] == alnum[-4:]
    assert quote_on_page(masked, f"before {text} after")


def test_quote_on_page_with_masks() -> None:
    page = "Pay to  IBAN DE89 3704 0044 0532 0130 00\nby Friday."
    assert quote_on_page("Pay to IBAN **** **** **** **** **30 00 by Friday.", page)
    assert not quote_on_page("Pay to IBAN **** **** **** **** **30 01 by Friday.", page)
    assert quote_on_page("by Friday.", page)
    assert MASK_CHAR == "*"


def test_generated_ibans_validate() -> None:
    iban = IBAN.generate("DE", bank_code="37040044", account_code="0532013000")
    assert values(f"IBAN {iban.formatted}", "iban") == [iban.compact]


# --- cheap tests before each recogniser --------------------------------------------------------------------------

_PATTERNS = {
    "_iban": [recognizers._IBAN],
    "_cards": [recognizers._CARD],
    "_bics": [recognizers._BIC],
    "_nrics": [recognizers._NRIC],
    "_ssns": [recognizers._SSN],
    "_passports": [recognizers._PASSPORT],
    "_emails": [recognizers._EMAIL],
    "_phones": [recognizers._PHONE_INTL, recognizers._PHONE_LABELLED],
    "_bitcoin": [recognizers._BTC],
    "_dobs": [recognizers._DOB],
}
_CASES = [(hint, pattern) for rec, hint in recognizers._RECOGNISERS for pattern in _PATTERNS[rec.__name__]]


def test_every_recogniser_has_its_patterns_listed_here() -> None:
    assert {rec.__name__ for rec, _ in recognizers._RECOGNISERS} == set(_PATTERNS)


def test_fold_case_agrees_with_case_insensitive_matching_of_ascii_letters() -> None:
    """Both the cheap tests here and the rules analyzer's trigger index rely on this."""
    chars = "".join(map(chr, range(sys.maxunicode + 1)))
    folded = fold_case(chars)
    assert len(folded) == len(chars)
    folds_to: dict[str, set[str]] = defaultdict(set)
    for c, f in zip(chars, folded, strict=True):
        if f in string.ascii_lowercase:
            folds_to[f].add(c)
    for x in string.ascii_lowercase:
        assert set(re.findall(x, chars, re.IGNORECASE)) == folds_to[x], x


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_the_cheap_test_holds_wherever_the_pattern_matches(data: st.DataObject) -> None:
    hint, pattern = data.draw(st.sampled_from(_CASES))
    text = data.draw(st.from_regex(pattern))
    assert hint(text, fold_case(text)), (pattern.pattern[:40], text)


def test_cheap_tests_change_no_result(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [t for d in generate(DEFAULT_SEED) for t in d.page_texts()]
    texts += ["Mr Tan, born on 3 March 1980, PAſſPORT No. E1234567K, tel. +65 6123 4567, NRIC S1234567D."]
    found = [find_identifiers(t) for t in texts]
    everything = tuple((rec, lambda text, folded: True) for rec, _ in recognizers._RECOGNISERS)
    monkeypatch.setattr(recognizers, "_RECOGNISERS", everything)
    assert [find_identifiers(t) for t in texts] == found
    assert any(found)
