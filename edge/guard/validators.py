"""Checksums that turn a digit pattern into a confident PII finding (and reject look-alikes).

Each validator takes the matched string and answers True only when the checksum or the structure of
the identifier holds, which is what keeps order and tracking numbers out of the card/IBAN/id findings.
"""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\D")

# IBAN lengths per country (ISO 13616 registry, the SEPA countries and a few more).
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24,
    "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21,
    "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LI": 21,
    "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30,
    "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20,
}  # fmt: skip


def luhn_ok(number: str) -> bool:
    digits = _DIGITS.sub("", number)
    if not digits:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_ok(candidate: str) -> bool:
    """13-19 digits, a known issuer prefix, consistent separators, and a valid Luhn check digit."""
    digits = _DIGITS.sub("", candidate)
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1:
        return False
    seps = {c for c in candidate if not c.isdigit()}
    if len(seps) > 1:
        return False
    if not _known_issuer(digits):
        return False
    return luhn_ok(digits)


def _known_issuer(d: str) -> bool:
    two, three, four, six = int(d[:2]), int(d[:3]), int(d[:4]), int(d[:6])
    n = len(d)
    return (
        (d[0] == "4" and n in (13, 16, 19))  # Visa
        or (51 <= two <= 55 and n == 16)
        or (222100 <= six <= 272099 and n == 16)  # Mastercard
        or (two in (34, 37) and n == 15)  # Amex
        or ((d.startswith("6011") or d.startswith("65") or 644 <= three <= 649) and n in (16, 19))  # Discover
        or (3528 <= four <= 3589 and 16 <= n <= 19)  # JCB
        or ((300 <= three <= 305 or two in (36, 38, 39)) and 14 <= n <= 19)  # Diners
        or (two == 62 and 16 <= n <= 19)  # UnionPay
        or (d[:4] in ("5018", "5020", "5038", "5893", "6304", "6759", "6761", "6762", "6763") and 12 <= n <= 19)
    )


def iban_ok(candidate: str) -> bool:
    """Known country, the registered length, and ISO 7064 mod-97 == 1."""
    s = re.sub(r"[\s-]", "", candidate).upper()
    if len(s) < 15 or not s[:2].isalpha() or not s[2:4].isdigit():
        return False
    if IBAN_LENGTHS.get(s[:2]) != len(s) or not s.isalnum():
        return False
    moved = s[4:] + s[:4]
    num = "".join(str(int(c, 36)) for c in moved)
    return int(num) % 97 == 1


def us_ssn_ok(candidate: str) -> bool:
    """SSNs have no checksum; the issuance rules (no 000/666/9xx area, no 00 group, no 0000 serial)."""
    d = _DIGITS.sub("", candidate)
    if len(d) != 9:
        return False
    area, group, serial = d[:3], d[3:5], d[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000" and d != "123456789"


def es_dni_ok(candidate: str) -> bool:
    """Spanish DNI (8 digits + letter) or NIE (X/Y/Z + 7 digits + letter): mod-23 control letter."""
    s = re.sub(r"[\s-]", "", candidate).upper()
    if len(s) != 9:
        return False
    body = s[:8]
    if body[0] in "XYZ":
        body = str("XYZ".index(body[0])) + body[1:]
    if not body.isdigit():
        return False
    return "TRWAGMYFPDXBNJZSQVHLCKE"[int(body) % 23] == s[8]


def nl_bsn_ok(candidate: str) -> bool:
    """Dutch BSN: 9 digits passing the eleven-test."""
    d = _DIGITS.sub("", candidate)
    if len(d) != 9 or d == "000000000":
        return False
    total = sum(int(c) * w for c, w in zip(d[:8], range(9, 1, -1), strict=True)) - int(d[8])
    return total % 11 == 0


def se_personnummer_ok(candidate: str) -> bool:
    """Swedish personnummer YYMMDD-NNNC: a plausible date and a Luhn check over the last 10 digits."""
    d = _DIGITS.sub("", candidate)
    if len(d) == 12:
        d = d[2:]
    if len(d) != 10:
        return False
    month, day = int(d[2:4]), int(d[4:6])
    if not (1 <= month <= 12 and 1 <= (day - 60 if day > 60 else day) <= 31):
        return False
    return luhn_ok(d)


def fi_hetu_ok(candidate: str) -> bool:
    """Finnish henkilötunnus DDMMYY[-+A]ZZZQ: the mod-31 control character."""
    s = candidate.strip().upper()
    m = re.fullmatch(r"(\d{6})[-+A-FU-Y](\d{3})([0-9A-Y])", s)
    if not m:
        return False
    if not (1 <= int(s[:2]) <= 31 and 1 <= int(s[2:4]) <= 12):
        return False
    return "0123456789ABCDEFHJKLMNPRSTUVWXY"[int(m.group(1) + m.group(2)) % 31] == m.group(3)


def de_steuer_id_ok(candidate: str) -> bool:
    """German Steuer-ID: 11 digits, first not 0, ISO 7064 MOD 11,10 check digit."""
    d = _DIGITS.sub("", candidate)
    if len(d) != 11 or d[0] == "0":
        return False
    product = 10
    for c in d[:10]:
        s = (int(c) + product) % 10 or 10
        product = (s * 2) % 11
    check = 11 - product
    return (0 if check == 10 else check) == int(d[10])
