"""Guard policies: a validated YAML file (one per deployment) mapping findings to actions.

Rules are tried in order; the first one whose rail, type, direction and minimum score match a finding
gives its action. The verdict takes the most severe action (block > escalate > redact > allow). Typos
in rail or type names are errors, not silently ignored rules.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from frugalstack.edge.guard.types import SEVERITY, Action, Direction, Finding
from frugalstack.shared.errors import ConfigError

KNOWN_TYPES: dict[str, set[str]] = {
    "pii": {
        "CREDIT_CARD",
        "IBAN",
        "EMAIL",
        "PHONE",
        "ADDRESS",
        "PERSON",
        "LOCATION",
        "ORDER_NUMBER",
        "NATIONAL_ID",
        "PARTIAL_NER",
        "PARTIAL_SCAN",
    },
    "injection": {
        "INSTRUCTION_OVERRIDE",
        "ROLE_PLAY_ESCAPE",
        "PROMPT_LEAK",
        "DELIMITER_INJECTION",
        "AUTHORITY_CLAIM",
        "ENCODED_INSTRUCTION",
        "ENCODED_PAYLOAD",
        "HOMOGLYPHS",
        "HIDDEN_UNICODE",
        "INJECTION_CLASSIFIER",
        "INDIRECT_INJECTION",
    },
    "toxicity": {"PROFANITY", "THREAT", "HARASSMENT"},
    "scope": {"OUT_OF_SCOPE"},
    "grounding": {"PRICE_MISMATCH", "STOCK_MISMATCH", "ATTRIBUTE_MISMATCH", "UNCITED_PRICE", "UNCITED_STOCK"},
    "json_schema": {"INVALID_JSON", "SCHEMA_VIOLATION"},
    "input": {"INVALID_UTF8", "CONTROL_CHARS"},
}
INPUT_RAILS = ("pii", "injection", "toxicity", "scope")
OUTPUT_RAILS = ("pii", "toxicity", "grounding", "json_schema")


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rail: str = "*"
    type: list[str] = Field(default_factory=lambda: ["*"])
    direction: Direction | Literal["any"] = "any"
    min_score: float = Field(0.0, ge=0.0, le=1.0)
    action: Action
    message: str | None = None

    @field_validator("type", mode="before")
    @classmethod
    def _one_or_many(cls, v: object) -> object:
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _known(self) -> Rule:
        if self.rail != "*" and self.rail not in KNOWN_TYPES:
            raise ValueError(f"unknown rail {self.rail!r}; known: {sorted(KNOWN_TYPES)}")
        allowed = set().union(*KNOWN_TYPES.values()) if self.rail == "*" else KNOWN_TYPES[self.rail]
        bad = [t for t in self.type if t != "*" and t not in allowed]
        if bad:
            raise ValueError(f"unknown finding type(s) {bad} for rail {self.rail!r}; known: {sorted(allowed)}")
        return self

    def matches(self, f: Finding, direction: Direction) -> bool:
        return (
            self.rail in ("*", f.rail)
            and ("*" in self.type or f.type in self.type)
            and self.direction in ("any", direction)
            and f.score >= self.min_score
        )


class RailSwitches(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: dict[str, bool] = Field(default_factory=lambda: dict.fromkeys(INPUT_RAILS, True))
    output: dict[str, bool] = Field(default_factory=lambda: dict.fromkeys(OUTPUT_RAILS, True))

    @model_validator(mode="after")
    def _known(self) -> RailSwitches:
        for where, known in (("input", INPUT_RAILS), ("output", OUTPUT_RAILS)):
            bad = set(getattr(self, where)) - set(known)
            if bad:
                raise ValueError(f"unknown {where} rail(s) {sorted(bad)}; known: {list(known)}")
        return self


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    name: str = "custom"
    extends: str | None = Field(None, description="a shipped policy (default, runtime) this one overrides")
    max_chars: int = Field(1_000_000, ge=1, le=10_000_000)
    ner_max_chars: int = Field(20_000, ge=100, le=1_000_000)
    rails: RailSwitches = Field(default_factory=RailSwitches)
    thresholds: dict[Literal["injection", "scope", "toxicity"], float] = Field(default_factory=dict)
    messages: dict[Literal["block", "escalate"], str] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)
    default_action: Action = "allow"

    @field_validator("thresholds")
    @classmethod
    def _unit(cls, v: dict[str, float]) -> dict[str, float]:
        for k, x in v.items():
            if not 0.0 < x <= 1.0:
                raise ValueError(f"threshold {k}={x} must be in (0, 1]")
        return v

    def decide(self, f: Finding, direction: Direction) -> tuple[Action, str | None]:
        for rule in self.rules:
            if rule.matches(f, direction):
                return rule.action, rule.message
        return self.default_action, None

    def message_for(self, action: Action) -> str | None:
        if action == "block":
            return self.messages.get("block", "Sorry, I can't help with that request.")
        if action == "escalate":
            return self.messages.get("escalate", "Let me pass this on to get you a better answer.")
        return None


def most_severe(actions: list[Action]) -> Action:
    return max(actions, key=SEVERITY.__getitem__, default="allow")


#: Policies that ship with the package, by name (``load_policy("runtime")``, ``extends: default``).
SHIPPED = {"default": "default_policy.yaml", "runtime": "runtime_policy.yaml"}


def _shipped_text(name: str) -> str:
    return resources.files("frugalstack.edge.guard").joinpath("data", SHIPPED[name]).read_text("utf-8")


def _extend(raw: dict[str, object], where: str, depth: int = 0) -> dict[str, object]:
    """``extends: NAME``: this file's keys replace the base's, its rules go first (first match wins)."""
    base_name = raw.get("extends")
    if base_name is None:
        return raw
    if base_name not in SHIPPED or depth > 3:
        raise ConfigError(f"{where}: extends must name a shipped policy {sorted(SHIPPED)}, got {base_name!r}")
    base = _extend(yaml.safe_load(_shipped_text(str(base_name))), SHIPPED[str(base_name)], depth + 1)
    rules, base_rules = raw.get("rules") or [], base.get("rules") or []
    if not isinstance(rules, list) or not isinstance(base_rules, list):
        raise ConfigError(f"invalid guard policy {where}: rules must be a list")
    return {**base, **raw, "rules": [*rules, *base_rules]}


def parse_policy(text: str, where: str = "<policy>") -> Policy:
    """Validate YAML text; every problem becomes one ``ConfigError`` naming the file and the field."""
    try:
        raw = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError) as exc:  # RecursionError: hostile nesting ([[[[...]]]])
        raise ConfigError(f"{where} is not valid YAML: {exc}".replace("\n", " ")) from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a YAML mapping with rules, got {type(raw).__name__}")
    raw = _extend(raw, where)
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '<root>'}: {e['msg']}" for e in exc.errors()[:8])
        raise ConfigError(f"invalid guard policy {where}: {problems}") from exc


def load_policy(source: str | Path | Policy | None = None) -> Policy:
    """A policy from a path, a ``Policy``, a shipped name (``"default"``, ``"runtime"``) or the default."""
    if isinstance(source, Policy):
        return source
    if source is None or (str(source) in SHIPPED and not Path(source).is_file()):  # --policy runtime works too
        name = str(source or "default")
        return parse_policy(_shipped_text(name), SHIPPED[name])
    path = Path(source)
    if not path.is_file():
        raise ConfigError(f"guard policy file {path} does not exist")
    if path.stat().st_size > 1_000_000:
        raise ConfigError(f"guard policy file {path} is over 1 MB; that is not a policy")
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"guard policy file {path} is not UTF-8 text") from exc
    return parse_policy(text, str(path))
