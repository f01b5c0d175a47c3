"""Pattern recognizers alone (no models): formats, look-alikes, and linear time on big inputs."""

from __future__ import annotations

from frugalstack.edge.guard import recognizers as r


def _found(text: str) -> list[tuple[str, str]]:
    return [(h.type, text[h.start : h.end]) for h in r.find_all(text)]


def test_cards_with_spaces_and_dashes_and_amex_grouping() -> None:
    text = "cards 4111 1111 1111 1111, 5500-0000-0000-0004 and 3782 822463 10005; not 4111 1111 1111 1112"
    cards = [v for t, v in _found(text) if t == "CREDIT_CARD"]
    assert cards == ["4111 1111 1111 1111", "5500-0000-0000-0004", "3782 822463 10005"]


def test_iban_trailing_words_do_not_break_the_checksum() -> None:
    assert ("IBAN", "DE89 3704 0044 0532 0130 00") in _found("IBAN DE89 3704 0044 0532 0130 00 thanks")


def test_international_phones_and_order_numbers_that_look_like_phones() -> None:
    found = _found("call +44 20 7946 0958 or 0049 30 901820 or (415) 555-2671")
    assert [v for t, v in found if t == "PHONE"] == ["+44 20 7946 0958", "0049 30 901820", "(415) 555-2671"]
    for text in (
        "Where is order 5551234567?",
        "Order #4155552671 still says processing.",
        "tracking number 2025550143 is stuck",
    ):
        assert all(t != "PHONE" for t, _ in _found(text)), text
    assert ("ORDER_NUMBER", "5551234567") in _found("Where is order 5551234567?")


def test_emails_including_obfuscated_ones() -> None:
    found = _found("write to anna.k+shop@mail.example.de or bob [at] example [dot] com")
    assert [t for t, _ in found].count("EMAIL") == 2


def test_addresses_us_uk_and_german_style() -> None:
    for text in (
        "ship to 221B Baker Street, London NW1 6XE",
        "1600 Sunset Blvd, Apt 4, Los Angeles, CA 90026",
        "Hauptstraße 12, 10115 Berlin",
        "12 rue de la Paix, 75002 Paris",
    ):
        assert any(t == "ADDRESS" for t, _ in _found(text)), text


def test_context_names_but_not_greetings() -> None:
    assert ("PERSON", "Anna Schmidt") in _found("My name is Anna Schmidt")
    assert not [t for t, _ in _found("I'm Looking for boots")]


def test_national_id_needs_context_for_bare_digit_runs() -> None:
    assert not [t for t, _ in _found("SKU 111222333 is out")]  # valid BSN checksum, but no id context
    assert ("NATIONAL_ID", "111222333") in _found("my BSN is 111222333")


def test_one_megabyte_of_digits_and_separators_is_scanned() -> None:
    blob = ("1234 5678 9 - " * 80_000)[:1_000_000]
    assert isinstance(r.find_all(blob), list)  # completes (linear patterns); any hits are validated ones
