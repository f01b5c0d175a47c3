"""Products for the sample catalog: titles, prose descriptions built from varied sentence pools."""

from __future__ import annotations

import random
from typing import Any

from frugalstack.edge.sampledata.categories import CATEGORIES, Category

_MODEL_A = ["Alta", "Vento", "Nimbus", "Terra", "Cirrus", "Aspen", "Boreal", "Cobalt", "Delta", "Ember", "Falcon",
            "Glacier", "Harbor", "Iris", "Juniper", "Kestrel", "Lark", "Meridian", "Nova", "Onyx", "Pioneer",
            "Quartz", "Ridge", "Sierra", "Tundra", "Umber", "Vista", "Willow", "Zephyr", "Solace", "Arbor", "Beacon"]
_MODEL_B = ["", "", " 2", " 3", " Pro", " Lite", " Max", " Plus", " S", " X", " Air", " Mini", " Evo", " GT"]


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def attribute_sentence(key: str, value: Any, r: random.Random, noun: str) -> str | None:
    """One sentence stating one attribute, worded one of several ways."""
    n = noun.lower()
    if key == "waterproof":
        return r.choice(["It is fully waterproof, so a downpour is no problem.",
                         f"Taped seams keep this {n} waterproof.", "Waterproof: yes."]) if value else r.choice(
            [f"Note that this {n} is not waterproof.", "It is water-resistant at best, not waterproof."])
    if key in ("colour", "strap_material", "skin_type", "pet", "power_source"):
        words = {"colour": "colour", "strap_material": "strap", "skin_type": "skin type", "pet": "pet",
                 "power_source": "power source"}[key]
        return r.choice([f"The {words} is {value}.", f"{words.capitalize()}: {value}.",
                         f"It comes in {value}." if key == "colour" else f"Made for {value} ({words})."])
    if key == "material":
        return r.choice([f"Made from {value}.", f"The main material is {value}.",
                         f"Built with durable {value}.", f"Material: {value}."])
    if key.endswith("_h") and key.startswith("battery"):
        if not value:
            return None
        return r.choice([f"The battery lasts up to {value} hours.", f"Battery life: {value} hours per charge.",
                         f"Expect around {value} hours of use between charges."])
    if isinstance(value, bool):
        label = key.replace("_", " ")
        return f"{label.capitalize()}: {'yes' if value else 'no'}."
    unit = {"_g": " g", "_kg": " kg", "_l": " litres", "_ml": " ml", "_w": " W", "_gb": " GB", "_in": " inches",
            "_cm": " cm", "_mah": " mAh", "_eu": " (EU)"}
    label = key
    suffix = ""
    for end, u in unit.items():
        if key.endswith(end):
            label, suffix = key[: -len(end)], u
            break
    label = label.replace("_", " ")
    return r.choice([f"{label.capitalize()}: {_fmt(value)}{suffix}.", f"The {label} is {_fmt(value)}{suffix}."])


_OPENERS = [
    "Meet the {title}, a {adj} {noun} designed for {use}.",
    "The {title} is a {adj} {noun} that shines during {use}.",
    "Looking for a {noun} for {use}? The {title} from {brand} is {adj} and easy to live with.",
    "{brand} built the {title} for {use}.",
    "A {adj} take on the classic {noun}, ideal for {use}.",
    "If you need a {noun} for {use}, this {adj} model from {brand} is worth a look.",
]
_ADJ = ["lightweight", "durable", "versatile", "compact", "premium", "no-nonsense", "well-made", "affordable",
        "thoughtfully designed", "rugged", "minimalist", "comfortable"]
_CLOSERS = [
    "Backed by a two-year warranty.", "Customers praise its value for money.", "Easy to clean and maintain.",
    "Ships in recyclable packaging.", "A reliable everyday companion.",
    "Pairs well with the rest of the {brand} range.",
    "Reviewers often mention how sturdy it feels.", "", "", "",
]


def make_product(i: int, cat: Category, r: random.Random, used: set[str]) -> dict[str, Any]:
    noun = r.choice(cat.types)
    brand = r.choice(cat.brands)
    for _ in range(50):
        model = r.choice(_MODEL_A) + r.choice(_MODEL_B)
        title = f"{brand} {model} {noun}"
        if title not in used:
            break
    else:
        title = f"{brand} {model} {noun} {i}"
    used.add(title)
    attrs = cat.attrs(r)
    lo, hi = cat.price
    price = round(r.uniform(lo, hi)) - 0.01 if r.random() < 0.7 else round(r.uniform(lo, hi), 2)
    price = max(price, 1.99)
    use = r.choice(cat.uses)
    opener = r.choice(_OPENERS).format(title=title, brand=brand, noun=noun.lower(), use=use, adj=r.choice(_ADJ))
    keys = list(attrs)
    r.shuffle(keys)
    body = [s for k in keys if (s := attribute_sentence(k, attrs[k], r, noun))]
    extra_use = r.choice([u for u in cat.uses if u != use])
    middle = r.choice([f"It also works well for {extra_use}.", f"Owners use it for {extra_use} too.", ""])
    closer = r.choice(_CLOSERS).format(brand=brand)
    sentences = [opener, *body[: r.randint(2, len(body))], middle, closer]
    description = " ".join(s for s in sentences if s)
    stock = 0 if r.random() < 0.18 else r.randint(1, 250)
    return {
        "id": f"p-{i:05d}",
        "sku": f"{brand[:3].upper()}-{cat.key[:3].upper()}-{i:05d}",
        "title": title,
        "brand": brand,
        "category": cat.path,
        "product_type": noun,
        "description": description,
        "price": price,
        "currency": "EUR",
        "attributes": attrs,
        "in_stock": stock > 0,
        "stock": stock,
        "rating": round(r.uniform(2.8, 5.0), 1),
        "review_count": r.randint(0, 2400),
        "locale": "en-IE",
    }


def make_catalog(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` products spread over every category, identical for the same ``(n, seed)``."""
    r = random.Random(seed)
    used: set[str] = set()
    return [make_product(i + 1, CATEGORIES[i % len(CATEGORIES)], r, used) for i in range(n)]
