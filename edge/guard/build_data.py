"""Build the shipped guard data: the evaluation set (hand-written cases + generated PII cases with valid
checksums) and the training sets of the two heads, decontaminated against the evaluation set.

``python -m frugalstack.edge.guard.build_data --out edge/guard/data`` rebuilds the files deterministically;
``frugal guard train`` then refits the heads.
"""

from __future__ import annotations

import argparse
import json
import random
import string
from importlib import resources
from pathlib import Path
from typing import Any

from frugalstack.edge.guard.train_texts import injection_texts, scope_texts
from frugalstack.edge.guard.validators import IBAN_LENGTHS, luhn_ok

FIRST = [
    "Maria",
    "James",
    "Aisha",
    "Lukas",
    "Chen",
    "Sofia",
    "Oliver",
    "Fatima",
    "Mateo",
    "Hannah",
    "Ivan",
    "Priya",
    "Noah",
    "Emma",
    "Kwame",
    "Yuki",
    "Lars",
    "Amelia",
    "Diego",
    "Zoe",
]
LAST = [
    "Gonzalez",
    "Whitfield",
    "Okafor",
    "Brandt",
    "Nakamura",
    "Rossi",
    "Kowalski",
    "Haddad",
    "Lindqvist",
    "Moreau",
    "Patel",
    "Fischer",
    "O'Brien",
    "Dubois",
    "Schneider",
    "Hughes",
    "Mensah",
    "Novak",
]


def _card(rng: random.Random) -> tuple[str, str]:
    prefix, length, groups = rng.choice(
        [
            ("4", 16, (4, 4, 4, 4)),
            ("51", 16, (4, 4, 4, 4)),
            ("55", 16, (4, 4, 4, 4)),
            ("2221", 16, (4, 4, 4, 4)),
            ("37", 15, (4, 6, 5)),
            ("34", 15, (4, 6, 5)),
            ("6011", 16, (4, 4, 4, 4)),
            ("3530", 16, (4, 4, 4, 4)),
            ("4", 19, (4, 4, 4, 4, 3)),
        ]
    )
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    digits = next(body + d for d in string.digits if luhn_ok(body + d))
    sep = rng.choice([" ", "-", "", " "])
    out, i = [], 0
    for g in groups:
        out.append(digits[i : i + g])
        i += g
    return sep.join(out), "CREDIT_CARD"


def _iban(rng: random.Random) -> tuple[str, str]:
    country = rng.choice(["DE", "GB", "FR", "ES", "IT", "NL", "BE", "CH", "AT", "PL", "IE", "PT"])
    n = IBAN_LENGTHS[country] - 4
    letters = {"GB": 4, "NL": 4, "IE": 4, "IT": 1}.get(country, 0)
    bban = "".join(rng.choice(string.ascii_uppercase) for _ in range(letters))
    bban += "".join(rng.choice(string.digits) for _ in range(n - letters))
    num = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    iban = f"{country}{98 - num % 97:02d}{bban}"
    if rng.random() < 0.6:
        iban = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    return iban, "IBAN"


def _email(rng: random.Random) -> tuple[str, str]:
    f, last = rng.choice(FIRST).lower(), rng.choice(LAST).lower().replace("'", "")
    user = rng.choice([f"{f}.{last}", f"{f[0]}{last}", f"{f}_{last}{rng.randint(1, 99)}", f"{f}+shop", f"{last}.{f}"])
    dom = rng.choice(
        ["gmail.com", "example.co.uk", "mail.de", "outlook.fr", "proton.me", "uni-wien.ac.at", "shop.example"]
    )
    return f"{user}@{dom}", "EMAIL"


def _phone(rng: random.Random) -> tuple[str, str]:
    import phonenumbers
    from phonenumbers import PhoneNumberFormat as F

    region = rng.choice(["US", "GB", "DE", "FR", "ES", "IT", "NL", "IN", "AU", "BR", "JP", "ZA", "MX", "SE"])
    ex = phonenumbers.example_number_for_type(
        region, rng.choice([phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE])
    )
    assert ex is not None
    for _ in range(20):
        nat = str(ex.national_number)
        cand = nat[:-3] + "".join(rng.choice(string.digits) for _ in range(3))
        num = phonenumbers.parse(f"+{ex.country_code}{cand}")
        if phonenumbers.is_valid_number(num):
            break
    else:
        num = ex
    fmt = rng.choice(
        [F.INTERNATIONAL, F.E164, F.INTERNATIONAL, F.NATIONAL if region in ("US", "GB") else F.INTERNATIONAL]
    )
    text = phonenumbers.format_number(num, fmt)
    if fmt == F.INTERNATIONAL and rng.random() < 0.25:
        text = "00" + text[1:]
    return text, "PHONE"


def _address(rng: random.Random) -> tuple[str, str]:
    return rng.choice(
        [
            f"{rng.randint(1, 999)} {rng.choice(['Maple', 'Oak', 'Baker', 'High', 'Church', 'Mill'])} "
            f"{rng.choice(['Street', 'Avenue', 'Road', 'Lane', 'Drive'])}, "
            f"{rng.choice(['Springfield', 'Leeds', 'Boston'])}",
            f"{rng.randint(1, 99)} {rng.choice(['King', 'Queen', 'Station'])} Road, London SW1A {rng.randint(1, 9)}AA",
            f"{rng.choice(['Haupt', 'Berg', 'Linden', 'Schiller'])}straße {rng.randint(1, 120)}, "
            f"{rng.randint(10000, 99999)} Berlin",
            f"{rng.randint(1, 80)} rue de la {rng.choice(['Paix', 'Gare', 'République'])}, "
            f"750{rng.randint(10, 20)} Paris",
            f"{rng.randint(100, 9999)} {rng.choice(['Sunset', 'Ocean', 'Elm'])} Blvd, Apt {rng.randint(1, 40)}, "
            f"Los Angeles, CA {rng.randint(90001, 90099)}",
        ]
    ), "ADDRESS"


def _national_id(rng: random.Random) -> tuple[str, str]:
    kind = rng.choice(["ssn", "dni", "bsn", "pnr", "steuer", "hetu"])
    if kind == "ssn":
        return f"{rng.randint(100, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}", "social security number"
    if kind == "dni":
        n = rng.randint(10_000_000, 99_999_999)
        return f"{n}{'TRWAGMYFPDXBNJZSQVHLCKE'[n % 23]}", "DNI"
    if kind == "bsn":
        while True:
            d = [rng.randint(0, 9) for _ in range(8)]
            s = sum(x * w for x, w in zip(d, range(9, 1, -1), strict=True)) % 11
            if s < 10:
                return "".join(map(str, d)) + str(s), "BSN"
    if kind == "pnr":
        while True:
            body = f"{rng.randint(50, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
            for c in string.digits:
                if luhn_ok(body + c):
                    return f"{body[:6]}-{body[6:]}{c}", "personnummer"
    if kind == "steuer":
        from frugalstack.edge.guard.validators import de_steuer_id_ok

        while True:
            base = str(rng.randint(1, 9)) + "".join(rng.choice(string.digits) for _ in range(9))
            for c in string.digits:
                if de_steuer_id_ok(base + c):
                    return base + c, "Steuer-ID"
    dd, mm, yy, zzz = rng.randint(1, 28), rng.randint(1, 12), rng.randint(50, 99), rng.randint(2, 899)
    q = "0123456789ABCDEFHJKLMNPRSTUVWXY"[int(f"{dd:02d}{mm:02d}{yy:02d}{zzz:03d}") % 31]
    return f"{dd:02d}{mm:02d}{yy:02d}-{zzz:03d}{q}", "henkilötunnus"


TEMPLATES: dict[str, list[str]] = {
    "CREDIT_CARD": [
        "My card number is {v}, can you check why it was declined?",
        "I paid with {v} but got no confirmation.",
        "charge it to {v} exp 09/27",
        "Card: {v}. Please refund to this card.",
        "is {v} saved on my account?",
        "I think {v} was charged twice for the same jacket.",
    ],
    "IBAN": [
        "Please refund to my IBAN {v}.",
        "My bank account is {v}, send the money there.",
        "IBAN: {v} (Sparkasse)",
        "can you transfer the refund to {v} instead of the card?",
        "Wrong account! Use {v}.",
    ],
    "EMAIL": [
        "Send the invoice to {v} please.",
        "My email is {v}",
        "contact me at {v} when it's back in stock",
        "I changed my login to {v}, can you update it?",
        "Is {v} the address on my order?",
    ],
    "PHONE": [
        "Call me on {v} about the delivery.",
        "My number is {v}",
        "The courier can ring {v} when outside.",
        "Text me at {v} when it ships.",
        "Please update my phone to {v}.",
    ],
    "ADDRESS": [
        "Please ship it to {v}.",
        "My new address is {v}",
        "Deliver to {v}, ring twice.",
        "Can I change the delivery address to {v}?",
    ],
    "NATIONAL_ID": [
        "My {k} is {v}, do you need it for the invoice?",
        "For the customs form, my {k}: {v}",
        "Here is my {k} {v} for the credit check.",
        "The {k} on the account is {v}.",
    ],
    "PERSON": [
        "My name is {v} and I ordered a lamp.",
        "Hi, this is {v}, I called yesterday about my return.",
        "Regards, {v}",
        "The parcel is for {v}, she will sign for it.",
        "Please address the gift to {v}.",
        "Thanks, {v}",
    ],
    "ORDER_NUMBER": [
        "Where is order {v}?",
        "My order number is {v}",
        "Order {v} arrived damaged.",
        "Can you cancel order {v}?",
    ],
}
MAKERS = {
    "CREDIT_CARD": _card,
    "IBAN": _iban,
    "EMAIL": _email,
    "PHONE": _phone,
    "ADDRESS": _address,
    "NATIONAL_ID": _national_id,
}
COUNTS = {
    "CREDIT_CARD": 34,
    "IBAN": 28,
    "EMAIL": 26,
    "PHONE": 34,
    "ADDRESS": 14,
    "NATIONAL_ID": 18,
    "PERSON": 18,
    "ORDER_NUMBER": 10,
}


def pii_cases(seed: int = 5) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for kind, n in COUNTS.items():
        for i in range(n):
            t = TEMPLATES[kind][i % len(TEMPLATES[kind])]
            if kind == "PERSON":
                v, k = f"{rng.choice(FIRST)} {rng.choice(LAST)}", ""
            elif kind == "ORDER_NUMBER":
                v, k = (
                    rng.choice(
                        [
                            f"#{rng.randint(10**5, 10**8)}",
                            f"ORD-{rng.randint(10**5, 10**7)}",
                            f"SO{rng.randint(10**5, 10**6)}",
                            f"{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
                        ]
                    ),
                    "",
                )
            else:
                v, k = MAKERS[kind](rng)
            out.append(
                {
                    "rail": "pii",
                    "direction": "input",
                    "text": t.format(v=v, k=k),
                    "label": "positive",
                    "expected": [kind],
                    "value": v,
                }
            )
    return out


def build(out_dir: Path, *, decontaminate: bool = True) -> dict[str, int]:
    src = resources.files("frugalstack.edge.guard").joinpath("data/eval_handwritten.jsonl").read_text("utf-8")
    hand = [json.loads(line) for line in src.splitlines() if line.strip()]
    cases = hand + [{"id": f"g{i:03d}", **c} for i, c in enumerate(pii_cases())]
    inj = injection_texts()
    scope = scope_texts()
    if decontaminate:
        inj, scope = _decontaminate(inj, scope, [c["text"] for c in cases])
    out_dir.mkdir(parents=True, exist_ok=True)
    _write(out_dir / "eval_set.jsonl", cases)
    _write(out_dir / "injection_train.jsonl", [{"text": t, "label": y} for t, y in inj])
    _write(out_dir / "scope_train.jsonl", [{"text": t, "intent": y} for t, y in scope])
    return {"eval": len(cases), "injection_train": len(inj), "scope_train": len(scope)}


def _decontaminate(
    inj: list[tuple[str, str]], scope: list[tuple[str, str]], evals: list[str], max_cos: float = 0.9
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Drop training texts whose embedding is within ``max_cos`` of any evaluation case (near-duplicates)."""
    from frugalstack.edge.guard.embed import get_embedder

    emb = get_embedder()
    ev = emb.embed(evals)

    def keep(rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
        x = emb.embed([t for t, _ in rows])
        sims = (x @ ev.T).max(axis=1)
        return [r for r, s in zip(rows, sims, strict=True) if s < max_cos]

    return keep(inj), keep(scope)


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, required=True)
    print(build(ap.parse_args().out))


if __name__ == "__main__":
    main()
