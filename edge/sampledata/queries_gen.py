"""Labelled customer queries: intent, the product or document ids that answer them, a reference answer."""

from __future__ import annotations

import random
from typing import Any

_POLICY: list[tuple[str, str, list[str], str, list[str]]] = [
    # (intent, doc id, paraphrases, reference answer, facts an answer should contain)
    ("shipping", "doc-shipping", ["How long does delivery take?", "when will my parcel arrive if I order today",
     "How many days is standard shipping?", "What are your delivery times to Germany?"],
     "Standard delivery takes 3-5 working days in Ireland and 5-8 to the rest of the EU.", ["3-5"]),
    ("shipping", "doc-shipping", ["How much does shipping cost?", "is delivery free?", "what's the delivery fee",
     "Do I pay for shipping on a 60 euro order?"], "Standard delivery is €4.95, free over €50.", ["4.95", "50"]),
    ("shipping", "doc-shipping", ["Do you ship to the UK?", "Which countries do you deliver to?",
     "can you send to a PO box", "Do you deliver outside the EU?"],
     "We ship to every EU country and the UK, not to PO boxes.", ["UK", "United Kingdom"]),
    ("shipping", "doc-shipping", ["Do you have express delivery?", "Can I get it tomorrow?",
     "next day delivery price"], "Express next-day delivery costs €9.95 when ordered before 14:00.", ["9.95"]),
    ("return_refund", "doc-returns", ["How do I return an item?", "I want to send something back",
     "what is your return policy", "How many days do I have to return a product?"],
     "You can return unused items within 30 days; returns in the EU are free.", ["30 days"]),
    ("return_refund", "doc-returns", ["When will I get my refund?", "how long do refunds take",
     "I returned my order, where is my money?"], "Refunds arrive within 5-7 working days.", ["5-7"]),
    ("return_refund", "doc-returns", ["Can I exchange a jacket for a different size?", "can I swap the colour",
     "Do you do exchanges?"], "No direct exchanges: return it and order the size you want.", ["return"]),
    ("return_refund", "doc-returns", ["Can I return an opened moisturiser?", "skincare returns after opening"],
     "Opened skincare products cannot be returned for hygiene reasons.", ["cannot", "hygiene"]),
    ("complaint", "doc-warranty", ["My headphones stopped working after a year", "the blender broke, is it under "
     "warranty?", "How long is the warranty?", "my laptop screen died after 8 months"],
     "Every product has a two-year warranty against manufacturing defects.", ["two-year", "2 year", "two years"]),
    ("complaint", "doc-orders", ["My item arrived damaged", "you sent me the wrong product",
     "the box was crushed and the lamp is broken"], "Report it within 14 days and we send a replacement.", ["14"]),
    ("complaint", "doc-orders", ["My parcel is very late", "still no delivery after two weeks, this is awful"],
     "If standard delivery has not arrived after 10 working days we resend or refund.", ["10"]),
    ("payment", "doc-payment", ["What payment methods do you accept?", "Can I pay with PayPal?",
     "do you take american express", "Is cash on delivery possible?"],
     "We accept Visa, Mastercard, Amex, PayPal, Apple Pay and Google Pay.", ["PayPal", "Visa"]),
    ("payment", "doc-payment", ["Can I pay in instalments?", "do you offer klarna",
     "split payment for a laptop"], "Orders over €150 can be paid in 3 instalments with Klarna.", ["Klarna", "150"]),
    ("payment", "doc-payment", ["When is my card charged?", "why was I not charged yet"],
     "Your card is charged when the order ships.", ["ships"]),
    ("payment", "doc-payment", ["Do prices include VAT?", "where can I get a VAT invoice"],
     "Prices include VAT; invoices are in your account.", ["VAT"]),
    ("order_status", "doc-orders", ["Where is my order?", "track my order", "what's the status of my order",
     "Has my order shipped yet?", "order 48213 status please"],
     "See the Orders page of your account for status and tracking.", ["Orders page", "tracking"]),
    ("order_status", "doc-orders", ["Can I cancel my order?", "I want to change my order", "cancel order I just "
     "placed"], "You can cancel or change an order within 1 hour of placing it.", ["1 hour"]),
    ("order_status", "doc-shipping", ["How do I track my parcel?", "where is the tracking link"],
     "You get a tracking link by email when the parcel leaves the warehouse.", ["tracking"]),
    ("account", "doc-account", ["How do I reset my password?", "forgot my password", "password reset link "
     "expired"], "Use 'Forgot password'; the link is valid for 1 hour.", ["Forgot password"]),
    ("account", "doc-account", ["How do I change my email address?", "update my delivery address"],
     "Update your email and addresses in Account settings.", ["Account settings"]),
    ("account", "doc-account", ["How do I close my account?", "delete my account"],
     "Close your account from Account settings once open orders are delivered.", ["Account settings"]),
    ("account", "doc-privacy", ["How do I delete my personal data?", "what data do you keep about me",
     "GDPR request", "do you store my card number"], "You can download or delete your data from the Privacy "
     "section; we never store full card numbers.", ["Privacy"]),
    ("account", "doc-account", ["What are your support hours?", "how can I contact customer service"],
     "Support answers every day from 08:00 to 20:00.", ["08:00"]),
]
_CHIT_CHAT = ["hi", "hello there", "thanks, that's all", "good morning!", "you are very helpful", "how are you?",
              "bye", "thank you so much", "ok great", "who am I talking to?", "lol", "have a nice day"]
_OUT_OF_SCOPE = ["What's the weather in Dublin tomorrow?", "Write me a poem about the sea",
                 "Who won the world cup in 2018?", "What is the capital of Australia?",
                 "Can you help me with my maths homework?", "Tell me a joke about cats",
                 "What's the best stock to invest in?", "How do I fix a leaking tap?",
                 "Translate 'good night' into French", "What time is it in Tokyo?", "Recommend a good movie",
                 "How tall is Mount Everest?"]


def _price(p: dict[str, Any]) -> str:
    return f"{p['price']:.2f}"


def _question(p: dict[str, Any], r: random.Random) -> dict[str, Any]:
    t, a = p["title"], p["attributes"]
    options: list[tuple[str, str, list[str]]] = [
        (r.choice([f"How much is the {t}?", f"What does the {t} cost?", f"price of {t}?",
                   f"How expensive is the {t}"]), f"The {t} costs €{_price(p)}.", [_price(p)]),
        (r.choice([f"Is the {t} in stock?", f"Can I buy the {t} right now?", f"is {t} available"]),
         f"The {t} is {'in stock' if p['in_stock'] else 'out of stock'}.",
         ["in stock", "available"] if p["in_stock"] else ["out of stock", "not in stock", "unavailable"]),
    ]
    if "waterproof" in a:
        yes = a["waterproof"]
        options.append((r.choice([f"Is the {t} waterproof?", f"can I use the {t} in heavy rain?"]),
                        f"{'Yes' if yes else 'No'}, the {t} is {'' if yes else 'not '}waterproof.",
                        ["yes"] if yes else ["not waterproof", "no"]))
    if "material" in a:
        options.append((r.choice([f"What is the {t} made of?", f"what material is the {t}"]),
                        f"The {t} is made of {a['material']}.", [str(a["material"])]))
    if a.get("battery_life_h"):
        options.append((r.choice([f"How long does the battery of the {t} last?", f"{t} battery life?"]),
                        f"Up to {a['battery_life_h']} hours.", [str(a["battery_life_h"])]))
    if "colour" in a:
        options.append((r.choice([f"What colour is the {t}?", f"which colour does the {t} come in"]),
                        f"The {t} is {a['colour']}.", [str(a["colour"])]))
    q, ref, facts = r.choice(options)
    return {"intent": "product_question", "query": q, "product_ids": [p["id"]], "doc_ids": [],
            "reference_answer": ref, "facts": facts}


def _search(p: dict[str, Any], catalog: list[dict[str, Any]], r: random.Random) -> dict[str, Any] | None:
    a, noun = p["attributes"], p["product_type"]
    colour = a.get("colour")
    forms: list[tuple[str, dict[str, Any]]] = [
        (f"{p['brand']} {noun.lower()}", {"brand": p["brand"]}),
    ]
    if colour:
        forms += [(f"{colour} {noun.lower()} from {p['brand']}", {"brand": p["brand"], "colour": colour}),
                  (f"do you have a {p['brand']} {noun.lower()} in {colour}?", {"brand": p["brand"], "colour": colour})]
    if a.get("waterproof") and colour:
        forms.append((f"waterproof {colour} {noun.lower()} by {p['brand']}",
                      {"brand": p["brand"], "colour": colour, "waterproof": True}))
    if "material" in a:
        forms.append((f"looking for a {a['material']} {noun.lower()} from {p['brand']}",
                      {"brand": p["brand"], "material": a["material"]}))
    text, need = r.choice(forms)
    rel = [q["id"] for q in catalog if q["product_type"] == noun and q["brand"] == need["brand"]
           and all(q["attributes"].get(k) == v for k, v in need.items() if k != "brand")]
    if not 1 <= len(rel) <= 5:
        return None
    return {"intent": "product_search", "query": text, "product_ids": rel, "doc_ids": [],
            "reference_answer": f"{p['title']} (€{_price(p)})", "facts": [p["title"]] if len(rel) == 1 else []}


def _compare(p: dict[str, Any], q: dict[str, Any], r: random.Random) -> dict[str, Any]:
    text = r.choice([f"Compare the {p['title']} and the {q['title']}",
                     f"{p['title']} vs {q['title']}: which is cheaper?",
                     f"What's the difference between the {p['title']} and the {q['title']}?"])
    cheaper = p if p["price"] <= q["price"] else q
    return {"intent": "compare", "query": text, "product_ids": [p["id"], q["id"]], "doc_ids": [],
            "reference_answer": f"The {cheaper['title']} is cheaper at €{_price(cheaper)}.",
            "facts": [_price(cheaper)]}


def make_queries(catalog: list[dict[str, Any]], seed: int, n_product: int = 560) -> list[dict[str, Any]]:
    """Queries over ``catalog``; each is split into dev/test by a seeded coin."""
    r = random.Random(seed * 7919 + 1)
    out: list[dict[str, Any]] = []
    picks = r.sample(catalog, k=min(len(catalog), n_product))
    for i, p in enumerate(picks):
        if i % 8 == 7:
            same = [q for q in catalog if q["category"] == p["category"] and q["id"] != p["id"]]
            out.append(_compare(p, r.choice(same), r))
        elif i % 2:
            s = _search(p, catalog, r)
            out.append(s or _question(p, r))
        else:
            out.append(_question(p, r))
    for intent, doc, phrasings, ref, facts in _POLICY:
        for text in phrasings:
            out.append({"intent": intent, "query": text, "product_ids": [], "doc_ids": [doc],
                        "reference_answer": ref, "facts": facts})
    for text in _CHIT_CHAT:
        out.append({"intent": "chit_chat", "query": text, "product_ids": [], "doc_ids": [],
                    "reference_answer": "", "facts": []})
    for text in _OUT_OF_SCOPE:
        out.append({"intent": "out_of_scope", "query": text, "product_ids": [], "doc_ids": [],
                    "reference_answer": "I can only help with our shop's products and orders.", "facts": []})
    for i, q in enumerate(out):
        q["id"] = f"q-{i + 1:04d}"
        q["split"] = "test" if r.random() < 0.5 else "dev"
    return out
