"""The local feedback store: explicit and implicit feedback linked to traces, consent-gated."""
