"""Text hygiene, policy validation and reversible redaction (no models needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from frugalstack.edge.guard.policy import load_policy, parse_policy
from frugalstack.edge.guard.redact import redact, restore
from frugalstack.edge.guard.text import MAX_WINDOWS, WINDOW_CHARS, clean, windows
from frugalstack.edge.guard.types import Finding
from frugalstack.shared.errors import ConfigError, PayloadTooLargeError, ValidationError


def test_clean_invalid_utf8_controls_and_invisible_characters() -> None:
    c = clean(b"hi \xff\xfe there\x00\x07 ig\xe2\x80\x8bnore")
    assert c.invalid_utf8 and c.removed_controls == 2 and c.invisible == 1
    assert c.text == "hi \ufffd\ufffd there ignore"
    assert clean("a\ud800b").invalid_utf8  # lone surrogate
    with pytest.raises(PayloadTooLargeError):
        clean("x" * 11, max_chars=10)
    with pytest.raises(ValidationError):
        clean(42)  # type: ignore[arg-type]


def test_windows_are_bounded() -> None:
    text = "word " * 200_000
    w = windows(text, hot=list(range(0, len(text), 999)))
    assert len(w) <= MAX_WINDOWS and all(len(x) <= WINDOW_CHARS for x in w)
    assert windows("short") == ["short"]


def test_default_policy_loads_and_orders_actions() -> None:
    p = load_policy()
    card = Finding(rail="pii", type="CREDIT_CARD", start=0, end=4, score=1.0)
    order = Finding(rail="pii", type="ORDER_NUMBER", start=0, end=4, score=0.9)
    inj = Finding(rail="injection", type="PROMPT_LEAK", start=0, end=4, score=0.9)
    assert p.decide(card, "input")[0] == "redact"
    assert p.decide(order, "input")[0] == "allow"
    assert p.decide(inj, "input")[0] == "block"


def test_runtime_policy_and_extends(tmp_path: Path) -> None:
    off = Finding(rail="scope", type="OUT_OF_SCOPE", start=0, end=4, score=0.9)
    price = Finding(rail="grounding", type="UNCITED_PRICE", start=0, end=4, score=0.7)
    wrong = Finding(rail="grounding", type="PRICE_MISMATCH", start=0, end=4, score=0.9)
    card = Finding(rail="pii", type="CREDIT_CARD", start=0, end=4, score=1.0)
    shop, rt = load_policy("default"), load_policy(Path("runtime"))  # shipped names, as str or --policy Path
    assert shop.decide(off, "input")[0] == "block" and rt.decide(off, "input")[0] == "allow"
    assert shop.decide(price, "output")[0] == "escalate" and rt.decide(price, "output")[0] == "allow"
    assert rt.decide(wrong, "output")[0] == "escalate" and rt.decide(card, "input")[0] == "redact"
    assert rt.messages == shop.messages and rt.name == "runtime-default"
    mine = tmp_path / "mine.yaml"
    mine.write_text("extends: default\nname: mine\nrules:\n  - {rail: scope, action: escalate}\n")
    p = load_policy(mine)
    assert p.name == "mine" and p.decide(off, "input")[0] == "escalate" and p.decide(card, "input")[0] == "redact"
    mine.write_text("extends: nope\n")
    with pytest.raises(ConfigError, match="shipped policy"):
        load_policy(mine)
    mine.write_text("extends: default\nrules: {rail: pii}\n")
    with pytest.raises(ConfigError, match="rules must be a list"):
        load_policy(mine)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("rules: [unclosed", "not valid YAML"),
        ("- just\n- a list", "must be a YAML mapping"),
        ("rules:\n  - {rail: piii, action: block}", "unknown rail"),
        ("rules:\n  - {rail: pii, type: CARD, action: redact}", "unknown finding type"),
        ("rules:\n  - {rail: pii, action: explode}", "rules.0.action"),
        ("thresholds: {scope: 7}", "threshold"),
        ("surprise: true", "surprise"),
        ("rails: {input: {grounding: true}}", "unknown input rail"),
    ],
)
def test_malformed_policies_are_clear_config_errors(text: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        parse_policy(text, "bad.yaml")


def test_policy_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_policy(tmp_path / "missing.yaml")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00rules")
    with pytest.raises(ConfigError, match="UTF-8"):
        load_policy(binary)


def test_redaction_is_typed_indexed_only_when_needed_and_reversible() -> None:
    text = "card 4111 and 4222, mail a@b.co, card 4111 again"
    f = [
        Finding(rail="pii", type="CREDIT_CARD", start=5, end=9, score=1),
        Finding(rail="pii", type="CREDIT_CARD", start=14, end=18, score=1),
        Finding(rail="pii", type="EMAIL", start=25, end=31, score=1),
        Finding(rail="pii", type="CREDIT_CARD", start=38, end=42, score=1),
    ]
    out, vault = redact(text, f)
    assert out == "card <CARD_1> and <CARD_2>, mail <EMAIL>, card <CARD_1> again"
    assert restore(out, vault) == text
    assert restore("unknown <CARD_9>", vault) == "unknown <CARD_9>"
