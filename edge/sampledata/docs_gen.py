"""Store policy and FAQ documents (markdown), with the concrete facts queries ask about."""

from __future__ import annotations

DOCS: dict[str, str] = {
    "doc-shipping": """# Shipping policy

## Delivery times
Standard delivery takes 3-5 working days within Ireland and 5-8 working days to the rest of the EU.
Express delivery arrives the next working day when you order before 14:00.

## Delivery costs
Standard delivery costs €4.95. Orders over €50 ship free with standard delivery.
Express delivery costs €9.95 on every order.

## Countries we ship to
We ship to every EU country and to the United Kingdom. We do not ship to PO boxes.
Parcels to the United Kingdom may be charged import duties by the carrier.

## Tracking your parcel
Every order gets a tracking link by email as soon as the parcel leaves our warehouse.
""",
    "doc-returns": """# Returns and refunds

## Return window
You can return most items within 30 days of delivery for a full refund. The item must be unused and in its
original packaging. Opened skincare products cannot be returned for hygiene reasons.

## How to return
Start a return from the Orders page of your account and print the prepaid label. Returns within the EU are free.
Drop the parcel at any post office.

## Refunds
Refunds go back to the original payment method within 5-7 working days after the return reaches our warehouse.
Delivery costs are refunded only when the whole order is returned.

## Exchanges
We do not do direct exchanges: return the item and place a new order for the size or colour you want.
""",
    "doc-warranty": """# Warranty

## Coverage
Every product carries a two-year warranty against manufacturing defects from the date of delivery.
Electronics from Nexa, Sonix and Pulse carry an extended three-year warranty.

## What is not covered
Normal wear and tear, accidental damage, water damage to products that are not waterproof, and misuse are not
covered.

## Making a claim
Email support@frugalshop.example with your order number and a photo of the fault. We repair, replace or refund
within 14 days of receiving the item.
""",
    "doc-payment": """# Payment

## Accepted methods
We accept Visa, Mastercard, American Express, PayPal, Apple Pay and Google Pay. We do not accept cheques or cash
on delivery.

## When you are charged
Your card is charged when the order ships, not when you place it.

## Paying in instalments
Orders over €150 can be paid in 3 interest-free instalments with Klarna.

## Invoices and VAT
Prices include VAT. A VAT invoice is available in your account for every order.
""",
    "doc-privacy": """# Privacy notice

## What we collect
We collect your name, addresses, email, order history and payment tokens. We never store full card numbers.

## How long we keep it
Order records are kept for 6 years for tax purposes. Marketing data is deleted 24 months after your last order.

## Your rights
You can download or delete your data from the Privacy section of your account. Deletion requests are completed
within 30 days.

## Cookies
We use essential cookies only, unless you accept analytics cookies in the cookie banner.
""",
    "doc-orders": """# Orders FAQ

## Where is my order?
Open the Orders page of your account to see the status of every order and its tracking link. Orders are usually
dispatched within 1 working day.

## Can I change or cancel my order?
You can cancel or change an order within 1 hour of placing it from the Orders page. After that it is packed and
you can return it once it arrives.

## My parcel is late
If standard delivery has not arrived after 10 working days, contact support and we will resend the order or
refund it.

## Damaged or wrong item
If an item arrives damaged or is not what you ordered, report it within 14 days from the Orders page and we send
a replacement at no cost.
""",
    "doc-account": """# Account FAQ

## Creating an account
You can order as a guest, but an account lets you track orders, start returns and save addresses.

## Resetting your password
Click "Forgot password" on the sign-in page; the reset link in the email is valid for 1 hour.

## Changing your email or address
Update your email and saved addresses in the Account settings page.

## Closing your account
You can close your account from Account settings; open orders must be delivered first.

## Contacting support
Support answers by chat and email every day from 08:00 to 20:00. Email support@frugalshop.example.
""",
}
