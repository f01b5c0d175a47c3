"""Our own validated PII recognizers: regex candidates confirmed by a checksum, a parser or context.

They are plain Python (usable without Presidio, and over texts too long for NER); the PII rail also
registers them inside Presidio so one analyzer pass resolves overlaps with the spaCy entities.
All patterns are linear (no nested quantifiers over the same characters) so 1 MB costs bounded time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from frugalstack.edge.guard import validators as v


@dataclass(frozen=True)
class Hit:
    type: str
    start: int
    end: int
    score: float
    detail: str | None = None


_CARD = re.compile(
    r"(?<![\w-])\d{4}[ -]?\d{6}[ -]?\d{4,5}(?![\w-])"  # Amex / Diners 4-6-5 grouping first
    r"|(?<![\w-])(?:\d{4}[ -]?){2,3}\d{1,4}(?:[ -]?\d{3})?(?![\w-])"
)
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]){11,30}(?![A-Za-z0-9])")
_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![\w-])"
)
_EMAIL_OBFUSCATED = re.compile(
    r"(?i)(?<![\w.])[a-z0-9][a-z0-9._+-]{0,63}\s*[\[(]\s*at\s*[\])]\s*[a-z0-9-]+(?:\s*[\[(]\s*dot\s*[\])]\s*[a-z]{2,24})+"
)
_PHONE = re.compile(r"(?<![\w+#/-])(?:\+|00)?\(?\d[\d\s().-]{5,18}\d(?![\w-])")
_ORDER_CONTEXT = re.compile(
    r"(?i)(?:order|ord|purchase|invoice|inv|tracking|shipment|parcel|package|ref(?:erence)?|rma|return|ticket|case|sku|item|model)"
    r"(?:\s+(?:no|nr|number|num|id|code))?\.?\s*(?:[:#]|is|was)?\s*#?\s*$"
)
_PHONE_CUE = re.compile(
    r"(?i)\b(?:call|phone|tel|telephone|mobile|cell|whatsapp|ring|text|sms|fax|contact|reach|dial|"
    r"number is|my number)\b"
)
_ORDER = re.compile(
    r"(?i)(?<![\w-])(?:(?:ORD|ORDER|SO|PO|INV|RMA|RET)[-_ ]?\d{4,12}(?:-\d{1,6})?|#\s?\d{5,12}|"
    r"[A-Z]{2,3}-\d{3,}-\d{3,})(?![\w-])"
)
_ORDER_AFTER_WORD = re.compile(
    r"(?i)\b(?:order|invoice|purchase|return|rma)(?:\s+(?:no|nr|number|num|id))?\.?\s*(?:[:#]|is)?\s*#?\s*([A-Z]{0,4}-?\d[\d-]{3,16}\d)\b"
)
_STREET_TYPES = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Boulevard|Blvd|Drive|Dr|Court|Ct|Way|Place|Pl|Square|Sq|Terrace|"
    r"Close|Crescent|Parkway|Pkwy|Highway|Hwy|Row|Mews|Gardens|Hill|Walk)"
)
_ADDRESS = re.compile(
    r"\b\d{1,5}[A-Za-z]?,?\s+(?:[A-Z][a-zA-Z'.-]+\s){0,3}" + _STREET_TYPES + r"\b\.?"
    r"(?:,?\s*(?:Apt|Apartment|Suite|Unit|Flat)\.?\s*\w{1,5})?"
    r"(?:,\s*[A-Z][a-z][a-zA-Z.-]*(?:\s[A-Z][a-z][a-zA-Z.-]*){0,2})?"
    r"(?:,?\s*(?:[A-Z]{2}\s+\d{5}(?:-\d{4})?|\d{5}(?:-\d{4})?|[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}))?"
)
_ADDRESS_EU = re.compile(
    r"\b[A-ZÄÖÜ][a-zäöüß]+(?:stra(?:ß|ss)e|str\.|weg|gasse|platz|allee|ring|straat|laan|gracht|vej|gatan|vägen)"
    r"\s+\d{1,4}[a-z]?(?:,\s*\d{4,5}\s+[A-ZÄÖÜ][a-zäöüß]+)?"
    r"|\b\d{1,4},?\s+(?:rue|avenue|boulevard|place|chemin|via|calle|avenida)\s+(?:[A-Za-zÀ-ÿ'-]+\s?){1,4}"
    r"(?:,\s*\d{5}\s+[A-ZÀ-Ý][a-zà-ÿ-]+)?"
)
_SSN = re.compile(r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])")
_DNI = re.compile(r"(?i)(?<![\w-])[XYZ]?\d{7,8}-?[A-Z](?![\w-])")
_SE_PNR = re.compile(r"(?<![\d-])(?:19|20)?\d{6}[-+]\d{4}(?![\d-])")
_FI_HETU = re.compile(r"(?<![\w-])\d{6}[-+A-FU-Y]\d{3}[0-9A-Ya-y](?![\w-])")
_NINE = re.compile(r"(?<![\d-])\d{9}(?![\d-])|(?<![\d-])\d{11}(?![\d-])|(?<![\d-])\d{2}\s\d{3}\s\d{3}\s\d{3}(?![\d-])")
_ID_CONTEXT = re.compile(
    r"(?i)\b(?:bsn|burgerservicenummer|citizen service number|steuer-?id|steueridentifikationsnummer|tax id|"
    r"identifikationsnummer|national id|id number|social security|ssn|dni|nie|personnummer|henkilötunnus|hetu)\b"
)
_NAME_CONTEXT = re.compile(
    r"(?:\b(?:[Mm]y name is|[Nn]ame:|I am|I'm|this is|[Ss]igned|[Rr]egards,|[Tt]hanks,|[Cc]heers,|[Ss]incerely,|"
    r"[Aa]ttn:?|[Rr]ecipient:?|addressed to|[Cc]ustomer:)\s+)"
    r"((?:Mr\.?|Mrs\.?|Ms\.?|Dr\.?)\s)?([A-Z][a-z]+(?:[-'][A-Z][a-z]+)?(?:\s[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?){0,2})"
)
# Capitalised words after "I'm"/"this is" that are not names.
_NOT_NAMES = frozenset(
    [
        "Hi",
        "Hello",
        "Thanks",
        "Sorry",
        "Looking",
        "Trying",
        "Interested",
        "Not",
        "Still",
        "Just",
        "Very",
        "So",
        "Really",
        "Happy",
        "Unhappy",
        "Writing",
        "Here",
        "Back",
        "Calling",
        "Asking",
        "Going",
        "Done",
        "Ready",
        "Sure",
        "Glad",
        "Afraid",
        "Also",
        "The",
        "A",
        "An",
        "In",
        "On",
        "At",
        "Your",
        "Our",
        "Their",
        "This",
        "That",
        "It",
    ]
)


def _context_before(text: str, start: int, width: int = 28) -> str:
    return text[max(0, start - width) : start]


def find_cards(text: str) -> list[Hit]:
    return [Hit("CREDIT_CARD", m.start(), m.end(), 1.0) for m in _CARD.finditer(text) if v.card_ok(m.group())]


def find_ibans(text: str) -> list[Hit]:
    out = []
    for m in _IBAN.finditer(text):
        s = m.group()
        # The greedy tail may swallow a following word; shrink until the checksum holds.
        for end in range(len(s), 14, -1):
            if s[end - 1] in " -":
                continue
            if v.iban_ok(s[:end]):
                out.append(Hit("IBAN", m.start(), m.start() + end, 1.0, s[:2].upper()))
                break
    return out


def find_emails(text: str) -> list[Hit]:
    hits = [Hit("EMAIL", m.start(), m.end(), 1.0) for m in _EMAIL.finditer(text)]
    hits += [Hit("EMAIL", m.start(), m.end(), 0.85, "obfuscated") for m in _EMAIL_OBFUSCATED.finditer(text)]
    return hits


_PHONE_REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "IN", "AU", "CA")


MAX_PHONE_PARSES = 5000  # distinct candidates parsed per text; beyond that a PARTIAL_SCAN hit says so


@lru_cache(maxsize=8192)
def _phone_region(raw: str) -> str | None:
    """The region a dialled string is valid in ("intl" for +/00 numbers), or None."""
    import phonenumbers

    international = raw.startswith(("+", "00"))
    for region in (None,) if international else _PHONE_REGIONS:
        try:
            num = phonenumbers.parse("+" + raw[2:] if raw.startswith("00") else raw, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(num):
            return region or "intl"
    return None


def find_phones(text: str) -> list[Hit]:
    """Candidates confirmed by libphonenumber (valid for a region); order/tracking context excludes."""
    out = []
    parsed: set[str] = set()
    for m in _PHONE.finditer(text):
        raw = m.group().rstrip(" .-(")
        digits = sum(c.isdigit() for c in raw)
        if not 7 <= digits <= 15 or _ORDER_CONTEXT.search(_context_before(text, m.start())):
            continue
        if re.fullmatch(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}", raw) or re.fullmatch(r"\d+\.\d+", raw):
            continue  # dates and decimals
        international = raw.startswith(("+", "00"))
        if (
            not international
            and raw.isdigit()
            and (len(raw) > 11 or not _PHONE_CUE.search(text[max(0, m.start() - 40) : m.start()]))
        ):
            continue  # a bare run of digits with no phone word before it is an id (batch, EAN, date), not a number
        if raw not in parsed:
            if len(parsed) >= MAX_PHONE_PARSES:
                out.append(Hit("PARTIAL_SCAN", m.start(), len(text), 1.0, f"phones checked up to offset {m.start()}"))
                break
            parsed.add(raw)
        region = _phone_region(raw)
        if region:
            score = 0.95 if international or not raw.isdigit() else 0.6
            out.append(Hit("PHONE", m.start(), m.start() + len(raw), score, region))
    return out


def find_orders(text: str) -> list[Hit]:
    hits = [Hit("ORDER_NUMBER", m.start(), m.end(), 0.9) for m in _ORDER.finditer(text)]
    hits += [Hit("ORDER_NUMBER", m.start(1), m.end(1), 0.9) for m in _ORDER_AFTER_WORD.finditer(text)]
    return hits


def find_addresses(text: str) -> list[Hit]:
    hits = [Hit("ADDRESS", m.start(), m.end(), 0.85) for m in _ADDRESS.finditer(text)]
    hits += [Hit("ADDRESS", m.start(), m.end(), 0.8) for m in _ADDRESS_EU.finditer(text)]
    return hits


def find_national_ids(text: str) -> list[Hit]:
    out: list[Hit] = []
    context = bool(_ID_CONTEXT.search(text))
    for m in _SSN.finditer(text):
        if v.us_ssn_ok(m.group()):
            out.append(Hit("NATIONAL_ID", m.start(), m.end(), 0.9 if context else 0.7, "US_SSN"))
    checks: list[tuple[re.Pattern[str], Callable[[str], bool], str, bool]] = [
        (_DNI, v.es_dni_ok, "ES_DNI", False),
        (_SE_PNR, v.se_personnummer_ok, "SE_PERSONNUMMER", False),
        (_FI_HETU, v.fi_hetu_ok, "FI_HETU", False),
        (_NINE, v.nl_bsn_ok, "NL_BSN", True),
        (_NINE, v.de_steuer_id_ok, "DE_STEUER_ID", True),
    ]
    for pattern, ok, scheme, needs_context in checks:
        if needs_context and not context:
            continue
        for m in pattern.finditer(text):
            if ok(m.group()):
                out.append(Hit("NATIONAL_ID", m.start(), m.end(), 0.95, scheme))
    return out


def find_names_by_context(text: str) -> list[Hit]:
    """Names introduced by a cue ("my name is", "ship to", a signature): recall where NER misses."""
    out = []
    for m in _NAME_CONTEXT.finditer(text):
        name = m.group(2)
        first = name.split()[0]
        if first in _NOT_NAMES:
            continue
        out.append(Hit("PERSON", m.start(2), m.end(2), 0.8 if " " in name else 0.6, "context"))
    return out


ALL: dict[str, Callable[[str], list[Hit]]] = {
    "CREDIT_CARD": find_cards,
    "IBAN": find_ibans,
    "EMAIL": find_emails,
    "PHONE": find_phones,
    "ORDER_NUMBER": find_orders,
    "ADDRESS": find_addresses,
    "NATIONAL_ID": find_national_ids,
    "PERSON_CONTEXT": find_names_by_context,
}


def find_all(text: str) -> list[Hit]:
    """Every validated recognizer over the whole text (overlaps are resolved by the PII rail)."""
    return [h for fn in ALL.values() for h in fn(text)]
