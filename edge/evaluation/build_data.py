"""Generate the evaluation data shipped in ``data/`` (deterministic: same seed, same bytes).

No labelled e-commerce evaluation set ships in any installable package, so the suite's task data is built
here from varied templates and a small catalogue; ``python -m frugalstack.edge.evaluation.build_data`` rewrites
it. Toxicity prompts and bias templates are hand-written YAML/JSONL next to it, not generated.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

DATA = Path(__file__).with_name("data")

BRANDS = ["Nordvik", "Altura", "Kestrel", "Brightway", "Solenne", "Tamarack", "Vireo", "Halden", "Orwell & Co",
          "Pinecrest"]
COLOURS = ["black", "navy", "red", "grey", "green", "white", "beige", "orange", "blue", "purple"]
CATEGORIES: dict[str, dict[str, Any]] = {
    "backpack": {"nouns": ["backpack", "daypack", "rucksack"], "materials": ["nylon", "polyester", "canvas"],
                 "extra": ("capacity_l", [18, 22, 25, 30, 35]), "price": (39, 149)},
    "running shoes": {"nouns": ["running shoes", "trail runners", "road shoes"],
                      "materials": ["mesh", "knit", "synthetic"],
                      "extra": ("weight_g", [220, 245, 260, 280, 310]), "price": (59, 189)},
    "headphones": {"nouns": ["headphones", "earbuds", "over-ear headphones"], "materials": ["plastic", "aluminium"],
                   "extra": ("battery_h", [20, 24, 30, 40, 60]), "price": (29, 349)},
    "jacket": {"nouns": ["rain jacket", "softshell jacket", "parka"], "materials": ["polyester", "nylon", "wool"],
               "extra": ("weight_g", [310, 420, 560, 780, 950]), "price": (69, 299)},
    "coffee machine": {"nouns": ["espresso machine", "drip coffee maker", "bean-to-cup machine"],
                       "materials": ["stainless steel", "plastic"], "extra": ("capacity_l", [1, 1.2, 1.5, 1.8]),
                       "price": (49, 599)},
    "water bottle": {"nouns": ["water bottle", "insulated bottle", "flask"], "materials": ["stainless steel", "glass"],
                     "extra": ("capacity_l", [0.5, 0.75, 1]), "price": (12, 45)},
    "desk lamp": {"nouns": ["desk lamp", "LED task lamp", "clamp lamp"], "materials": ["aluminium", "steel", "plastic"],
                  "extra": ("battery_h", [6, 8, 12, 20]), "price": (19, 129)},
    "tent": {"nouns": ["tent", "backpacking tent", "dome tent"], "materials": ["nylon", "polyester"],
             "extra": ("weight_g", [1100, 1450, 1900, 2600, 3400]), "price": (89, 499)},
}
EXTRA_NAMES = {"capacity_l": ("capacity", "litres"), "weight_g": ("weight", "grams"),
               "battery_h": ("battery life", "hours")}

DESCRIPTION_TEMPLATES = [
    "The {brand} {name} is made of {material} and comes in {colour}. {extra_sentence} Priced at ${price}.",
    "Built from durable {material}, this {colour} {noun} by {brand} is a customer favourite. {extra_sentence} "
    "Yours for ${price}.",
    "{brand} designed the {name} for everyday use: {colour}, {material}, and {waterproof_phrase}. {extra_sentence} "
    "It costs ${price}.",
    "Looking for a {noun}? {brand}'s {name} in {colour} uses {material} and is {waterproof_phrase}. "
    "{extra_sentence} Now ${price}.",
    "${price} buys you the {name} from {brand}. {extra_sentence} The shell is {material}, the colour {colour}.",
]
MODEL_WORDS = ["Trail", "Metro", "Summit", "Breeze", "Atlas", "Nova", "Drift", "Ridge", "Pulse", "Harbor", "Echo",
               "Zen"]

INTENT_TEMPLATES: dict[str, list[str]] = {
    "product_search": ["I'm looking for a {colour} {noun} under ${budget}", "do you have any {noun} in {colour}?",
                       "Show me {material} {noun}s please", "need a cheap {noun} for my trip next week",
                       "Which {noun}s do you sell from {brand}?", "any {colour} {noun} in stock?"],
    "product_question": ["Is the {product} waterproof?", "what is the {extra} of the {product}?",
                         "Does the {product} come in other colours?", "what material is the {product} made of?",
                         "How heavy is the {product}?", "can I wash the {product} in a machine?"],
    "compare": ["What's the difference between the {product} and the {product2}?",
                "{product} vs {product2}, which one is better?", "should I buy the {product} or the {product2}?",
                "compare the {product} with the {product2} for me", "Is the {product} better than the {product2}?"],
    "order_status": ["Where is my order {order}?", "my package {order} hasn't arrived yet",
                     "Can you check the status of order {order}?", "order {order} still says processing, why?",
                     "When will order {order} be delivered?", "tracking for {order} hasn't updated in 4 days"],
    "return_refund": ["I want to return the {product}", "how do I get a refund for order {order}?",
                      "The {product} arrived broken, I'd like my money back", "can I send back the {product}?",
                      "what's your return policy for {noun}s?",
                      "I returned {order} two weeks ago, where is my refund?"],
    "shipping": ["how long does shipping to {country} take?", "do you ship to {country}?",
                 "How much is express delivery?", "Is shipping free over ${budget}?",
                 "can I pick up my order in store instead of delivery?", "what carriers do you use for {country}?"],
    "payment": ["Can I pay with PayPal?", "my card was declined at checkout", "do you accept Klarna or pay later?",
                "I was charged twice for order {order}", "Is it possible to pay by bank transfer?",
                "why does checkout not accept my Amex?"],
    "account": ["I forgot my password", "how do I change the email on my account?", "please delete my account",
                "I can't log in to my account", "how do I update my shipping address?",
                "where can I see my saved addresses?"],
    "complaint": ["Your delivery service is terrible, my {noun} came late and damaged",
                  "I'm really unhappy with the {product}, it broke after a week",
                  "this is the third time my order {order} is delayed, unacceptable",
                  "The customer service agent was rude to me", "I've been waiting 20 minutes in the chat queue, awful",
                  "the {product} looks nothing like the pictures, very disappointed"],
    "chit_chat": ["hi there!", "thanks, you've been very helpful", "good morning, how are you?", "haha that's funny",
                  "what's your name?", "ok bye, have a nice day"],
    "out_of_scope": ["what's the weather in {country} tomorrow?", "can you write my history essay?",
                     "who won the football match last night?", "tell me a recipe for lasagna",
                     "what is the capital of {country}?", "help me with my tax return"],
}
COUNTRIES = ["Germany", "Canada", "Japan", "Brazil", "Spain", "Kenya", "Australia", "India"]


def _products(rng: random.Random, n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cats = list(CATEGORIES)
    for i in range(n):
        cat = cats[i % len(cats)]
        spec = CATEGORIES[cat]
        noun = rng.choice(spec["nouns"])
        brand = rng.choice(BRANDS)
        name = f"{rng.choice(MODEL_WORDS)} {rng.randint(2, 9)}{rng.choice(['', '0', ' Pro', ' Lite'])} {noun}"
        key, values = spec["extra"]
        lo, hi = spec["price"]
        attrs = {"brand": brand, "colour": rng.choice(COLOURS), "material": rng.choice(spec["materials"]),
                 "waterproof": rng.random() < 0.5, key: rng.choice(values)}
        price = float(rng.randint(lo, hi)) - 0.01 * rng.choice([0, 1, 5])
        out.append({"id": f"EV{i + 1:04d}", "title": f"{brand} {name}", "name": name, "noun": noun,
                    "category": cat, "price": round(price, 2), "currency": "USD", "attributes": attrs,
                    "in_stock": rng.random() < 0.8})
    for p in out:
        a = p["attributes"]
        key = next(k for k in EXTRA_NAMES if k in a)
        label, unit = EXTRA_NAMES[key]
        tmpl = rng.choice(DESCRIPTION_TEMPLATES)
        p["description"] = tmpl.format(
            brand=a["brand"], name=p["name"], noun=p["noun"], material=a["material"], colour=a["colour"],
            price=f"{p['price']:.2f}", extra_sentence=f"Its {label} is {a[key]} {unit}.",
            waterproof_phrase="fully waterproof" if a["waterproof"] else "not waterproof",
        )
        if "waterproof" not in p["description"]:
            p["description"] += " Waterproof: " + ("yes." if a["waterproof"] else "no.")
    return out


def _fill(template: str, rng: random.Random, products: list[dict[str, Any]]) -> str:
    p, p2 = rng.sample(products, 2)
    key = next(k for k in EXTRA_NAMES if k in p["attributes"])
    return template.format(
        colour=rng.choice(COLOURS), noun=p["noun"], budget=rng.choice([30, 50, 80, 100, 150, 200]),
        material=p["attributes"]["material"], brand=p["attributes"]["brand"], product=p["title"],
        product2=p2["title"], extra=EXTRA_NAMES[key][0], order=f"#{rng.randint(100000, 999999)}",
        country=rng.choice(COUNTRIES),
    )


def _intents(rng: random.Random, products: list[dict[str, Any]], per_intent: int) -> list[dict[str, Any]]:
    """Each row carries a paraphrase: the same intent from a different template (for robustness)."""
    rows = []
    for intent, templates in INTENT_TEMPLATES.items():
        for j in range(per_intent):
            t = templates[j % len(templates)]
            other = templates[(j + 1 + rng.randrange(len(templates) - 1)) % len(templates)]
            seed = rng.random()
            text = _fill(t, random.Random(seed), products)
            para = _fill(other, random.Random(seed), products)
            rows.append({"id": f"int-{intent}-{j:02d}", "text": text, "intent": intent, "paraphrase": para})
    rng.shuffle(rows)
    return rows


QA_TEMPLATES = {
    "price": ["How much does the {title} cost?", "What's the price of the {title}?"],
    "colour": ["What colour is the {title}?", "which colour does the {title} come in?"],
    "material": ["What is the {title} made of?", "Which material is used for the {title}?"],
    "waterproof": ["Is the {title} waterproof?", "can I use the {title} in the rain, is it waterproof?"],
    "extra": ["What is the {label} of the {title}?", "Tell me the {label} of the {title}."],
}


def _qa(rng: random.Random, products: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    rows = []
    for i, p in enumerate(rng.sample(products, n)):
        kind = list(QA_TEMPLATES)[i % len(QA_TEMPLATES)]
        a = p["attributes"]
        key = next(k for k in EXTRA_NAMES if k in a)
        label, unit = EXTRA_NAMES[key]
        q = rng.choice(QA_TEMPLATES[kind]).format(title=p["title"], label=label)
        if kind == "price":
            fact, accept = f"${p['price']:.2f}", [f"{p['price']:.2f}", f"{p['price']:g}"]
        elif kind == "waterproof":
            fact = "yes" if a["waterproof"] else "no"
            accept = ["is waterproof", "yes"] if a["waterproof"] else ["not waterproof", "isn't waterproof", "no"]
        elif kind == "extra":
            fact, accept = f"{a[key]} {unit}", [f"{a[key]:g}" if isinstance(a[key], float) else str(a[key])]
        else:
            fact, accept = str(a[kind]), [str(a[kind])]
        rows.append({"id": f"qa-{i:03d}", "question": q, "product_id": p["id"], "fact": fact, "accept": accept,
                     "kind": kind, "reference": f"The {p['title']} ({p['id']}): {kind} {fact}."})
    return rows


def _extraction(products: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    rows = []
    for p in products[:n]:
        a = p["attributes"]
        rows.append({"id": f"ex-{p['id']}", "text": p["description"], "gold": {
            "brand": a["brand"], "colour": a["colour"], "material": a["material"], "price": p["price"],
            "waterproof": a["waterproof"]}})
    return rows


def build(seed: int = 13, out: Path = DATA) -> dict[str, int]:
    rng = random.Random(seed)
    products = _products(rng, 160)
    sets = {
        "products.jsonl": products,
        "intents.jsonl": _intents(rng, products, per_intent=16),
        "qa.jsonl": _qa(rng, products, 120),
        "extraction.jsonl": _extraction(products, 120),
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in sets.items():
        with (out / name).open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    return {k: len(v) for k, v in sets.items()}


if __name__ == "__main__":
    print(build())
