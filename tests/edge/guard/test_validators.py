"""Checksums: valid identifiers pass, one changed digit fails (property-tested)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from frugalstack.edge.guard import validators as v
from frugalstack.edge.guard.build_data import _card, _iban, _national_id


@given(st.integers(min_value=0, max_value=10_000))
@settings(max_examples=60, deadline=None)
def test_generated_cards_and_ibans_validate_and_a_changed_digit_breaks_them(seed: int) -> None:
    rng = random.Random(seed)
    card, _ = _card(rng)
    assert v.card_ok(card)
    digits = [c for c in card]
    i = max(i for i, c in enumerate(digits) if c.isdigit())
    digits[i] = str((int(digits[i]) + 1 + rng.randrange(9)) % 10)
    assert not v.card_ok("".join(digits))
    iban, _ = _iban(rng)
    assert v.iban_ok(iban)
    compact = iban.replace(" ", "")
    j = len(compact) - 1
    broken = compact[:j] + str((int(compact[j]) + 1) % 10)
    assert not v.iban_ok(broken)


def test_known_values() -> None:
    assert v.card_ok("4111 1111 1111 1111") and v.card_ok("4111-1111-1111-1111") and v.card_ok("378282246310005")
    assert not v.card_ok("4111 1111-1111 1111")  # mixed separators
    assert not v.card_ok("1234 5678 9012 3452")  # Luhn-valid but no issuer
    assert not v.card_ok("4444444444444444")
    assert v.iban_ok("DE89 3704 0044 0532 0130 00") and v.iban_ok("GB82WEST12345698765432")
    assert not v.iban_ok("DE89 3704 0044 0532 0130 01") and not v.iban_ok("XX89370400440532013000")
    assert v.es_dni_ok("12345678Z") and not v.es_dni_ok("12345678A") and v.es_dni_ok("X1234567L")
    assert v.nl_bsn_ok("111222333") and not v.nl_bsn_ok("111222334")
    assert v.de_steuer_id_ok("86095742719") and not v.de_steuer_id_ok("86095742718")
    assert v.fi_hetu_ok("131052-308T") and not v.fi_hetu_ok("131052-308A")
    assert v.us_ssn_ok("536-22-1234") and not v.us_ssn_ok("666-22-1234") and not v.us_ssn_ok("123-00-1234")


def test_generated_national_ids_validate() -> None:
    from frugalstack.edge.guard.recognizers import find_national_ids

    rng = random.Random(3)
    for _ in range(40):
        value, kind = _national_id(rng)
        hits = find_national_ids(f"my {kind} is {value}")
        assert any(h.type == "NATIONAL_ID" for h in hits), (kind, value)
